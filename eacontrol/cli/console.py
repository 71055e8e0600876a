"""The operator's console of ``eactl run``: keys to session commands, the view, the pacing.

The session loop calls :meth:`LiveConsole.tick` about every heartbeat period and every session
event goes to :meth:`LiveConsole.event`; both run in the loop's thread and return quickly, so
the loop keeps the lease.

Pacing: on the built-in simulator the device runs in virtual time, which advances only while
the host waits. In real-time mode the console keeps session time from running ahead of the wall
clock by waiting (for keys) in ``tick``; the virtual clock stands still meanwhile, so the
device's lease is unaffected. With ``--fast`` there is no pacing. On a real device the session's
own waits are real time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TextIO

from eacontrol.cli.keys import Action, Command, Terminal
from eacontrol.cli.liveview import Screen, render
from eacontrol.device import DeviceStatus
from eacontrol.errors import ParameterError, SessionError
from eacontrol.link import Clock
from eacontrol.session import EventKind, Session, SessionEvent, SessionState

__all__ = ["LiveConsole", "STEP_mA"]

STEP_mA = 0.5
"""One key press changes the selected channel by this much (the operator step, a design value;
the session refuses a second change of a channel within 1 s)."""

_REDRAW_s = 0.25  # wall time between redraws of the view
_MAX_PACE_WAIT_s = 0.5  # the longest wait of one tick (keys are read meanwhile)
_EVENTS_SHOWN = 6
_HOME, _CLEAR_LINE, _CLEAR_DOWN = "\x1b[H", "\x1b[K", "\x1b[J"
_CLEAR_SCREEN, _HIDE_CURSOR, _SHOW_CURSOR = "\x1b[2J", "\x1b[?25l", "\x1b[?25h"


class LiveConsole:
    """Keys, view and pacing for one session."""

    def __init__(
        self,
        session: Session,
        terminal: Terminal,
        out: TextIO,
        wall: Clock,
        status: Callable[[], DeviceStatus | None],
        *,
        title: str,
        device_line: str,
        simulated: bool,
        pace: bool,
        echo: bool = True,
    ) -> None:
        """Prepare the console; call :meth:`open` before the session runs.

        Args:
            session: the session (its plan names the channels).
            terminal: the operator's terminal (keys only when interactive).
            out: where the view or the event lines go.
            wall: the real clock (pacing and redraws).
            status: the device's latest STATUS (``Stimulator.last_status``).
            title / device_line / simulated: the view's header.
            pace: keep session time from running ahead of the wall clock (virtual device).
            echo: print each event when there is no view.
        """
        self._session = session
        self._terminal = terminal
        self._out = out
        self._wall = wall
        self._status = status
        self._title = title
        self._device = device_line
        self._simulated = simulated
        self._pace = pace
        self._echo = echo and not terminal.interactive
        self._selected = session.plan.channels[0]
        self._message = ""
        self._events: deque[SessionEvent] = deque(maxlen=_EVENTS_SHOWN)
        self._faults: list[str] = []
        self._done_s = 0.0
        self._wall_start: float | None = None
        self._drawn_at: float | None = None

    @property
    def interactive(self) -> bool:
        """Whether keys are read and the view is drawn."""
        return self._terminal.interactive

    def open(self) -> None:
        """Clear the screen for the view (interactive only)."""
        if self.interactive:
            self._out.write(_HIDE_CURSOR + _CLEAR_SCREEN)
            self._out.flush()

    def close(self) -> None:
        """Draw the final view and give the cursor back (safe to call twice)."""
        if self.interactive:
            self._draw()
            self._out.write(_SHOW_CURSOR)
            self._out.flush()

    # --- called by the session loop ------------------------------------------------------------

    def event(self, event: SessionEvent) -> None:
        """Keep a session event for the view; print it when there is no view."""
        self._events.append(event)
        if event.kind is EventKind.FAULT:
            self._faults.append(event.message)
        elif event.kind is EventKind.ALARM:  # the device did what the host did not command
            self._faults.append(f"ALARM: {event.message}")
        if self._echo:
            print(event, file=self._out, flush=True)

    def tick(self, session: Session) -> None:
        """Wait (pacing), read keys and carry them out, and redraw the view when due."""
        for command in self._wait():
            self._apply(session, command)
        progress = session.progress()
        if progress.step is not None:
            self._done_s = progress.step.start_s + min(
                progress.step_elapsed_s, progress.step.duration_s
            )
        if self.interactive:
            now = self._wall.now()
            if self._drawn_at is None or now - self._drawn_at >= _REDRAW_s:
                self._draw()

    def _wait(self) -> list[Command]:
        wait_s = 0.0
        if self._pace:
            now = self._wall.now()
            if self._wall_start is None:
                self._wall_start = now - self._session.t_s
            ahead_s = self._session.t_s - (now - self._wall_start)
            wait_s = min(max(ahead_s, 0.0), _MAX_PACE_WAIT_s)
        if self.interactive:
            return self._terminal.read(wait_s)
        self._wall.sleep(wait_s)
        return []

    # --- keys ----------------------------------------------------------------------------------

    def _apply(self, session: Session, command: Command) -> None:
        try:
            self._message = self._carry_out(session, command)
        except (ParameterError, SessionError) as err:
            self._message = f"refused: {err}"
        self._drawn_at = None  # show the effect at once

    def _carry_out(self, session: Session, command: Command) -> str:
        action = command.action
        if action is Action.EMERGENCY:
            session.emergency_stop()
            return "EMERGENCY STOP: every output cut at once"
        if action is Action.STOP:
            session.stop()
            return "stopping: ramping every output down"
        if action is Action.PAUSE:
            if session.state is SessionState.PAUSED:
                session.resume()
                return "resuming: re-ramping from zero"
            session.pause()
            return "pausing: ramping down, the step's timer held"
        if action is Action.SELECT:
            assert command.channel is not None
            if command.channel not in session.plan.channels:
                channels = ", ".join(str(n) for n in session.plan.channels)
                return f"channel {command.channel} is not in this profile (channels {channels})"
            self._selected = command.channel
            return f"channel {command.channel} selected"
        delta = STEP_mA if action is Action.RAISE else -STEP_mA
        session.adjust(self._selected, delta)
        target = session.progress().targets.get(self._selected, 0.0)
        return f"channel {self._selected}: target {target:g} mA"

    # --- the view ------------------------------------------------------------------------------

    def _draw(self) -> None:
        session = self._session
        screen = Screen(
            title=self._title,
            device=self._device,
            simulated=self._simulated,
            session_id=session.session_id,
            selected=self._selected,
            message=self._message,
            events=tuple(self._events),
            faults=tuple(self._faults),
            interactive=True,
        )
        lines = render(screen, session.plan, session.progress(), self._status(), self._done_s)
        text = "".join(f"{line}{_CLEAR_LINE}\n" for line in lines)
        self._out.write(_HOME + text + _CLEAR_DOWN)
        self._out.flush()
        self._drawn_at = self._wall.now()
