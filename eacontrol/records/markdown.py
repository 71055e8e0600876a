"""The session report as Markdown: a methods-section paragraph, then tables.

Reads only the report dict (:func:`eacontrol.records.report.build_report`), so a JSON report
saved earlier renders the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from eacontrol.records import fmt
from eacontrol.records.prose import (
    MODE_NAMES,
    describe_pattern,
    describe_point,
    describe_rates,
    describe_waveform,
    methods_paragraph,
    per_channel,
)
from eacontrol.records.report import Report, SessionPart

__all__ = ["render_markdown"]


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _ended(s: SessionPart) -> str:
    if not s["duration_at_least"]:
        return f"{fmt.moment(s['ended_at'])} (duration {fmt.duration(s['duration_s'])})"
    if s["duration_s"] is None:
        return "not yet (still recorded as running; its length is not known)"
    return (
        f"not recorded: interrupted; its last record is at {fmt.moment(s['ended_at'])} "
        f"(duration at least {fmt.duration(s['duration_s'])})"
    )


def _identity(r: Report) -> list[str]:
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
        patient += f" (session {ps['number']} of {ps['total']})"
    rows = [
        ("Outcome", f"{s['outcome']}" + (f" — {s['detail']}" if s["detail"] else "")),
        ("Started", fmt.moment(s["started_at"])),
        ("Ended", _ended(s)),
        ("Patient id", patient),
        ("Operator id", s["operator_id"] or "not given"),
        ("Profile", f"{prof['name']}, version {prof['version']}, sha256 {prof['sha256']}"),
        ("Indication", prof["indication"] or "—"),
        ("References", "; ".join(prof["references"]) or "—"),
        ("Device", device),
        ("Software", f"eacontrol {s['software_version']}"),
    ]
    return _table(("Session " + str(s["id"]), ""), rows)


def _stricta_table(r: Report) -> list[str]:
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
            f"session {ps['number']} of {ps['total']} recorded for patient {ps['patient_id']}"
        )
        if ps["days_since_previous"] is not None:
            frequency += f"; previous session {fmt.sig(ps['days_since_previous'], 2)} days earlier"
    rows = [
        ("2a needle insertions per session", f"{st['needle_count']} (distinct needle sites)"),
        ("2b points used (uni/bilateral)", "; ".join(describe_point(p) for p in st["points"])),
        (
            "2b needle sites",
            ", ".join(
                f"{s['site']} (ch {', '.join(map(str, s['channels']))})" for s in st["sites"]
            ),
        ),
        ("2c depth of insertion", "; ".join(depths) or "not recorded"),
        ("2e needle stimulation", f"{st['needle_stimulation']} (parameters below)"),
        (
            "2f needle retention time",
            f"at least {fmt.duration(st['stimulation_time_s'])} (stimulation time; "
            "insertion and removal are not recorded)",
        ),
        ("2g needle type", "diameter " + ("; ".join(diameters) or "not recorded")),
        ("3a number of treatment sessions", sessions),
        ("3b frequency and duration of sessions", frequency),
    ]
    lines = _table(("STRICTA item", "Value"), rows)
    lines += [f"Not recorded by the software: {'; '.join(st['not_recorded'])}.", ""]
    return lines


def _steps_table(r: Report) -> list[str]:
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
                per_channel(p["intensity_mA"], "mA"),
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
        "Ceiling",
        "Ramps",
        "Prescribed",
        "Ran",
    )
    return _table(headers, rows)


def _delivered_tables(r: Report) -> list[str]:
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
        f"Delivered, as the device counted it (DOSE){when}:",
        "",
        *_table(
            (
                "Channel",
                "Pulses by rate",
                "Charge +",
                "Charge −",
                "Net charge",
                "Imbalance",
                "Peak",
                "rms",
                "On time",
            ),
            dose_rows,
        ),
        "Measured during the session (periodic samples):",
        "",
        *_table(
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


def _events(r: Report) -> list[str]:
    lines = []
    if r["events"]:
        rows = [
            (
                fmt.clock(e["t_s"]),
                e["kind"],
                "—" if e["channel"] is None else e["channel"],
                e["message"],
            )
            for e in r["events"]
        ]
        lines += _table(("Time", "Kind", "Channel", "Message"), rows)
    else:
        lines += ["No faults, stops, warnings or operator actions were recorded.", ""]
    if r["routine_event_counts"]:
        counted = ", ".join(f"{kind} ×{n}" for kind, n in sorted(r["routine_event_counts"].items()))
        lines += [f"Routine events not listed: {counted} (all are in the export).", ""]
    return lines


def _notes(r: Report) -> list[str]:
    lines = []
    for title, items in (
        ("Patient flags", r["patient_flags"]),
        ("Overrides recorded", r["overrides"]),
        ("Advisories shown", r["findings"]),
    ):
        lines.append(f"{title}: " + ("; ".join(items) if items else "none") + ".")
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    """The report as Markdown: title, methods paragraph, identity, STRICTA, steps, delivery,
    events and notes.

    Args:
        report: from :func:`~eacontrol.records.report.build_report` (or its saved JSON).

    Returns:
        Markdown text ending in a newline.
    """
    s = report["session"]
    title = f"# Session {s['id']}: {report['profile']['name']}"
    if report["device"]["simulated"]:
        title += " (simulated)"
    lines = [
        title,
        "",
        "## Methods",
        "",
        methods_paragraph(report),
        "",
        "## Identity",
        "",
        *_identity(report),
        "## STRICTA items known to the software",
        "",
        *_stricta_table(report),
        "## Stimulation parameters (prescribed)",
        "",
        *_steps_table(report),
        "## Delivered per channel",
        "",
        *_delivered_tables(report),
        "## Events",
        "",
        *_events(report),
        "## Advisories and overrides",
        "",
        *_notes(report),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
