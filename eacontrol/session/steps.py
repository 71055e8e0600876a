"""The timeline on the device: each step programmed, started, held, paused and ramped down.

A step: every channel is programmed (the Stimulator reads it back), STARTed from zero (it ramps
up over ``ramp_up_s``), held, and stopped with a ramp-down ``ramp_down_s`` before the step's
end, confirmed by the device's STATUS; then the device's totals are read (before the next
SET_PROGRAM resets them) and the step's end is recorded. Between those, the loop runs
``Stimulator.wait`` in slices of one heartbeat period (the only heartbeat there is), calls the
application's tick, takes samples and carries out the operator's requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from eacontrol.device import Stimulator
from eacontrol.device.stimulator import DEFAULT_SLEW_mA_per_s
from eacontrol.records import Outcome, StepRecord
from eacontrol.session.control import Intent, LiveControl, Request
from eacontrol.session.ending import StopKind
from eacontrol.session.events import EventKind
from eacontrol.session.plan import PlannedStep, SessionPlan
from eacontrol.session.recorder import SessionRecorder
from eacontrol.session.state import SessionState, StepTimer

__all__ = ["Emit", "StepRunner"]

_MIN_WAIT_s = 1e-6


class Emit(Protocol):
    """Records and publishes a session event now."""

    def __call__(
        self, kind: EventKind, channel: int | None, message: str, data: dict[str, Any]
    ) -> None: ...


class StepRunner:
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
        self._tick_s = stim.lease_s / 5  # one heartbeat period (PROTOCOL.md §3.4)
        self._due = [0.0, 0.0, 0.0]  # next sample, flush, totals
        self._params: dict[str, Any] = {}
        self.state = SessionState.PREFLIGHT  # until the first START
        self.step: PlannedStep | None = None
        self.timer = StepTimer(0.0)
        self.ending: tuple[Outcome, str] | None = None
        self.steps_done = 0
        self._tick: Callable[[], None] = lambda: None  # the UI's tick, read during ramp-downs

    def run(self, step: PlannedStep, tick: Callable[[], None]) -> None:
        """Run one step to its confirmed end, or until the operator stops the session."""
        self._tick = tick
        self._start(step)
        while True:
            self._periodic(step)
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
            self._stim.wait(max(slice_s, _MIN_WAIT_s))
        self._end(step, StopKind.RAMP_DOWN)

    def _start(self, step: PlannedStep) -> None:
        crcs = {c.channel: self._stim.program(c.channel, c.stimulation) for c in step.channels}
        started = self._now()
        self._stim.start(step.numbers)
        self.step, self.timer, self.state = step, StepTimer(started), SessionState.RUNNING
        self._control.begin_step(step)
        self._params = step.parameters(crcs)
        self._record_step(step, None)
        self._due[2] = started + self._periods[2]
        numbers = ", ".join(str(n) for n in step.numbers)
        self._emit(
            EventKind.PROGRESS,
            None,
            f"step {step.index + 1}/{len(self._plan.steps)} ({step.name}) started on channel(s) "
            f"{numbers}: {step.mode}, {step.duration_s:g} s",
            {"step_index": step.index, "duration_s": step.duration_s},
        )
        for c in step.channels:
            self._emit(
                EventKind.INTENSITY,
                c.channel,
                f"channel {c.channel}: ramp from 0 to {c.stimulation.intensity_mA:g} mA over "
                f"{c.stimulation.ramp_up_s:g} s (prescribed; ceiling {c.ceiling})",
                {"to_mA": c.stimulation.intensity_mA, "by": "prescription"},
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
        self.close(totals=True)
        # A fault latched during the ramp-down (electrode off, compliance, lease, stuck output)
        # ends the session as a fault, not as a completed step.
        self._stim.check_faults()
        if self.ending is None:
            self.steps_done += 1

    def close(self, *, totals: bool) -> None:
        """Record the running step's end (and its totals), once its outputs have stopped."""
        step = self.step
        if step is None:
            return
        if totals:
            self._record_totals(step)
        t = self._now()
        self._record_step(step, t)
        self._emit(
            EventKind.PROGRESS,
            None,
            f"step {step.index + 1} ({step.name}) ended after {t - self.timer.started_s:.3f} s",
            {"step_index": step.index, "paused_s": self.timer.paused_s},
        )
        self._control.end_step()
        self.step = None

    def _record_totals(self, step: PlannedStep) -> None:
        doses = [(n, self._stim.dose(n)) for n in step.numbers]
        self._recorder.totals(step.index, doses)

    def _periodic(self, step: PlannedStep) -> None:
        now = self._now()
        status = self._stim.last_status if now >= self._due[0] else None
        if status is not None:
            reports = {r.channel: r for r in status.channels}
            for n in self._recorder.sample(now, status, self._plan.channels):
                ohm = reports[n].impedance_ohm
                text = "open or unknown" if ohm is None else f"{ohm} ohm"
                self._emit(EventKind.IMPEDANCE, n, f"channel {n}: impedance {text}", {"ohm": ohm})
        if now >= self._due[1]:
            self._recorder.flush()
        if now >= self._due[2]:
            self._record_totals(step)
        self._due = [_next(d, p, now) for d, p in zip(self._due, self._periods, strict=True)]

    # --- the operator's requests ---------------------------------------------------------------

    def _apply_requests(self, step: PlannedStep) -> None:
        for request in self._control.drain():
            if self.ending is not None:
                return
            intent, running = request.intent, self.state is SessionState.RUNNING
            if intent is Intent.SET_INTENSITY and running:
                assert request.channel is not None and request.intensity_mA is not None
                fastest = self._stim.limits.max_slew_mA_per_s  # lowering never waits
                slew = fastest if request.lowers else DEFAULT_SLEW_mA_per_s
                self._stim.set_intensity(request.channel, request.intensity_mA, slew_mA_per_s=slew)
            elif intent is Intent.PAUSE and running:
                self._pause(request)
            elif intent is Intent.RESUME and self.state is SessionState.PAUSED:
                self._resume(step, request)
            elif intent in (Intent.STOP, Intent.EMERGENCY_STOP):
                self._stop(step, intent is Intent.EMERGENCY_STOP)

    def _pause(self, request: Request) -> None:
        self.timer.hold(request.t_s)
        self.state = SessionState.PAUSED
        self._emit(EventKind.OPERATOR, None, "paused: ramping down, the step's timer held", {})
        self._stim.stop(None, escalate=self._escalate)

    def _escalate(self) -> bool:
        """Keep reading the operator's input while a ramp-down is confirmed; True (cut every
        output now) once an emergency stop is asked for. It ends the session there and then,
        so nothing is started again after it."""
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
        self._stim.start(step.numbers)
        for c in step.channels:
            target = self._control.targets[c.channel]
            if target != c.stimulation.intensity_mA:
                # START ramps to the program's target; go to the operator's in the same time.
                rate_uA_per_s = max(1, int(target * 1000 / step.ramp_up_s))
                slew = min(rate_uA_per_s / 1000, self._stim.limits.max_slew_mA_per_s)
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


def _next(due: float, period: float, now: float) -> float:
    """The first of ``due``, ``due + period``, ... that is later than ``now``."""
    while due <= now:
        due += period
    return due
