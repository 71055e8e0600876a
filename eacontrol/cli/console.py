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

import contextlib
import math
import os
import shutil
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TextIO

from eacontrol.cli.blinding import shown
from eacontrol.cli.keys import Action, Command, Terminal
from eacontrol.cli.liveview import Screen, remaining_s, render
from eacontrol.cli.output import printable
from eacontrol.cli.plainwords import LINK_LOST, event_text, outcome_text
from eacontrol.cli.table import duration_text
from eacontrol.device import DeviceStatus
from eacontrol.errors import ParameterError, SessionError
from eacontrol.link import Clock
from eacontrol.profiles.titration import IntensityMode
from eacontrol.records import Outcome, alarm_text
from eacontrol.session import EventKind, Session, SessionEvent, SessionState

__all__ = ["LiveConsole", "STEP_mA", "mark_level", "terminal_size"]

STEP_mA = 0.5
"""One key press changes the selected channel by this much (the operator step, a design value;
the session refuses a second change of a channel within 1 s)."""

_REDRAW_s = 0.25  # wall time between redraws of the view
_MAX_PACE_WAIT_s = 0.5  # the longest wait of one tick (keys are read meanwhile)
_EVENTS_SHOWN = 6
_BANNER_s = 8.0  # wall time a new step's banner stays (a design value: a glance away and back)
_BELL = "\a"
_BLIND_WORDS = {
    Action.RAISE: "raise asked for",
    Action.LOWER: "lower asked for",
    Action.ZERO: "to zero asked for",
    Action.MARK: "mark asked for",
}  # a blinded operator's intensity keys, answered whatever they did
_HOME, _CLEAR_LINE, _CLEAR_DOWN = "\x1b[H", "\x1b[K", "\x1b[J"
_CLEAR_SCREEN, _HIDE_CURSOR, _SHOW_CURSOR = "\x1b[2J", "\x1b[?25l", "\x1b[?25h"


def _local_now() -> datetime:
    return datetime.now().astimezone()


def mark_level(session: Session, channel: int) -> str:
    """Mark ``channel``'s level now (the ``t`` key, the panel's Mark): its next threshold in a
    threshold step (sensory first, then motor), else its treatment intensity; in words.

    Raises:
        SessionError / ParameterError: the session refused the mark.
    """
    progress = session.progress()
    step = progress.step
    if (
        step is not None
        and channel in step.numbers
        and step.channel(channel).setting is IntensityMode.THRESHOLD
    ):
        found = progress.thresholds.get(channel, {})
        kind = "motor" if "sensory_threshold_mA" in found else "sensory"
        marked = session.mark_threshold(channel, kind)
        return f"channel {channel}: {marked:g} mA marked as its {kind} threshold"
    marked = session.mark_treatment(channel)
    return f"channel {channel}: {marked:g} mA marked as its treatment intensity"


def terminal_size(out: TextIO) -> tuple[int, int]:
    """The columns and lines of the terminal ``out`` writes to (80×24 when unknown: a
    pseudo-terminal nobody gave a size reports 0×0)."""
    try:
        size = os.get_terminal_size(out.fileno())
    except (AttributeError, OSError, ValueError):
        size = shutil.get_terminal_size()
    if size.columns <= 0 or size.lines <= 0:
        return 80, 24
    return size.columns, size.lines


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
        points: Mapping[int, str] | None = None,
        patient: str | None = None,
        operator: str | None = None,
        local_time: Callable[[], datetime] = _local_now,
        size: Callable[[], tuple[int, int]] | None = None,
        blind: bool = False,
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
            points: each channel's needle pair, shown in its row.
            patient / operator: the identifiers shown in the header.
            local_time: the local time of day (the clock and the planned end).
            size: the terminal's columns and lines (default: asked of ``out`` at each redraw,
                so a resized terminal is redrawn to fit).
            blind: the operator is blinded (``blinding.py``): no intensity, step name or
                condition is shown, only the events ``blinding.shown`` allows, and every
                intensity key is answered in the same words whatever it did.
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
        self._points = dict(points or {})
        self._patient, self._operator = patient, operator
        self._local_time = local_time
        self._size = size or (lambda: terminal_size(out))
        self._selected = session.plan.channels[0]
        self._message = ""
        self._events: deque[str] = deque(maxlen=_EVENTS_SHOWN)
        self._faults: list[str] = []
        self._done_s = 0.0
        self._wall_start: float | None = None
        self._drawn_at: float | None = None
        self._drawn_size: tuple[int, int] | None = None
        self._help = False
        self._pausing = False
        self._step_index: int | None = None
        self._banner, self._banner_until = "", math.inf
        self._bell = False
        self._alarm = ""  # the outputs are not confirmed off: rows UNKNOWN, the alarm shown
        self._note: str | None = None  # the note prompt's text while it is open
        self._blind = blind

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
        """Draw the final view and give the cursor back (safe to call twice).

        The final view says how the session ended (no stale "stopping" line); a treatment that
        ran to its end rings the terminal bell under an END OF TREATMENT banner.
        """
        result = self._session.result
        if result is not None:
            self._message = outcome_text(result.outcome, result.detail)
            end = "END OF TREATMENT: every output at zero"
            if result.outcome is Outcome.COMPLETED and self._banner != end:  # rung once
                self._notice(end, math.inf)
        if self.interactive:
            self._draw()
            self._out.write(_SHOW_CURSOR)
            self._out.flush()

    # --- called by the session loop ------------------------------------------------------------

    def event(self, event: SessionEvent) -> None:
        """Keep a session event for the view, in words; print it when there is no view."""
        if self._blind and not shown(event):
            return  # the record has it; a blinded operator is not shown it
        paused = self._pausing or self._session.state is SessionState.PAUSED
        text = event_text(event, paused)
        self._events.append(text)
        if event.kind is EventKind.LINK:  # the last STATUS no longer says what the device does
            self._alarm = LINK_LOST
        if event.kind in (EventKind.FAULT, EventKind.LINK):
            self._faults.append(text.split("  ", 1)[-1])
        elif event.kind in (EventKind.ALARM, EventKind.INTRUSION):
            # the device did what the host did not command; someone else writes to the port
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
            index = progress.step.index
            if self._step_index is not None and index != self._step_index:
                steps = len(session.plan.steps)
                name = "" if self._blind else f": {progress.step.name}"
                self._notice(f"STEP {index + 1}/{steps} BEGINS{name}", _BANNER_s)
            self._step_index = index
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

    def _notice(self, banner: str, for_s: float) -> None:
        """Show ``banner`` for ``for_s`` wall seconds and ring the bell with the next frame."""
        self._banner, self._bell = banner, True
        self._banner_until = self._wall.now() + for_s
        self._drawn_at = None

    def _apply(self, session: Session, command: Command) -> None:
        if self._blind and self._note is None and command.action in _BLIND_WORDS:
            # The same words whatever happened: a sham's refused raise (ceiling 0 mA) must read
            # like a verum's raise.
            with contextlib.suppress(ParameterError, SessionError):
                self._carry_out(session, command)
            self._message = f"channel {self._selected}: {_BLIND_WORDS[command.action]}"
            self._drawn_at = None
            return
        try:
            self._message = self._carry_out(session, command)
        except ParameterError as err:
            wait_s = 0.0
            if command.action is Action.RAISE:
                try:
                    wait_s = session.increase_wait_s(self._selected)
                except ParameterError:
                    wait_s = 0.0
            if wait_s > 0:  # one step a second: say how long, never "out of range"
                wait_s = math.ceil(wait_s * 10) / 10
                self._message = (
                    f"channel {self._selected}: wait {wait_s:.1f} s to raise again "
                    "(lowering never waits)"
                )
            else:
                self._message = f"refused: {err}"
        except SessionError as err:
            self._message = f"refused: {err}"
        self._drawn_at = None  # show the effect at once

    def _carry_out(self, session: Session, command: Command) -> str:
        action = command.action
        if action is Action.EMERGENCY:
            self._close_note()
            session.emergency_stop()
            return "EMERGENCY STOP: every output cut at once"
        if self._note is not None or action is Action.NOTE:
            return self._noting(session, command)
        if action is Action.STOP:
            session.stop()
            return "stopping: ramping every output down"
        if action is Action.PAUSE:
            if session.state is SessionState.PAUSED or self._pausing:
                session.resume()
                self._pausing = False
                return "resuming: re-ramping from zero"
            session.pause()
            self._pausing = True
            return "pausing: ramping down, the step's timer held"
        if action is Action.HELP:
            self._help = not self._help
            return "every key is listed below (? hides the list)" if self._help else ""
        if action is Action.UNKNOWN:
            return f"the key {printable(command.key)} does nothing here: press ? for the keys"
        if action is Action.SELECT:
            assert command.channel is not None
            if command.channel not in session.plan.channels:
                channels = ", ".join(str(n) for n in session.plan.channels)
                return f"channel {command.channel} is not in this profile (channels {channels})"
            self._selected = command.channel
            return f"channel {command.channel} selected"
        if action is Action.ZERO_ALL:
            return self._zero_all(session)
        selected = self._selected
        if action is Action.MARK:
            return mark_level(session, selected)
        if action is Action.RESUME_CHANNEL:
            session.resume_channel(selected)
            return f"channel {selected}: device self-test, then restarting from zero"
        target = session.progress().targets.get(selected)
        if action is not Action.RAISE and target is not None and target <= 0:
            return f"channel {selected} is already at zero"  # nothing to record
        if action is Action.ZERO:
            session.set_intensity(selected, 0.0)
            return f"channel {selected}: to zero at once"
        if action is Action.LOWER:
            # Never below zero: the last step down takes what is left (0.3 mA → 0).
            session.adjust(selected, -STEP_mA if target is None else -min(STEP_mA, target))
        else:
            session.adjust(selected, STEP_mA)
        return f"channel {selected}: target {session.progress().targets.get(selected, 0.0):g} mA"

    def _noting(self, session: Session, command: Command) -> str:
        """The note prompt: ``n`` opens it, keys are its text, Enter records it (an empty one
        cancels), Esc is still the emergency stop."""
        action = command.action
        if self._note is None:  # n: open the prompt
            self._note = ""
            self._terminal.text_mode = True
        elif action is Action.TEXT:
            self._note += command.key
        elif action is Action.TEXT_BACK:
            self._note = self._note[:-1]
        elif action is Action.TEXT_DONE:
            text = self._close_note().strip()
            if not text:
                return "note cancelled (nothing written)"
            at_s = session.note(text)
            return f"note recorded at {duration_text(at_s)}: {printable(text)}"
        return f"note: {printable(self._note or '')}_   (Enter records it, Esc EMERGENCY STOP)"

    def _close_note(self) -> str:
        text, self._note = self._note or "", None
        self._terminal.text_mode = False
        return text

    def _zero_all(self, session: Session) -> str:
        """Every channel of the running step to zero at once (each change recorded)."""
        targets = session.progress().targets
        if not targets:
            raise SessionError("cannot change an intensity: no step is stimulating")
        for channel, target in sorted(targets.items()):
            if target > 0:
                session.set_intensity(channel, 0.0)
        return "every channel: to zero at once (raise a channel to go on, s to stop)"

    # --- the view ------------------------------------------------------------------------------

    def _draw(self) -> None:
        session = self._session
        now = self._wall.now()
        if now >= self._banner_until:
            self._banner, self._banner_until = "", math.inf
        progress = session.progress()
        local = self._local_time()
        ends_at = ""
        if progress.state is not SessionState.ENDED:
            left_s = remaining_s(session.plan, progress, self._done_s)
            ends_at = (local + timedelta(seconds=left_s)).strftime("%H:%M")
        if session.state is SessionState.ENDED:
            result = session.result
            if result is not None:
                self._message = outcome_text(result.outcome, result.detail)
                self._alarm = alarm_text(result.outcome) or self._alarm
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
            points=self._points,
            patient=self._patient,
            operator=self._operator,
            clock=local.strftime("%H:%M:%S"),
            ends_at=ends_at,
            banner=self._banner,
            help=self._help,
            alarm=self._alarm,
            blind=self._blind,
        )
        size = self._size()
        lines = render(screen, session.plan, progress, self._status(), self._done_s, size)
        # No newline after the last line: at the terminal's last line it would scroll the view.
        text = "\n".join(f"{line}{_CLEAR_LINE}" for line in lines)
        clear = _CLEAR_SCREEN if size != self._drawn_size else ""  # resized: redraw it all
        bell = _BELL if self._bell else ""
        self._out.write(bell + clear + _HOME + text + _CLEAR_DOWN)
        self._out.flush()
        self._bell = False
        self._drawn_at, self._drawn_size = now, size
