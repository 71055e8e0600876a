"""The timeline on the device: each step programmed, started, held, paused and ramped down.

A step: every channel is programmed (the Stimulator reads it back), STARTed from zero (it ramps
up over ``ramp_up_s``), held, and stopped with a ramp-down ``ramp_down_s`` before the step's
end, confirmed by the device's STATUS; then the device's totals are read (before the next
SET_PROGRAM resets them) and the step's end is recorded. Between those, the loop runs
``Stimulator.wait`` in slices of one heartbeat period (the only heartbeat there is), calls the
application's tick, takes samples (also while a ramp-down is confirmed) and carries out the
operator's requests. A relative step's levels come from the session's thresholds
(``thresholds.py``); a sham step's switch-off and its verum-long end are here.

A channel-local fault (a lead off, a load too high) holds only its channel (``holding.py``); any
other fault ends the session (``ending.py``). Each step's end records each channel's treatment
intensity (``treatment.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from eacontrol.device import DeviceStatus, Stimulator
from eacontrol.device.stimulator import DEFAULT_SLEW_mA_per_s
from eacontrol.errors import DeviceError, DeviceFault, Layer, LinkError
from eacontrol.link import HEARTBEAT_FRACTION
from eacontrol.profiles.titration import IntensityMode
from eacontrol.records import Outcome, StepRecord
from eacontrol.session.control import Intent, LiveControl, Request
from eacontrol.session.ending import StopKind, is_channel_local
from eacontrol.session.events import EventKind
from eacontrol.session.holding import ChannelHolds, Emit
from eacontrol.session.intrusion import ForeignFrames
from eacontrol.session.plan import Ceiling, PlannedChannel, PlannedStep, SessionPlan
from eacontrol.session.recorder import SessionRecorder
from eacontrol.session.state import SessionState, StepTimer
from eacontrol.session.treatment import TreatmentLog

log = logging.getLogger(__name__)

__all__ = ["Emit", "StepRunner"]

_MIN_WAIT_s = 1e-6


class StepRunner(ChannelHolds):
    """Runs the steps of one session.

    Attributes:
        state: PREFLIGHT until the first START, then RUNNING, PAUSED or STOPPING.
        step: the running step, or None.
        timer: the running step's timer.
        ending: (outcome, detail) once the operator stopped the session, else None.
        steps_done: steps that ran to their planned end.
    """

    def __init__(
        self,
        stim: Stimulator,
        plan: SessionPlan,
        recorder: SessionRecorder,
        control: LiveControl,
        emit: Emit,
        now: Callable[[], float],
        periods: tuple[float, float, float],
    ) -> None:
        """Args:
        stim: the stimulator.
        plan: the timeline.
        recorder: the session's record.
        control: the live control (targets, queue).
        emit: records and publishes an event.
        now: session time.
        periods: session time between samples, sample commits and totals readings.
        """
        self._stim = stim
        self._plan = plan
        self._recorder = recorder
        self._control = control
        self._emit = emit
        self._now = now
        self._periods = periods
        self._tick_s = stim.lease_s / HEARTBEAT_FRACTION  # a heartbeat (PROTOCOL.md §3.5)
        self._due = [0.0, 0.0, 0.0]  # next sample, flush, totals
        self._params: dict[str, Any] = {}
        self.state = SessionState.PREFLIGHT  # until the first START
        self.step: PlannedStep | None = None
        self.timer = StepTimer(0.0)
        self.ending: tuple[Outcome, str] | None = None
        self.steps_done = 0
        self._tick: Callable[[], None] = lambda: None  # the UI's tick, read during ramp-downs
        self._treatment = TreatmentLog(())
        self._programmed: set[int] = set()  # the running step's channels programmed
        # (switch-off time, channel) a sham_ramp_off step has still to switch off
        self._sham_pending: list[tuple[float, PlannedChannel]] = []
        # pre-flight's STATUS: the baseline of frames refused as not this host's
        self._foreign = ForeignFrames(stim.last_status, stim.frame_log.stale_repeats)

    @property
    def marked(self) -> dict[int, float]:
        """The treatment intensity marked on each channel in the running step, mA."""
        return self._treatment.marked

    def run(self, step: PlannedStep, tick: Callable[[], None]) -> None:
        """Run one step to its confirmed end, or until the operator stops the session."""
        self._tick = tick
        step, resolved = self._control.thresholds.resolve(step)
        self._start(step)
        for r in resolved:
            if r.refused is not None:
                self._emit(
                    EventKind.WARNING,
                    r.channel,
                    f"channel {r.channel} starts at 0 mA, running: {r.refused}; raise it by hand",
                    {"relative_refused": r.refused, "step_index": step.index},
                )
        while True:
            self._periodic(step)
            self._sham_switch_off(step)
            tick()
            self._apply_requests(step)
            if self.ending is not None:
                return
            left = (
                float("inf") if self.timer.held else step.hold_s - self.timer.elapsed(self._now())
            )
            if left <= 0:
                break
            slice_s = min(left, self._due[0] - self._now(), self._tick_s)
            # At least one microsecond (the virtual clock's tick): a deadline a float rounding
            # error ahead would otherwise be waited for with a wait that lets no time pass.
            try:
                self._stim.wait(max(slice_s, _MIN_WAIT_s))
            except DeviceFault as fault:
                self._hold_faulted(step, fault)
        self._end(step, StopKind.RAMP_DOWN)

    def _start(self, step: PlannedStep) -> None:
        held = self._control.held
        crcs = {
            c.channel: self._stim.program(c.channel, c.stimulation)
            for c in step.channels
            if c.channel not in held  # still latched on the device: programmed on resuming
        }
        self._programmed = set(crcs)
        self._sham_pending = [(c.sham_off_s, c) for c in step.channels if c.sham_off_s is not None]
        started = self._now()
        if crcs:
            self._stim.start(sorted(crcs))
        self.step, self.timer, self.state = step, StepTimer(started), SessionState.RUNNING
        self._control.begin_step(step)
        self._treatment = TreatmentLog(self._control.targets.items())
        self._params = step.parameters(crcs)
        self._record_step(step, None)
        self._due[2] = started + self._periods[2]
        numbers = ", ".join(str(n) for n in step.numbers)
        self._emit(
            EventKind.PROGRESS,
            None,
            f"step {step.index + 1}/{len(self._plan.steps)} ({step.name}) started on channel(s) "
            f"{numbers}: {step.mode}, {step.duration_s:g} s",
            {"progress": "step_start", "step_index": step.index, "duration_s": step.duration_s},
        )
        for c in step.channels:
            if c.channel in held:
                continue
            self._emit(
                EventKind.INTENSITY,
                c.channel,
                c.start_text(),
                {"to_mA": c.start_mA, "by": "prescription"},
            )

    def _record_step(self, step: PlannedStep, ended_s: float | None) -> None:
        started = self.timer.started_s
        self._recorder.step(
            StepRecord(step.index, step.label, step.mode, started, ended_s, self._params)
        )

    def _end(self, step: PlannedStep, stop: StopKind) -> None:
        self.state = SessionState.STOPPING
        if stop is StopKind.RAMP_DOWN:
            self._emit(EventKind.PROGRESS, None, f"step {step.index + 1}: ramping down", {})
        self._stim.stop(None, immediate=stop is StopKind.IMMEDIATE, escalate=self._escalate)
        if stop is StopKind.RAMP_DOWN and any(c.setting.sham for c in step.channels):
            self._as_long_as_a_verum(step)
        self.close(totals=True)
        # A fault latched during the ramp-down (lease, stuck output) ends the session as a
        # fault, not as a completed step; one of a channel's load only holds that channel.
        try:
            self._stim.check_faults()
        except DeviceFault as fault:
            if not is_channel_local(fault):
                raise
            self._hold_local(fault)
        if self.ending is None:
            self.steps_done += 1

    def _as_long_as_a_verum(self, step: PlannedStep) -> None:
        """A sham's outputs are at zero already when its step ramps down: wait out the step's
        planned length as a verum's ramp-down would, so that nothing on the host's screen (a
        blinded operator's, ``cli.blinding``) tells the sham by its timing. An emergency stop
        still ends it at once."""
        while (left := step.duration_s - self.timer.elapsed(self._now())) > 0:
            self._stim.wait(max(min(left, self._tick_s), _MIN_WAIT_s))
            if self._escalate():  # the operator's keys are read after each wait, as in a ramp
                return

    def close(self, *, totals: bool) -> None:
        """Record the running step's end (and its totals), once its outputs have stopped."""
        step = self.step
        if step is None:
            return
        self._check_frames(self._stim.last_status)  # refused since the last sample
        if totals:
            try:
                self._record_totals(step)
            except (DeviceError, LinkError) as err:  # no session to read them in: unknown
                log.warning("step %d: totals not read: %s", step.index + 1, err)
        t = self._now()
        channels = self._params.get("channels", {})
        for c in step.channels:  # a threshold step's result is its thresholds
            if c.setting is IntensityMode.THRESHOLD and str(c.channel) in channels:
                channels[str(c.channel)] |= self._control.thresholds.of(c.channel)
        # no treatment intensity in a sham (none was given) or a threshold step (not one)
        untreated = {
            c.channel
            for c in step.channels
            if c.setting.sham or c.setting is IntensityMode.THRESHOLD
        }
        for reached in self._treatment.result(self.timer.elapsed(t)):
            if reached.channel in untreated:
                continue
            self._emit(
                EventKind.TREATMENT, reached.channel, reached.text(), reached.data(step.index)
            )
            if str(reached.channel) in channels:
                channels[str(reached.channel)]["treatment_intensity_mA"] = reached.intensity_mA
                channels[str(reached.channel)]["treatment_intensity_how"] = reached.how.value
        self._record_step(step, t)
        self._emit(
            EventKind.PROGRESS,
            None,
            f"step {step.index + 1} ({step.name}) ended after {t - self.timer.started_s:.3f} s",
            {"progress": "step_end", "step_index": step.index, "paused_s": self.timer.paused_s},
        )
        self._control.end_step()
        self.step = None

    def _record_totals(self, step: PlannedStep) -> None:
        doses = [(n, self._stim.dose(n)) for n in step.numbers]
        self._recorder.totals(step.index, doses)

    def _periodic(self, step: PlannedStep) -> None:
        now = self._now()
        self._sample(now)
        self._check_held()
        if now >= self._due[1]:
            self._recorder.flush()
        if now >= self._due[2]:
            self._record_totals(step)
        self._due = [_next(d, p, now) for d, p in zip(self._due, self._periods, strict=True)]

    def _sample(self, now: float) -> None:
        """When a sample is due, one of every channel from the latest STATUS (an impedance
        change as an event), and the frames refused since the last one."""
        status = self._stim.last_status if now >= self._due[0] else None
        if status is None:
            return
        reports = {r.channel: r for r in status.channels}
        for n in self._recorder.sample(now, status, self._plan.channels):
            ohm = reports[n].impedance_ohm
            text = "open or unknown" if ohm is None else f"{ohm} ohm"
            seen = {"ohm": ohm, "device_uptime_s": status.uptime_s}  # the STATUS's time
            self._emit(EventKind.IMPEDANCE, n, f"channel {n}: impedance {text}", seen)
        self._check_frames(status)

    def _check_frames(self, status: DeviceStatus | None) -> None:
        own = self._stim.frame_log.stale_repeats
        found = None if status is None else self._foreign.check(status, own)
        if found is not None:
            self._emit(EventKind.INTRUSION, None, found.text(), found.data())

    def _sham_switch_off(self, step: PlannedStep) -> None:
        """A ``sham_ramp_off`` step: once ``sham_on_s`` of step time have passed (within one
        heartbeat period), every channel ramps down to 0 mA over the step's ``ramp_down_s``
        and stays there, its ceiling 0 mA for the rest of the step."""
        if not self._sham_pending or self.state is not SessionState.RUNNING:
            return  # nearly always: a step that is no sham, or one already switched off
        elapsed = self.timer.elapsed(self._now())
        due = [c for off_s, c in self._sham_pending if elapsed >= off_s]
        if not due:
            return
        self._sham_pending = [(off_s, c) for off_s, c in self._sham_pending if c not in due]
        fastest = self._stim.limits.max_slew_mA_per_s
        off = Ceiling(0.0, Layer.PROFILE, f"the profile (steps[{step.index}].sham_on_s)")
        for c in due:
            self._control.cap(c.channel, off)
            if c.channel in self._control.held:
                continue  # already at zero
            slew = _ramp_slew(c.stimulation.intensity_mA, step.ramp_down_s, fastest)
            try:
                self._stim.set_intensity(c.channel, 0.0, slew_mA_per_s=slew)
            except DeviceError as err:  # the channel may have just faulted: as an operator's
                self._hold_faulted(step, err)  # change, hold it (or end on a device fault)
                continue
            self._treatment.level(c.channel, 0.0, elapsed)
        numbers = ", ".join(str(c.channel) for c in due)
        self._emit(
            EventKind.PROGRESS,
            None,
            f"sham: channel(s) {numbers} ramping down to 0 mA at {elapsed:.1f} s of the step "
            f"(sham_on_s {due[0].sham_off_s:g} s), and held there",
            {"sham_off": [c.channel for c in due], "at_step_s": elapsed},
        )

    # --- the operator's requests ---------------------------------------------------------------

    def _apply_requests(self, step: PlannedStep) -> None:
        for request in self._control.drain():
            if self.ending is not None:
                return
            intent, running = request.intent, self.state is SessionState.RUNNING
            if intent is Intent.SET_INTENSITY and running:
                self._set_intensity(step, request)
            elif intent is Intent.MARK_TREATMENT:
                assert request.channel is not None and request.intensity_mA is not None
                at = self.timer.elapsed(request.t_s)
                self._treatment.mark(request.channel, request.intensity_mA, at)
            elif intent is Intent.RESUME_CHANNEL and running:
                assert request.channel is not None
                self._resume_channel(step, request.channel)
            elif intent is Intent.PAUSE and running:
                self._pause(request)
            elif intent is Intent.RESUME and self.state is SessionState.PAUSED:
                self._resume(step, request)
            elif intent in (Intent.STOP, Intent.EMERGENCY_STOP):
                self._stop(step, intent is Intent.EMERGENCY_STOP)

    def _set_intensity(self, step: PlannedStep, request: Request) -> None:
        channel, mA = request.channel, request.intensity_mA
        assert channel is not None and mA is not None
        if channel in self._control.held:
            return  # held by a fault that came in after the request
        fastest = self._stim.limits.max_slew_mA_per_s  # lowering never waits
        slew = fastest if request.lowers else DEFAULT_SLEW_mA_per_s
        try:
            self._stim.set_intensity(channel, mA, slew_mA_per_s=slew)
        except DeviceError as err:  # refused: the channel may have just faulted
            self._hold_faulted(step, err)
            if channel not in self._control.held:
                raise
            return
        self._treatment.level(channel, mA, self.timer.elapsed(request.t_s))

    def _pause(self, request: Request) -> None:
        self.timer.hold(request.t_s)
        self.state = SessionState.PAUSED
        self._emit(EventKind.OPERATOR, None, "paused: ramping down, the step's timer held", {})
        self._stim.stop(None, escalate=self._escalate)

    def _escalate(self) -> bool:
        """Keep reading the operator's input while a ramp-down is confirmed; True (cut every
        output now) once an emergency stop is asked for. It ends the session there and then,
        so nothing is started again after it. Samples go on meanwhile, from the STATUS the
        stop is confirmed by: the ramp-down is recorded as delivered, not left out."""
        now = self._now()
        self._sample(now)
        self._due[0] = _next(self._due[0], self._periods[0], now)
        self._tick()
        if not self._control.pending(Intent.EMERGENCY_STOP):
            return False
        self.ending = (Outcome.EMERGENCY_STOP, "emergency stop during a ramp-down: outputs cut")
        self._emit(EventKind.OPERATOR, None, self.ending[1], {})
        return True

    def _resume(self, step: PlannedStep, request: Request) -> None:
        self._emit(
            EventKind.OPERATOR, None, f"resumed: re-ramping from zero over {step.ramp_up_s:g} s", {}
        )
        held = self._control.held
        running = [n for n in step.numbers if n not in held]
        if running:
            self._stim.start(running)
        for c in step.channels:
            target = self._control.targets[c.channel]
            if c.channel not in held and target != c.stimulation.intensity_mA:
                # START ramps to the program's target; go to the operator's in the same time.
                fastest = self._stim.limits.max_slew_mA_per_s
                slew = _ramp_slew(target, step.ramp_up_s, fastest)
                self._stim.set_intensity(c.channel, target, slew_mA_per_s=slew)
        self.timer.release(request.t_s)
        self.state = SessionState.RUNNING

    def _stop(self, step: PlannedStep, emergency: bool) -> None:
        if emergency:
            self.ending = (Outcome.EMERGENCY_STOP, "emergency stop: every output cut at once")
        else:
            self.ending = (Outcome.STOPPED, "stopped by the operator: outputs ramped down")
        self._emit(EventKind.OPERATOR, None, self.ending[1], {})
        self._end(step, StopKind.IMMEDIATE if emergency else StopKind.RAMP_DOWN)


def _ramp_slew(level_mA: float, ramp_s: float, fastest: float) -> float:
    """The slew that covers ``level_mA`` in ``ramp_s``, at the wire's 1 µA/s resolution and
    never slower than that (2 mA over 3 s is 0.666 mA/s), at most ``fastest`` (no ramp: it)."""
    if ramp_s <= 0:
        return fastest
    return min(max(1, int(level_mA * 1000 / ramp_s)) / 1000, fastest)


def _next(due: float, period: float, now: float) -> float:
    """The first of ``due``, ``due + period``, ... that is later than ``now``."""
    while due <= now:
        due += period
    return due
