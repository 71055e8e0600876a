"""The session report laid out as sections of paragraphs and tables, for every format.

Reads only the report dict (:func:`eacontrol.records.report.build_report`), so a JSON report
saved earlier lays out the same way. Markdown (:mod:`eacontrol.records.markdown`) and HTML
(:mod:`eacontrol.records.html`) render the same sections: one layout, no copy of it per format.
Cells and paragraphs are plain text; each renderer escapes them for its format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eacontrol.records import fmt
from eacontrol.records.alarm import INTRUSION_KIND
from eacontrol.records.blocks import Block, Paragraph, Section, para, table
from eacontrol.records.course_blocks import (
    annotation_blocks,
    changes_blocks,
    electrical_blocks,
    intensity_blocks,
)
from eacontrol.records.intensity import describe_setting, describe_treatment, titration_aim
from eacontrol.records.prose import (
    MODE_NAMES,
    describe_pattern,
    describe_point,
    describe_rates,
    describe_waveform,
    methods_paragraph,
    per_channel,
    unconfirmed_text,
)
from eacontrol.records.refused import is_refused, refused_blocks
from eacontrol.records.report import Report, SessionPart
from eacontrol.records.scripted import is_script_report

__all__ = ["SIMULATOR_NOTICE", "notices", "report_sections", "title"]


def _ended(s: SessionPart) -> str:
    if not s["duration_at_least"]:
        return f"{fmt.moment(s['ended_at'])} (duration {fmt.duration(s['duration_s'])})"
    if s["duration_s"] is None:
        return "not yet (still recorded as running; its length is not known)"
    return (
        f"not recorded: interrupted; its last record is at {fmt.moment(s['ended_at'])} "
        f"(duration at least {fmt.duration(s['duration_s'])})"
    )


def _study_rows(r: Report) -> list[tuple[str, str]]:
    """Condition, arm and tags, where given (absent in reports saved before version 5)."""
    study: dict[str, Any] = r.get("study") or {}
    rows = [(name.capitalize(), study[name]) for name in ("condition", "arm") if study.get(name)]
    if study.get("tags"):
        rows.append(("Tags", ", ".join(study["tags"])))
    if study.get("blinded"):
        rows.append(("Operator", "blinded: the live view hid the condition and every intensity"))
    return rows


def _not_counted(ps: Mapping[str, Any], simulated: str = "simulated") -> str:
    """Why a session is not one of the patient's treatment sessions."""
    return "a titration" if ps.get("titration") else simulated


def _identity(r: Report) -> list[Block]:
    s, dev, prof = r["session"], r["device"], r["profile"]
    device = (
        f"{dev['model']}, serial {dev['serial']}, firmware {dev['firmware_version']}, "
        f"boot id {dev['boot_id']}, port {dev['port']}"
    )
    if dev["simulated"]:
        device = f"SIMULATOR — no patient was stimulated ({device})"
    ps = r["patient_sessions"]
    patient = s["patient_id"] or "not given"
    if ps is not None:
        patient += (
            f" ({_not_counted(ps)}: not one of the patient's {ps['total']} treatment sessions)"
            if ps["number"] is None
            else f" (session {ps['number']} of {ps['total']})"
        )
    rows = [
        ("Outcome", " — ".join(t for t in (s["outcome"], unconfirmed_text(r), s["detail"]) if t)),
        ("Started", fmt.moment(s["started_at"])),
        ("Ended", _ended(s)),
        ("Patient id", patient),
        ("Operator id", s["operator_id"] or "not given"),
        *_study_rows(r),
        ("Profile", f"{prof['name']}, version {prof['version']}, sha256 {prof['sha256']}"),
        ("Indication", prof["indication"] or "—"),
        ("References", "; ".join(prof["references"]) or "—"),
        ("Device", device),
        ("Software", f"eacontrol {s['software_version']}"),
    ]
    return table(("Session " + str(s["id"]), ""), rows)


def _stricta_rows(r: Report) -> list[Block]:
    st = r["stricta"]
    depths = [
        f"{fmt.sig(n['inserted_length_mm'])} mm (channel {n['channel']})" for n in st["needles"]
    ]
    diameters = [f"{fmt.sig(n['diameter_mm'])} mm (channel {n['channel']})" for n in st["needles"]]
    ps = r["patient_sessions"]
    sessions = "no patient id given"
    frequency = f"this session {fmt.duration(r['session']['duration_s'])}"
    if ps is not None:
        sessions = (
            f"not a treatment session ({_not_counted(ps, 'ran on the simulator')}); "
            f"{ps['total']} recorded for "
            f"patient {ps['patient_id']}"
            if ps["number"] is None
            else f"session {ps['number']} of {ps['total']} recorded for patient {ps['patient_id']}"
        )
        if ps["days_since_previous"] is not None:
            frequency += f"; previous session {fmt.sig(ps['days_since_previous'], 2)} days earlier"
    c = r["clinical"]
    if c["insertion_depth_mm"] is not None:
        depths.insert(0, f"{fmt.sig(float(c['insertion_depth_mm']))} mm (as given)")
    if c["needle_diameter_mm"] is not None:
        diameters.insert(0, f"{fmt.sig(float(c['needle_diameter_mm']))} mm (as given)")
    needle_type = ["diameter " + ("; ".join(diameters) or "not recorded")]
    needle_type.append(
        "length not recorded"
        if c["needle_length_mm"] is None
        else f"length {fmt.sig(float(c['needle_length_mm']))} mm"
    )
    needle_type += [f"{k} {c[f'needle_{k}']}" for k in ("maker", "material") if c[f"needle_{k}"]]
    insertions = f"{st['needle_count']} (distinct needle sites)"
    if c["insertions"] is not None:
        insertions = f"{c['insertions']} (as given; {st['needle_count']} stimulated sites)"
    retention = (
        f"at least {fmt.duration(st['stimulation_time_s'])} (stimulation time; "
        "insertion and removal are not recorded)"
    )
    if c["retention_s"] is not None:
        retention = f"{fmt.duration(float(c['retention_s']))} (as given); stimulation {retention}"
    rows = [
        ("2a needle insertions per session", insertions),
        ("2b points used (uni/bilateral)", "; ".join(describe_point(p) for p in st["points"])),
        (
            "2b needle sites",
            ", ".join(
                f"{s['site']} (ch {', '.join(map(str, s['channels']))})" for s in st["sites"]
            ),
        ),
        ("2c depth of insertion", "; ".join(depths) or "not recorded"),
        ("2d response sought", c["response_sought"] or "not recorded"),
        ("2e needle stimulation", f"{st['needle_stimulation']} (parameters below)"),
        ("2e intensity aim", c["intensity_aim"] or titration_aim(r["steps"]) or "not recorded"),
        ("2f needle retention time", retention),
        ("2g needle type", "; ".join(needle_type)),
        ("3a number of treatment sessions", sessions),
        ("3b frequency and duration of sessions", frequency),
        ("5 practitioner background", c["practitioner"] or "not recorded"),
    ]
    missing = "; ".join(st["not_recorded"])
    return [*table(("STRICTA item", "Value"), rows), Paragraph(f"Not recorded: {missing}.")]


def _steps_rows(r: Report) -> list[Block]:
    rows = []
    for s in r["steps"]:
        p = s["prescribed"]
        rows.append(
            (
                f"{p['index'] + 1} {p['name']}".strip(),
                MODE_NAMES[p["mode"]] + describe_pattern(p),
                ", ".join(map(str, p["channels"])),
                describe_rates(p),
                describe_waveform(p),
                describe_setting(s["intensity"]),
                describe_treatment(s["intensity"]),
                per_channel(p["ceiling_mA"], "mA"),
                f"up {fmt.duration(p['ramp_up_s'])}, down {fmt.duration(p['ramp_down_s'])}",
                fmt.duration(p["duration_s"]),
                fmt.duration(s["ran_s"]),
            )
        )
    headers = (
        "Step",
        "Mode",
        "Channels",
        "Rate",
        "Waveform",
        "Target",
        "Treatment intensity",
        "Ceiling",
        "Ramps",
        "Prescribed",
        "Ran",
    )
    return table(headers, rows)


def _delivered_tables(r: Report) -> list[Block]:
    dose_rows = []
    sample_rows = []
    for d in r["delivered"]:
        by_rate = "; ".join(
            f"{fmt.frequency(f['frequency_hz'])}: {fmt.count(f['pulses'])} pulses "
            f"in {fmt.duration(f['time_s'])}"
            for f in d["by_frequency"]
        )
        dose_rows.append(
            (
                f"{d['channel']} ({' – '.join(d['sites'])})",
                by_rate or "—",
                fmt.charge(d["charge_pos_uC"]),
                fmt.charge(d["charge_neg_uC"]),
                fmt.charge(d["net_charge_uC"]),
                fmt.charge(d["total_charge_uC"]),
                fmt.percent(d["imbalance_pct"]),
                fmt.current(d["peak_mA"]),
                fmt.current(d["rms_mA"]),
                fmt.duration(d["on_time_s"]),
            )
        )
        impedance = (
            f"{fmt.impedance(d['impedance_min_ohm'])} – {fmt.impedance(d['impedance_max_ohm'])}"
        )
        sample_rows.append(
            (
                d["channel"],
                d["samples"],
                fmt.current(d["set_max_mA"]),
                fmt.current(d["measured_max_mA"]),
                fmt.current(d["measured_median_on_mA"]),
                impedance,
                d["impedance_unknown_samples"],
            )
        )
    afterwards = [str(d["channel"]) for d in r["delivered"] if d["totals_read_after"]]
    when = (
        f" — channel(s) {', '.join(afterwards)} read from the device when it was next "
        "connected, after the session was interrupted"
        if afterwards
        else ""
    )
    return [
        Paragraph(f"Delivered, as the device counted it (DOSE){when}:"),
        *table(
            (
                "Channel",
                "Pulses by rate",
                "Charge +",
                "Charge −",
                "Net charge",
                "Total charge",
                "Imbalance",
                "Peak",
                "rms",
                "On time",
            ),
            dose_rows,
        ),
        Paragraph("Measured during the session (periodic samples):"),
        *table(
            (
                "Channel",
                "Samples",
                "Set max",
                "Measured max",
                "Median while on",
                "Impedance",
                "Open/unknown",
            ),
            sample_rows,
        ),
    ]


def _events(r: Report) -> list[Block]:
    lines: list[Block] = []
    events = [e for e in r["events"] if not is_refused(e)]  # summarised under operator changes
    if events:
        rows = [
            (
                fmt.clock(e["t_s"]),
                e["kind"],
                "—" if e["channel"] is None else e["channel"],
                e["message"],
            )
            for e in events
        ]
        lines += table(("Time", "Kind", "Channel", "Message"), rows)
    else:
        lines += para("No faults, stops, warnings or operator actions were recorded.")
    if r["routine_event_counts"]:
        counted = ", ".join(f"{kind} ×{n}" for kind, n in sorted(r["routine_event_counts"].items()))
        lines += para(f"Routine events not listed: {counted} (all are in the export).")
    return lines


def _notes(r: Report) -> list[Block]:
    lines: list[Block] = []
    for heading, items in (
        ("Patient flags", r["patient_flags"]),
        ("Overrides recorded", r["overrides"]),
        ("Advisories shown", r["findings"]),
    ):
        lines += para(f"{heading}: " + ("; ".join(items) if items else "none") + ".")
    return lines


SIMULATOR_NOTICE = (
    "SIMULATOR — this session ran on the eacontrol device simulator; no patient was "
    "stimulated, and nothing in this report is treatment delivered to a patient."
)
"""The notice a simulated session's report opens with."""


def notices(report: Report) -> list[tuple[str, str]]:
    """What the report shows above everything else, as (kind, text): ``alarm`` when the
    outputs were not confirmed off at the end (the alarm in plain words, then up to when the
    device confirmed them), ``alarm`` when the device refused frames that were not the host's
    (``intrusion`` events), ``simulated`` for a session on the simulator.

    Args:
        report: from :func:`~eacontrol.records.report.build_report` (or its saved JSON).
    """
    found = []
    alarm = report["session"].get("alarm")  # absent in reports saved before version 4
    if alarm:
        found.append(("alarm", f"ALARM: {alarm}. {unconfirmed_text(report)}"))
    foreign = [e for e in report["events"] if e["kind"] == INTRUSION_KIND]
    if foreign:
        at = ", ".join(fmt.clock(e["t_s"]) for e in foreign)
        found.append(
            (
                "alarm",
                "ALARM: the device refused frames during this session that did not come from "
                f"this session's host (at {at}; see Events): someone else wrote to the "
                "device's port. The device executed none of them.",
            )
        )
    if report["device"]["simulated"]:
        found.append(("simulated", SIMULATOR_NOTICE))
    return found


def title(report: Report) -> str:
    """The report's title: ``Session 12: Low back pain 2/100 Hz`` (``(simulated)``)."""
    text = f"Session {report['session']['id']}: {report['profile']['name']}"
    return text + (" (simulated)" if report["device"]["simulated"] else "")


def report_sections(report: Report) -> list[Section]:
    """The report's sections: methods paragraph, identity, STRICTA, electrical parameters,
    prescribed steps, delivered intensity over time, operator changes, pauses and stops,
    delivery per channel, adverse events and notes, events, advisories.

    Args:
        report: from :func:`~eacontrol.records.report.build_report` (or its saved JSON).
    """
    steps_kind = "as sent by the script" if is_script_report(report) else "prescribed"
    parts = [
        ("Methods", para(methods_paragraph(report))),
        ("Identity", _identity(report)),
        ("STRICTA items known to the software", _stricta_rows(report)),
        ("Electrical parameters", electrical_blocks(report)),
        (f"Stimulation parameters ({steps_kind})", _steps_rows(report)),
        ("Delivered intensity over time", intensity_blocks(report)),
        ("Operator changes, pauses and stops", changes_blocks(report) + refused_blocks(report)),
        ("Delivered per channel", _delivered_tables(report)),
        ("Adverse events and notes", annotation_blocks(report)),
        ("Events", _events(report)),
        ("Advisories and overrides", _notes(report)),
    ]
    return [Section(name, tuple(blocks)) for name, blocks in parts]
