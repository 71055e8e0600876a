"""When a program's pulses fall: the mode timing of PROTOCOL.md §8, in integer µs.

Times are relative to the START time ``run_start_us``; ``floor`` is integer division, so there
is no drift over a session. Every mode is periodic, which lets the firmware answer for any
instant without stepping and lets the output stage's pulse engine (``simulator.hardware.pulses``)
lay out a window's onsets from one cycle's table:

- dense-disperse repeats every ``dwell_a_ms + dwell_b_ms``, intermittent every ``on_ms + off_ms``;
- continuous repeats every 10^8 µs (100 s) with exactly ``freq_a_cHz`` pulses per repeat, since
  for ``k = q·f + r``: ``floor(k·10^8 / f) = q·10^8 + floor(r·10^8 / f)``.

A cycle is a tuple of bursts (a train at one frequency within one dwell or on window).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from firmware_protocol import Mode, SetProgram
from simulator.firmware.units import CENTI_HZ_PERIOD_US, US_PER_MS, ceil_div

__all__ = [
    "Burst",
    "Schedule",
    "freq_at_cHz",
    "half_phases_us",
    "phase_at_us",
    "schedule",
    "time_per_half_us",
]


@dataclass(frozen=True)
class Burst:
    """A train of pulses inside one cycle: from ``start_us`` for ``length_us`` at ``freq_cHz``.

    Attributes:
        start_us: offset of the first onset within the cycle.
        length_us: how long the train lasts.
        freq_cHz: its frequency in 0.01 Hz.
        half: 0 for half a, 1 for dense-disperse half b.
    """

    start_us: int
    length_us: int
    freq_cHz: int
    half: int

    @property
    def count(self) -> int:
        """Pulses in the burst: k ≥ 0 with floor(k·10^8/f) < length, i.e. ceil(length·f/10^8)."""
        return ceil_div(self.length_us * self.freq_cHz, CENTI_HZ_PERIOD_US)


@dataclass(frozen=True)
class Schedule:
    """A mode's timing as a cycle of bursts.

    Attributes:
        cycle_us: the period after which the pattern repeats.
        bursts: the trains within one cycle, in time order.
    """

    cycle_us: int
    bursts: tuple[Burst, ...]

    def freq_at_cHz(self, t_us: int, run_start_us: int) -> int:
        """The frequency delivered at ``t_us``: its burst's, or 0 outside every burst."""
        burst = self.burst_at(t_us, run_start_us)
        return 0 if burst is None else burst.freq_cHz

    def burst_at(self, t_us: int, run_start_us: int) -> Burst | None:
        """The burst whose span contains ``t_us``, or None (before the start, in an off window)."""
        if t_us < run_start_us:
            return None
        phase_us = (t_us - run_start_us) % self.cycle_us
        for burst in self.bursts:
            if burst.start_us <= phase_us < burst.start_us + burst.length_us:
                return burst
        return None

    def time_in_half_b_us(self, offset_us: int) -> int:
        """Time spent in half-b bursts over [0, offset_us) after the start."""
        cycles, phase_us = divmod(offset_us, self.cycle_us)
        return sum(
            cycles * b.length_us + min(max(phase_us - b.start_us, 0), b.length_us)
            for b in self.bursts
            if b.half == 1
        )


def _positive(mode: Mode, name: str, value: int) -> int:
    if value <= 0:
        raise ValueError(f"{mode.name} program needs {name} > 0, got {value}")
    return value


def schedule(program: SetProgram) -> Schedule:
    """The cycle of bursts of ``program``'s mode (the C core works it out once at SET_PROGRAM).

    Raises:
        ValueError: a frequency, dwell or on-time the mode uses is 0.
    """
    return _schedule_of(
        Mode(program.mode),
        program.freq_a_cHz,
        program.freq_b_cHz,
        program.dwell_a_ms,
        program.dwell_b_ms,
        program.on_ms,
        program.off_ms,
    )


@functools.lru_cache(maxsize=32)  # a device has at most 8 channels, each with one program
def _schedule_of(
    mode: Mode,
    freq_a_cHz: int,
    freq_b_cHz: int,
    dwell_a_ms: int,
    dwell_b_ms: int,
    on_ms: int,
    off_ms: int,
) -> Schedule:
    freq_a_cHz = _positive(mode, "freq_a_cHz", freq_a_cHz)
    if mode == Mode.CONTINUOUS:
        return Schedule(CENTI_HZ_PERIOD_US, (Burst(0, CENTI_HZ_PERIOD_US, freq_a_cHz, 0),))
    if mode == Mode.DENSE_DISPERSE:
        dwell_a_us = _positive(mode, "dwell_a_ms", dwell_a_ms) * US_PER_MS
        dwell_b_us = _positive(mode, "dwell_b_ms", dwell_b_ms) * US_PER_MS
        freq_b_cHz = _positive(mode, "freq_b_cHz", freq_b_cHz)
        return Schedule(
            dwell_a_us + dwell_b_us,
            (
                Burst(0, dwell_a_us, freq_a_cHz, 0),
                Burst(dwell_a_us, dwell_b_us, freq_b_cHz, 1),
            ),
        )
    # Mode.INTERMITTENT, the enum's only other member.
    on_us = _positive(mode, "on_ms", on_ms) * US_PER_MS
    return Schedule(on_us + off_ms * US_PER_MS, (Burst(0, on_us, freq_a_cHz, 0),))


def half_phases_us(program: SetProgram) -> tuple[int, ...]:
    """Phase widths the program uses: half a only, or halves a and b for dense-disperse."""
    if program.mode == Mode.DENSE_DISPERSE:
        return (program.phase_a_us, program.phase_b_us)
    return (program.phase_a_us,)


def phase_at_us(program: SetProgram, run_start_us: int, t_us: int) -> int:
    """Width of the first phase of the pulses ``program`` delivers at ``t_us`` (run from
    ``run_start_us``): the dwell's phase in dense-disperse, ``phase_a_us`` otherwise."""
    if program.mode != Mode.DENSE_DISPERSE:
        return program.phase_a_us
    cycle_us = (program.dwell_a_ms + program.dwell_b_ms) * US_PER_MS
    in_b = (t_us - run_start_us) % cycle_us >= program.dwell_a_ms * US_PER_MS
    return program.phase_b_us if in_b else program.phase_a_us


def freq_at_cHz(program: SetProgram, run_start_us: int, t_us: int) -> int:
    """Return the frequency being delivered at ``t_us`` (STATUS freq_cHz) for a running program.

    That is the frequency of the dwell containing ``t_us`` (dense-disperse), ``freq_a_cHz`` in
    continuous mode and in an intermittent on window, and 0 in an intermittent off window or
    before ``run_start_us``.

    Raises:
        ValueError: the program's timing fields are invalid for its mode.
    """
    return schedule(program).freq_at_cHz(t_us, run_start_us)


def time_per_half_us(
    program: SetProgram, run_start_us: int, t0_us: int, t1_us: int
) -> tuple[int, int]:
    """Split ``[t0_us, t1_us)`` into time in half a and time in half b (DOSE time_a/time_b).

    Dense-disperse time is split by dwell; continuous and intermittent time (off windows
    included) is all half a, so the two always add up to ``t1_us - t0_us``.

    Raises:
        ValueError: the window is reversed or starts before ``run_start_us``, or the program's
            timing fields are invalid for its mode.
    """
    if t1_us < t0_us:
        raise ValueError(f"window ends before it starts: t0_us={t0_us}, t1_us={t1_us}")
    if t0_us < run_start_us:
        raise ValueError(f"window starts at {t0_us} µs, before the run start {run_start_us} µs")
    cycle = schedule(program)
    time_b_us = cycle.time_in_half_b_us(t1_us - run_start_us) - cycle.time_in_half_b_us(
        t0_us - run_start_us
    )
    return t1_us - t0_us - time_b_us, time_b_us
