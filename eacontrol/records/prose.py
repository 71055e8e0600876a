"""The methods paragraph of a session report, and descriptions of steps and points in words.

A methods section reads like: "Electroacupuncture was delivered at 4 needle sites (bilateral
BL23 Shenshu and BL25 Dachangshu) ... Step 1: dense-disperse 2/100 Hz ...". Every number comes
from the report dict, rounded for reading by :mod:`eacontrol.records.fmt`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eacontrol.records import fmt
from eacontrol.records.course import IntensityRange, OperatorChange
from eacontrol.records.delivered import ChannelDelivery
from eacontrol.records.fmt import join_words
from eacontrol.records.intensity import methods_intensity
from eacontrol.records.prescription import PrescribedStep
from eacontrol.records.report import PatientSessions, PointItem, Report, StepItem
from eacontrol.records.scripted import is_script_report

__all__ = [
    "MODE_NAMES",
    "POLARITY",
    "compliance_text",
    "describe_pattern",
    "describe_point",
    "describe_rates",
    "describe_waveform",
    "methods_paragraph",
    "patient_sentence",
    "per_channel",
    "unconfirmed_text",
]

_OUTCOMES = {
    "running": "is still running (this report is provisional)",
    "completed": "ended as prescribed",
    "stopped": "was stopped early by the operator",
    "emergency_stop": "was ended by an emergency stop",
    "fault": "was ended by a device fault",
    "link_lost": "ended when the connection to the device was lost, its outputs not confirmed off",
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

POLARITY = "leading phase positive (+I), then the recovery phase, the same in every pulse"
"""Pulse polarity (PROTOCOL.md §8: first phase +I, gap, then the second phase)."""

_UNCONFIRMED = {
    "link_lost": "the connection to the device was lost",
    "stop_not_confirmed": "the device did not confirm the stop",
}
"""Endings that leave the outputs not confirmed off (``records.INTERRUPTED`` less ``aborted``,
whose process ended without a word on the outputs), and what happened."""

_LATERALITY_ORDER = ("bilateral", "left", "right", "midline", "unknown")


def compliance_text(volts: float | None) -> str:
    """``40 V``, or ``not recorded`` (records made before schema version 3)."""
    return "not recorded" if volts is None else f"{fmt.sig(volts)} V"


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


def _step_sentence(step: StepItem, script: bool = False) -> str:
    p = step["prescribed"]
    name = f" ({p['name']})" if p["name"] else ""
    ran = ""
    if step["ran_s"] is None:
        ran = "; it did not run to its end" if step["started_s"] is not None else "; it did not run"
    elif abs(step["ran_s"] - p["duration_s"]) >= 0.5:
        ran = f"; it ran {fmt.duration(step['ran_s'])}"
    intensity = methods_intensity(step["intensity"]) or (
        f"target intensity {per_channel(p['intensity_mA'], 'mA')}"
    )
    return (
        f"Step {p['index'] + 1}{name}: {MODE_NAMES[p['mode']]} {describe_rates(p)}"
        f"{describe_pattern(p)}, {describe_waveform(p)}; {intensity}, ramped up over "
        f"{fmt.duration(p['ramp_up_s'])} "
        f"and down over {fmt.duration(p['ramp_down_s'])}; "
        f"{'in force' if script else 'prescribed'} for {fmt.duration(p['duration_s'])}{ran}."
    )


_INTERRUPTED = "; the session was interrupted: its record ends at its last record"


def _range_phrase(item: IntensityRange) -> str:
    if item["measured_max_mA"] is None or item["measured_min_mA"] is None:
        why = (
            f"{item['missing_samples']} samples missing"
            if item["missing_samples"]
            else "no sample recorded"
        )
        return f"unknown on channel {item['channel']} ({why})"
    missing = (
        f", {item['missing_samples']} samples missing: unknown then"
        if item["missing_samples"]
        else ""
    )
    return (
        f"{fmt.sig(item['measured_min_mA'])}–{fmt.current(item['measured_max_mA'])} on "
        f"channel {item['channel']} (median {fmt.current(item['measured_median_mA'])}{missing})"
    )


def _change_phrase(c: OperatorChange) -> str:
    before = "" if c["from_mA"] is None else f" from {fmt.current(c['from_mA'])}"
    return (
        f"at {fmt.clock(c['t_s'])} on channel {c['channel']}{before} to {fmt.current(c['to_mA'])}"
    )


def _course_sentences(r: Report) -> list[str]:
    """Delivered range, operator changes, pauses and missing samples."""
    c = r["course"]
    whole = [i for i in c["intensity"] if i["step_index"] is None]
    parts = [
        f"The measured current while on ranged {join_words([_range_phrase(i) for i in whole])}."
        if whole
        else ""
    ]
    n = len(c["operator_changes"])
    parts.append(
        f"The operator changed the intensity {n} time{'s' if n != 1 else ''}: "
        f"{join_words([_change_phrase(o) for o in c['operator_changes']])}."
        if n
        else "The operator did not change the intensity."
    )
    if c["pauses"]:
        n = len(c["pauses"])
        parts.append(
            f"Stimulation was paused {n} time{'s' if n != 1 else ''} "
            f"({fmt.duration(c['paused_s'])} in total)."
        )
    if c["missing_samples"]:
        parts.append(
            f"{c['missing_samples']} samples were missing (no measurement from the device): "
            "the current then is unknown."
        )
    return [p for p in parts if p]


def _clinical_sentences(r: Report) -> list[str]:
    c = r["clinical"]
    parts = []
    if c["intensity_aim"]:
        parts.append(f"Intensity was adjusted aiming at “{c['intensity_aim']}”.")
    if c["response_sought"]:
        parts.append(f"The response sought was {c['response_sought']}.")
    if c["practitioner"]:
        parts.append(f"The practitioner: {c['practitioner']}.")
    return parts


def _adverse_sentence(r: Report) -> str:
    found = [
        f"{a['severity']} {a['event']}" + ("" if a["t_s"] is None else f" at {fmt.clock(a['t_s'])}")
        for a in r["annotations"]
        if a["kind"] == "adverse_event"
    ]
    if not found:
        return "No adverse events were recorded."
    return f"Adverse events recorded: {join_words(found)}."


def _charge_sentence(r: Report) -> str:
    found = []
    for c in r["course"]["charges"]:
        b = "" if c["phase_charge_b_uC"] is None else f"/{fmt.charge(c['phase_charge_b_uC'])}"
        found.append(
            f"{fmt.charge(c['phase_charge_uC'])}{b} in step {c['step_index'] + 1} on "
            f"channel {c['channel']}"
        )
    dev = r["device"]
    charge = (
        f"the phase charge at the target intensity was {join_words(found)}"
        if found
        else "no program was sent, so no current was delivered"  # needles without current
    )
    return (
        f"Output was {dev['output_mode']} (compliance voltage "
        f"{compliance_text(dev['compliance_V'])}), {POLARITY}; {charge}."
    )


def _delivery_sentences(delivered: Sequence[ChannelDelivery]) -> list[str]:
    balance = [
        f"{fmt.charge(d['net_charge_uC'])} on channel {d['channel']} "
        f"({fmt.percent(d['imbalance_pct'])} of the phase charge; total charge "
        f"{fmt.charge(d['total_charge_uC'])})"
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
        f"The device reported a net charge of {join_words(balance)}{read_after}."
        if balance
        else "The device's delivered totals are unknown (not recorded).",
    ]


def _confirmed_until(r: Report) -> str:
    until = r["course"]["confirmed_until_s"]
    return "no time (no STATUS was recorded)" if until is None else f"{fmt.clock(until)}"


def unconfirmed_text(r: Report) -> str:
    """For a session whose outputs were not confirmed off at its end (a lost link, a stop the
    device did not confirm): up to when the device confirmed its outputs (the session time of
    its last STATUS, ``course.confirmed_until_s``) and that after it they were not confirmed
    off; "" for any other ending. Nothing after the last STATUS is called delivered.

    Args:
        r: the report.
    """
    what = _UNCONFIRMED.get(r["session"]["outcome"])
    if what is None:
        return ""
    until = r["course"]["confirmed_until_s"]
    confirmed = (
        "The device never confirmed its outputs (no STATUS was recorded)"
        if until is None
        else (
            f"The device confirmed its outputs up to {fmt.clock(until)} of session time "
            "(its last STATUS)"
        )
    )
    return (
        f"{confirmed}; then {what}, and the outputs were not confirmed off: the device's own "
        "lease is meant to stop them, which nothing confirmed, so the current after that time "
        "is unknown."
    )


def patient_sentence(ps: PatientSessions) -> str:
    """This session among the patient's: ``This was session 2 of 3 recorded for patient P-017
    (1 completed before it; ...)``; a simulated session is counted only when asked for."""
    sessions = f"{ps['total']} treatment session{'s' if ps['total'] != 1 else ''}"
    if ps["number"] is None:
        return (
            f"This session {'was a titration' if ps.get('titration') else 'ran on the simulator'}"
            f" and is not counted among the {sessions} "
            f"recorded for patient {ps['patient_id']}."
        )
    previous = ""
    if ps["days_since_previous"] is not None:
        days = fmt.sig(ps["days_since_previous"], 2)
        previous = f"; the previous one was {days} days earlier"
    simulated = ", simulated sessions included" if ps["include_simulated"] else ""
    return (
        f"This was session {ps['number']} of {ps['total']} recorded for patient "
        f"{ps['patient_id']}{simulated} ({ps['completed_before']} completed before it{previous})."
    )


def _opening(r: Report) -> str:
    st, dev, prof = r["stricta"], r["device"], r["profile"]
    needles = sorted({(n["diameter_mm"], n["inserted_length_mm"]) for n in st["needles"]})
    sizes = [f"{fmt.sig(d)} mm diameter inserted {fmt.sig(length)} mm" for d, length in needles]
    needle_text = f" with needles of {join_words(sizes)}" if sizes else ""
    c = r["clinical"]
    given = [
        text
        for text, value in (
            (f"{fmt.sig(float(c['needle_length_mm'] or 0))} mm long", c["needle_length_mm"]),
            (str(c["needle_material"]), c["needle_material"]),
            (f"made by {c['needle_maker']}", c["needle_maker"]),
        )
        if value
    ]
    if given:
        needle_text += f" ({', '.join(given)})" if sizes else f" with needles {', '.join(given)}"
    # After a lost link only what the device confirmed is called delivered.
    upto = (
        f", as confirmed by the device up to {_confirmed_until(r)} of session time,"
        if r["session"]["outcome"] in _UNCONFIRMED
        else ""
    )
    if dev["simulated"]:
        verb = "This session ran on the eacontrol device simulator (no patient was stimulated): it"
        verb += f" would have delivered electroacupuncture{upto} at"
        device = f"the simulated stimulator ({dev['model']})"
    else:
        verb = f"Electroacupuncture was delivered{upto} at"
        device = (
            f"the stimulator ({dev['model']}, serial {dev['serial']}, "
            f"firmware {dev['firmware_version']})"
        )
    channels = len(r["delivered"])
    indication = f" for {prof['indication']}" if prof["indication"] else ""
    if is_script_report(r):  # a script's own calls: no profile; its steps are what it sent
        return (
            f"{verb} {st['needle_count']} needle sites ({_points_phrase(st['points'])})"
            f"{needle_text} through {channels} channel{'s' if channels != 1 else ''} of "
            f"{device}, controlled by a Python script through eacontrol "
            f"{r['session']['software_version']} (recorded as “{prof['name']}”, sha256 "
            f"{prof['sha256'][:12]}; no stored profile: each step below is a program the script "
            f"sent){indication}."
        )
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
    st, script = r["stricta"], is_script_report(r)
    aside = "" if script else f"prescribed {fmt.duration(st['prescribed_time_s'])}"
    if st["stimulation_time_at_least"]:
        aside += _INTERRUPTED if aside else _INTERRUPTED.removeprefix("; ")
    lasted = (
        f"Stimulation lasted {'at least ' if st['stimulation_time_at_least'] else ''}"
        f"{fmt.duration(st['stimulation_time_s'])}{f' ({aside})' if aside else ''}."
    )
    if not r["steps"]:
        lasted = "No step ran."
    unconfirmed = unconfirmed_text(r)
    if unconfirmed:  # how long it lasted is not known: say what the device confirmed
        planned = f" The prescribed time was {fmt.duration(st['prescribed_time_s'])}."
        lasted = unconfirmed + ("" if script else planned)
    parts = [
        _opening(r),
        *(_step_sentence(s, script) for s in r["steps"]),
        _charge_sentence(r),
        *_clinical_sentences(r),
        lasted,
        *_course_sentences(r),
        *_delivery_sentences(r["delivered"]),
        _adverse_sentence(r),
    ]
    ps = r["patient_sessions"]
    if ps is not None:
        parts.append(patient_sentence(ps))
    session = r["session"]
    outcome = session["outcome"]
    detail = f": {session['detail']}" if session["detail"] else ""
    ended = _OUTCOMES.get(outcome, outcome)
    if script and outcome == "completed":
        ended = "ran to the script's end"  # nothing was prescribed to end as
    parts.append(f"The session {ended} ({outcome}{detail}).")
    return " ".join(parts)
