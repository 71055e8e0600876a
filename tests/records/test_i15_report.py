"""Issue 15, report: what was delivered (intensity over time, operator changes, pauses, stops,
missing samples as unknown), every electrical parameter, the STRICTA items given, adverse events
annotated after the end in every format, HTML that escapes every recorded string, and schema v3
migrating a version-2 file in place."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from zone import local_zone

from eacontrol.errors import ParameterError, RecordError
from eacontrol.records import (
    EXPORT_VERSION,
    Annotation,
    AnnotationKind,
    ClinicalDetails,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SampleGap,
    SessionMeta,
    Severity,
    StepRecord,
    build_report,
    export_session_json,
    render_html,
    render_json,
    render_markdown,
)
from eacontrol.records.prose import methods_paragraph
from eacontrol.records.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, TABLES

MakeMeta = Callable[..., SessionMeta]
Finished = Any  # tests/records/conftest.py's Finished: .id of the recorded session
START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)  # the start of make_meta()'s sessions
LATER = START + timedelta(days=1)
STEP_0 = StepRecord(0, "2/100 Hz", "dense_disperse", 0.0)


def _begun(store: RecordStore, make_meta: MakeMeta, **meta: object) -> int:
    """A session begun (``make_meta(**meta)``) with its 2/100 Hz step (:data:`STEP_0`) running."""
    sid = store.begin_session(make_meta(**meta))
    store.record_step(sid, STEP_0)
    return sid


def samples_for(t_s: float) -> list[Sample]:
    """Channel 1 at 3 mA (2.94 measured), channel 2 at 2.5 mA (2.4 measured)."""
    return [Sample(t_s, 1, 3.0, 2.94, 820.0), Sample(t_s, 2, 2.5, 2.4, 1100.0)]


def _adverse(**fields: object) -> Annotation:
    base = Annotation(
        AnnotationKind.ADVERSE_EVENT,
        LATER,
        t_s=600.0,
        event="haematoma at BL23-L",
        severity=Severity.MILD,
        note="resolved in 3 days",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# --- operator changes and the delivered range ---------------------------------------------------


def _three_changes(store: RecordStore, make_meta: MakeMeta) -> int:
    """A 2/100 Hz step in which the operator changes intensity three times."""
    sid = _begun(store, make_meta, compliance_V=60.0)
    changes = ((120.0, 1, 3.0, 3.5), (240.0, 2, 2.5, 2.0), (480.0, 1, 3.5, 4.0))
    for t, ch, before, after in changes:
        store.record_event(
            sid,
            EventRecord(
                t,
                "intensity",
                ch,
                f"channel {ch}: {before:g} → {after:g} mA (operator)",
                {"from_mA": before, "to_mA": after, "by": "operator"},
            ),
        )
    level = {1: 3.0, 2: 2.5}
    samples = []
    for t in range(0, 600, 10):
        for t_change, ch, _, after in changes:
            if t >= t_change:
                level[ch] = after
        samples += [Sample(float(t), ch, mA, mA * 0.98, 900.0) for ch, mA in level.items()]
    store.record_samples(sid, samples)
    store.record_step(sid, replace(STEP_0, ended_s=600.0))
    store.end_session(sid, Outcome.COMPLETED, START + timedelta(seconds=601), "all steps ran")
    return sid


def test_i15_report_methods_names_three_operator_changes_and_delivered_range(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    report = build_report(store, _three_changes(store, make_meta))
    methods = methods_paragraph(report)
    assert (
        "The operator changed the intensity 3 times: at 2:00.0 on channel 1 from 3 mA to "
        "3.5 mA, at 4:00.0 on channel 2 from 2.5 mA to 2 mA and at 8:00.0 on channel 1 from "
        "3.5 mA to 4 mA."
    ) in methods
    assert (
        "The measured current while on ranged 2.94–3.92 mA on channel 1 (median 3.43 mA) and "
        "1.96–2.45 mA on channel 2 (median 1.96 mA)."
    ) in methods
    changes = report["course"]["operator_changes"]
    assert [(c["t_s"], c["channel"], c["from_mA"], c["to_mA"]) for c in changes] == [
        (120.0, 1, 3.0, 3.5),
        (240.0, 2, 2.5, 2.0),
        (480.0, 1, 3.5, 4.0),
    ]
    md = render_markdown(report)
    assert "| 2:00.0 | 1 | 3 mA | 3.5 mA |" in md
    assert "| 8:00.0 | 1 | 3.5 mA | 4 mA |" in md


def test_i15_report_electrical_parameters_for_a_methods_section(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    report = build_report(store, _three_changes(store, make_meta))
    methods = methods_paragraph(report)
    assert "Output was constant current (compliance voltage 60 V), leading phase positive" in (
        methods
    )
    assert "the phase charge at the target intensity was 1.8 µC/600 nC in step 1 on channel 1" in (
        methods
    )
    md = render_markdown(report)
    for row in (
        "| Output mode | constant current |",
        "| Compliance voltage | 60 V |",
        "| Step 1: rate and phase width | 2/100 Hz (phase width 600/200 µs), alternating 3 s at "
        "2 Hz and 3 s at 100 Hz |",
        "| Step 1: waveform | symmetric charge-balanced biphasic rectangular pulses, interphase "
        "gap 50 µs |",
        # 3 mA x 600 µs = 1.8 µC; the highest set 4 mA x 600 µs = 2.4 µC.
        "| Step 1: phase charge, channel 1 | 1.8 µC / 600 nC at the 3 mA target; at the "
        "highest set 4 mA: 2.4 µC |",
    ):
        assert row in md
    assert "| Charge balance | biphasic, charge-balanced by construction; device-reported: " in md


def test_i15_report_compliance_not_recorded_says_so(finished: Finished, store: RecordStore) -> None:
    report = build_report(store, finished.id)
    assert report["device"]["compliance_V"] is None
    assert "(compliance voltage not recorded)" in methods_paragraph(report)


def test_i15_report_pauses_and_stops_with_their_cause(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    sid = _begun(store, make_meta)
    for t, message in (
        (100.0, "paused: ramping down, the step's timer held"),
        (130.0, "resumed: re-ramping from zero over 3 s"),
        (400.0, "stopped by the operator: outputs ramped down"),
    ):
        store.record_event(sid, EventRecord(t, "operator", None, message))
    store.end_session(
        sid, Outcome.STOPPED, START + timedelta(seconds=403), "stopped by the operator"
    )
    report = build_report(store, sid)
    course = report["course"]
    assert course["pauses"] == [{"paused_s": 100.0, "resumed_s": 130.0, "duration_s": 30.0}]
    assert [s["message"] for s in course["stops"]] == [
        "stopped by the operator: outputs ramped down"
    ]
    methods = methods_paragraph(report)
    assert "Stimulation was paused 1 time (30 s in total)." in methods
    assert "was stopped early by the operator (stopped: stopped by the operator)" in methods
    assert "| 1:40.0 | 2:10.0 | 30 s |" in render_markdown(report)


# --- missing samples are unknown ----------------------------------------------------------------


def test_i15_report_missing_samples_are_unknown_not_a_number(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    sid = _begun(store, make_meta)
    store.record_gaps(
        sid, [SampleGap(float(t), 2.4, "no STATUS for 2.4 s") for t in range(10, 60, 10)]
    )
    store.record_step(sid, StepRecord(0, "2/100 Hz", "dense_disperse", 0.0, 60.0))
    store.end_session(sid, Outcome.LINK_LOST, START + timedelta(seconds=61), "link lost")
    report = build_report(store, sid)
    methods = methods_paragraph(report)
    assert (
        "ranged unknown on channel 1 (5 samples missing) and unknown on channel 2 "
        "(5 samples missing)."
    ) in methods
    assert (
        "5 samples were missing (no measurement from the device): the current then is unknown"
        in (methods)
    )
    for item in report["course"]["intensity"]:
        assert (item["measured_min_mA"], item["measured_median_mA"], item["measured_max_mA"]) == (
            None,
            None,
            None,
        )
    md = render_markdown(report)
    assert "| 1 | session | 0 | 5 | unknown (5 samples missing) | — |" in md
    assert "Samples missing from 0:10.0 to 0:50.0 (5): the current then is unknown" in md
    section = md.split("## Delivered intensity over time", 1)[1].split("## ", 1)[0]
    assert not re.search(r"\d mA", section)  # no current filled in for the missing samples


def test_i15_report_partly_missing_samples_give_a_range_and_say_what_is_missing(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    sid = _begun(store, make_meta)
    store.record_samples(sid, [s for t in (10.0, 20.0) for s in samples_for(t)])
    store.record_gaps(sid, [SampleGap(30.0, 1.5, "no STATUS"), SampleGap(40.0, 2.5, "no STATUS")])
    store.record_samples(sid, samples_for(50.0))
    store.end_session(sid, Outcome.COMPLETED, START + timedelta(seconds=60), "done")
    report = build_report(store, sid)
    (span,) = report["course"]["missing"]  # one blackout: no sample between the two gaps
    assert (span["from_s"], span["to_s"], span["samples"]) == (30.0, 40.0, 2)
    assert "on channel 1 (median 2.94 mA, 2 samples missing: unknown then)" in methods_paragraph(
        report
    )


# --- clinical details (intensity aim, STRICTA) --------------------------------------------------


def test_i15_report_stricta_items_given_are_printed_and_no_longer_listed_missing(
    store: RecordStore, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    clinical = ClinicalDetails(
        intensity_aim="strong but comfortable",
        response_sought="de qi",
        needle_maker="Seirin J-type",
        needle_material="stainless steel",
        needle_length_mm=30.0,
        insertions=6,
        retention_s=1800.0,
        practitioner="physiotherapist, 5 years of acupuncture practice (BMAS accredited)",
    )
    sid = record_session(store, make_meta(clinical=clinical))
    assert store.session(sid).meta.clinical == clinical
    report = build_report(store, sid)
    methods = methods_paragraph(report)
    for text in (
        "needles of 0.25 mm diameter inserted 20 mm (30 mm long, stainless steel, made by "
        "Seirin J-type)",
        "Intensity was adjusted aiming at “strong but comfortable”.",
        "The response sought was de qi.",
        "The practitioner: physiotherapist, 5 years of acupuncture practice (BMAS accredited).",
    ):
        assert text in methods
    md = render_markdown(report)
    for row in (
        "| 2a needle insertions per session | 6 (as given; 4 stimulated sites) |",
        "| 2d response sought | de qi |",
        "| 2e intensity aim | strong but comfortable |",
        "| 2f needle retention time | 30 min (as given); stimulation at least 25 min",
        "| 2g needle type | diameter 0.25 mm (channel 1); 0.25 mm (channel 2); length 30 mm; "
        "maker Seirin J-type; material stainless steel |",
        "| 5 practitioner background | physiotherapist, 5 years",
    ):
        assert row in md
    assert report["stricta"]["not_recorded"] == [
        "1a-1c acupuncture rationale",
        "4a-4b other components of treatment, setting and context",
        "6a-6b control or comparator interventions",
    ]


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"intensity_aim": "  "}, "ClinicalDetails.intensity_aim"),
        ({"needle_length_mm": 0.0}, "ClinicalDetails.needle_length_mm"),
        ({"retention_s": float("nan")}, "ClinicalDetails.retention_s"),
        ({"insertions": 0}, "ClinicalDetails.insertions"),
        ({"practitioner": "x" * 501}, "ClinicalDetails.practitioner"),
        ({"needle_length_mm": "30"}, "ClinicalDetails.needle_length_mm"),
        ({"insertions": 2.5}, "ClinicalDetails.insertions"),
        ({"needle_maker": 3}, "ClinicalDetails.needle_maker"),
    ],
)
def test_i15_report_clinical_details_refuse_bad_values(
    fields: dict[str, object], parameter: str
) -> None:
    with pytest.raises(ParameterError) as caught:
        ClinicalDetails(**fields)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


# --- adverse events after the end ---------------------------------------------------------------


def test_i15_report_adverse_event_added_after_the_end_appears_in_md_json_and_html(
    finished: Finished, store: RecordStore
) -> None:
    with pytest.raises(RecordError, match="has ended"):
        store.record_event(finished.id, EventRecord(1600.0, "warning", None, "late"))
    number = store.add_annotation(finished.id, _adverse())
    store.add_annotation(
        finished.id, Annotation(AnnotationKind.NOTE, LATER, note="patient reports less pain")
    )
    (first, second) = store.annotations(finished.id)
    assert (first.id, first.added_at, first.severity) == (number, LATER, Severity.MILD)
    assert second.kind is AnnotationKind.NOTE and second.t_s is None
    report = build_report(store, finished.id)
    assert "Adverse events recorded: mild haematoma at BL23-L at 10:00.0." in methods_paragraph(
        report
    )
    with local_zone("UTC"):
        md = render_markdown(report)
    assert (
        "| adverse event | 10:00.0 | haematoma at BL23-L | mild | — | resolved in 3 days | "
        "2025-03-05 09:30:00 UTC (+00:00) |"
    ) in md
    assert (
        "| note | not given; added after the session | — | — | — | patient reports less pain |"
    ) in md
    doc = json.loads(render_json(report))
    assert doc["annotations"][0] == {
        "id": number,
        "kind": "adverse_event",
        "added_at": "2025-03-05T09:30:00.000000+00:00",
        "t_s": 600.0,
        "event": "haematoma at BL23-L",
        "severity": "mild",
        "note": "resolved in 3 days",
        "response": None,
        "added_s": (LATER - finished.meta.started_at).total_seconds(),
    }
    assert render_markdown(doc) == md  # a saved JSON report renders the same
    html = render_html(report)
    assert "<td>haematoma at BL23-L</td><td>mild</td><td>—</td><td>resolved in 3 days</td>" in html


def test_i15_report_annotation_rules(finished: Finished, store: RecordStore, db_path: Path) -> None:
    with pytest.raises(ParameterError, match="added_at"):
        store.add_annotation(finished.id, _adverse(added_at=START - timedelta(seconds=1)))
    with pytest.raises(ParameterError):
        _adverse(severity=None)
    with pytest.raises(ParameterError):
        Annotation(AnnotationKind.NOTE, LATER, note="")
    with pytest.raises(ParameterError):
        _adverse(t_s=-1.0)
    with pytest.raises(ParameterError, match=r"Annotation\.severity"):
        _adverse(severity="grave")
    with RecordStore.open(db_path, read_only=True) as reader, pytest.raises(RecordError):
        reader.add_annotation(finished.id, _adverse())
    assert store.annotations(finished.id) == []


def test_i15_report_no_adverse_event_is_said(finished: Finished, store: RecordStore) -> None:
    report = build_report(store, finished.id)
    assert "No adverse events were recorded." in methods_paragraph(report)
    assert "No adverse events or notes were recorded." in render_markdown(report)


# --- printable HTML -----------------------------------------------------------------------------

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_i15_report_html_escapes_a_malicious_patient_and_operator_string(
    store: RecordStore, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    sid = record_session(store, make_meta(patient_id=EVIL, operator_id=f"op{EVIL}"))
    store.add_annotation(sid, _adverse(note=EVIL, event=f"bruise {EVIL}"))
    html = render_html(build_report(store, sid))
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert html.count(escaped) >= 4  # patient (identity, methods), operator, note, event
    # Self-contained: nothing is loaded from anywhere.
    for external in ("<link", " src=", "href=", "url(", "@import", "http://", "https://"):
        assert external not in html.replace(escaped, "")
    assert "<style>" in html and "@media print" in html


def test_i15_report_html_has_every_section_of_the_markdown(
    finished: Finished, store: RecordStore
) -> None:
    report = build_report(store, finished.id)
    md, html = render_markdown(report), render_html(report)
    titles = re.findall(r"^## (.+)$", md, flags=re.MULTILINE)
    assert titles and re.findall(r"<h2>(.+?)</h2>", html) == titles
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")


# --- schema v3 ----------------------------------------------------------------------------------


def _as_version_2(path: Path, old: Path) -> None:
    """Rewrite the database at ``path`` as version 2 exactly, at ``old``: version 1 and 2's
    statements, then every row of every version-2 table copied over."""
    conn = sqlite3.connect(old, isolation_level=None)
    for statements in MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("ATTACH DATABASE ? AS new", (str(path),))
    for table in ("store_info", "sessions", "steps", "events", "samples", "totals", "sample_gaps"):
        columns = ", ".join(row[1] for row in conn.execute(f"PRAGMA main.table_info({table})"))
        conn.execute(f"INSERT INTO main.{table} ({columns}) SELECT {columns} FROM new.{table}")
    conn.execute("DETACH DATABASE new")
    conn.close()


def test_i15_report_schema_v3_migrates_a_version_2_file_keeping_every_record(
    tmp_path: Path, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    path, old = tmp_path / "new.sqlite3", tmp_path / "v2.sqlite3"
    with RecordStore.open(path) as store:
        ids = [record_session(store, make_meta()) for _ in range(2)]
        store.record_gaps(running := store.begin_session(make_meta()), [SampleGap(1.0, None, "x")])
        ids.append(running)
        before = {
            sid: (
                store.session(sid),
                store.steps(sid),
                store.events(sid),
                store.samples(sid),
                store.gaps(sid),
                store.totals(sid),
            )
            for sid in ids
        }
    _as_version_2(path, old)
    with pytest.raises(RecordError):
        RecordStore.open(old, read_only=True)  # a read-only open cannot migrate: refused
    with RecordStore.open(old) as store:
        for sid in ids:
            session = store.session(sid)
            assert session.meta.compliance_V is None
            assert session.meta.clinical == ClinicalDetails()
            after = (
                session,
                store.steps(sid),
                store.events(sid),
                store.samples(sid),
                store.gaps(sid),
                store.totals(sid),
            )
            assert after == before[sid]
            assert store.annotations(sid) == []
        store.add_annotation(ids[0], _adverse())
        assert build_report(store, ids[0])["annotations"][0]["severity"] == "mild"
    conn = sqlite3.connect(old)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= TABLES
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_i15_report_json_export_holds_the_clinical_account_and_annotations(
    store: RecordStore, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    clinical = ClinicalDetails(intensity_aim="sensory threshold", retention_s=1200.0)
    sid = record_session(store, make_meta(clinical=clinical, compliance_V=48.5))
    store.add_annotation(sid, _adverse())
    out = io.StringIO()
    export_session_json(store, sid, out)
    doc = json.loads(out.getvalue())
    assert doc["format_version"] == EXPORT_VERSION >= 3
    assert doc["session"]["compliance_V"] == 48.5
    assert ClinicalDetails(**doc["session"]["clinical"]) == clinical
    (annotation,) = doc["annotations"]
    assert annotation["added_at"] == "2025-03-05T09:30:00.000000+00:00"
    assert (annotation["kind"], annotation["severity"], annotation["t_s"]) == (
        "adverse_event",
        "mild",
        600.0,
    )
