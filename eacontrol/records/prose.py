"""The methods paragraph of a session report, and descriptions of steps and points in words.

A methods section reads like: "Electroacupuncture was delivered at 4 needle sites (bilateral
BL23 Shenshu and BL25 Dachangshu) ... Step 1: dense-disperse 2/100 Hz ...". Every number comes
from the report dict, rounded for reading by :mod:`eacontrol.records.fmt`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eacontrol.records import fmt
from eacontrol.records.delivered import ChannelDelivery
from eacontrol.records.prescription import PrescribedStep
from eacontrol.records.report import PointItem, Report, StepItem

__all__ = [
    "MODE_NAMES",
    "describe_pattern",
    "describe_point",
    "describe_rates",
    "describe_waveform",
    "join_words",
    "methods_paragraph",
    "per_channel",
]

_OUTCOMES = {
    "running": "is still running (this report is provisional)",
    "completed": "ended as prescribed",
    "stopped": "was stopped early by the operator",
    "emergency_stop": "was ended by an emergency stop",
    "fault": "was ended by a device fault",
    "link_lost": "ended when the link to the device was lost",
    "stop_not_confirmed": "ended with the stop NOT confirmed by the device (hard alarm)",
    "error": "was ended by a software error",
    "records_unavailable": "was stopped safely because its record could not be written",
    "aborted": "was interrupted: its controlling process ended without closing it",
}
MODE_NAMES = {
    "continuous": "continuous",
    "dense_disperse": "dense-disperse",
    "intermittent": "intermittent",
}
"""Stimulation modes in words."""

_LATERALITY_ORDER = ("bilateral", "left", "right", "midline", "unknown")


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def describe_point(p: PointItem) -> str:
    """``BL23 Shenshu (bilateral)``."""
    name = f" {p['name']}" if p["name"] else ""
    return f"{p['code']}{name} ({p['laterality']})"


def _points_phrase(points: Sequence[PointItem]) -> str:
    """``bilateral BL23 Shenshu and BL25 Dachangshu; midline GV20 Baihui``."""
    groups = []
    for laterality in _LATERALITY_ORDER:
        named = [
            f"{p['code']} {p['name'] or ''}".strip()
            for p in points
            if p["laterality"] == laterality
        ]
        if named:
            label = "side not known:" if laterality == "unknown" else laterality
            groups.append(f"{label} {join_words(named)}")
    return "; ".join(groups)


def per_channel(values: dict[str, float], unit: str) -> str:
    """``3 mA on channel 1 and 2.5 mA on channel 2``."""
    ordered = sorted(values.items(), key=lambda kv: int(kv[0]))
    return join_words([f"{fmt.sig(v)} {unit} on channel {ch}" for ch, v in ordered])


def describe_rates(p: PrescribedStep) -> str:
    """The pulse rates and phase widths of a step, e.g. ``2/100 Hz (phase width 600/200 µs)``."""
    if p["mode"] == "dense_disperse" and p["frequency_b_hz"] is not None:
        pw_b = p["phase_width_b_us"] if p["phase_width_b_us"] is not None else p["phase_width_us"]
        return (
            f"{fmt.sig(p['frequency_hz'], 4)}/{fmt.sig(p['frequency_b_hz'], 4)} Hz "
            f"(phase width {fmt.sig(p['phase_width_us'], 4)}/{fmt.sig(pw_b, 4)} µs)"
        )
    return f"{fmt.frequency(p['frequency_hz'])} (phase width {fmt.width(p['phase_width_us'])})"


def describe_pattern(p: PrescribedStep) -> str:
    """How the step switches between rates or trains (empty for continuous)."""
    if p["mode"] == "dense_disperse":
        return (
            f", alternating {fmt.duration(p['dwell_a_s'])} at {fmt.frequency(p['frequency_hz'])} "
            f"and {fmt.duration(p['dwell_b_s'])} at {fmt.frequency(p['frequency_b_hz'])}"
        )
    if p["mode"] == "intermittent":
        return f", trains of {fmt.duration(p['on_s'])} on and {fmt.duration(p['off_s'])} off"
    return ""


def describe_waveform(p: PrescribedStep) -> str:
    """The pulse shape (PROTOCOL.md: first phase +I, gap, then the recovery phase)."""
    if p["shape"] == "asymmetric":
        ratio = p["asym_ratio"]
        shape = (
            "asymmetric charge-balanced biphasic rectangular pulses (recovery phase at "
            f"1/{ratio} of the amplitude for {ratio} times the phase width)"
        )
    else:
        shape = "symmetric charge-balanced biphasic rectangular pulses"
    return f"{shape}, interphase gap {fmt.width(p['interphase_us'])}"


def _step_sentence(step: StepItem) -> str:
    p = step["prescribed"]
    name = f" ({p['name']})" if p["name"] else ""
    ran = ""
    if step["ran_s"] is None:
        ran = "; it did not run to its end" if step["started_s"] is not None else "; it did not run"
    elif abs(step["ran_s"] - p["duration_s"]) >= 0.5:
        ran = f"; it ran {fmt.duration(step['ran_s'])}"
    return (
        f"Step {p['index'] + 1}{name}: {MODE_NAMES[p['mode']]} {describe_rates(p)}"
        f"{describe_pattern(p)}, {describe_waveform(p)}; target intensity "
        f"{per_channel(p['intensity_mA'], 'mA')}, ramped up over {fmt.duration(p['ramp_up_s'])} "
        f"and down over {fmt.duration(p['ramp_down_s'])}; prescribed for "
        f"{fmt.duration(p['duration_s'])}{ran}."
    )


_INTERRUPTED = "; the session was interrupted: its record ends at its last record"


def _delivery_sentences(delivered: Sequence[ChannelDelivery]) -> list[str]:
    measured = [
        f"up to {fmt.current(d['measured_max_mA'])} on channel {d['channel']} "
        f"(median {fmt.current(d['measured_median_on_mA'])} while on)"
        for d in delivered
        if d["measured_max_mA"] is not None
    ]
    balance = [
        f"{fmt.charge(d['net_charge_uC'])} on channel {d['channel']} "
        f"({fmt.percent(d['imbalance_pct'])} of the phase charge)"
        for d in delivered
        if d["net_charge_uC"] is not None
    ]
    afterwards = [d["channel"] for d in delivered if d["totals_read_after"]]
    read_after = (
        f" (read from the device when it was next connected, after the session was "
        f"interrupted: channel{'s' if len(afterwards) > 1 else ''} "
        f"{join_words([str(n) for n in afterwards])})"
        if afterwards
        else ""
    )
    return [
        f"The measured current reached {join_words(measured)}."
        if measured
        else "No current samples were recorded.",
        f"The device reported a net charge of {join_words(balance)}{read_after}."
        if balance
        else "The device's delivered totals are unknown (not recorded).",
    ]


def _opening(r: Report) -> str:
    st, dev, prof = r["stricta"], r["device"], r["profile"]
    needles = sorted({(n["diameter_mm"], n["inserted_length_mm"]) for n in st["needles"]})
    sizes = [f"{fmt.sig(d)} mm diameter inserted {fmt.sig(length)} mm" for d, length in needles]
    needle_text = f" with needles of {join_words(sizes)}" if sizes else ""
    if dev["simulated"]:
        verb = "This session ran on the eacontrol device simulator (no patient was stimulated): it"
        verb += " would have delivered electroacupuncture at"
        device = f"the simulated stimulator ({dev['model']})"
    else:
        verb = "Electroacupuncture was delivered at"
        device = (
            f"the stimulator ({dev['model']}, serial {dev['serial']}, "
            f"firmware {dev['firmware_version']})"
        )
    channels = len(r["delivered"])
    indication = f" for {prof['indication']}" if prof["indication"] else ""
    return (
        f"{verb} {st['needle_count']} needle sites ({_points_phrase(st['points'])})"
        f"{needle_text} through {channels} channel{'s' if channels != 1 else ''} of {device}, "
        f"controlled by eacontrol {r['session']['software_version']} with the profile "
        f"“{prof['name']}” (version {prof['version']}){indication}."
    )


def methods_paragraph(r: Report) -> str:
    """One paragraph for a methods section: sites, needles, device, steps, time, delivery,
    the patient's session count and how the session ended.

    Args:
        r: the report.

    Returns:
        The paragraph (no line breaks).
    """
    st = r["stricta"]
    parts = [
        _opening(r),
        *(_step_sentence(s) for s in r["steps"]),
        f"Stimulation lasted {'at least ' if st['stimulation_time_at_least'] else ''}"
        f"{fmt.duration(st['stimulation_time_s'])} "
        f"(prescribed {fmt.duration(st['prescribed_time_s'])}"
        f"{_INTERRUPTED if st['stimulation_time_at_least'] else ''}).",
        *_delivery_sentences(r["delivered"]),
    ]
    ps = r["patient_sessions"]
    if ps is not None:
        previous = ""
        if ps["days_since_previous"] is not None:
            days = fmt.sig(ps["days_since_previous"], 2)
            previous = f"; the previous one was {days} days earlier"
        parts.append(
            f"This was session {ps['number']} of {ps['total']} recorded for patient "
            f"{ps['patient_id']} ({ps['completed_before']} completed before it{previous})."
        )
    session = r["session"]
    outcome = session["outcome"]
    detail = f": {session['detail']}" if session["detail"] else ""
    parts.append(f"The session {_OUTCOMES.get(outcome, outcome)} ({outcome}{detail}).")
    return " ".join(parts)
