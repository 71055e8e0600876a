"""What each channel delivered: pulse counts, charge per phase, peak and rms current, time per half.

The firmware model hands a :class:`ChannelRecorder` one linear segment at a time (a stretch of
constant or linearly changing current between two events) and, for a stuck output, DC segments.
Each segment is accounted with a handful of numpy operations on its pulse table, and stored, not
its pulses: :meth:`ChannelRecorder.pulse_table` regenerates the raw pulses of any window from the
stored segments. Contiguous segments with one constant current are merged, so a steady run that
is flushed at every heartbeat still stores one segment.

Units: µA · µs = pC, so a phase's charge in nC is ``amp_uA · width_us / 1000``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from firmware_protocol import MAX_CHANNELS, SetProgram
from simulator.hardware.pulses import (
    PULSE_DTYPE,
    linear_amplitude_uA,
    pulse_onsets,
    shape_pulses,
    time_per_half_us,
)

__all__ = ["ChannelRecorder", "Recorder"]

_PC_PER_NC = 1000


@dataclass(frozen=True)
class _Segment:
    """A stored stretch of delivery; ``program`` None means DC of ``start_uA`` (signed)."""

    program: SetProgram | None
    run_start_us: int
    t0_us: int
    t1_us: int
    start_uA: float
    end_uA: float

    def continued_by(self, other: _Segment) -> bool:
        """True when ``other`` extends this segment at the same constant current."""
        return (
            other.t0_us == self.t1_us
            and other.program == self.program
            and other.run_start_us == self.run_start_us
            and self.start_uA == self.end_uA == other.start_uA == other.end_uA
        )

    def pulses(self, w0_us: int, w1_us: int) -> npt.NDArray[np.void]:
        """This segment's pulses with onsets in ``[w0_us, w1_us)`` (clipped to the segment)."""
        if self.program is None:
            return np.empty(0, dtype=PULSE_DTYPE)
        lo_us, hi_us = max(w0_us, self.t0_us), min(w1_us, self.t1_us)
        if hi_us <= lo_us:
            return np.empty(0, dtype=PULSE_DTYPE)
        onsets_us, halves = pulse_onsets(self.program, self.run_start_us, lo_us, hi_us)
        # Amplitudes come from the segment's own line, so a window reproduces exactly what
        # deliver() accounted, however the window cuts the segment.
        amplitude_uA = linear_amplitude_uA(
            onsets_us, self.t0_us, self.t1_us, self.start_uA, self.end_uA
        )
        return shape_pulses(self.program, onsets_us, halves, amplitude_uA)


class ChannelRecorder:
    """Delivered totals of one channel since its last SET_PROGRAM (the DOSE message's source).

    Segments must arrive in time order without overlap (``ValueError`` otherwise): accounting the
    same stretch twice would be a firmware bug that this ledger refuses to hide.

    Totals:
        pulses_a, pulses_b: pulses delivered in half a / half b.
        time_a_us, time_b_us: delivering time in half a / half b; dense-disperse time is split by
            dwell, continuous and intermittent time (off windows included) is all half a.
        on_time_us: time with the output active: every delivered segment, pulses or DC, so
            ``time_a_us + time_b_us + DC time == on_time_us``.
        charge_pos_nC, charge_neg_nC: charge of the positive / negative phases (both ≥ 0); DC
            adds its charge to one of them by its sign.
        peak_uA: largest phase amplitude (or DC magnitude).
        rms_uA: rms of the current waveform over the on-time (phases and DC; gaps count as 0).
    """

    _segments: list[_Segment]
    _starts_us: list[int]
    _end_us: int | None
    _pulses_a: int
    _pulses_b: int
    _time_a_us: int
    _time_b_us: int
    _on_time_us: int
    _charge_pos_nC: float
    _charge_neg_nC: float
    _peak_uA: float
    _square_uA2_us: float

    def __init__(self) -> None:
        """Create an empty recorder."""
        self.reset()

    def reset(self) -> None:
        """Forget everything delivered (SET_PROGRAM resets the channel's totals)."""
        self._segments = []
        self._starts_us = []
        self._end_us = None
        self._pulses_a = self._pulses_b = 0
        self._time_a_us = self._time_b_us = self._on_time_us = 0
        self._charge_pos_nC = self._charge_neg_nC = 0.0
        self._peak_uA = 0.0
        self._square_uA2_us = 0.0

    @property
    def pulses_a(self) -> int:
        """Pulses delivered in half a (every pulse outside dense-disperse)."""
        return self._pulses_a

    @property
    def pulses_b(self) -> int:
        """Pulses delivered in dense-disperse half b."""
        return self._pulses_b

    @property
    def time_a_us(self) -> int:
        """Delivering time in half a (all continuous and intermittent time)."""
        return self._time_a_us

    @property
    def time_b_us(self) -> int:
        """Delivering time in dense-disperse half b."""
        return self._time_b_us

    @property
    def on_time_us(self) -> int:
        """Time with the output active (pulse and DC segments)."""
        return self._on_time_us

    @property
    def charge_pos_nC(self) -> float:
        """Charge of the positive phases (and positive DC)."""
        return self._charge_pos_nC

    @property
    def charge_neg_nC(self) -> float:
        """Charge of the negative phases (and negative DC), as a magnitude."""
        return self._charge_neg_nC

    @property
    def net_charge_nC(self) -> float:
        """``charge_pos_nC − charge_neg_nC``: zero for charge-balanced pulses, not for DC."""
        return self._charge_pos_nC - self._charge_neg_nC

    @property
    def peak_uA(self) -> float:
        """Largest phase amplitude or DC magnitude delivered."""
        return self._peak_uA

    @property
    def rms_uA(self) -> float:
        """rms of the current waveform over the on-time; 0 before any on-time."""
        if self._on_time_us == 0:
            return 0.0
        return math.sqrt(self._square_uA2_us / self._on_time_us)

    def _store(self, segment: _Segment) -> None:
        if segment.t1_us < segment.t0_us:
            raise ValueError(f"segment ends before it starts: {segment.t0_us}..{segment.t1_us}")
        if self._end_us is not None and segment.t0_us < self._end_us:
            raise ValueError(
                f"segment from {segment.t0_us} µs overlaps delivery recorded up to "
                f"{self._end_us} µs"
            )
        self._end_us = segment.t1_us
        self._on_time_us += segment.t1_us - segment.t0_us
        if self._segments and self._segments[-1].continued_by(segment):
            self._segments[-1] = replace(self._segments[-1], t1_us=segment.t1_us)
        elif segment.t1_us > segment.t0_us:
            self._segments.append(segment)
            self._starts_us.append(segment.t0_us)

    def deliver(
        self,
        program: SetProgram,
        run_start_us: int,
        t0_us: int,
        t1_us: int,
        start_uA: float,
        end_uA: float,
    ) -> None:
        """Account the pulses of ``program`` with onsets in ``[t0_us, t1_us)``.

        Args:
            program: the running program.
            run_start_us: its START time (onsets are relative to it).
            t0_us: segment start, at or after the run start and the previous segment's end.
            t1_us: segment end (exclusive).
            start_uA: first-phase current at ``t0_us`` (after any compliance limit).
            end_uA: first-phase current at ``t1_us``; linear in between.

        Raises:
            ValueError: a reversed, overlapping or pre-start segment, a negative current, or a
                program whose timing fields are invalid for its mode.
        """
        time_a_us, time_b_us = time_per_half_us(program, run_start_us, t0_us, t1_us)
        segment = _Segment(program, run_start_us, t0_us, t1_us, start_uA, end_uA)
        table = segment.pulses(t0_us, t1_us)
        self._store(segment)
        self._time_a_us += time_a_us
        self._time_b_us += time_b_us
        # A pulse of 0 µA (the first onset of a ramp from zero) delivers nothing: not counted.
        delivered = table["amp_pos_uA"] > 0
        pulses_b = int(np.count_nonzero(delivered & (table["half"] == 1)))
        self._pulses_b += pulses_b
        self._pulses_a += int(np.count_nonzero(delivered)) - pulses_b
        charge_pos_pC = table["amp_pos_uA"] * table["width_pos_us"]
        charge_neg_pC = table["amp_neg_uA"] * table["width_neg_us"]
        self._charge_pos_nC += float(charge_pos_pC.sum()) / _PC_PER_NC
        self._charge_neg_nC += float(charge_neg_pC.sum()) / _PC_PER_NC
        self._square_uA2_us += float(
            (charge_pos_pC * table["amp_pos_uA"] + charge_neg_pC * table["amp_neg_uA"]).sum()
        )
        if table.size:
            peak_uA = max(float(table["amp_pos_uA"].max()), float(table["amp_neg_uA"].max()))
            self._peak_uA = max(self._peak_uA, peak_uA)

    def deliver_dc(self, t0_us: int, t1_us: int, current_uA: float) -> None:
        """Account a DC current over ``[t0_us, t1_us)``: a stuck output on a channel meant off.

        Positive current adds to ``charge_pos_nC``, negative to ``charge_neg_nC``, so the net
        charge moves away from zero; the DC also counts in peak, rms and on-time.

        Raises:
            ValueError: a reversed or overlapping segment or a non-finite current.
        """
        if not math.isfinite(current_uA):
            raise ValueError(f"current_uA must be finite, got {current_uA}")
        self._store(_Segment(None, t0_us, t0_us, t1_us, current_uA, current_uA))
        charge_nC = abs(current_uA) * (t1_us - t0_us) / _PC_PER_NC
        if current_uA > 0:
            self._charge_pos_nC += charge_nC
        else:
            self._charge_neg_nC += charge_nC
        self._square_uA2_us += current_uA * current_uA * (t1_us - t0_us)
        if t1_us > t0_us:
            self._peak_uA = max(self._peak_uA, abs(current_uA))

    def pulse_table(self, t0_us: int, t1_us: int) -> npt.NDArray[np.void]:
        """Return the delivered pulses with onsets in ``[t0_us, t1_us)`` (``PULSE_DTYPE``).

        Regenerated from the stored segments, so it is exactly what :meth:`deliver` accounted.

        Raises:
            ValueError: ``t1_us < t0_us``.
        """
        if t1_us < t0_us:
            raise ValueError(f"window ends before it starts: t0_us={t0_us}, t1_us={t1_us}")
        first = max(bisect.bisect_right(self._starts_us, t0_us) - 1, 0)
        last = bisect.bisect_left(self._starts_us, t1_us)
        parts = [segment.pulses(t0_us, t1_us) for segment in self._segments[first:last]]
        return np.concatenate(parts) if parts else np.empty(0, dtype=PULSE_DTYPE)


class Recorder:
    """One :class:`ChannelRecorder` per channel of the device."""

    def __init__(self, channel_count: int) -> None:
        """Create recorders for channels ``0..channel_count-1``.

        Raises:
            ValueError: ``channel_count`` outside 1..MAX_CHANNELS.
        """
        if not 1 <= channel_count <= MAX_CHANNELS:
            raise ValueError(f"channel_count must be 1..{MAX_CHANNELS}, got {channel_count}")
        self.channels: tuple[ChannelRecorder, ...] = tuple(
            ChannelRecorder() for _ in range(channel_count)
        )

    def __getitem__(self, channel: int) -> ChannelRecorder:
        """The recorder of ``channel``.

        Raises:
            IndexError: no such channel.
        """
        return self.channels[channel]

    def __len__(self) -> int:
        """Number of channels."""
        return len(self.channels)
