"""Issue 17, data out: wall-clock (UTC) and device timestamps on every sample and event, and the
total charge beside the net charge, in every export and the report.

``utc`` is the session's start plus ``t_s`` exactly; ``device_uptime_s`` is the device's own
clock where it told it (a sample's STATUS, a device event's EVENT), unknown otherwise, never
taken from an older STATUS; ``total_charge_uC`` is both phases' charge at the device's 1 nC.
Each export is read back by the library that consumes it (csv, json, pandas, pyarrow)."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import pyarrow.parquet as pq

from eacontrol.records import (
    DTYPES,
    EVENT_COLUMNS,
    EXPORT_VERSION,
    SAMPLE_COLUMNS,
    TOTALS_COLUMNS,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    bids_events,
    build_report,
    export_dataset,
    export_events_csv,
    export_samples_csv,
    export_session_json,
    export_totals_csv,
    render_markdown,
    to_pandas,
)
from eacontrol.records.schema import SCHEMA_VERSION
from eacontrol.session.events import EventKind, SessionEvent
from eacontrol.session.recorder import SessionRecorder

SimRun = Any  # tests/records/conftest.py's SimRun: .path and .session_id of a sim:// run
MakeMeta = Callable[..., SessionMeta]

HEARTBEAT_s = 0.1
"""The sim_run fixture's heartbeat period: lease_ms=500, one heartbeat per lease/5. A sample is
the latest STATUS, so it is at most this old (plus the simulator's transit) when taken."""


def _csv(
    export: Callable[[RecordStore, int, TextIO], int], store: RecordStore, sid: int
) -> list[dict[str, str]]:
    """One session's CSV export read back by the csv module."""
    out = io.StringIO(newline="")
    export(store, sid, out)
    return list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))


def _uptime(cell: str) -> float | None:
    return float(cell) if cell else None


def test_a_simulated_sessions_samples_and_events_carry_utc_and_device_time(
    sim_run: SimRun,
) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        sid = sim_run.session_id
        start = store.session(sid).meta.started_at
        samples, events = store.samples(sid), store.events(sid)
        sample_rows = _csv(export_samples_csv, store, sid)
        event_rows = _csv(export_events_csv, store, sid)
    assert list(sample_rows[0]) == list(SAMPLE_COLUMNS) and list(event_rows[0]) == list(
        EVENT_COLUMNS
    )
    # utc = the session's start + t_s, exactly (the virtual clock's time from that start).
    for rows, records in ((sample_rows, samples), (event_rows, events)):
        assert len(rows) == len(records) > 0
        for row, record in zip(rows, records, strict=True):
            assert float(row["t_s"]) == record.t_s
            assert row["utc"] == (start + timedelta(seconds=record.t_s)).isoformat(
                timespec="microseconds"
            )
            assert row["utc"].endswith("+00:00")
            assert datetime.fromisoformat(row["utc"]) - start == timedelta(seconds=record.t_s)
    # Every sample has its STATUS's uptime; it never goes back, and advances with session time.
    uptimes = [_uptime(r["device_uptime_s"]) for r in sample_rows]
    assert None not in uptimes and uptimes == [s.device_uptime_s for s in samples]
    assert uptimes == sorted(uptimes)  # type: ignore[type-var]
    # The device events carry their EVENT's uptime, an impedance change its STATUS's; the
    # host's own events none.
    told = [(e, e.device_uptime_s) for e in events if e.device_uptime_s is not None]
    impedance = [e for e, _ in told if e.kind == "impedance"]
    assert impedance and all(
        e.device_uptime_s in {s.device_uptime_s for s in samples} for e in impedance
    )  # the STATUS the change was seen in, the one the sample was taken from
    told = [(e, u) for e, u in told if e.kind != "impedance"]
    assert [e.message.split(" on ")[0] for e, _ in told] == ["RAMP_DONE"] * 3 + ["STOPPED"] * 2
    assert all(e.device_uptime_s == e.data["device_uptime_s"] for e, _ in told)
    host = [e for e in events if "device_uptime_s" not in e.data]
    assert host and all(e.device_uptime_s is None for e in host)
    assert [_uptime(r["device_uptime_s"]) for r in event_rows] == [
        e.device_uptime_s for e in events
    ]
    # Consistent with the STATUS: the device's clock and the session's run at one rate, so
    # uptime - t_s is one offset (the device booted before the session) within a STATUS's age.
    points = [(s.t_s, s.device_uptime_s) for s in samples] + [(e.t_s, u) for e, u in told]
    offsets = [u - t for t, u in points if u is not None]
    assert min(offsets) > 0 and max(offsets) - min(offsets) < HEARTBEAT_s
    device_times = [u for _, u in told]
    assert device_times == sorted(device_times)


def test_the_json_export_has_utc_device_time_and_total_charge(sim_run: SimRun) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        out = io.StringIO()
        export_session_json(store, sim_run.session_id, out)
        events, totals = store.events(sim_run.session_id), store.totals(sim_run.session_id)
        start = store.session(sim_run.session_id).meta.started_at
    doc = json.loads(out.getvalue())
    assert doc["format_version"] == EXPORT_VERSION == 6
    for record in doc["samples"] + doc["events"] + doc["gaps"]:
        assert datetime.fromisoformat(record["utc"]) == start + timedelta(seconds=record["t_s"])
    assert [e["device_uptime_s"] for e in doc["events"]] == [e.device_uptime_s for e in events]
    assert [t["total_charge_uC"] for t in doc["totals"]] == [
        round(t.charge_pos_uC + abs(t.charge_neg_uC), 3) for t in totals
    ]


def test_totals_carry_the_total_charge_beside_the_net(sim_run: SimRun) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        sid = sim_run.session_id
        rows = _csv(export_totals_csv, store, sid)
        frame = to_pandas(store, [sid], "totals")
        markdown = render_markdown(build_report(store, sid))
    net = TOTALS_COLUMNS.index("net_charge_uC")
    assert TOTALS_COLUMNS[net + 1] == "total_charge_uC"
    assert len(rows) == 2
    for row, (_, t) in zip(rows, frame.iterrows(), strict=True):
        pos, neg = float(row["charge_pos_uC"]), float(row["charge_neg_uC"])
        assert pos > 0 and float(row["total_charge_uC"]) == round(pos + abs(neg), 3)
        assert t["total_charge_uC"] == float(row["total_charge_uC"])
    # The report's delivered table: Charge +, Charge −, Net charge, Total charge, in a row.
    assert "| Charge + | Charge − | Net charge | Total charge | Imbalance |" in markdown
    assert "| 5.26 µC | 5.26 µC | 0 µC | 10.5 µC |" in markdown  # channel 1: 5.258 µC twice


def test_parquet_reloads_the_new_columns_with_their_dtypes(sim_run: SimRun, tmp_path: Path) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        paths = export_dataset(store, tmp_path, format="parquet")
        frames = {t: to_pandas(store, table=t) for t in ("samples", "events", "totals")}
    expected = {
        "samples": {"utc": DTYPES["time"], "device_uptime_s": DTYPES["float?"]},
        "events": {"utc": DTYPES["time"], "device_uptime_s": DTYPES["float?"]},
        "totals": {"total_charge_uC": DTYPES["float"]},
    }
    for table, dtypes in expected.items():
        back = pd.read_parquet(paths[table])
        for column, dtype in dtypes.items():
            assert str(back[column].dtype) == str(pd.api.types.pandas_dtype(dtype))
        pd.testing.assert_frame_equal(back, frames[table])
    events = pd.read_parquet(paths["events"])
    assert events["device_uptime_s"].isna().any() and events["device_uptime_s"].notna().any()
    assert str(pq.read_table(paths["events"]).schema.field("utc").type) == "timestamp[us, tz=UTC]"


def test_bids_events_carry_utc_and_the_devices_stop_time(sim_run: SimRun) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        rows = bids_events(store, sim_run.session_id)
        stopped = [e for e in store.events(sim_run.session_id) if e.message.startswith("STOPPED")]
        start = store.session(sim_run.session_id).meta.started_at
    for row in rows:
        assert datetime.fromisoformat(row["utc"]) == start + timedelta(seconds=row["onset"])
    told = [(r["onset"], r["device_uptime_s"]) for r in rows if r["device_uptime_s"] is not None]
    assert told == [(e.t_s, e.device_uptime_s) for e in stopped] and len(told) == 2


def _recorded(
    store: RecordStore, make_meta: MakeMeta, record: Callable[[SessionRecorder], None]
) -> list[EventRecord]:
    """The events of a session recorded through a SessionRecorder by ``record``."""
    recorder = SessionRecorder(store, make_meta())
    record(recorder)
    recorder.end(Outcome.COMPLETED, 5.0, "done")
    return store.events(recorder.session_id)


def test_the_recorder_keeps_a_device_time_where_told_and_never_fills_one(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    def record(r: SessionRecorder) -> None:
        r.event(SessionEvent(1.0, EventKind.DEVICE, 1, "RAMP_DONE", {"device_uptime_s": 7.25}))
        r.event(SessionEvent(2.0, EventKind.OPERATOR, 1, "host event", {}))
        r.event(SessionEvent(3.0, EventKind.IMPEDANCE, 1, "from a STATUS", {}), 9.5)
        r.event(
            SessionEvent(4.0, EventKind.MARKER, None, "not a number", {"device_uptime_s": True})
        )

    events = _recorded(store, make_meta, record)
    assert [e.device_uptime_s for e in events] == [7.25, None, 9.5, None]


def test_a_version_5_file_migrates_with_unknown_event_device_times(
    tmp_path: Path, make_meta: MakeMeta
) -> None:
    path = tmp_path / "v5.sqlite3"
    with RecordStore.open(path) as store:
        sid = store.begin_session(make_meta())
        store.record_event(sid, EventRecord(1.0, "progress", None, "step 1 started", {}))
        store.record_samples(sid, [Sample(1.0, 1, 2.0, 1.98, 850.0, 12.5)])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE events DROP COLUMN device_uptime_s")  # as version 5 wrote it
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    with RecordStore.open(path) as store:
        assert store.events(sid) == [EventRecord(1.0, "progress", None, "step 1 started", {})]
        assert store.events(sid)[0].device_uptime_s is None
        assert store.samples(sid) == [Sample(1.0, 1, 2.0, 1.98, 850.0, 12.5)]  # kept
        store.record_event(sid, EventRecord(2.0, "device_event", 1, "RAMP_DONE", {}, 13.0))
        assert [e.device_uptime_s for e in store.events(sid)] == [None, 13.0]
        (row,) = _csv(export_events_csv, store, sid)[:1]
        assert row["device_uptime_s"] == ""  # unknown: an empty cell, never 0
        assert to_pandas(store, [sid], "events")["device_uptime_s"].isna().tolist() == [
            True,
            False,
        ]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    conn.close()
