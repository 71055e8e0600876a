"""Issue 17, data out: DataFrames and the multi-session CSV and Parquet exports, each read back
by the library that consumes it (pandas, pyarrow) and compared equal to what the store holds:
every sample, event, total and session, NA where a value is unknown (never 0)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from eacontrol.errors import MissingExtra, ParameterError
from eacontrol.records import (
    COLUMN_KINDS,
    COLUMNS,
    DTYPES,
    TABLES,
    ChannelTotals,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    StepRecord,
    Study,
    UnknownSession,
    export_dataset,
    rows,
    to_pandas,
)

Finished = Any  # tests/records/conftest.py's Finished: .id of the recorded session
SimRun = Any  # tests/records/conftest.py's SimRun: .path and .session_id of a sim:// run

START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)  # tests/records/conftest.py's START
JSON_COLUMNS = ("data", "clinical", "prescription")

_META = (*rows.META_AS_IS, "simulated")


def held(store: RecordStore, table: str, ids: list[int]) -> list[dict[str, Any]]:
    """What the store holds, record by record (None where unknown), built from its read API;
    ``utc`` is the session's start plus ``t_s``, the total charge both phases' (1 nC)."""
    found: list[dict[str, Any]] = []
    for sid in ids:
        if table == "sessions":
            s = store.session(sid)
            found.append(
                {"session_id": sid, "started_at": s.meta.started_at, "ended_at": s.ended_at}
                | {"duration_s": s.duration_s, "outcome": s.outcome.value, "detail": s.detail}
                | {name: getattr(s.meta, name) for name in _META}
                | {"clinical": s.meta.clinical.to_json(), "prescription": s.meta.prescription}
                | {"condition": s.meta.study.condition, "arm": s.meta.study.arm}
                | {"tags": ",".join(s.meta.study.tags) or None}
            )
        elif table == "totals":
            found += [
                {"session_id": sid}
                | dataclasses.asdict(t)
                | {"total_charge_uC": round(t.charge_pos_uC + abs(t.charge_neg_uC), 3)}
                for t in store.totals(sid)
            ]
        else:
            start = store.session(sid).meta.started_at
            records = store.samples(sid) if table == "samples" else store.events(sid)
            found += [
                {"session_id": sid, "utc": start + timedelta(seconds=r.t_s)} | dataclasses.asdict(r)
                for r in records
            ]
    return found


def read_back(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts: NA and NaT as None, JSON text parsed."""
    rows = frame.to_dict("records")
    for row in rows:
        for column, value in row.items():
            if value is pd.NA or value is pd.NaT:
                row[column] = None
            elif column in JSON_COLUMNS:
                row[column] = json.loads(value)
    return rows


EXACT_FLOATS: dict[str, str] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)
"""pandas 3 parses floats exactly by default (and deprecates the option); pandas 2 needs it."""


def read_csv(path: Path, table: str) -> Any:
    """A table's CSV read by pandas as a user should: round-trip floats, an empty cell as NA
    only where the column can be unknown, the columns' dtypes."""
    kinds = COLUMN_KINDS[table]
    times = [c for c, k in kinds.items() if k.startswith("time")]
    dtypes = {c: DTYPES[k] for c, k in kinds.items() if c not in times}
    frame = pd.read_csv(
        path,
        dtype=dtypes,
        keep_default_na=False,
        na_values={c: [""] for c, k in kinds.items() if k.endswith("?")},
        **EXACT_FLOATS,
    )
    for column in times:
        frame[column] = pd.to_datetime(frame[column], utc=True).astype(DTYPES["time"])
    return frame


@pytest.fixture
def two(store: RecordStore, finished: Finished, make_meta: Callable[..., SessionMeta]) -> list[int]:
    """Three sessions: an empty earlier one (1), the finished one (2) and a simulated one (3)
    still running, with unknowns: open impedance, no device uptime, totals of no known step,
    an event of no channel, no patient or operator id."""
    meta = make_meta(
        port="sim://",
        simulated=True,
        patient_id=None,
        operator_id=None,
        compliance_V=60.0,
        study=Study("sham_0mA", "B", ("pilot", "visit-1")),  # the others give none
    )
    sid = store.begin_session(dataclasses.replace(meta, started_at=START + timedelta(days=1)))
    store.record_step(sid, StepRecord(0, "2/100 Hz", "dense_disperse", 0.0))
    store.record_samples(
        sid,
        [
            Sample(0.1, 1, 0.1, 0.09999999999999999, None, 12.000001),
            Sample(0.1, 2, 0.0, 0.0, 1234.5678901234567, None),
        ],
    )
    store.record_event(sid, EventRecord(0.2, "warning", None, 'a "quoted", tab\there', {"x": [1]}))
    store.record_totals(sid, [ChannelTotals(2, 1, 0, 0.5, 0.0, 1e-9, 1e-9, 0.0, 0.1, 0.0, 0.5)])
    return [1, finished.id, sid]


@pytest.mark.parametrize("table", TABLES)
def test_a_dataframe_holds_every_record_of_every_session(
    store: RecordStore, two: list[int], table: str
) -> None:
    frame = to_pandas(store, table=table)
    assert list(frame.columns) == list(COLUMNS[table])
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.api.types.pandas_dtype(DTYPES[k])) for c, k in COLUMN_KINDS[table].items()
    }
    assert read_back(frame) == held(store, table, two)


def test_unknown_values_are_na_never_zero(store: RecordStore, two: list[int]) -> None:
    samples = to_pandas(store, [two[2]], "samples")
    assert samples["impedance_ohm"].isna().tolist() == [True, False]
    assert samples["device_uptime_s"].isna().tolist() == [False, True]
    assert samples["impedance_ohm"][1] == 1234.5678901234567  # full precision
    totals = to_pandas(store, [two[2]], "totals")
    assert totals["step_index"].isna().all()
    sessions = to_pandas(store, two, "sessions")
    assert sessions["ended_at"].isna().tolist() == [False, False, True]
    assert sessions["patient_id"].isna().tolist() == [False, False, True]
    assert sessions["compliance_V"].isna().tolist() == [True, True, False]
    events = to_pandas(store, [two[1]], "events")
    assert events["channel"].isna().tolist() == [True, False, False, True, True]


def test_sessions_are_chosen_in_the_order_given(store: RecordStore, two: list[int]) -> None:
    frame = to_pandas(store, [two[2], two[1], two[2]], "totals")
    assert frame["session_id"].tolist() == [two[2], two[1], two[1], two[1]]
    assert to_pandas(store, [], "samples").empty
    with pytest.raises(UnknownSession):
        to_pandas(store, [two[1], 99])
    with pytest.raises(ParameterError, match="table"):
        to_pandas(store, table="gaps")


@pytest.mark.parametrize("table", TABLES)
def test_the_csv_dataset_reads_back_equal(
    store: RecordStore, two: list[int], tmp_path: Path, table: str
) -> None:
    paths = export_dataset(store, tmp_path / "out", format="csv")
    assert paths[table] == tmp_path / "out" / f"{table}.csv"
    assert read_back(read_csv(paths[table], table)) == held(store, table, two)


@pytest.mark.parametrize("table", TABLES)
def test_the_parquet_dataset_reads_back_equal(
    store: RecordStore, two: list[int], tmp_path: Path, table: str
) -> None:
    paths = export_dataset(store, tmp_path, two[1:], format="parquet")
    expected = held(store, table, two[1:])
    assert read_back(pd.read_parquet(paths[table])) == expected
    arrow = pq.read_table(paths[table])
    assert arrow.column_names == list(COLUMNS[table])
    assert read_back(arrow.to_pandas()) == expected
    pd.testing.assert_frame_equal(pd.read_parquet(paths[table]), to_pandas(store, two[1:], table))


def test_an_empty_choice_writes_typed_empty_tables(store: RecordStore, tmp_path: Path) -> None:
    paths = export_dataset(store, tmp_path, [], format="parquet")
    for table, path in paths.items():
        back = pd.read_parquet(path)
        assert back.empty
        pd.testing.assert_frame_equal(back, to_pandas(store, [], table))
    csv_paths = export_dataset(store, tmp_path, [], format="csv")
    assert csv_paths["samples"].read_text() == ",".join(COLUMNS["samples"]) + "\n"


def test_an_unknown_session_or_format_writes_nothing(
    store: RecordStore, two: list[int], tmp_path: Path
) -> None:
    with pytest.raises(UnknownSession):
        export_dataset(store, tmp_path / "a", [two[1], 99])
    with pytest.raises(ParameterError, match="csv or parquet"):
        export_dataset(store, tmp_path / "b", format="xlsx")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_without_pandas_the_error_names_the_extra(
    store: RecordStore, two: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(MissingExtra, match=r'pip install "eacontrol\[data\]"') as err:
        to_pandas(store)
    assert (err.value.module, err.value.extra) == ("pandas", "data")
    assert isinstance(err.value, ImportError)
    with pytest.raises(MissingExtra, match="Parquet export needs pandas"):
        export_dataset(store, tmp_path / "p", format="parquet")
    assert not (tmp_path / "p").exists()
    # CSV needs no extra.
    paths = export_dataset(store, tmp_path / "c", format="csv")
    assert len(paths["samples"].read_text().splitlines()) == 1 + len(held(store, "samples", two))


def test_without_pyarrow_parquet_names_the_extra(
    store: RecordStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingExtra, match=r"needs pyarrow.*eacontrol\[data\]"):
        export_dataset(store, tmp_path, format="parquet")


def test_importing_the_records_does_not_import_pandas() -> None:
    probe = "import sys, eacontrol.records; print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_real_session_on_the_simulator_reads_back_equal(sim_run: SimRun, tmp_path: Path) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        ids = [sim_run.session_id]
        assert store.session(sim_run.session_id).outcome is Outcome.COMPLETED
        assert store.samples(sim_run.session_id) and store.totals(sim_run.session_id)
        parquet = export_dataset(store, tmp_path / "pq", format="parquet")
        csv = export_dataset(store, tmp_path / "csv", format="csv")
        for table in TABLES:
            expected = held(store, table, ids)
            assert read_back(to_pandas(store, ids, table)) == expected
            assert read_back(pd.read_parquet(parquet[table])) == expected
            assert read_back(read_csv(csv[table], table)) == expected
        # The device's uptime is known for every sample of a real run, the impedance too.
        samples = to_pandas(store, ids)
        assert not samples["device_uptime_s"].isna().any()
        assert samples["session_id"].eq(sim_run.session_id).all()
