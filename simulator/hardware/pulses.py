"""Exact pulse timing of a program: onsets, halves and phase shapes for any window, in numpy.

The timing rules are normative (PROTOCOL.md §8). Times are integer µs relative to the START time
``run_start_us``; ``floor`` is integer division, so there is no float drift over a session.

Every mode is periodic, which is what makes a window a few numpy operations:

- dense-disperse repeats every ``dwell_a_ms + dwell_b_ms``, intermittent every ``on_ms + off_ms``;
- continuous repeats every 10^8 µs (100 s) with exactly ``freq_a_cHz`` pulses per repeat, since
  for ``k = q·f + r``: ``floor(k·10^8 / f) = q·10^8 + floor(r·10^8 / f)``.

So one table of in-cycle onset offsets is computed (and cached) per schedule, and the onsets of a
window are global pulse indices ``j`` mapped to ``(j // n)·cycle + offsets[j % n]``: the cost is
proportional to the pulses in the window, whatever its position in the session.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_protocol import Mode, SetProgram, Shape

__all__ = [
    "CENTI_HZ_PERIOD_US",
    "PULSE_DTYPE",
    "freq_at_cHz",
    "linear_amplitude_uA",
    "pulse_onsets",
    "pulse_table",
    "shape_pulses",
    "time_per_half_us",
]

CENTI_HZ_PERIOD_US = 10**8
"""Period of 1 cHz (0.01 Hz) in µs: pulse k of a train at f cHz starts at floor(k·10^8 / f)."""

PULSE_DTYPE = np.dtype(
    [
        ("t_us", np.int64),
        ("half", np.uint8),
        ("amp_pos_uA", np.float64),
        ("width_pos_us", np.float64),
        ("interphase_us", np.float64),
        ("amp_neg_uA", np.float64),
        ("width_neg_us", np.float64),
    ]
)
"""One row per pulse: onset, half (0 = a, 1 = b), then the first (positive) phase, the gap and
the second (negative) phase. ``amp_neg_uA`` is the magnitude of the negative phase (≥ 0)."""

_US_PER_MS = 1000

IntArray = npt.NDArray[np.int64]
HalfArray = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Burst:
    """A train of pulses inside one cycle: from ``start_us`` for ``length_us`` at ``freq_cHz``."""

    start_us: int
    length_us: int
    freq_cHz: int
    half: int

    @property
    def count(self) -> int:
        """Pulses in the burst: k ≥ 0 with floor(k·10^8/f) < length, i.e. ceil(length·f/10^8)."""
        return -(-self.length_us * self.freq_cHz // CENTI_HZ_PERIOD_US)


@dataclass(frozen=True)
class _Schedule:
    """A mode's timing as a cycle of bursts."""

    cycle_us: int
    bursts: tuple[_Burst, ...]

    @functools.cached_property
    def offsets(self) -> tuple[IntArray, HalfArray]:
        """Onset offsets within one cycle (sorted) and their halves; read-only."""
        offsets = np.concatenate(
            [
                b.start_us + np.arange(b.count, dtype=np.int64) * CENTI_HZ_PERIOD_US // b.freq_cHz
                for b in self.bursts
            ]
        )
        halves = np.concatenate([np.full(b.count, b.half, dtype=np.uint8) for b in self.bursts])
        offsets.flags.writeable = False
        halves.flags.writeable = False
        return offsets, halves

    def burst_at(self, t_us: int, run_start_us: int) -> _Burst | None:
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


def _schedule(program: SetProgram) -> _Schedule:
    """The cycle of bursts of ``program``'s mode (cached: the firmware asks once per segment).

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


@functools.lru_cache(maxsize=32)  # a device has at most 8 channels; a table is ≤ ~1 MB
def _schedule_of(
    mode: Mode,
    freq_a_cHz: int,
    freq_b_cHz: int,
    dwell_a_ms: int,
    dwell_b_ms: int,
    on_ms: int,
    off_ms: int,
) -> _Schedule:
    freq_a_cHz = _positive(mode, "freq_a_cHz", freq_a_cHz)
    if mode == Mode.CONTINUOUS:
        return _Schedule(CENTI_HZ_PERIOD_US, (_Burst(0, CENTI_HZ_PERIOD_US, freq_a_cHz, 0),))
    if mode == Mode.DENSE_DISPERSE:
        dwell_a_us = _positive(mode, "dwell_a_ms", dwell_a_ms) * _US_PER_MS
        dwell_b_us = _positive(mode, "dwell_b_ms", dwell_b_ms) * _US_PER_MS
        freq_b_cHz = _positive(mode, "freq_b_cHz", freq_b_cHz)
        return _Schedule(
            dwell_a_us + dwell_b_us,
            (
                _Burst(0, dwell_a_us, freq_a_cHz, 0),
                _Burst(dwell_a_us, dwell_b_us, freq_b_cHz, 1),
            ),
        )
    # Mode.INTERMITTENT, the enum's only other member.
    on_us = _positive(mode, "on_ms", on_ms) * _US_PER_MS
    return _Schedule(on_us + off_ms * _US_PER_MS, (_Burst(0, on_us, freq_a_cHz, 0),))


def _check_window(t0_us: int, t1_us: int) -> None:
    if t1_us < t0_us:
        raise ValueError(f"window ends before it starts: t0_us={t0_us}, t1_us={t1_us}")


def pulse_onsets(
    program: SetProgram, run_start_us: int, t0_us: int, t1_us: int
) -> tuple[IntArray, HalfArray]:
    """Return the onsets in ``[t0_us, t1_us)`` of a program started at ``run_start_us``.

    Args:
        program: the channel's program (wire integers).
        run_start_us: the START time the timing is relative to.
        t0_us: window start (inclusive); may be before the start (no pulses there).
        t1_us: window end (exclusive).

    Returns:
        Sorted int64 onsets in µs and, for each, its half as uint8 (0 = a, 1 = b; always 0
        outside dense-disperse).

    Raises:
        ValueError: ``t1_us < t0_us``, or a frequency, dwell or on-time the mode uses is 0.
    """
    _check_window(t0_us, t1_us)
    schedule = _schedule(program)
    offsets, halves = schedule.offsets
    per_cycle = offsets.size
    first_us = max(t0_us - run_start_us, 0)
    end_us = t1_us - run_start_us
    if per_cycle == 0 or end_us <= first_us:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)

    def pulses_before(offset_us: int) -> int:
        cycles, phase_us = divmod(offset_us, schedule.cycle_us)
        return cycles * per_cycle + int(np.searchsorted(offsets, phase_us, side="left"))

    index = np.arange(pulses_before(first_us), pulses_before(end_us), dtype=np.int64)
    cycle, slot = np.divmod(index, per_cycle)
    onsets = run_start_us + cycle * schedule.cycle_us + offsets[slot]
    return onsets, halves[slot]


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
    _check_window(t0_us, t1_us)
    if t0_us < run_start_us:
        raise ValueError(f"window starts at {t0_us} µs, before the run start {run_start_us} µs")
    schedule = _schedule(program)
    time_b_us = schedule.time_in_half_b_us(t1_us - run_start_us) - schedule.time_in_half_b_us(
        t0_us - run_start_us
    )
    return t1_us - t0_us - time_b_us, time_b_us


def freq_at_cHz(program: SetProgram, run_start_us: int, t_us: int) -> int:
    """Return the frequency being delivered at ``t_us`` (STATUS freq_cHz) for a running program.

    That is the frequency of the dwell containing ``t_us`` (dense-disperse), ``freq_a_cHz`` in
    continuous mode and in an intermittent on window, and 0 in an intermittent off window or
    before ``run_start_us``.

    Raises:
        ValueError: the program's timing fields are invalid for its mode.
    """
    burst = _schedule(program).burst_at(t_us, run_start_us)
    return 0 if burst is None else burst.freq_cHz


def linear_amplitude_uA(
    onsets_us: IntArray, t0_us: int, t1_us: int, start_uA: float, end_uA: float
) -> FloatArray:
    """Sample the line from ``start_uA`` at ``t0_us`` to ``end_uA`` at ``t1_us`` at each onset.

    Raises:
        ValueError: an amplitude is negative or not finite, or the window is reversed.
    """
    _check_window(t0_us, t1_us)
    for name, value in (("start_uA", start_uA), ("end_uA", end_uA)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite current ≥ 0 µA, got {value}")
    if t1_us == t0_us or start_uA == end_uA:
        return np.full(onsets_us.shape, float(start_uA))
    fraction = (onsets_us - t0_us).astype(np.float64) / float(t1_us - t0_us)
    return start_uA + (end_uA - start_uA) * fraction


def shape_pulses(
    program: SetProgram, onsets_us: IntArray, halves: HalfArray, amplitude_uA: FloatArray
) -> npt.NDArray[np.void]:
    """Build the pulse table (``PULSE_DTYPE``) for given onsets, halves and first-phase currents.

    Symmetric: ``+I`` for the half's phase width, the gap, ``−I`` for the same width.
    Asymmetric: ``+I`` for the phase width, the gap, ``−I/asym_ratio`` for width·asym_ratio, so
    both phases carry the same charge (PROTOCOL.md §8).

    Raises:
        ValueError: an asymmetric program with ``asym_ratio`` 0.
    """
    table = np.empty(onsets_us.shape, dtype=PULSE_DTYPE)
    table["t_us"] = onsets_us
    table["half"] = halves
    width_us = np.where(halves == 1, float(program.phase_b_us), float(program.phase_a_us))
    table["amp_pos_uA"] = amplitude_uA
    table["width_pos_us"] = width_us
    table["interphase_us"] = float(program.interphase_us)
    if program.shape == Shape.ASYMMETRIC_BIPHASIC:
        ratio = int(program.asym_ratio)
        if ratio < 1:
            raise ValueError(f"ASYMMETRIC_BIPHASIC needs asym_ratio ≥ 1, got {ratio}")
        table["amp_neg_uA"] = amplitude_uA / ratio
        table["width_neg_us"] = width_us * ratio
    else:
        table["amp_neg_uA"] = amplitude_uA
        table["width_neg_us"] = width_us
    return table


def pulse_table(
    program: SetProgram,
    run_start_us: int,
    t0_us: int,
    t1_us: int,
    start_uA: float,
    end_uA: float,
) -> npt.NDArray[np.void]:
    """Return every pulse with its onset in ``[t0_us, t1_us)``, as a ``PULSE_DTYPE`` array.

    The first-phase current is linear from ``start_uA`` at ``t0_us`` to ``end_uA`` at ``t1_us``,
    sampled at each onset (a ramp or an intensity slew is a sequence of such segments).

    Raises:
        ValueError: as :func:`pulse_onsets`, :func:`linear_amplitude_uA` and
            :func:`shape_pulses`.
    """
    onsets_us, halves = pulse_onsets(program, run_start_us, t0_us, t1_us)
    amplitude_uA = linear_amplitude_uA(onsets_us, t0_us, t1_us, start_uA, end_uA)
    return shape_pulses(program, onsets_us, halves, amplitude_uA)
