"""The session runner: a profile's timeline on a connected Stimulator, recorded as it happens.

::

    with connect(port) as stim, RecordStore.open() as store:
        session = Session(stim, load_profile("lbp_2hz"), store=store)
        result = session.run(on_tick=ui.poll)   # ui.poll may call session.adjust(1, +0.5) ...

Pre-flight (``preflight.py``) sends nothing but GET_STATUS; then the record begins (a database
problem stops here, before any stimulation), and each step runs (``steps.py``). The loop is the
only heartbeat: blocked for longer than the lease, the device stops by itself
(docs/architecture.md).
Every way out ends in a confirmed stop or ``StopNotConfirmed`` and is recorded (``ending.py``).

Single-threaded: call the control methods from ``on_tick`` or a subscriber, in the loop's
thread — except ``emergency_stop()``, which is safe from any thread (docs/scripting.md).
Session time is the Stimulator's clock (virtual with ``sim://``), so a run in virtual
time records the same events at the same session times as in real time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn

from eacontrol.device import DeviceEvent, Stimulator
from eacontrol.errors import (
    DeviceFault,
    EAError,
    RecordError,
    SessionError,
    SessionStopped,
    StopNotConfirmed,
)
from eacontrol.link import HEARTBEAT_FRACTION
from eacontrol.profiles import PatientContext, Profile, SitePolicy
from eacontrol.records import ClinicalDetails, Outcome, RecordStore, Study
from eacontrol.records.refused import REFUSED_MARK
from eacontrol.safety.engine import check_number
from eacontrol.session.channel_control import ChannelControls
from eacontrol.session.control import Intent, LiveControl, Request
from eacontrol.session.ending import (
    SessionResult,
    alarm_data,
    ending_for,
    reboot_seen,
    stop_outputs,
)
from eacontrol.session.events import (
    EventKind,
    SessionEvent,
    SessionListener,
    Subscribers,
    from_device_event,
)
from eacontrol.session.missed import read_missed_totals
from eacontrol.session.plan import SessionPlan
from eacontrol.session.preflight import Identity, preflight, session_meta
from eacontrol.session.recorder import SessionRecorder, record_period
from eacontrol.session.state import Progress, SessionState
from eacontrol.session.steps import StepRunner

__all__ = ["Session", "Tick"]

log = logging.getLogger(__name__)

Tick = Callable[["Session"], None]
"""``on_tick``: called with the session every loop iteration (about every heartbeat period)."""

_LIVE = {SessionState.RUNNING, SessionState.PAUSED}


class Session(ChannelControls):
    """Runs one profile once on a connected Stimulator and records it.

    Live control: ``set_intensity``/``adjust``, ``pause``/``resume``, ``stop``,
    ``emergency_stop`` here; ``mark_treatment``, ``resume_channel`` and ``note``
    (``channel_control.py``).
    """

    def __init__(
        self,
        stim: Stimulator,
        profile: Profile,
        *,
        store: RecordStore,
        operator_id: str | None = None,
        patient_id: str | None = None,
        patient: PatientContext | None = None,
        site: SitePolicy | None = None,
        device_serial: str | None = None,
        profile_version: str | None = None,
        sample_period_s: float = 1.0,
        flush_period_s: float = 1.0,
        totals_period_s: float = 60.0,
        utc_now: Callable[[], datetime] | None = None,
        clinical: ClinicalDetails | None = None,
        study: Study | None = None,
    ) -> None:
        """Prepare a session; nothing is sent until :meth:`run`.

        Args:
            stim: the connected stimulator (its clock is the session clock).
            profile: the profile to run.
            store: the open session database.
            operator_id / patient_id: identifiers for the record.
            patient: the patient layer (flags, calibrated maxima).
            site: the clinic's policy (site layer).
            device_serial: refuse any device but this serial number.
            profile_version: the profile's version for the record; default the first 12 hex
                digits of its sha256.
            sample_period_s: session time between samples of every channel.
            flush_period_s: session time between commits of the samples (an interrupted session
                loses at most this much of them).
            totals_period_s: session time between readings of the device's delivered totals
                during a step (they are also read at each step's end).
            utc_now: the wall clock for the record's start (its end is the start plus the
                session time); default ``datetime.now(UTC)``.
            clinical: the practitioner's account for the record (intensity aim, STRICTA items).
            study: the session's condition, arm and tags in a study, for the record.

        Raises:
            ParameterError: a period is not a number of seconds of at least 0.001 s.
        """
        self._stim = stim
        self._profile = profile
        self._store = store
        self._identity = Identity(
            stim.url, stim.simulated, operator_id, patient_id, profile_version, clinical, study
        )
        self._layers = (site, patient, device_serial)
        self._periods = (
            record_period("sample_period_s", sample_period_s, stim.lease_s / HEARTBEAT_FRACTION),
            record_period("flush_period_s", flush_period_s),
            record_period("totals_period_s", totals_period_s),
        )
        self._utc_now = utc_now or (lambda: datetime.now(UTC))
        self._control = LiveControl()
        self._subscribers = Subscribers()
        self._plan = SessionPlan.build(profile)
        self._state = SessionState.READY
        self._recorder: SessionRecorder | None = None
        self._boot_id = 0  # the device boot the session began on
        self._steps: StepRunner | None = None
        self._t0 = 0.0
        self._quiet = False
        self._loop_thread: int | None = None
        self.result: SessionResult | None = None

    # --- what a display reads ------------------------------------------------------------------

    @property
    def plan(self) -> SessionPlan:
        """The timeline (ceilings from every layer once pre-flight has run)."""
        return self._plan

    @property
    def state(self) -> SessionState:
        """Where the session is."""
        if self._steps is None or self._state is SessionState.ENDED:
            return self._state
        return self._steps.state

    @property
    def session_id(self) -> int | None:
        """The record's id once the record has begun."""
        return None if self._recorder is None else self._recorder.session_id

    @property
    def t_s(self) -> float:
        """Session time (0 until the record begins)."""
        return 0.0 if self._recorder is None else self._stim.clock.now() - self._t0

    def progress(self) -> Progress:
        """A snapshot of the session for a display."""
        t, steps = self.t_s, self._steps
        if steps is None or steps.step is None:
            return Progress(t, self.state, None, 0.0, {})
        return Progress(
            t,
            self.state,
            steps.step,
            steps.timer.elapsed(t),
            self._control.targets,
            self._control.held,
            steps.marked,
            {c.channel: self._control.thresholds.of(c.channel) for c in steps.step.channels},
        )

    def subscribe(self, listener: SessionListener) -> Callable[[], None]:
        """Call ``listener`` with every session event, after it is recorded.

        A listener's exception ends the session (error), except while it stops.

        Returns:
            A function that unsubscribes.
        """
        return self._subscribers.add(listener)

    # --- live control --------------------------------------------------------------------------

    def set_intensity(self, channel: int, intensity_mA: float) -> None:
        """Set a channel's intensity in the running step (the device slews up at 0.5 mA/s, down
        at its fastest: a decrease is never throttled).

        Raises:
            SessionError: no step is stimulating (paused, stopping, not running).
            ParameterError: a rule of ``control.py`` refuses it; recorded as a warning.
        """
        t = self._require({SessionState.RUNNING}, "change an intensity")
        try:
            previous = self._control.change(channel, intensity_mA, t)
        except EAError as err:
            self._emit(EventKind.WARNING, channel, f"{REFUSED_MARK}: {err}", {})
            raise
        target = self._control.targets[channel]
        self._control.request(Request(Intent.SET_INTENSITY, t, channel, target, previous))
        self._emit(
            EventKind.INTENSITY,
            channel,
            f"channel {channel}: {previous:g} → {target:g} mA (operator)",
            {"from_mA": previous, "to_mA": target, "by": "operator"},
        )

    def adjust(self, channel: int, delta_mA: float) -> None:
        """Change a channel's intensity by ``delta_mA`` (up: at most 0.5 mA, 1 s apart; down: any).

        Raises:
            SessionError / ParameterError: as :meth:`set_intensity`.
        """
        delta = check_number("delta_mA", delta_mA, "mA")
        self._require({SessionState.RUNNING}, "change an intensity")
        self.set_intensity(channel, self._control.targets.get(channel, 0.0) + delta)

    def increase_wait_s(self, channel: int) -> float:
        """Seconds until ``channel`` may be raised again (0: now); decreases never wait.

        Raises:
            ParameterError: the running step does not drive the channel.
        """
        return self._control.increase_wait_s(channel, self.t_s)

    def pause(self) -> None:
        """Ramp every output to zero and hold the step's timer until :meth:`resume`.

        Raises:
            SessionError: no step is stimulating.
        """
        self._control.request(Request(Intent.PAUSE, self._require({SessionState.RUNNING}, "pause")))

    def resume(self) -> None:
        """Re-ramp the paused step from zero to the targets in force, over its ``ramp_up_s``.

        Raises:
            SessionError: the session is not paused (nor about to pause).
        """
        pausing = {SessionState.RUNNING} if self._control.pending(Intent.PAUSE) else set()
        t = self._require({SessionState.PAUSED} | pausing, "resume")
        self._control.request(Request(Intent.RESUME, t))

    def stop(self) -> None:
        """End the session: ramp every output down to a confirmed zero (outcome stopped).

        Raises:
            SessionError: no step is running or paused.
        """
        self._control.request(Request(Intent.STOP, self._require(_LIVE, "stop")))

    def emergency_stop(self) -> None:
        """Cut every output at once and end the session (outcome emergency_stop).

        Never refused: outside the session loop the Stimulator is stopped directly. Safe from
        any thread: from another thread than the loop's (a watchdog, a GUI) the outputs are cut
        and confirmed before it returns, even when the loop is stuck in ``on_tick``; the loop
        then ends the session as an emergency stop.

        Raises:
            StopNotConfirmed: (outside the loop, or from another thread) the device did not
                confirm.
        """
        if self.state in _LIVE | {SessionState.PREFLIGHT, SessionState.STOPPING}:
            self._control.request(Request(Intent.EMERGENCY_STOP, self.t_s))
            if self._loop_thread in (None, threading.get_ident()):
                return  # the loop carries it out as soon as the caller returns
        self._stim.emergency_stop()

    def _require(self, states: set[SessionState], action: str) -> float:
        ending = self._steps is not None and self._steps.ending is not None
        if self.state not in states or ending:
            raise SessionError(f"cannot {action}: the session is {self.state.value}")
        return self.t_s

    # --- the run -------------------------------------------------------------------------------

    def run(self, on_tick: Tick | None = None) -> SessionResult:
        """Run the profile: pre-flight, every step, a confirmed stop; record everything.

        Args:
            on_tick: called with this session every loop iteration (about every heartbeat
                period); it may call the control methods. It must return quickly: while it
                runs, nothing renews the device's lease.

        Returns:
            The result, for the outcomes completed, stopped and emergency_stop.

        Raises:
            SessionError: already run; or an output is not at zero or a channel of the profile
                has a latched fault (nothing was sent).
            RecordError: the database cannot hold the session (nothing was stimulated), or it
                failed mid-session (stimulation was stopped at once).
            IdentityMismatch: not the pinned device (nothing was sent).
            ProfileRefused: the profile breaks a limit layer (nothing was sent).
            SessionStopped: a device fault ended it (channel and fault named); every output was
                confirmed at zero.
            LinkLost: the link was lost; the device stops by its lease.
            StopNotConfirmed: the outputs were not confirmed off: use the hardware stop.
            KeyboardInterrupt: Ctrl-C; every output was cut and confirmed off first.
        """
        if self._state is not SessionState.READY:
            raise SessionError("this session has already run; create a new Session")
        self._state = SessionState.PREFLIGHT
        self._loop_thread = threading.get_ident()
        try:
            steps = self._begin()
        except BaseException:
            self._state = SessionState.ENDED
            raise
        unsubscribe = self._stim.on_event(self._on_device_event)
        ui: Callable[[], object] = (lambda: on_tick(self)) if on_tick else (lambda: None)

        def tick() -> None:
            self._relay_annotations()  # notes added by eactl annotate: marker events
            ui()

        try:
            for step in self._plan.steps:
                steps.run(step, tick)
                if steps.ending is not None:
                    break
            if steps.ending is None and (rebooted := reboot_seen(self._boot_id, self._stim)):
                raise rebooted  # during the last stop: not completed
            outcome, detail = steps.ending or (Outcome.COMPLETED, "every step ran to its end")
            return self._finish(outcome, detail)
        except BaseException as exc:
            self._fail(exc)
        finally:
            unsubscribe()

    def _begin(self) -> StepRunner:
        """Pre-flight, then begin the record: nothing has been stimulated if this raises."""
        site, patient, device_serial = self._layers
        # Reads only: before anything is programmed, and before pre-flight may refuse (the
        # LEASE fault an interrupted session leaves latched).
        read_missed_totals(self._stim, self._store)
        self._plan, findings = preflight(
            self._stim,
            self._profile,
            self._store,
            site=site,
            patient=patient,
            device_serial=device_serial,
        )
        meta = session_meta(
            self._stim,
            self._profile,
            self._plan,
            self._identity,
            patient=patient,
            findings=findings,
            started_at=self._utc_now(),
        )
        self._t0 = self._stim.clock.now()
        self._boot_id = meta.boot_id
        # A STATUS older than half the lease: at least two heartbeats in a row went unanswered
        # (one goes every lease/5), so it no longer says what flows: the sample is missing.
        self._recorder = SessionRecorder(
            self._store, meta, clock=self._stim.clock, stale_after_s=self._stim.lease_s / 2
        )
        self._steps = StepRunner(
            self._stim,
            self._plan,
            self._recorder,
            self._control,
            self._emit,
            lambda: self.t_s,
            self._periods,
        )
        plan = self._plan
        self._emit(
            EventKind.PROGRESS,
            None,
            f"session started: {plan.profile_name}, {len(plan.steps)} step(s), "
            f"{plan.total_s:g} s planned",
            {"progress": "session_start", "steps": len(plan.steps), "planned_s": plan.total_s},
        )
        for finding in findings:
            self._emit(EventKind.WARNING, None, f"advisory: {finding}", {"path": finding.path})
        return self._steps

    # --- events --------------------------------------------------------------------------------

    def _emit(
        self,
        kind: EventKind,
        channel: object,
        message: str,
        data: dict[str, Any],
        t_s: float | None = None,
    ) -> None:
        """Record and publish an event at session time ``t_s`` (default: now)."""
        if channel is not None and channel not in self._plan.channels:
            # The record takes only the profile's channels: keep any other (a refused request
            # for channel 9, a device event on an unused channel) in the data.
            channel, data = None, data | {"channel": repr(channel)}
        assert channel is None or isinstance(channel, int)
        event = SessionEvent(self.t_s if t_s is None else t_s, kind, channel, message, data)
        if self._recorder is not None:
            try:
                self._recorder.event(event)
            except RecordError:
                # Queued all the same (the writer keeps what it was given): show it too, then
                # let the records problem end the session.
                self._subscribers.publish(event, quiet=self._quiet)
                raise
        self._subscribers.publish(event, quiet=self._quiet)

    def _on_device_event(self, event: DeviceEvent) -> None:
        e = from_device_event(event, event.time_s - self._t0)
        self._emit(e.kind, e.channel, e.message, e.data, e.t_s)

    # --- the end -------------------------------------------------------------------------------

    def _finish(self, outcome: Outcome, detail: str) -> SessionResult:
        assert self._recorder is not None and self._steps is not None
        t = self.t_s
        ended = {"outcome": outcome.value}  # the session's own stop, not a channel's
        self._emit(EventKind.STOP, None, f"session ended ({outcome.value}): {detail}", ended)
        self._recorder.end(outcome, t, detail)
        self._state = SessionState.ENDED
        try:
            record = self._store.session(self._recorder.session_id)
        except RecordError:
            record = None
        self.result = SessionResult(
            self._recorder.session_id, outcome, detail, t, self._steps.steps_done, record
        )
        return self.result

    def _fail(self, exc: BaseException) -> NoReturn:
        """Stop as the exception calls for (``ending.py``), record the end, raise."""
        assert self._recorder is not None and self._steps is not None
        self._quiet = self._recorder.quiet = True  # nothing may keep the outputs on now
        self._steps.state = SessionState.STOPPING
        ending = ending_for(exc)
        kinds = {
            Outcome.FAULT: EventKind.FAULT,
            Outcome.LINK_LOST: EventKind.LINK,
            Outcome.DEVICE_MISMATCH: EventKind.ALARM,
        }
        channel = exc.channel if isinstance(exc, DeviceFault) else None
        data = alarm_data(exc)
        self._emit(kinds.get(ending.outcome, EventKind.WARNING), channel, ending.detail, data)
        outcome, detail, raised = ending.outcome, ending.detail, exc
        try:
            stop_outputs(self._stim, ending.stop)
        except EAError as err:
            alarm = err if isinstance(err, StopNotConfirmed) else StopNotConfirmed(str(err))
            outcome, detail, raised = Outcome.STOP_NOT_CONFIRMED, str(alarm), alarm
            alarm.add_note(f"the session ended because of {type(exc).__name__}: {exc}")
            try:  # the step's end (its totals unknown), as after a lost link
                self._steps.close(totals=False)
            except EAError as close_err:
                log.error("step end not recorded after %s: %s", type(exc).__name__, close_err)
        else:
            totals = ending.read_totals
            if "NO_SESSION" in ending.detail and (seen := reboot_seen(self._boot_id, self._stim)):
                detail, totals = ending_for(seen).detail, False  # the stop's new session saw why
            try:
                self._steps.close(totals=totals)
            except EAError as err:  # the outputs are off; only the step's totals are missing
                log.error("step totals not read after %s: %s", type(exc).__name__, err)
        self._finish(outcome, detail)
        for failure in self._recorder.failures:
            raised.add_note(f"not recorded: {failure}")
        if raised is not exc:
            raise raised from exc
        if isinstance(exc, DeviceFault):
            raise SessionStopped(
                f"{detail}. Every output of the session was stopped and confirmed at zero; the "
                f"session ended ({outcome.value})"
            ) from exc
        raise exc
