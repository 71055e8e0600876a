"""eactl log list|show|export and eactl report, through main(argv)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from zone import local_zone

Run = Callable[..., Any]


def test_list_without_a_database_creates_none(eactl: Run, tmp_path: Path) -> None:
    db = tmp_path / "none.sqlite3"
    result = eactl("log", "list", "--db", str(db))
    assert result.code == 0
    assert result.out == f"no sessions in {db}\n"
    assert not db.exists()
    assert json.loads(eactl("log", "list", "--db", str(db), "--json").out) == []


def test_list_table(eactl: Run, recorded_db: Path) -> None:
    with local_zone("UTC"):
        result = eactl("log", "list", "--db", str(recorded_db))
    assert result.code == 0
    header, _, row = result.out.splitlines()
    assert header.split()[:3] == ["ID", "STARTED", "LENGTH"]
    assert row.split() == [
        "1", "2025-03-04", "09:30:00", "UTC", "(+00:00)", "10:01", "completed", "cli", "test",
        "profile", "P-1", "OP-1", "sim",
    ]  # fmt: skip


def test_i16_09_log_list_and_show_give_local_time_with_its_zone(
    eactl: Run, recorded_db: Path
) -> None:
    """Stored 09:30:00 UTC reads as 10:30:00 in Berlin in winter, with the zone's name and
    offset; the header no longer says UTC."""
    with local_zone("Europe/Berlin"):
        listed = eactl("log", "list", "--db", str(recorded_db))
        shown = eactl("log", "show", "1", "--db", str(recorded_db))
        as_json = json.loads(eactl("log", "list", "--db", str(recorded_db), "--json").out)
    header, _, row = listed.out.splitlines()
    assert header.split()[:3] == ["ID", "STARTED", "LENGTH"]
    assert "(UTC)" not in header
    assert row.split()[:5] == ["1", "2025-03-04", "10:30:00", "CET", "(+01:00)"]
    assert "  started:  2025-03-04 10:30:00 CET (+01:00)  length 10:01\n" in shown.out
    assert as_json[0]["started_at"] == "2025-03-04T09:30:00+00:00"  # scripts keep UTC


def test_list_json_for_scripts(eactl: Run, recorded_db: Path) -> None:
    (session,) = json.loads(eactl("log", "list", "--db", str(recorded_db), "--json").out)
    assert session == {
        "id": 1,
        "started_at": "2025-03-04T09:30:00+00:00",
        "ended_at": "2025-03-04T09:40:01+00:00",
        "duration_s": 601.0,
        "outcome": "completed",
        "detail": "all steps ran",
        "profile_name": "cli test profile",
        "patient_id": "P-1",
        "operator_id": "OP-1",
        "device_serial": "SIM-000001",
        "port": "sim://",
        "simulated": True,
    }


def test_list_filters_by_patient_and_limits(
    eactl: Run, recorded_db: Path, record_session: Callable[..., int]
) -> None:
    record_session(recorded_db, patient_id="P-2")
    record_session(recorded_db, patient_id="P-2")
    db = str(recorded_db)
    assert [s["id"] for s in json.loads(eactl("log", "list", "--db", db, "--json").out)] == [
        3,
        2,
        1,
    ]
    only = json.loads(
        eactl("log", "list", "--db", db, "--json", "--patient", "P-1", "--include-simulated").out
    )
    assert [s["id"] for s in only] == [1]
    newest = json.loads(eactl("log", "list", "--db", db, "--json", "--limit", "1").out)
    assert [s["id"] for s in newest] == [3]


def test_i16_10_patient_history_leaves_out_simulated_sessions_and_ignores_case(
    eactl: Run, tmp_path: Path, record_session: Callable[..., int]
) -> None:
    db = str(tmp_path / "s.sqlite3")
    record_session(Path(db), patient_id="P-017")  # simulated: no patient was stimulated
    result = eactl("log", "list", "--db", db, "--patient", "p-017")
    assert result.out.splitlines() == [
        "no sessions for patient p-017",
        "(1 on a simulator, not shown: --include-simulated lists them)",
    ]
    assert db not in result.out
    real = record_session(Path(db), patient_id="P-017", simulated=False)
    listed = json.loads(eactl("log", "list", "--db", db, "--patient", "p-017", "--json").out)
    assert [s["id"] for s in listed] == [real]
    both = eactl("log", "list", "--db", db, "--patient", "P-017", "--include-simulated", "--json")
    assert [s["simulated"] for s in json.loads(both.out)] == [False, True]
    everyone = json.loads(eactl("log", "list", "--db", db, "--json").out)
    assert len(everyone) == 2  # without --patient the list is the database's, marked sim


def test_records_commands_honour_the_environment_variable(
    eactl: Run, recorded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EACONTROL_DB", str(recorded_db))
    assert json.loads(eactl("log", "list", "--json").out)[0]["id"] == 1
    assert eactl("log", "show", "1").code == 0
    assert eactl("report", "1").code == 0
    assert eactl("log", "export", "1", "--format", "json").code == 0


def test_show(eactl: Run, recorded_db: Path) -> None:
    result = eactl("log", "show", "1", "--db", str(recorded_db))
    assert result.code == 0
    out = result.out
    assert out.startswith("session 1: cli test profile (1)\n")
    assert "outcome:  completed (all steps ran)" in out
    assert "device:   simulated device, firmware 1.0.0, on sim://" in out
    assert "samples:  3 " in out
    assert "300  operator  1   intensity 3.0 -> 3.5 mA" in out
    delivered = out.split("\nDelivered\n")[1].splitlines()
    assert delivered[2].split() == ["1", "0", "1200", "595", "3.5", "0.1", "2160", "0"]


def test_unknown_session_is_refused_not_a_database_failure(eactl: Run, recorded_db: Path) -> None:
    for argv in (("log", "show", "9"), ("log", "export", "9", "--format", "json"), ("report", "9")):
        result = eactl(*argv, "--db", str(recorded_db))
        assert result.code == 1, argv
        assert result.err == f"eactl: session database {recorded_db}: no session 9\n"


def test_missing_database_is_refused(eactl: Run, tmp_path: Path) -> None:
    db = tmp_path / "none.sqlite3"
    result = eactl("report", "1", "--db", str(db))
    assert result.code == 1
    assert result.err == (
        f"eactl: no session database at {db} (give --db PATH or set EACONTROL_DB)\n"
    )
    assert not db.exists()


def test_damaged_database_is_a_records_error(eactl: Run, tmp_path: Path) -> None:
    db = tmp_path / "damaged.sqlite3"
    db.write_bytes(b"this is not an SQLite database, not at all" * 100)
    result = eactl("log", "list", "--db", str(db))
    assert result.code == 3
    assert result.err.startswith("eactl: ")
    assert str(db) in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("table", "header", "rows"),
    [
        (
            "samples",
            [
                "session_id",
                "t_s",
                "utc",
                "channel",
                "set_mA",
                "measured_mA",
                "impedance_ohm",
                "device_uptime_s",
            ],
            3,
        ),
        (
            "events",
            ["session_id", "t_s", "utc", "device_uptime_s", "kind", "channel", "message", "data"],
            3,
        ),
        ("totals", None, 1),
    ],
)
def test_export_csv_tables(
    eactl: Run, recorded_db: Path, table: str, header: list[str] | None, rows: int
) -> None:
    result = eactl(
        "log", "export", "1", "--format", "csv", "--table", table, "--db", str(recorded_db)
    )
    assert result.code == 0
    parsed = list(csv.reader(io.StringIO(result.out)))
    if header is not None:
        assert parsed[0] == header
    assert len(parsed) == rows + 1
    assert all(row[0] == "1" for row in parsed[1:])


def test_export_csv_defaults_to_samples_into_a_file(
    eactl: Run, recorded_db: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    result = eactl(
        "log", "export", "1", "--format", "csv", "-o", str(target), "--db", str(recorded_db)
    )
    assert result.code == 0
    assert result.out == ""
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "1,10.0,2025-03-04T09:30:10.000000+00:00,1,3.0,2.95,1000.0,"


def test_export_json(eactl: Run, recorded_db: Path) -> None:
    result = eactl("log", "export", "1", "--format", "json", "--db", str(recorded_db))
    document = json.loads(result.out)
    assert document["format"] == "eacontrol-session"
    assert document["session"]["id"] == 1
    assert len(document["samples"]) == 3
    assert document["totals"][0]["pulses_a"] == 1200


def test_export_table_with_json_is_usage(eactl: Run, recorded_db: Path) -> None:
    result = eactl(
        "log", "export", "1", "--format", "json", "--table", "events", "--db", str(recorded_db)
    )
    assert result.code == 2
    assert "--table" in result.err


def test_export_format_is_required(eactl: Run, recorded_db: Path) -> None:
    assert eactl("log", "export", "1", "--db", str(recorded_db)).code == 2


def test_export_to_an_unwritable_place(eactl: Run, recorded_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir.json"
    result = eactl(
        "log", "export", "1", "--format", "json", "-o", str(target), "--db", str(recorded_db)
    )
    assert result.code == 1
    assert result.err == f"eactl: cannot write {target}: No such file or directory\n"


def test_report_markdown_and_json(eactl: Run, recorded_db: Path, tmp_path: Path) -> None:
    markdown = eactl("report", "1", "--db", str(recorded_db))
    assert markdown.code == 0
    assert markdown.out.startswith("#")
    assert "cli test profile" in markdown.out
    target = tmp_path / "report.json"
    result = eactl("report", "1", "--format", "json", "-o", str(target), "--db", str(recorded_db))
    assert result.code == 0
    report = json.loads(target.read_text(encoding="utf-8"))
    assert report["session"]["id"] == 1
    assert report["session"]["outcome"] == "completed"
    assert report["device"]["simulated"] is True
