"""The output stage's pulse engine: the exact pulses of a drive for any window, in numpy.

The timing is the firmware's (``simulator.firmware.schedule``, PROTOCOL.md §8); this module lays
it out as arrays. One table of in-cycle onset offsets is computed (and cached) per schedule, and
the onsets of a window are global pulse indices ``j`` mapped to
``(j // n)·cycle + offsets[j % n]``: the cost is proportional to the pulses in the window,
whatever its position in the session.

Each pulse's first-phase current is the firmware's set value at its onset, by the firmware's
own integer rule (``Ramp.at``: the line rounded down to a whole µA), limited by the source's
compliance (a float: that is physics, not a setting).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

from firmware_protocol import SetProgram, Shape
from simulator.firmware.hal import Drive
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import Schedule, schedule
from simulator.firmware.units import CENTI_HZ_PERIOD_US

__all__ = [
    "PULSE_DTYPE",
    "pulse_onsets",
    "pulse_table",
    "ramp_amplitude_uA",
    "shape_pulses",
]

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

IntArray = npt.NDArray[np.int64]
HalfArray = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


@functools.lru_cache(maxsize=32)  # a device has at most 8 channels; a table is ≤ ~1 MB
def _offsets(cycle: Schedule) -> tuple[IntArray, HalfArray]:
    """Onset offsets within one cycle (sorted) and their halves; read-only."""
    offsets = np.concatenate(
        [
            b.start_us + np.arange(b.count, dtype=np.int64) * CENTI_HZ_PERIOD_US // b.freq_cHz
            for b in cycle.bursts
        ]
    )
    halves = np.concatenate([np.full(b.count, b.half, dtype=np.uint8) for b in cycle.bursts])
    offsets.flags.writeable = False
    halves.flags.writeable = False
    return offsets, halves


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
    cycle = schedule(program)
    offsets, halves = _offsets(cycle)
    per_cycle = offsets.size
    first_us = max(t0_us - run_start_us, 0)
    end_us = t1_us - run_start_us
    if per_cycle == 0 or end_us <= first_us:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint8)

    def pulses_before(offset_us: int) -> int:
        cycles, phase_us = divmod(offset_us, cycle.cycle_us)
        return cycles * per_cycle + int(np.searchsorted(offsets, phase_us, side="left"))

    index = np.arange(pulses_before(first_us), pulses_before(end_us), dtype=np.int64)
    cycles, slot = np.divmod(index, per_cycle)
    onsets = run_start_us + cycles * cycle.cycle_us + offsets[slot]
    return onsets, halves[slot]


def ramp_amplitude_uA(onsets_us: IntArray, ramp: Ramp, cap_uA: float = math.inf) -> FloatArray:
    """The first-phase current at each onset: ``min(ramp.at(onset), cap_uA)``.

    ``ramp.at`` is evaluated by its own integer rule (floor), vectorised; int64 holds the
    products (a current below 2^16 µA times a ramp of up to 2^47 µs, four years).

    Raises:
        ValueError: the ramp goes below 0 µA, or the cap is negative or not a number.
    """
    if min(ramp.start_uA, ramp.end_uA) < 0:
        raise ValueError(
            f"a current source drives ≥ 0 µA: start_uA={ramp.start_uA}, end_uA={ramp.end_uA}"
        )
    if not cap_uA >= 0:
        raise ValueError(f"cap_uA must be a current ≥ 0 µA, got {cap_uA}")
    if ramp.start_uA == ramp.end_uA or ramp.t1_us == ramp.t0_us:
        levels = np.where(onsets_us >= ramp.t1_us, ramp.end_uA, ramp.start_uA)
        return np.minimum(levels.astype(np.float64), cap_uA)
    elapsed_us = np.clip(onsets_us, ramp.t0_us, ramp.t1_us) - ramp.t0_us
    rise_uA = (ramp.end_uA - ramp.start_uA) * elapsed_us // (ramp.t1_us - ramp.t0_us)
    return np.minimum((ramp.start_uA + rise_uA).astype(np.float64), cap_uA)


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
    drive: Drive, t0_us: int, t1_us: int, cap_uA: float = math.inf
) -> npt.NDArray[np.void]:
    """Return every pulse of ``drive`` with its onset in ``[t0_us, t1_us)`` (``PULSE_DTYPE``).

    Each pulse's first-phase current is the drive's set value at its onset, limited to
    ``cap_uA`` (the compliance limit).

    Raises:
        ValueError: as :func:`pulse_onsets`, :func:`ramp_amplitude_uA` and :func:`shape_pulses`.
    """
    onsets_us, halves = pulse_onsets(drive.program, drive.run_start_us, t0_us, t1_us)
    amplitude_uA = ramp_amplitude_uA(onsets_us, drive.ramp, cap_uA)
    return shape_pulses(drive.program, onsets_us, halves, amplitude_uA)
