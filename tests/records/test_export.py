"""CSV and JSON exports parse back to exactly what was recorded."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eacontrol.records import (
    EVENT_COLUMNS,
    EXPORT_FORMAT,
    EXPORT_VERSION,
    SAMPLE_COLUMNS,
    TOTALS_COLUMNS,
    ChannelTotals,
    EventRecord,
    RecordStore,
    Sample,
    UnknownSession,
    export_events_csv,
    export_samples_csv,
    export_session_json,
    export_totals_csv,
)

START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)  # tests/records/conftest.py's START


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _none(cell: str) -> str | None:
    return cell or None


def test_samples_csv_parses_back(store: RecordStore, finished: Any) -> None:
    out = io.StringIO(newline="")
    written = export_samples_csv(store, finished.id, out)
    rows = _csv(out.getvalue())
    assert out.getvalue().splitlines()[0] == ",".join(SAMPLE_COLUMNS)
    assert SAMPLE_COLUMNS == (
        "session_id",
        "t_s",
        "utc",
        "channel",
        "set_mA",
        "measured_mA",
        "impedance_ohm",
        "device_uptime_s",
    )
    assert written == len(rows) == 270
    parsed = [
        Sample(
            t_s=float(r["t_s"]),
            channel=int(r["channel"]),
            set_mA=float(r["set_mA"]),
            measured_mA=float(r["measured_mA"]),
            impedance_ohm=None if not r["impedance_ohm"] else float(r["impedance_ohm"]),
            device_uptime_s=None if not r["device_uptime_s"] else float(r["device_uptime_s"]),
        )
        for r in rows
    ]
    assert parsed == store.samples(finished.id)
    assert [datetime.fromisoformat(r["utc"]) for r in rows] == [
        START + timedelta(seconds=s.t_s) for s in parsed
    ]
    assert rows[-1]["utc"].endswith("+00:00")  # ISO 8601 with its offset
    assert {r["session_id"] for r in rows} == {str(finished.id)}
    assert sum(1 for s in parsed if s.impedance_ohm is None) == 1


def test_events_csv_parses_back(store: RecordStore, finished: Any) -> None:
    out = io.StringIO(newline="")
    assert export_events_csv(store, finished.id, out) == len(finished.events)
    rows = _csv(out.getvalue())
    assert list(rows[0]) == list(EVENT_COLUMNS)
    parsed = [
        EventRecord(
            t_s=float(r["t_s"]),
            kind=r["kind"],
            channel=None if not r["channel"] else int(r["channel"]),
            message=r["message"],
            data=json.loads(r["data"]),
            device_uptime_s=None if not r["device_uptime_s"] else float(r["device_uptime_s"]),
        )
        for r in rows
    ]
    assert parsed == list(finished.events)
    assert [datetime.fromisoformat(r["utc"]) for r in rows] == [
        START + timedelta(seconds=e.t_s) for e in parsed
    ]


def test_events_csv_quotes_commas_quotes_and_newlines(store: RecordStore, make_meta: Any) -> None:
    session_id = store.begin_session(make_meta())
    tricky = EventRecord(1.0, "operator", 1, 'note: "stop", then\nresume', {"k": "a,b"})
    store.record_event(session_id, tricky)
    out = io.StringIO(newline="")
    export_events_csv(store, session_id, out)
    (row,) = _csv(out.getvalue())
    assert row["message"] == tricky.message
    assert json.loads(row["data"]) == tricky.data


def test_totals_csv_parses_back(store: RecordStore, finished: Any) -> None:
    out = io.StringIO(newline="")
    assert export_totals_csv(store, finished.id, out) == 3
    rows = _csv(out.getvalue())
    assert list(rows[0]) == list(TOTALS_COLUMNS)
    ints = {"channel", "pulses_a", "pulses_b", "step_index"}

    def cell(c: str, text: str) -> object:
        return bool(int(text)) if c == "read_after" else int(text) if c in ints else float(text)

    columns = [c for c in TOTALS_COLUMNS[1:] if c != "total_charge_uC"]
    parsed = [ChannelTotals(**{c: cell(c, r[c]) for c in columns}) for r in rows]
    assert parsed == store.totals(finished.id)
    net = TOTALS_COLUMNS.index("net_charge_uC")
    assert TOTALS_COLUMNS[net + 1] == "total_charge_uC"  # beside the net charge
    assert [float(r["total_charge_uC"]) for r in rows] == [
        round(t.charge_pos_uC + abs(t.charge_neg_uC), 3) for t in parsed
    ]


def test_session_json_parses_back(store: RecordStore, finished: Any) -> None:
    out = io.StringIO()
    export_session_json(store, finished.id, out)
    doc = json.loads(out.getvalue())
    assert doc["format"] == EXPORT_FORMAT and doc["format_version"] == EXPORT_VERSION
    session = doc["session"]
    assert session["id"] == finished.id
    assert session["outcome"] == "completed" and session["detail"] == "all steps ran"
    assert session["started_at"] == "2025-03-04T09:30:00.000000+00:00"
    assert session["ended_at"] == "2025-03-04T09:55:02.000000+00:00"
    assert session["duration_s"] == 1502.0
    assert session["device_serial"] == "SN0042" and session["patient_id"] == "P-017"
    assert session["owner"]["pid"] > 0
    assert doc["prescription"] == finished.meta.prescription
    for found in (doc["events"], doc["samples"], doc["gaps"]):
        for record in found:
            utc = datetime.fromisoformat(record.pop("utc"))
            assert utc == START + timedelta(seconds=record["t_s"])
    assert [EventRecord(**e) for e in doc["events"]] == list(finished.events)
    assert [Sample(**s) for s in doc["samples"]] == store.samples(finished.id)
    totals = store.totals(finished.id)
    assert [t.pop("total_charge_uC") for t in doc["totals"]] == [
        round(t.charge_pos_uC + abs(t.charge_neg_uC), 3) for t in totals
    ]
    assert [ChannelTotals(**t) for t in doc["totals"]] == totals
    assert [s["index"] for s in doc["steps"]] == [0, 1]


def test_exports_of_an_unknown_session_fail(store: RecordStore) -> None:
    for export in (export_samples_csv, export_events_csv, export_totals_csv, export_session_json):
        with pytest.raises(UnknownSession):
            export(store, 5, io.StringIO())
