"""Report sections on the electrical parameters and on what was delivered over time: intensity
ranges (unknown where samples are missing), operator changes, pauses, stops, adverse events.
"""

from __future__ import annotations

from eacontrol.records import fmt
from eacontrol.records.blocks import Block, para, table
from eacontrol.records.clinical import RESPONSE_WORDS
from eacontrol.records.course import IntensityRange
from eacontrol.records.prose import (
    POLARITY,
    compliance_text,
    describe_pattern,
    describe_rates,
    describe_waveform,
    unconfirmed_text,
)
from eacontrol.records.report import AnnotationItem, Report

__all__ = [
    "UNKNOWN",
    "annotation_blocks",
    "changes_blocks",
    "electrical_blocks",
    "intensity_blocks",
    "range_text",
]

UNKNOWN = "unknown"
"""What a figure built from no sample reads: never a number filled from a neighbour."""


def range_text(item: IntensityRange) -> str:
    """``1.96–2.94 mA (median 2.45 mA)``, or ``unknown (...)`` without a sample while on."""
    if item["measured_max_mA"] is None or item["measured_min_mA"] is None:
        why = (
            f"{item['missing_samples']} samples missing" if item["missing_samples"] else "no sample"
        )
        return f"{UNKNOWN} ({why})"
    text = (
        f"{fmt.sig(item['measured_min_mA'])}–{fmt.current(item['measured_max_mA'])} "
        f"(median {fmt.current(item['measured_median_mA'])})"
    )
    if item["missing_samples"]:
        text += f"; {item['missing_samples']} samples missing: {UNKNOWN} then"
    return text


def electrical_blocks(r: Report) -> list[Block]:
    """Output mode, compliance, waveform and polarity, rates and dwell, phase charge per step."""
    dev = r["device"]
    rows: list[tuple[str, str]] = [
        ("Output mode", dev["output_mode"]),
        ("Compliance voltage", compliance_text(dev["compliance_V"])),
        ("Polarity", POLARITY),
    ]
    for s in r["steps"]:
        p = s["prescribed"]
        label = f"Step {p['index'] + 1}"
        rows += [
            (f"{label}: rate and phase width", describe_rates(p) + describe_pattern(p)),
            (f"{label}: waveform", describe_waveform(p)),
        ]
        for c in r["course"]["charges"]:
            if c["step_index"] != p["index"]:
                continue
            charge = fmt.charge(c["phase_charge_uC"])
            if c["phase_charge_b_uC"] is not None:
                charge += f" / {fmt.charge(c['phase_charge_b_uC'])}"
            highest = (
                f"; at the highest set {fmt.current(c['highest_set_mA'])}: "
                f"{fmt.charge(c['highest_phase_charge_uC'])}"
                if c["highest_set_mA"] is not None
                else f"; highest set intensity {UNKNOWN} (no sample)"
            )
            rows.append(
                (
                    f"{label}: phase charge, channel {c['channel']}",
                    f"{charge} at the {fmt.current(c['target_mA'])} target{highest}",
                )
            )
    balance = [
        f"channel {d['channel']}: net {fmt.charge(d['net_charge_uC'])} "
        f"({fmt.percent(d['imbalance_pct'])})"
        for d in r["delivered"]
        if d["net_charge_uC"] is not None
    ]
    rows.append(
        (
            "Charge balance",
            "biphasic, charge-balanced by construction; device-reported: "
            + ("; ".join(balance) or f"{UNKNOWN} (no totals recorded)"),
        )
    )
    return table(("Parameter", "Value"), rows)


def intensity_blocks(r: Report) -> list[Block]:
    """Measured current while on per channel, for the session and each step."""
    rows = [
        (
            i["channel"],
            "session" if i["step_index"] is None else f"step {i['step_index'] + 1}",
            i["samples"],
            i["missing_samples"],
            range_text(i),
            fmt.current(i["set_max_mA"]),
        )
        for i in r["course"]["intensity"]
    ]
    blocks = table(
        ("Channel", "Part", "Samples", "Missing", "Measured while on (min–max)", "Set max"), rows
    )
    for span in r["course"]["missing"]:
        blocks += para(
            f"Samples missing from {fmt.clock(span['from_s'])} to {fmt.clock(span['to_s'])} "
            f"({span['samples']}): the current then is {UNKNOWN} ({span['reason']})."
        )
    return blocks


def changes_blocks(r: Report) -> list[Block]:
    """Every operator intensity change, pause and stop with its cause."""
    c = r["course"]
    blocks: list[Block] = []
    if c["operator_changes"]:
        blocks += table(
            ("Time", "Channel", "From", "To"),
            [
                (
                    fmt.clock(o["t_s"]),
                    o["channel"],
                    fmt.current(o["from_mA"]),
                    fmt.current(o["to_mA"]),
                )
                for o in c["operator_changes"]
            ],
        )
    else:
        blocks += para("The operator did not change the intensity.")
    if c["pauses"]:
        blocks += table(
            ("Paused", "Resumed", "Length"),
            [
                (
                    fmt.clock(p["paused_s"]),
                    "not resumed" if p["resumed_s"] is None else fmt.clock(p["resumed_s"]),
                    fmt.duration(p["duration_s"]),
                )
                for p in c["pauses"]
            ],
        )
    else:
        blocks += para("No pauses.")
    stops = [
        (
            fmt.clock(s["t_s"]),
            s["kind"],
            "—" if s["channel"] is None else s["channel"],
            s["message"],
        )
        for s in c["stops"]
    ]
    blocks += table(("Time", "Kind", "Channel", "Cause"), stops) if stops else []
    session = r["session"]
    unconfirmed = unconfirmed_text(r)  # a lost link: what the device confirmed, then nothing
    blocks += para(
        f"Ended: {session['outcome']}"
        + (f" — {unconfirmed}" if unconfirmed else "")
        + (f" — {session['detail']}." if session["detail"] else ".")
    )
    return blocks


def _annotation_time(a: AnnotationItem, r: Report) -> str:
    """The session time it refers to; else when it was added: during the session (its session
    time then) or after it."""
    if a["t_s"] is not None:
        return fmt.clock(a["t_s"])
    added = a.get("added_s")  # absent in reports saved before version 4
    if added is None:
        return "not given"
    ended = r["session"]["duration_s"]
    if ended is None or added <= ended:
        return f"not given; added at {fmt.clock(added)}, during the session"
    return "not given; added after the session"


def _response_text(value: str | None) -> str:
    """A response in words; a word this eacontrol does not know as written."""
    if not value:
        return "—"
    known = {r.value: words for r, words in RESPONSE_WORDS.items()}
    return known.get(value, value)


def annotation_blocks(r: Report) -> list[Block]:
    """Adverse events, notes and the patient's responses in time order (the session time each
    refers to, else when it was added), with when each was added."""
    if not r["annotations"]:
        return para("No adverse events or notes were recorded.")
    rows = []
    for a in r["annotations"]:
        response = a.get("response")  # absent in reports saved before version 4
        kind = "adverse event" if a["kind"] == "adverse_event" else "note"
        rows.append(
            (
                "patient response" if response else kind,
                _annotation_time(a, r),
                a["event"] or "—",
                a["severity"] or "—",
                _response_text(response),
                a["note"] or "—",
                fmt.moment(a["added_at"]),
            )
        )
    headers = ("Kind", "Session time", "Event", "Severity", "Response", "Note", "Added")
    return table(headers, rows)
