"""What each channel actually delivered: the device's totals per frequency, and the samples.

Totals come per step (the device resets them when a channel is programmed), so half a and half
b of each record are attributed to that step's prescribed frequencies and summed per frequency
over the session. Charges add up; peak is the largest; rms combines over on-time,
``sqrt(sum(rms_i^2 * t_i) / sum(t_i))`` (the rms of the whole on-time).

Charge imbalance is ``|Q+ - Q-| / max(Q+, Q-)`` in percent (``charge_imbalance_pct``); the
total charge is ``Q+ + Q-`` (both phases, each a magnitude; ``ChannelTotals.total_charge_uC``),
both at the device's 1 nC.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import TypedDict

from eacontrol.records.model import ChannelTotals, Sample, charge_imbalance_pct
from eacontrol.records.prescription import PrescribedStep, Prescription
from firmware_protocol import units

__all__ = ["ChannelDelivery", "FrequencyShare", "channel_delivery"]


class FrequencyShare(TypedDict):
    """Pulses and time delivered at one pulse rate (None: the rate is not known)."""

    frequency_hz: float | None
    pulses: int
    time_s: float


class ChannelDelivery(TypedDict):
    """One channel's delivery: device totals (``None`` without a DOSE record) and samples.

    ``totals_read_after``: the totals were read from the device at its next connect, after the
    session was interrupted (``docs/records.md``)."""

    channel: int
    sites: list[str]
    by_frequency: list[FrequencyShare]
    pulses: int | None
    charge_pos_uC: float | None
    charge_neg_uC: float | None
    net_charge_uC: float | None
    total_charge_uC: float | None
    imbalance_pct: float | None
    peak_mA: float | None
    rms_mA: float | None
    on_time_s: float | None
    totals_read_after: bool
    samples: int
    set_max_mA: float | None
    measured_max_mA: float | None
    measured_median_on_mA: float | None
    impedance_min_ohm: float | None
    impedance_max_ohm: float | None
    impedance_unknown_samples: int


def _step_rates(
    rx: Prescription, channel: int, step_index: int | None
) -> tuple[float | None, float | None]:
    """Frequencies of half a and half b for a totals record."""

    def rates(step: PrescribedStep) -> tuple[float | None, float | None]:
        return step["frequency_hz"], step["frequency_b_hz"]

    if step_index is not None:
        for step in rx["steps"]:
            if step["index"] == step_index:
                return rates(step)
        return None, None
    # Without a step, the rates are known only if every step on this channel uses the same.
    used = {rates(s) for s in rx["steps"] if channel in s["channels"]}
    return used.pop() if len(used) == 1 else (None, None)


def _by_frequency(
    rx: Prescription, channel: int, rows: Sequence[ChannelTotals]
) -> list[FrequencyShare]:
    shares: dict[float | None, FrequencyShare] = {}
    for row in rows:
        rate_a, rate_b = _step_rates(rx, channel, row.step_index)
        for rate, pulses, time_s in (
            (rate_a, row.pulses_a, row.time_a_s),
            (rate_b, row.pulses_b, row.time_b_s),
        ):
            if pulses == 0 and time_s == 0:
                continue
            share = shares.setdefault(rate, {"frequency_hz": rate, "pulses": 0, "time_s": 0.0})
            share["pulses"] += pulses
            share["time_s"] += time_s
    return sorted(
        shares.values(), key=lambda s: (s["frequency_hz"] is None, s["frequency_hz"] or 0.0)
    )


def _combined_rms(rows: Sequence[ChannelTotals]) -> float:
    on_time = sum(r.on_time_s for r in rows)
    if on_time == 0:
        return max((r.rms_mA for r in rows), default=0.0)
    return math.sqrt(sum(r.rms_mA**2 * r.on_time_s for r in rows) / on_time)


def channel_delivery(
    rx: Prescription, channel: int, totals: Sequence[ChannelTotals], samples: Sequence[Sample]
) -> ChannelDelivery:
    """Summarise one channel's delivery over a session.

    Args:
        rx: the session's prescription.
        channel: the channel number.
        totals: the session's totals (any channel; this channel's are used).
        samples: the session's samples (any channel; this channel's are used).

    Returns:
        The channel's delivery.
    """
    mine = [t for t in totals if t.channel == channel]
    readings = [s for s in samples if s.channel == channel]
    on = [s.measured_mA for s in readings if s.set_mA > 0]
    impedances = [s.impedance_ohm for s in readings if s.impedance_ohm is not None]
    sites = next((c["electrodes"] for c in rx["channels"] if c["channel"] == channel), [])
    pos = sum(t.charge_pos_uC for t in mine)
    neg = sum(t.charge_neg_uC for t in mine)
    net = sum(t.net_charge_uC for t in mine)
    have = bool(mine)
    return {
        "channel": channel,
        "sites": list(sites),
        "by_frequency": _by_frequency(rx, channel, mine),
        "pulses": sum(t.pulses_a + t.pulses_b for t in mine) if have else None,
        "charge_pos_uC": pos if have else None,
        "charge_neg_uC": neg if have else None,
        "net_charge_uC": net if have else None,
        "total_charge_uC": units.uC_at_nC(pos + neg) if have else None,
        "imbalance_pct": charge_imbalance_pct(pos, neg, net) if have else None,
        "peak_mA": max(t.peak_mA for t in mine) if have else None,
        "rms_mA": _combined_rms(mine) if have else None,
        "on_time_s": sum(t.on_time_s for t in mine) if have else None,
        "totals_read_after": any(t.read_after for t in mine),
        "samples": len(readings),
        "set_max_mA": max((s.set_mA for s in readings), default=None),
        "measured_max_mA": max((s.measured_mA for s in readings), default=None),
        "measured_median_on_mA": statistics.median(on) if on else None,
        "impedance_min_ohm": min(impedances, default=None),
        "impedance_max_ohm": max(impedances, default=None),
        "impedance_unknown_samples": sum(1 for s in readings if s.impedance_ohm is None),
    }
