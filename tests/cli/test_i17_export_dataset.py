"""Issue 17, data out: ``eactl log export --all|--patient|ID ... --out DIR`` writes the
sessions, samples, events and totals of many sessions as CSV or Parquet (read back by pandas
and compared equal to the store), BIDS events for one session; bad input is a message and a
documented exit code, never a traceback."""

from __future__ import annotations

import csv
import dataclasses
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from eacontrol.records import COLUMNS, TABLES, RecordStore, to_pandas

Run = Callable[..., Any]


@pytest.fixture
def three_db(tmp_path: Path, record_session: Callable[..., int]) -> Path:
    """Sessions 1 (P-1, simulated), 2 (P-1, a real device) and 3 (P-2, a real device)."""
    path = tmp_path / "sessions.sqlite3"
    record_session(path, "P-1", simulated=True)
    record_session(path, "P-1", simulated=False)
    record_session(path, "P-2", simulated=False)
    return path


def exported_ids(folder: Path, suffix: str = "parquet") -> list[int]:
    frame = pd.read_parquet(folder / f"sessions.{suffix}")
    return [int(i) for i in frame["session_id"]]


def test_all_sessions_as_parquet_read_back_equal(
    eactl: Run, three_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = eactl(
        "log", "export", "--all", "--format", "parquet", "--out", str(out), "--db", str(three_db)
    )
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"exported 3 sessions to {out}: sessions.parquet, samples.parquet, events.parquet, "
        "totals.parquet\n"
    )
    with RecordStore.open(three_db, read_only=True) as store:
        for table in TABLES:
            pd.testing.assert_frame_equal(
                pd.read_parquet(out / f"{table}.parquet"), to_pandas(store, [1, 2, 3], table)
            )
        held = [
            dataclasses.asdict(s)
            | {"utc": store.session(sid).meta.started_at + timedelta(seconds=s.t_s)}
            for sid in (1, 2, 3)
            for s in store.samples(sid)
        ]
    samples = pd.read_parquet(out / "samples.parquet")
    back = samples.drop(columns="session_id").astype(object).to_dict("records")
    assert [{k: (None if v is pd.NA else v) for k, v in r.items()} for r in back] == held


def test_a_patient_leaves_out_simulated_sessions_unless_asked(
    eactl: Run, three_db: Path, tmp_path: Path
) -> None:
    db = ("--db", str(three_db))
    assert (
        eactl(
            "log",
            "export",
            "--patient",
            "p-1",
            "--format",
            "parquet",
            "--out",
            str(tmp_path / "a"),
            *db,
        ).code
        == 0
    )
    assert exported_ids(tmp_path / "a") == [2]
    both = (
        "--patient",
        "P-1",
        "--include-simulated",
        "--format",
        "parquet",
        "--out",
        str(tmp_path / "b"),
    )
    assert eactl("log", "export", *both, *db).code == 0
    assert exported_ids(tmp_path / "b") == [1, 2]


def test_csv_tables_of_one_session_and_of_many(eactl: Run, three_db: Path, tmp_path: Path) -> None:
    db = ("--db", str(three_db))
    assert (
        eactl("log", "export", "2", "--format", "csv", "--out", str(tmp_path / "one"), *db).code
        == 0
    )
    assert (
        eactl("log", "export", "--all", "--format", "csv", "--out", str(tmp_path / "all"), *db).code
        == 0
    )
    for table in TABLES:
        with (tmp_path / "all" / f"{table}.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        assert tuple(rows[0]) == COLUMNS[table]
        per_session = {sid: len([r for r in rows[1:] if r[0] == str(sid)]) for sid in (1, 2, 3)}
        one = (tmp_path / "one" / f"{table}.csv").read_text(encoding="utf-8").splitlines()
        assert len(one) - 1 == per_session[2] > 0
        assert per_session[1] == per_session[2] == per_session[3]
    sessions = pd.read_csv(tmp_path / "all" / "sessions.csv")
    assert sessions["session_id"].tolist() == [1, 2, 3]
    assert sessions["simulated"].tolist() == [1, 0, 0]


def test_bids_events_of_one_session(eactl: Run, three_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "bids"
    result = eactl(
        "log", "export", "2", "--format", "bids", "--out", str(out), "--db", str(three_db)
    )
    assert result.code == 0
    assert result.out == f"exported 1 session to {out}: events.tsv, events.json\n"
    with (out / "events.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [(r["onset"], r["duration"], r["trial_type"]) for r in rows] == [
        ("0.0", "600.0", "step"),
        ("600.0", "0.0", "stop"),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "choose the sessions: a session ID, --all or --patient ID"),
        (("1", "--all"), "(not ID and --all)"),
        (("--all", "--patient", "P-1"), "(not --all and --patient)"),
        (("--all",), "--all and --patient write one file per table: give --out DIR"),
        (("1", "--format", "parquet"), "--format parquet writes files into a folder"),
        (("--all", "--include-simulated", "--out", "x"), "--include-simulated goes with --patient"),
        (("1", "--format", "json", "--out", "x"), "JSON export is one session's document"),
        (("--all", "--format", "bids", "--out", "x"), "--format bids writes one session's"),
        (("--all", "--table", "events", "--out", "x"), "leave out --table and -o"),
        (("--all", "-o", "f.csv", "--out", "x"), "leave out --table and -o"),
    ],
)
def test_usage_errors_are_exit_2_with_a_message(
    eactl: Run, three_db: Path, argv: tuple[str, ...], message: str
) -> None:
    fmt = () if "--format" in argv else ("--format", "csv")
    result = eactl("log", "export", *argv, *fmt, "--db", str(three_db))
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_refusals_are_exit_1_and_write_nothing(
    eactl: Run, three_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ("--db", str(three_db))
    out = tmp_path / "out"
    unknown = eactl("log", "export", "9", "--format", "csv", "--out", str(out), *db)
    assert (unknown.code, unknown.err) == (1, f"eactl: session database {three_db}: no session 9\n")
    nobody = eactl("log", "export", "--patient", "P-9", "--format", "csv", "--out", str(out), *db)
    assert (nobody.code, nobody.err) == (1, "eactl: no sessions for patient P-9 to export\n")
    monkeypatch.setitem(sys.modules, "pandas", None)
    missing = eactl("log", "export", "--all", "--format", "parquet", "--out", str(out), *db)
    assert missing.code == 1
    assert missing.err == (
        "eactl: a Parquet export needs pandas, the optional extra 'data': "
        'pip install "eacontrol[data]"\n'
    )
    assert not out.exists()


def test_a_patient_with_only_simulated_sessions_is_told(
    eactl: Run, tmp_path: Path, record_session: Callable[..., int]
) -> None:
    db = tmp_path / "s.sqlite3"
    record_session(db, "P-5", simulated=True)
    result = eactl(
        "log",
        "export",
        "--patient",
        "P-5",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "o"),
        "--db",
        str(db),
    )
    assert result.code == 1
    assert result.err == (
        "eactl: no sessions for patient P-5 to export (1 on a simulator: --include-simulated "
        "exports them)\n"
    )


def test_an_unwritable_folder_is_exit_1(eactl: Run, three_db: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = eactl(
        "log",
        "export",
        "--all",
        "--format",
        "csv",
        "--out",
        str(blocker / "x"),
        "--db",
        str(three_db),
    )
    assert result.code == 1
    assert result.err.startswith(f"eactl: cannot write {blocker / 'x'}: ")


def test_the_one_session_exports_are_unchanged(eactl: Run, three_db: Path) -> None:
    result = eactl(
        "log", "export", "2", "--format", "csv", "--table", "totals", "--db", str(three_db)
    )
    assert result.code == 0
    assert result.out.splitlines()[0] == ",".join(COLUMNS["totals"])
    assert eactl("log", "export", "2", "--format", "json", "--db", str(three_db)).code == 0
