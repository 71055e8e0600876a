"""One channel's output hardware: current source with its pulse engine, relay, load, meter.

This implements ``simulator.firmware.hal.OutputStage`` for the firmware. The source drives the
firmware's set value into the load up to its compliance voltage (``deliverable_uA`` of
``simulator.hardware.loads``); above it the current is limited at once by the hardware, and the
firmware latches COMPLIANCE at its next check. An open electrode takes no current. A stuck
output drives a DC current whatever the firmware asks until the firmware opens the relay
(STUCK_OUTPUT); the stage's own sense point, inside the relay, still sees it, which is what the
firmware's self-test reads (``self_test_uA``).

What was delivered is accounted lazily: every change (a new drive, the relay, the load, a stuck
output, a reading) first hands the recorder the stretch since the last change, cut where the
delivered amplitude bends (end of a ramp, an intermittent contact change). A 30-minute hold is
therefore one recorder call, however many heartbeats it spans.
"""

from __future__ import annotations

import itertools
import math
from typing import Protocol, runtime_checkable

from firmware_protocol import SetProgram
from simulator.firmware.hal import OPEN_OHM, Delivered, Drive
from simulator.firmware.model import DeviceModel
from simulator.firmware.schedule import half_phases_us
from simulator.firmware.units import tick_at_or_after
from simulator.hardware.loads import Load, deliverable_uA
from simulator.hardware.recorder import ChannelRecorder

__all__ = ["SimulatedOutputStage", "TimeVaryingLoad"]

_CONTACT_SEARCH = 64  # contact changes examined per deadline search before a plain wake-up


@runtime_checkable
class TimeVaryingLoad(Protocol):
    """A load whose contact comes and goes on a schedule (e.g. ``loads.Intermittent``)."""

    def is_open(self, t_us: int) -> bool:
        """True when the electrode has no contact at ``t_us``."""
        ...

    def next_change_us(self, t_us: int) -> int:
        """The first time after ``t_us`` at which contact is lost or regained."""
        ...


class SimulatedOutputStage:
    """Current source, output relay and load of one channel, with its delivery ledger.

    Args:
        model: the device's limits (compliance voltage, maximum intensity).
        load: the load at the output.
        recorder: the channel's ledger of what was delivered.
        now_us: the time the ledger is complete up to.

    Attributes:
        load: the load now at the output.
        recorder: the ledger.
        stuck_uA: DC current a hardware fault drives into the load (0: no fault).
        relay_open: True once the firmware has disconnected the output.
    """

    def __init__(
        self, model: DeviceModel, load: Load, recorder: ChannelRecorder, now_us: int
    ) -> None:
        self._model = model
        self.recorder = recorder
        self.stuck_uA = 0
        self.relay_open = False
        self._drive: Drive | None = None
        self._flushed_us = now_us
        self.load = load
        self._configure(load, None)

    # --- what the bench does to the hardware -------------------------------------------

    def set_load(self, load: Load, now_us: int) -> None:
        """Connect another load at ``now_us`` (electrode off/on, a changed impedance)."""
        self._flush(now_us)
        self._configure(load, self._program)

    def stick(self, current_uA: int, now_us: int) -> None:
        """Make the output drive ``current_uA`` of DC from ``now_us``, whatever the firmware
        asks (0 repairs it)."""
        self._flush(now_us)
        self.stuck_uA = current_uA

    @property
    def stuck(self) -> bool:
        """True while a stuck DC current reaches the load (the relay is closed)."""
        return self.stuck_uA > 0 and not self.relay_open

    def output_uA(self, t_us: int) -> float:
        """The current actually flowing at ``t_us``: a stuck DC or the pulses' amplitude."""
        if self.stuck:
            return float(self.stuck_uA)
        drive = self._drive
        set_uA = 0 if drive is None else drive.ramp.at(t_us)
        if set_uA <= 0 or self.load.is_open(t_us):
            return 0.0
        return min(float(set_uA), self._limit_uA)

    # --- the firmware's interface (simulator.firmware.hal.OutputStage) ------------------

    def drive(self, t_us: int, drive: Drive | None) -> None:
        """Deliver ``drive`` from ``t_us`` on (None: no pulses)."""
        self._flush(t_us)
        program = None if drive is None else drive.program
        if program != self._program:
            self._configure(self.load, program)
        self._drive = drive

    def open_relay(self, t_us: int) -> None:
        """Disconnect the output at ``t_us``."""
        self._flush(t_us)
        self.relay_open = True

    def close_relay(self, t_us: int) -> None:
        """Connect the output again at ``t_us``."""
        self._flush(t_us)
        self.relay_open = False

    def measured_uA(self, t_us: int) -> int:
        """:meth:`output_uA` to the nearest µA."""
        return round(self.output_uA(t_us))

    def dc_uA(self, t_us: int) -> int:
        """The stuck DC reaching the load (0: none, or the relay is open)."""
        return self.stuck_uA if self.stuck else 0

    def self_test_uA(self, t_us: int) -> int:
        """The current at the stage's sense point, inside the relay: the stuck DC whether the
        relay is open or not, and the set value of a drive (none in a self-test)."""
        drive = self._drive
        driven_uA = 0 if drive is None else drive.ramp.at(t_us)
        return max(self.stuck_uA, driven_uA)

    def contact_lost(self, t_us: int) -> bool:
        """True when the electrode has no contact at ``t_us``."""
        return self.load.is_open(t_us)

    def compliance_limit_uA(self) -> int | None:
        """The compliance limit for the drive's phases, rounded down; None if not limited."""
        if self._drive is None or math.isinf(self._limit_uA):
            return None
        return math.floor(self._limit_uA)

    def impedance_ohm(self, phase_us: int, t_us: int) -> int:
        """Impedance at the end of a phase of ``phase_us`` as STATUS reports it."""
        if self.load.is_open(t_us):
            return OPEN_OHM
        impedance = self.load.impedance_ohm(phase_us)
        return OPEN_OHM if not math.isfinite(impedance) else min(OPEN_OHM, round(impedance))

    def read_delivered(self, t_us: int) -> Delivered:
        """What was delivered since the previous reading, up to ``t_us``."""
        self._flush(t_us)
        return self.recorder.take_reading()

    def clear_delivered(self, t_us: int) -> None:
        """Start the ledger afresh at ``t_us``."""
        self._flush(t_us)
        self.recorder.reset()

    def first_open_tick_us(self, first_tick_us: int, period_us: int) -> int | None:
        """The first check instant at which the electrode will be found open, or None.

        A load that is not a ``TimeVaryingLoad`` is open always or never.
        """
        if self._varying is not None:
            return _open_tick(self._varying, first_tick_us, period_us)
        return first_tick_us if self.load.is_open(first_tick_us) else None

    # --- inside ------------------------------------------------------------------------

    @property
    def _program(self) -> SetProgram | None:
        return None if self._drive is None else self._drive.program

    def _configure(self, load: Load, program: SetProgram | None) -> None:
        """Set the load, and the compliance limit for the phase widths of ``program``.

        The limit is taken over every phase width the program uses (both halves of a
        dense-disperse program), so it is the current at which any of its pulses would exceed
        the compliance voltage.
        """
        self.load = load
        # A protocol isinstance check is slow; it is made once per load, not per deadline.
        self._varying = load if isinstance(load, TimeVaryingLoad) else None
        limit_uA = math.inf
        probe_uA = float(self._model.max_intensity_uA)
        for phase_us in half_phases_us(program) if program is not None else ():
            driven_uA, limited = deliverable_uA(probe_uA, load, phase_us, self._model.compliance_mV)
            if limited:
                limit_uA = min(limit_uA, driven_uA)
        self._limit_uA = limit_uA

    def _flush(self, now_us: int) -> None:
        """Account what the output delivered from the last flush up to ``now_us``."""
        t0_us, self._flushed_us = self._flushed_us, max(self._flushed_us, now_us)
        if now_us <= t0_us:
            return
        if self.stuck:
            self.recorder.deliver_dc(t0_us, now_us, float(self.stuck_uA))
            return
        drive = self._drive
        if drive is None:
            return
        cuts = {t0_us, now_us}
        if t0_us < drive.ramp.t1_us < now_us:
            cuts.add(drive.ramp.t1_us)  # after it, a level that later stretches can join
        if self._varying is not None:
            change_us = self._varying.next_change_us(t0_us)
            while change_us < now_us:
                cuts.add(change_us)
                change_us = self._varying.next_change_us(change_us)
        for a_us, b_us in itertools.pairwise(sorted(cuts)):
            if self.load.is_open(a_us):
                continue  # no contact: nothing flows until it is regained
            # Nothing flows while the set value is zero all through, nor into a load the
            # source can drive nothing into.
            if (drive.ramp.at(a_us) or drive.ramp.at(b_us)) and self._limit_uA > 0:
                self.recorder.deliver(drive, a_us, b_us, self._limit_uA)


def _open_tick(load: TimeVaryingLoad, first_tick_us: int, period_us: int) -> int:
    """The first check instant at which a time-varying load is open.

    A loss of contact shorter than the gap between two checks is not seen (the firmware
    samples); after examining ``_CONTACT_SEARCH`` losses the search returns the next check after
    the last one as a wake-up at which nothing is found and the search resumes.
    """
    tick_us = first_tick_us
    for _ in range(_CONTACT_SEARCH):
        if load.is_open(tick_us):
            return tick_us
        lost_us = load.next_change_us(tick_us)
        regained_us = load.next_change_us(lost_us)
        tick_us = tick_at_or_after(lost_us, first_tick_us, period_us)
        if tick_us < regained_us:
            return tick_us
        tick_us = tick_at_or_after(regained_us, first_tick_us, period_us)
    return tick_us
