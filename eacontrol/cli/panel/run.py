"""One session started from the panel: its thread, its loop's tick, and what the pages see.

The session runs in its own thread (:meth:`PanelRun.start`), which calls ``Session.run`` with
:meth:`PanelRun.tick`: every control method is called there, in the loop's thread, as
``eactl run``'s console calls them (docs/session.md: "Use a session from one thread"). The web
server's thread only puts :class:`Command`\\ s in a queue and reads the latest snapshot.

Each tick, in the loop's thread:

1. the queued commands of the controlling browser are carried out (a command from a browser
   that does not control is refused, except STOP, which any page may send); each is recorded
   as a note naming its origin (``panel: + channel 1 by browser 3fa2 at 127.0.0.1: target 0.5 mA``;
   a page's own note is recorded as ``panel: note by browser 3fa2 at 127.0.0.1: TEXT``);
2. if no browser controls, or the controlling one has sent no heartbeat for 2 s
   (``attendance.HEARTBEAT_TIMEOUT_s``), a running session is paused (ramp to zero, timer
   held: ``Session.pause``) with an alarm on every page and a note in the record; it never
   goes on unattended, and only a controlling browser resumes it;
3. a snapshot is published (``snapshot.running_view``);
4. on the built-in simulator (virtual time) the tick waits, reading commands, until session
   time no longer runs ahead of the wall clock, publishing every 50 ms; the virtual clock stands
   still meanwhile, so the device's lease is unaffected (``eactl run``'s pacing).

STOP is ``Session.emergency_stop`` (every output cut at once, confirmed by the device's
STATUS), the same as Space and Escape in ``eactl run``; the page shows the session's result
once ``run`` returns, which is after the device confirmed the outputs off.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eacontrol.cli.panel.actions import act
from eacontrol.cli.panel.attendance import Attendance, Controller
from eacontrol.cli.plainwords import LINK_LOST, event_text
from eacontrol.errors import EAError, ParameterError, SessionError
from eacontrol.link import Clock

if TYPE_CHECKING:
    from eacontrol.device import DeviceStatus
    from eacontrol.session import Session, SessionEvent

__all__ = ["Command", "PanelRun", "Reply", "SessionFactory", "Started"]

Reply = Callable[[bool, str], None]
"""Tells the browser that asked whether its command was carried out, in words."""


@dataclass(frozen=True)
class Started:
    """A session made, not yet run, with what the pages show of it.

    Attributes:
        session: the Session.
        status: the device's latest STATUS (``Stimulator.last_status``).
        device: the device line (model, serial, firmware, port).
        title: the profile's name.
        points: each channel's needle pair.
        simulated: the device is a simulator.
    """

    session: Session
    status: Callable[[], DeviceStatus | None]
    device: str
    title: str
    points: dict[int, str]
    simulated: bool


SessionFactory = Callable[[str, str | None, str | None], contextlib.AbstractContextManager[Started]]
"""``(profile name, patient id, operator id)`` → a context manager that opens the store and
the device and gives the :class:`Started` session (closing both after)."""

_PUBLISH_s = 0.05  # wall time between snapshots while the tick waits: 20 a second
_EVENTS_SHOWN = 8


@dataclass(frozen=True)
class Command:
    """One request from a page: ``action`` (one of ``actions.ACTIONS``: ``text`` is a ``note``'s
    text; or ``account``: the panel's own ``text`` to record), on ``channel``."""

    action: str
    channel: int | None
    by: Controller
    reply: Reply
    text: str = ""


class PanelRun:
    """The one session the panel runs at a time, and the latest view of it."""

    def __init__(
        self,
        factory: SessionFactory,
        attendance: Attendance,
        wall: Clock,
        notify: Callable[[], None],
        *,
        pace: bool,
    ) -> None:
        """Prepare; nothing runs until :meth:`start`.

        Args:
            factory: opens the store and the device and makes the Session (``server.py``).
            attendance: the controlling browser's seat and heartbeat.
            wall: the real clock (pacing, heartbeats).
            notify: called (from any thread) when a new snapshot is ready.
            pace: keep session time from running ahead of the wall clock (virtual device).
        """
        self._factory = factory
        self._attendance = attendance
        self._wall = wall
        self._notify = notify
        self._pace = pace
        self._inbox: queue.Queue[Command] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._session: Session | None = None
        self._closing = False
        self._view: dict[str, Any] = {"phase": "idle"}
        self._ended = False
        self._placement = ""
        self._reset()

    def _reset(self) -> None:
        self._ended = False
        self._events: deque[str] = deque(maxlen=_EVENTS_SHOWN)
        self._faults: list[str] = []
        self._unattended = ""  # why the session was paused unattended ("" once resumed)
        self._pausing = False
        self._unknown = False
        self._wall_start: float | None = None
        self._done_s = 0.0
        self._status: Callable[[], DeviceStatus | None] = lambda: None
        self._points: dict[int, str] = {}
        self._header: dict[str, Any] = {}

    # --- the web server's side -----------------------------------------------------------------

    @property
    def view(self) -> dict[str, Any]:
        """The latest snapshot (a new dict each time one is published; never changed after)."""
        with self._lock:
            return self._view

    @property
    def active(self) -> bool:
        """Whether a session is starting or running."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        profile: str,
        patient: str | None,
        operator: str | None,
        by: Controller,
        placement: str = "",
    ) -> None:
        """Start ``profile`` in a new thread; ``placement``: what the practitioner confirmed of
        the electrodes, recorded with the start.

        Raises:
            SessionError: a session is already running, or the panel is closing.
        """
        with self._lock:
            if self._closing or (self.active and not self._ended):
                raise SessionError("a session is already running: stop it first")
            if self._thread is not None:
                self._thread.join()  # it has published its end: it only returns now
            self._reset()
            self._placement = placement
            self._inbox = queue.Queue()  # nothing asked of the last session reaches this one
            self._header = {"profile": profile, "patient": patient, "operator": operator}
            self._view = {"phase": "starting", **self._header}
            self._thread = threading.Thread(
                target=self._main, args=(profile, patient, operator, by), name="eacontrol-panel"
            )
            self._thread.start()
        self._notify()

    def submit(self, command: Command) -> None:
        """Queue ``command`` for the session loop (any thread); refused once the session has
        ended (under the lock: a command is either carried out, or refused by the end's drain,
        or refused here, never left unanswered)."""
        with self._lock:
            if self.active and not self._ended:
                self._inbox.put(command)
                return
        command.reply(False, "refused: no session is running")

    def record(self, text: str, by: Controller) -> None:
        """Record ``text`` as a note of the running session, from the loop (any thread; nothing
        when no session runs)."""
        if self.active:
            self._inbox.put(Command("account", None, by, lambda ok, text: None, text))

    def close(self) -> None:
        """The panel is closing: emergency-stop a running session (confirmed) and wait for it
        (safe to call twice).

        ``Session.emergency_stop`` is the one control method that is safe from any thread.
        """
        with self._lock:
            self._closing = True
            session, thread = self._session, self._thread
        if session is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(EAError):
                session.emergency_stop()
        if thread is not None:
            thread.join()

    # --- the session's thread ------------------------------------------------------------------

    def _main(
        self, profile: str, patient: str | None, operator: str | None, by: Controller
    ) -> None:
        from eacontrol.errors import SessionStopped, StopNotConfirmed
        from eacontrol.records import alarm_text

        session: Session | None = None
        try:
            with self._factory(profile, patient, operator) as started:
                session = started.session
                with self._lock:
                    self._session, self._status = session, started.status
                    if self._closing:
                        return
                self._points = started.points
                self._header = {
                    **self._header,
                    "device": started.device,
                    "title": started.title,
                    "simulated": started.simulated,
                }
                session.subscribe(self._event)
                self._started_by = by
                session.run(on_tick=self.tick)
        except StopNotConfirmed as err:
            self._finish(session, f"STOP NOT CONFIRMED: {err}: use the device's own stop", False)
            return
        except SessionStopped as err:
            self._finish(session, f"stopped by the device: {err}", True)
            return
        except Exception as err:  # shown on the page: the session's record has the rest
            confirmed = session is not None and session.result is not None
            if session is not None and session.result is not None:
                confirmed = not alarm_text(session.result.outcome)
            self._finish(session, f"{type(err).__name__}: {err}", confirmed)
            return
        self._finish(session, "", True)

    def _finish(self, session: Session | None, error: str, confirmed: bool) -> None:
        from eacontrol.cli.plainwords import outcome_text
        from eacontrol.records import alarm_text

        began = session is not None and session.session_id is not None
        view = self._running(session) if session is not None and began else {}
        result = None if session is None else session.result
        ended: dict[str, Any] = {"text": error, "confirmed": confirmed, "outcome": None}
        if not began:  # refused before the record began: nothing was stimulated
            ended = {"text": error, "confirmed": True, "outcome": None, "not_started": True}
        elif result is not None:
            alarm = alarm_text(result.outcome)
            ended = {
                "outcome": result.outcome.value,
                "text": outcome_text(result.outcome, result.detail)
                + (f" ({error})" if error else ""),
                "detail": result.detail,
                "confirmed": confirmed and not alarm,
                "alarm": alarm,
                "session_id": result.session_id,
                "duration_s": result.duration_s,
            }
        with self._lock:
            self._ended = True  # from now on submit() refuses
        while True:  # asked too late: the session has ended
            try:
                late = self._inbox.get_nowait()
            except queue.Empty:
                break
            late.reply(False, "refused: the session has ended")
        self._publish({**view, "phase": "ended", "result": ended})

    def _event(self, event: SessionEvent) -> None:
        """Keep a session event for the pages, in words (loop thread)."""
        from eacontrol.session import EventKind, SessionState

        session = self._session
        paused = self._pausing or (session is not None and session.state is SessionState.PAUSED)
        text = event_text(event, paused)
        self._events.append(text)
        if event.kind is EventKind.LINK:
            self._unknown = True
            self._faults.append(f"ALARM: {LINK_LOST}")
        elif event.kind is EventKind.FAULT:
            self._faults.append(text.split("  ", 1)[-1])
        elif event.kind in (EventKind.ALARM, EventKind.INTRUSION):
            self._faults.append(f"ALARM: {event.message}")

    def tick(self, session: Session) -> None:
        """The session loop's call: commands, attendance, snapshot, pacing (loop thread)."""
        if self._closing:  # the panel closed while this session was starting: never go on
            session.emergency_stop()
            return
        if self._wall_start is None:
            self._wall_start = self._wall.now() - session.t_s
            placed = f"; {self._placement}" if self._placement else ""
            self._note(session, f"panel: session started by {self._started_by.origin}{placed}")
        while True:
            self._drain(session)
            self._watch(session)
            self._publish(self._running(session))
            if not self._pace:
                return
            ahead_s = session.t_s - (self._wall.now() - self._wall_start)
            if ahead_s <= 0:
                return
            try:
                command = self._inbox.get(timeout=min(ahead_s, _PUBLISH_s))
            except queue.Empty:
                continue
            self._carry_out(session, command)

    def _drain(self, session: Session) -> None:
        while True:
            try:
                command = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._carry_out(session, command)

    def _watch(self, session: Session) -> None:
        """Pause a running session nobody attends (loop thread)."""
        from eacontrol.session import SessionState

        state = session.state
        if state is not SessionState.RUNNING:
            self._pausing = False  # the pause is done (or the session is ending)
            return
        why = self._attendance.unattended()
        if why is None or self._pausing:
            return
        try:
            session.pause()
        except SessionError:
            return  # a step is ending: asked again at the next tick
        self._pausing = True
        self._unattended = f"PAUSED, outputs to zero: {why}; resume from the controlling page"
        self._note(session, f"panel: paused unattended: {why}")

    def _note(self, session: Session, text: str) -> None:
        with contextlib.suppress(SessionError):
            session.note(text[:500])

    def _carry_out(self, session: Session, command: Command) -> None:
        """One command, recorded with its origin (loop thread)."""
        if command.action == "account":  # the panel's own account (a hand-over of control)
            self._note(session, f"panel: {command.text}")
            return
        if command.action != "stop" and command.by != self._attendance.controller:
            command.reply(False, "refused: this browser no longer controls the session")
            return
        what = command.action.replace("_", " ")
        if command.channel is not None:
            what += f" channel {command.channel}"
        if command.action == "stop":  # noted first: the session ends with it
            self._note(session, f"panel: STOP by {command.by.origin}")
            session.emergency_stop()
            command.reply(True, "STOP: every output cut at once, waiting for the device")
            return
        try:
            done = self._act(session, command)
        except (ParameterError, SessionError) as err:
            done, ok = f"refused: {err}", False
        else:
            ok = True
        if command.action != "note":  # a note is its own record, with its origin
            self._note(session, f"panel: {what} by {command.by.origin}: {done}")
        command.reply(ok, done)

    def _act(self, session: Session, command: Command) -> str:
        if command.action == "pause":
            self._pausing = True
        if command.action == "note":
            at = act(session, "note", None, f"panel: note by {command.by.origin}: {command.text}")
            return f"{at}: {command.text}"
        text = act(session, command.action, command.channel)
        if command.action == "resume":
            self._pausing, self._unattended = False, ""
        return text

    def _running(self, session: Session) -> dict[str, Any]:
        from eacontrol.cli.panel.snapshot import running_view

        progress = session.progress()
        if progress.step is not None:
            step = progress.step
            self._done_s = step.start_s + min(progress.step_elapsed_s, step.duration_s)
        alarms = [*self._faults, *([self._unattended] if self._unattended else [])]
        view = running_view(
            session.plan,
            progress,
            self._status(),
            done_s=self._done_s,
            points=self._points,
            alarms=alarms,
            events=tuple(self._events),
            unknown=self._unknown,
        )
        return {**self._header, **view, "phase": "running", "session_id": session.session_id}

    def _publish(self, view: dict[str, Any]) -> None:
        with self._lock:
            self._view = view
        self._notify()
