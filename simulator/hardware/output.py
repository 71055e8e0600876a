"""One channel's output stage as the firmware sees it: current source, relay, load, accounting.

The source drives the set value into the load up to its compliance voltage (``deliverable_uA`` of
``simulator.hardware.loads``); above it the current is limited at once by the hardware, and the firmware
latches COMPLIANCE at its next check. An open electrode takes no current. A stuck output drives a
DC current whatever the firmware asks until the firmware opens the relay (STUCK_OUTPUT).

What was delivered is accounted lazily: ``flush`` hands the recorder the stretch since the last
flush, cut where the delivered amplitude bends (end of a ramp, the compliance limit, an
intermittent contact change). A 30-minute hold is therefore one recorder call, however many
heartbeats it spans.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from firmware_protocol import Mode, SetProgram
from simulator.firmware.checks import half_phases_us
from simulator.hardware.loads import Load, deliverable_uA
from simulator.firmware.model import DeviceModel
from simulator.firmware.ramp import Ramp
from simulator.hardware.recorder import ChannelRecorder

__all__ = ["OPEN_OHM", "Drive", "OutputStage", "TimeVaryingLoad", "first_phase_us"]

OPEN_OHM = 0xFFFF
"""STATUS impedance_ohm and EVENT detail for an open or unknown load (PROTOCOL.md §5.12)."""

_US_PER_MS = 1000
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


@dataclass(frozen=True)
class Drive:
    """What the firmware asks of an active channel: its program, run origin and set value."""

    program: SetProgram
    run_start_us: int
    ramp: Ramp

    def phase_us(self, t_us: int) -> int:
        """Width of the first phase of the pulses delivered at ``t_us``."""
        return first_phase_us(self.program, self.run_start_us, t_us)


def first_phase_us(program: SetProgram, run_start_us: int, t_us: int) -> int:
    """Width of the first phase of the pulses ``program`` delivers at ``t_us`` (run from
    ``run_start_us``)."""
    if program.mode != Mode.DENSE_DISPERSE:
        return program.phase_a_us
    cycle_us = (program.dwell_a_ms + program.dwell_b_ms) * _US_PER_MS
    in_b = (t_us - run_start_us) % cycle_us >= program.dwell_a_ms * _US_PER_MS
    return program.phase_b_us if in_b else program.phase_a_us


def _tick_at_or_after(t_us: float, first_tick_us: int, period_us: int) -> int:
    """The first check instant ≥ ``t_us`` on the grid ``first_tick_us + k·period_us``."""
    if t_us <= first_tick_us:
        return first_tick_us
    return first_tick_us + math.ceil((t_us - first_tick_us) / period_us) * period_us


class OutputStage:
    """Current source, output relay and load of one channel, with its delivery ledger.

    Args:
        model: the device's limits (compliance voltage, maximum intensity).
        load: the load at the output.
        recorder: the channel's ledger of what was delivered.
        now_us: the time the ledger is complete up to.
    """

    def __init__(
        self, model: DeviceModel, load: Load, recorder: ChannelRecorder, now_us: int
    ) -> None:
        self._model = model
        self.recorder = recorder
        self.stuck_uA = 0
        """DC current a hardware fault drives into the load (0: no fault)."""
        self.relay_open = False
        """True once the firmware has disconnected the output after a stuck output."""
        self._flushed_us = now_us
        self.configure(load, None)

    @property
    def stuck(self) -> bool:
        """True while a stuck DC current reaches the load (the relay is closed)."""
        return self.stuck_uA > 0 and not self.relay_open

    def configure(self, load: Load, program: SetProgram | None) -> None:
        """Set the load and the program whose phase widths bound the compliance limit.

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
        self.limit_uA = limit_uA
        """Largest current the source can drive into the load for the program's phases."""

    def is_open(self, t_us: int) -> bool:
        """True when the electrode has no contact at ``t_us``."""
        return self.load.is_open(t_us)

    def amplitude_uA(self, set_uA: float, t_us: int) -> float:
        """First-phase current actually driven for ``set_uA`` at ``t_us`` (pulses only)."""
        if set_uA <= 0 or self.load.is_open(t_us):
            return 0.0
        return min(set_uA, self.limit_uA)

    def impedance_ohm(self, phase_us: int, t_us: int) -> int:
        """Impedance at the end of a phase of ``phase_us`` as STATUS reports it."""
        if self.load.is_open(t_us):
            return OPEN_OHM
        impedance = self.load.impedance_ohm(phase_us)
        return OPEN_OHM if not math.isfinite(impedance) else min(OPEN_OHM, round(impedance))

    def flush(self, now_us: int, drive: Drive | None) -> None:
        """Account what the output delivered from the last flush up to ``now_us``.

        Args:
            now_us: the end of the stretch.
            drive: the firmware's drive over the whole stretch, or None if the channel was off.
        """
        t0_us, self._flushed_us = self._flushed_us, max(self._flushed_us, now_us)
        if now_us <= t0_us:
            return
        if self.stuck:
            self.recorder.deliver_dc(t0_us, now_us, float(self.stuck_uA))
            return
        if drive is None:
            return
        cuts = {t0_us, now_us}
        if t0_us < drive.ramp.t1_us < now_us:
            cuts.add(drive.ramp.t1_us)
        crossing_us = drive.ramp.first_above(self.limit_uA)
        if crossing_us is not None and t0_us < crossing_us < now_us:
            cuts.add(math.ceil(crossing_us))
        if self._varying is not None:
            change_us = self._varying.next_change_us(t0_us)
            while change_us < now_us:
                cuts.add(change_us)
                change_us = self._varying.next_change_us(change_us)
        edges = sorted(cuts)
        for a_us, b_us in itertools.pairwise(edges):
            if self.load.is_open(a_us):
                continue  # no contact: nothing flows until it is regained
            start_uA = min(drive.ramp.at(a_us), self.limit_uA)
            end_uA = min(drive.ramp.at(b_us), self.limit_uA)
            if start_uA or end_uA:
                self.recorder.deliver(
                    drive.program, drive.run_start_us, a_us, b_us, start_uA, end_uA
                )

    def check_tick(self, ramp: Ramp | None, first_tick_us: int, period_us: int) -> int | None:
        """The first check instant at which this output has something for the firmware to find.

        Args:
            ramp: the firmware's set value if the channel is active, else None.
            first_tick_us: the next check instant.
            period_us: the check period.

        Returns:
            The check instant of the first stuck output, lost contact or compliance limit, or
            None if no check will find anything while the set value, the load and this stage
            stay as they are, whichever check comes next (a load that is not a
            ``TimeVaryingLoad`` is open always or never). ``Device`` relies on that.
        """
        if self.stuck:
            return first_tick_us
        if ramp is None:
            return None
        candidates = []
        if self._varying is not None:
            candidates.append(_open_tick(self._varying, first_tick_us, period_us))
        elif self.load.is_open(first_tick_us):
            return first_tick_us
        crossing_us = ramp.first_above(self.limit_uA)
        if crossing_us is not None:
            tick_us = _tick_at_or_after(crossing_us, first_tick_us, period_us)
            if ramp.at(tick_us) <= self.limit_uA:  # exactly at the limit is not above it
                tick_us += period_us
            candidates.append(tick_us)
        return min(candidates, default=None)


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
        tick_us = _tick_at_or_after(lost_us, first_tick_us, period_us)
        if tick_us < regained_us:
            return tick_us
        tick_us = _tick_at_or_after(regained_us, first_tick_us, period_us)
    return tick_us
