"""Issue 15, report, on the command line: ``eactl annotate`` adds adverse events and notes to an
ended session, ``eactl report --format html`` writes a printable page, and ``eactl run`` records
the practitioner's account (intensity aim, STRICTA items) given as options."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eacontrol.records import AnnotationKind, RecordStore, Severity

Run = Callable[..., Any]


def test_i15_report_annotate_an_ended_session_then_report_it_in_every_format(
    eactl: Run, recorded_db: Path, tmp_path: Path
) -> None:
    db = str(recorded_db)
    added = eactl(
        "annotate", "1", "--adverse-event", "haematoma", "--severity", "moderate",
        "--at", "420", "--note", "needle site BL23-L", "--db", db,
    )  # fmt: skip
    assert (added.code, added.err) == (0, "")
    assert "session 1: adverse event (moderate haematoma) added as annotation 1" in added.out
    assert eactl("annotate", "1", "--note", "follow-up in 1 week", "--db", db).code == 0
    with RecordStore.open(recorded_db, read_only=True) as store:
        adverse, note = store.annotations(1)
    assert (adverse.kind, adverse.event, adverse.severity, adverse.t_s) == (
        AnnotationKind.ADVERSE_EVENT,
        "haematoma",
        Severity.MODERATE,
        420.0,
    )
    assert (note.kind, note.note) == (AnnotationKind.NOTE, "follow-up in 1 week")
    md = eactl("report", "1", "--db", db).out
    assert "Adverse events recorded: moderate haematoma at 7:00.0." in md
    assert "| note | not given; added after the session | — | — | — | follow-up in 1 week |" in md
    doc = json.loads(eactl("report", "1", "--format", "json", "--db", db).out)
    assert [a["kind"] for a in doc["annotations"]] == ["adverse_event", "note"]
    page = tmp_path / "report.html"
    assert eactl("report", "1", "--format", "html", "-o", str(page), "--db", db).code == 0
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<td>haematoma</td><td>moderate</td><td>—</td><td>needle site BL23-L</td>" in html


def test_i15_report_annotate_refusals_name_what_is_wrong(
    eactl: Run, recorded_db: Path, tmp_path: Path
) -> None:
    db = str(recorded_db)
    no_severity = eactl("annotate", "1", "--adverse-event", "pain", "--db", db)
    assert no_severity.code == 2 and "--severity" in no_severity.err
    nothing = eactl("annotate", "1", "--db", db)
    assert nothing.code == 2 and "--note TEXT" in nothing.err
    bad_at = eactl("annotate", "1", "--note", "x", "--at", "-5", "--db", db)
    assert bad_at.code == 1 and "t_s" in bad_at.err
    unknown = eactl("annotate", "9", "--note", "x", "--db", db)
    assert unknown.code == 1 and "no session 9" in unknown.err
    missing = eactl("annotate", "1", "--note", "x", "--db", str(tmp_path / "none.sqlite3"))
    assert missing.code == 1 and "no session database" in missing.err
    assert not (tmp_path / "none.sqlite3").exists()
    with RecordStore.open(recorded_db, read_only=True) as store:
        assert store.annotations(1) == []


def test_i15_report_annotate_help_is_its_docstring(eactl: Run) -> None:
    top = eactl("--help").out
    assert "add an adverse event, a note or the patient's response" in top


def test_i15_report_run_records_the_clinical_options(
    eactl: Run,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    profile = two_channel_file("p.toml", "aim test", {"duration_s": 10})
    db = str(tmp_path / "s.sqlite3")
    ran = eactl(
        "run", str(profile), "--fast", "--db", db,
        "--aim", "strong but comfortable", "--response-sought", "de qi",
        "--needle-maker", "Seirin", "--needle-length", "30", "--retention", "1500",
        "--practitioner", "acupuncturist, 10 years",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    md = eactl("report", "1", "--db", db).out
    for text in (
        "Intensity was adjusted aiming at “strong but comfortable”.",
        "The response sought was de qi.",
        "| 2g needle type | diameter not recorded; length 30 mm; maker Seirin |",
        "| 2f needle retention time | 25 min (as given)",
        "| 5 practitioner background | acupuncturist, 10 years |",
    ):
        assert text in md
    refused = eactl("run", str(profile), "--fast", "--db", db, "--needle-length", "0")
    assert refused.code == 1 and "needle_length_mm" in refused.err
    with RecordStore.open(db, read_only=True) as store:
        assert len(store.sessions()) == 1  # refused before anything was recorded
