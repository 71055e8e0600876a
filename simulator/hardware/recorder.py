"""What each channel delivered: pulse counts, charge per phase, peak and rms current, time per half.

The output stage hands a :class:`ChannelRecorder` one stretch at a time (a window in which its
drive stays the same) and, for a stuck output, DC stretches. Each stretch is accounted with a
handful of numpy operations on its pulse table, and stored, not its pulses:
:meth:`ChannelRecorder.pulse_table` regenerates the raw pulses of any window from the stored
stretches. Contiguous stretches at one constant current are merged, so a steady run that is
flushed at every heartbeat still stores one.

The totals here are the physics, in floats. The firmware reads them the way a charge meter is
read (:meth:`ChannelRecorder.take_reading`): whole numbers, each total rounded to the nearest
unit, handed over as the change since the last reading so that the firmware's integer
accumulators add up to the rounded totals exactly.

Units: µA · µs = pC, so a phase's charge in nC is ``amp_uA · width_us / 1000``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, fields, replace

import numpy as np
import numpy.typing as npt

from firmware_protocol import MAX_CHANNELS
from simulator.firmware.hal import Delivered, Drive
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import time_per_half_us
from simulator.hardware.pulses import PULSE_DTYPE, pulse_table

__all__ = ["ChannelRecorder", "Recorder"]

_PC_PER_NC = 1000


@dataclass(frozen=True)
class _Segment:
    """A stored stretch: pulses of ``drive`` limited to ``level_uA``, or DC of ``level_uA``
    (signed) when ``drive`` is None."""

    drive: Drive | None
    t0_us: int
    t1_us: int
    level_uA: float

    def constant_uA(self) -> float | None:
        """The first-phase current if it is the same all through the stretch, else None."""
        if self.drive is None:
            return self.level_uA
        ramp = self.drive.ramp
        start_uA = min(float(ramp.at(self.t0_us)), self.level_uA)
        # A ramp is monotone: equal ends mean the same current all along.
        return start_uA if start_uA == min(float(ramp.at(self.t1_us)), self.level_uA) else None

    def continued_by(self, other: _Segment) -> bool:
        """True when ``other`` extends this stretch at the same constant current."""
        if other.t0_us != self.t1_us or (self.drive is None) != (other.drive is None):
            return False
        if self.drive is not None and other.drive is not None:
            mine, theirs = self.drive, other.drive
            if (mine.program, mine.run_start_us) != (theirs.program, theirs.run_start_us):
                return False
        current_uA = self.constant_uA()
        return current_uA is not None and current_uA == other.constant_uA()

    def joined(self, other: _Segment) -> _Segment:
        """This stretch extended to the end of ``other`` (which ``continued_by`` accepted)."""
        current_uA = self.constant_uA()
        if self.drive is None or current_uA is None:  # DC: one level already
            return replace(self, t1_us=other.t1_us)
        # The set value may change beyond this stretch: the joined one holds a level at or
        # above the constant current, limited to it, which is that current all along.
        level = Ramp.level(self.t0_us, math.ceil(current_uA))
        drive = replace(self.drive, ramp=level)
        return _Segment(drive, self.t0_us, other.t1_us, current_uA)

    def pulses(self, w0_us: int, w1_us: int) -> npt.NDArray[np.void]:
        """This stretch's pulses with onsets in ``[w0_us, w1_us)`` (clipped to the stretch)."""
        if self.drive is None:
            return np.empty(0, dtype=PULSE_DTYPE)
        lo_us, hi_us = max(w0_us, self.t0_us), min(w1_us, self.t1_us)
        if hi_us <= lo_us:
            return np.empty(0, dtype=PULSE_DTYPE)
        return pulse_table(self.drive, lo_us, hi_us, self.level_uA)


class ChannelRecorder:
    """Delivered totals of one channel since its last reset (SET_PROGRAM, power-up).

    Stretches must arrive in time order without overlap (``ValueError`` otherwise): accounting
    the same stretch twice would be a bug that this ledger refuses to hide.

    Totals:
        pulses_a, pulses_b: pulses delivered in half a / half b.
        time_a_us, time_b_us: delivering time in half a / half b; dense-disperse time is split by
            dwell, continuous and intermittent time (off windows included) is all half a.
        on_time_us: time with the output active: every delivered stretch, pulses or DC, so
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
    _read: Delivered
    _peak_since_read_uA: float

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
        self._read = Delivered()
        """The totals as handed over by the readings so far (rounded)."""
        self._peak_since_read_uA = 0.0

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
        """Time with the output active (pulse and DC stretches)."""
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

    def take_reading(self) -> Delivered:
        """What was delivered since the previous reading, as a meter hands it to the firmware.

        Counts and times are exact; the charges and ``∫i²dt`` are the change of their totals
        rounded to the nearest unit (ties to even), so the readings add up to the rounded
        totals; ``peak_uA`` is the largest amplitude since the previous reading, rounded.
        """
        total = Delivered(
            pulses_a=self._pulses_a,
            pulses_b=self._pulses_b,
            time_a_us=self._time_a_us,
            time_b_us=self._time_b_us,
            on_time_us=self._on_time_us,
            charge_pos_nC=round(self._charge_pos_nC),
            charge_neg_nC=round(self._charge_neg_nC),
            peak_uA=round(self._peak_since_read_uA),
            square_uA2_us=round(self._square_uA2_us),
        )
        read, self._read, self._peak_since_read_uA = self._read, total, 0.0
        change = {f.name: getattr(total, f.name) - getattr(read, f.name) for f in fields(Delivered)}
        change["peak_uA"] = total.peak_uA  # a peak since the last reading, not a running total
        return Delivered(**change)

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
            self._segments[-1] = self._segments[-1].joined(segment)
        elif segment.t1_us > segment.t0_us:
            self._segments.append(segment)
            self._starts_us.append(segment.t0_us)

    def _peak(self, peak_uA: float) -> None:
        self._peak_uA = max(self._peak_uA, peak_uA)
        self._peak_since_read_uA = max(self._peak_since_read_uA, peak_uA)

    def deliver(self, drive: Drive, t0_us: int, t1_us: int, cap_uA: float = math.inf) -> None:
        """Account the pulses of ``drive`` with onsets in ``[t0_us, t1_us)``.

        Args:
            drive: what the firmware drives: program, run start (onsets are relative to it)
                and set value (each pulse's first-phase current is its value at the onset).
            t0_us: stretch start, at or after the run start and the previous stretch's end.
            t1_us: stretch end (exclusive).
            cap_uA: the compliance limit on the first-phase current.

        Raises:
            ValueError: a reversed, overlapping or pre-start stretch, a negative current, or a
                program whose timing fields are invalid for its mode.
        """
        time_a_us, time_b_us = time_per_half_us(drive.program, drive.run_start_us, t0_us, t1_us)
        segment = _Segment(drive, t0_us, t1_us, cap_uA)
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
            self._peak(max(float(table["amp_pos_uA"].max()), float(table["amp_neg_uA"].max())))

    def deliver_dc(self, t0_us: int, t1_us: int, current_uA: float) -> None:
        """Account a DC current over ``[t0_us, t1_us)``: a stuck output on a channel meant off.

        Positive current adds to ``charge_pos_nC``, negative to ``charge_neg_nC``, so the net
        charge moves away from zero; the DC also counts in peak, rms and on-time.

        Raises:
            ValueError: a reversed or overlapping stretch or a non-finite current.
        """
        if not math.isfinite(current_uA):
            raise ValueError(f"current_uA must be finite, got {current_uA}")
        self._store(_Segment(None, t0_us, t1_us, current_uA))
        charge_nC = abs(current_uA) * (t1_us - t0_us) / _PC_PER_NC
        if current_uA > 0:
            self._charge_pos_nC += charge_nC
        else:
            self._charge_neg_nC += charge_nC
        self._square_uA2_us += current_uA * current_uA * (t1_us - t0_us)
        if t1_us > t0_us:
            self._peak(abs(current_uA))

    def pulse_table(self, t0_us: int, t1_us: int) -> npt.NDArray[np.void]:
        """Return the delivered pulses with onsets in ``[t0_us, t1_us)`` (``PULSE_DTYPE``).

        Regenerated from the stored stretches, so it is exactly what :meth:`deliver` accounted.

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
