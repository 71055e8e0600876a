"""Channel-local faults in a running step: a channel held at zero, and restarted (mixed into
``steps.StepRunner``).

A fault of one channel's load (``ending.CHANNEL_LOCAL_FAULTS``: a lead off, a load too high)
stops only that channel: its output is confirmed at zero and held there (``LiveControl.hold``)
with an alarm, the others go on, and ``RESUME_CHANNEL`` clears it (the device's self-test) and
STARTs it from zero with its ramp, to its prescription or its titration's start level. A fault
that concerns the device (a stuck output, also on a held channel) ends the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from eacontrol.device import Stimulator
from eacontrol.errors import DeviceError, DeviceFault, DeviceNak
from eacontrol.session.control import LiveControl
from eacontrol.session.ending import CHANNEL_LOCAL_FAULTS, is_channel_local
from eacontrol.session.events import EventKind
from eacontrol.session.plan import PlannedStep
from eacontrol.session.state import StepTimer
from eacontrol.session.treatment import TreatmentLog

__all__ = ["ChannelHolds", "Emit"]


class Emit(Protocol):
    """Records and publishes a session event now."""

    def __call__(
        self, kind: EventKind, channel: int | None, message: str, data: dict[str, Any]
    ) -> None: ...


class ChannelHolds:
    """Holding and restarting channels; ``StepRunner`` provides the state they use."""

    _stim: Stimulator
    _control: LiveControl
    _treatment: TreatmentLog
    _now: Callable[[], float]
    _params: dict[str, Any]
    _programmed: set[int]
    timer: StepTimer

    _emit: Emit

    def _hold_faulted(self, step: PlannedStep, err: DeviceError) -> None:
        """Hold every channel of the step that a fault of its load stopped; raise ``err`` if
        any fault concerns the device (or if nothing explains it)."""
        if isinstance(err, DeviceFault) and not is_channel_local(err):
            raise err
        status = self._stim.status()  # fresh evidence of every channel's faults
        faulted = {r.channel: r.faults for r in status.channels if r.faults}
        held = self._control.held  # still latched since an earlier step, perhaps
        if not faulted or any(
            (n not in step.numbers and n not in held) or not set(f) <= CHANNEL_LOCAL_FAULTS
            for n, f in faulted.items()
        ):
            raise err
        for n, faults in sorted(faulted.items()):
            if n not in held:
                self._hold(n, faults)

    def _check_held(self) -> None:
        """A held channel is no longer watched as started: a fault that concerns the device
        latched on it since (a stuck output) ends the session all the same."""
        held = self._control.held
        status = self._stim.last_status if held else None
        for report in status.channels if status is not None else ():
            device_wide = set(report.faults) - CHANNEL_LOCAL_FAULTS
            if report.channel in held and device_wide:
                names = ", ".join(sorted(device_wide))
                raise DeviceFault(
                    f"channel {report.channel} (held after a fault of its lead) latched {names}; "
                    "its output is off",
                    report.channel,
                    tuple(sorted(device_wide)),
                )

    def _hold_local(self, fault: DeviceFault) -> None:
        assert fault.channel is not None
        if fault.channel not in self._control.held:
            self._hold(fault.channel, fault.faults)

    def _hold(self, channel: int, faults: tuple[str, ...]) -> None:
        self._stim.stop(channel, immediate=True)  # the device cut it: confirm it at zero
        words = {"ELECTRODE": "lead open or loose", "COMPLIANCE": "resistance too high"}
        why = "; ".join(f"{words.get(f, f)} ({f})" for f in faults)
        self._control.hold(channel, why)
        self._treatment.level(channel, 0.0, self.timer.elapsed(self._now()))
        self._emit(
            EventKind.FAULT,
            channel,
            f"channel {channel} held at zero: {why}; the other channels go on; re-clip the lead "
            f"and resume channel {channel}",
            {"held": True, "faults": list(faults), "cause": "channel_fault"},
        )

    def _resume_channel(self, step: PlannedStep, channel: int) -> None:
        """CLEAR_FAULT (the device self-tests the stage), then START from zero with the ramp."""
        planned = step.channel(channel)
        try:
            self._stim.clear_fault(channel)
        except DeviceNak as err:
            if err.code != "SELF_TEST_FAILED":
                raise
            raise DeviceFault(
                f"channel {channel} failed the device's self-test ({err.limit} µA measured with "
                "its relay open): the output stage may be stuck; its fault stays latched until "
                "the device is power-cycled",
                channel,
                ("SELF_TEST_FAILED",),
            ) from err
        if channel not in self._programmed:  # held since an earlier step
            crc = self._stim.program(channel, planned.stimulation)
            self._programmed.add(channel)
            self._params["channels"][str(channel)]["program_crc"] = f"0x{crc:08X}"
        self._stim.start([channel])
        self._control.release(channel, planned.start_mA)
        self._treatment.level(channel, planned.start_mA, self.timer.elapsed(self._now()))
        ramp = (
            f"ramping from 0 to {planned.start_mA:g} mA over {planned.stimulation.ramp_up_s:g} s"
            if planned.start_mA > 0
            else "at 0 mA"
        )
        if planned.titration is not None:
            ramp += f" (titration start): raise it to {planned.titration.sensation}"
        self._emit(
            EventKind.OPERATOR,
            channel,
            f"channel {channel} restarted after its fault: self-test passed, {ramp}",
            {"restarted": True, "start_mA": planned.start_mA},
        )
