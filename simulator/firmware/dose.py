"""A channel's dose counters: integer accumulators of what its output stage measured.

The counters add up the readings the output stage hands over (``OutputStage.read_delivered``)
since the channel's last SET_PROGRAM, and are what GET_DOSE reports (PROTOCOL.md §5.17). Sums
grow without bound (Python ints; the C core keeps them in ``uint64_t``) and are clipped to
their wire fields only in the message. The rms is the one derived value: the square root of
the accumulated ``∫i²dt`` over the on-time, to the nearest µA (ties to even), in integers.
"""

from __future__ import annotations

from dataclasses import fields

from firmware_protocol import Dose
from simulator.firmware.hal import Delivered
from simulator.firmware.units import U16, U32, U64, US_PER_MS, round_sqrt_ratio

__all__ = ["DoseCounters"]

_FIELDS = fields(Delivered)


class DoseCounters:
    """Delivered totals of one channel since its last SET_PROGRAM.

    Attributes:
        total: the readings added up, field by field (``peak_uA`` is the largest of them).
    """

    def __init__(self) -> None:
        self.total = Delivered()

    def clear(self) -> None:
        """Forget everything (SET_PROGRAM, power-up)."""
        self.total = Delivered()

    def add(self, reading: Delivered) -> None:
        """Accumulate one reading of the output stage."""
        total = self.total
        sums = {f.name: getattr(total, f.name) + getattr(reading, f.name) for f in _FIELDS}
        sums["peak_uA"] = max(total.peak_uA, reading.peak_uA)
        self.total = Delivered(**sums)

    @property
    def rms_uA(self) -> int:
        """rms of the current over the on-time, to the nearest µA; 0 before any on-time."""
        total = self.total
        if total.on_time_us == 0:
            return 0
        return round_sqrt_ratio(total.square_uA2_us, total.on_time_us)

    def message(self, channel: int) -> Dose:
        """The DOSE reply for ``channel``: each total clipped to its wire field, times in
        whole ms (rounded down)."""
        total = self.total
        return Dose(
            channel=channel,
            pulses_a=min(U32, total.pulses_a),
            pulses_b=min(U32, total.pulses_b),
            time_a_ms=min(U32, total.time_a_us // US_PER_MS),
            time_b_ms=min(U32, total.time_b_us // US_PER_MS),
            charge_pos_nC=min(U64, total.charge_pos_nC),
            charge_neg_nC=min(U64, total.charge_neg_nC),
            peak_uA=min(U16, total.peak_uA),
            rms_uA=min(U16, self.rms_uA),
            on_time_ms=min(U32, total.on_time_us // US_PER_MS),
        )
