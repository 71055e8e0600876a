"""Exports of session records: CSV tables and one JSON document, at full precision.

For ``eactl log export ID --format csv|json``, and the one home of the exported tables'
columns (:data:`COLUMNS`), what each column holds (:data:`COLUMN_KINDS`) and the conversion of a
record to a row (:func:`table_rows`), which the multi-session exports
(``eacontrol.records.dataset``) and the DataFrames (``eacontrol.records.frames``) reuse.

CSV files have a header row; an empty cell is "none" (impedance open or unknown, no channel,
step unknown); an event's ``data`` is JSON text. Open output files with ``newline=""`` (the csv
module writes its own line endings) and UTF-8.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TextIO

from eacontrol.errors import Layer, ParameterError
from eacontrol.records import rows
from eacontrol.records.model import SessionSummary
from eacontrol.records.rows import iso
from eacontrol.records.store import RecordStore

__all__ = [
    "COLUMNS",
    "COLUMN_KINDS",
    "EVENT_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "SAMPLE_COLUMNS",
    "SESSION_COLUMNS",
    "TABLES",
    "TOTALS_COLUMNS",
    "check_table",
    "export_events_csv",
    "export_samples_csv",
    "export_session_json",
    "export_totals_csv",
    "session_export",
    "table_rows",
    "write_csv",
]

EXPORT_FORMAT = "eacontrol-session"
"""The ``format`` field of a JSON export."""

EXPORT_VERSION = 5
"""The ``format_version`` field of a JSON export (3: ``session.compliance_V``,
``session.clinical`` and ``annotations``; 4: an annotation's ``response``; 5:
``session.study``: condition, arm and tags)."""

SAMPLE_COLUMNS = ("session_id", *rows.SAMPLE_COLUMNS)
"""Columns of the samples CSV."""

EVENT_COLUMNS = ("session_id", "t_s", "kind", "channel", "message", "data")
"""Columns of the events CSV (``data`` is JSON text)."""

TOTALS_COLUMNS = ("session_id", *rows.TOTALS_COLUMNS)
"""Columns of the delivered totals CSV (``step_index`` empty when unknown)."""

SESSION_COLUMNS = (
    "session_id",
    "started_at",
    "ended_at",
    "duration_s",
    "outcome",
    "detail",
    *rows.META_AS_IS,
    "simulated",
    "condition",
    "arm",
    "tags",
    "clinical",
    "prescription",
)
"""Columns of the sessions table, one row per session (``clinical`` and ``prescription`` are
JSON text; ``started_at`` and ``ended_at`` ISO 8601 UTC; ``condition``, ``arm`` and ``tags``,
the tags joined by commas, are the session's ``Study``, empty when not given)."""

TABLES = ("sessions", "samples", "events", "totals")
"""The tables a multi-session export writes."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": SESSION_COLUMNS,
    "samples": SAMPLE_COLUMNS,
    "events": EVENT_COLUMNS,
    "totals": TOTALS_COLUMNS,
}
"""Each table's columns, in order."""

_FLOAT_COLUMNS = frozenset(
    {
        "t_s",
        "set_mA",
        "measured_mA",
        "time_a_s",
        "time_b_s",
        "charge_pos_uC",
        "charge_neg_uC",
        "net_charge_uC",
        "peak_mA",
        "rms_mA",
        "on_time_s",
    }
)
_INT_COLUMNS = frozenset({"session_id", "channel", "pulses_a", "pulses_b", "boot_id"})

COLUMN_KINDS: dict[str, dict[str, str]] = {
    "sessions": {
        column: "text"
        for column in SESSION_COLUMNS
        if column not in {"session_id", "boot_id", "simulated"}
    }
    | {
        "session_id": "int",
        "boot_id": "int",
        "simulated": "bool",
        "started_at": "time",
        "ended_at": "time?",
        "duration_s": "float?",
        "compliance_V": "float?",
        "operator_id": "text?",
        "patient_id": "text?",
        "condition": "text?",
        "arm": "text?",
        "tags": "text?",
        "clinical": "json",
        "prescription": "json",
    },
    "samples": {c: "float" if c in _FLOAT_COLUMNS else "int" for c in SAMPLE_COLUMNS}
    | {"impedance_ohm": "float?", "device_uptime_s": "float?"},
    "events": {
        "session_id": "int",
        "t_s": "float",
        "kind": "text",
        "channel": "int?",
        "message": "text",
        "data": "json",
    },
    "totals": {c: "float" if c in _FLOAT_COLUMNS else "int" for c in TOTALS_COLUMNS}
    | {"step_index": "int?", "read_after": "bool"},
}
"""What each column of each table holds: ``int``, ``float``, ``bool``, ``text``, ``time`` (a
UTC datetime), ``json`` (JSON text); a ``?`` marks a column whose value can be unknown (None:
an empty CSV cell, NA in a DataFrame, null in Parquet)."""


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _session_row(summary: SessionSummary) -> tuple[object, ...]:
    meta = summary.meta
    found: dict[str, object] = {
        "session_id": summary.id,
        "started_at": meta.started_at,
        "ended_at": summary.ended_at,
        "duration_s": summary.duration_s,
        "outcome": summary.outcome.value,
        "detail": summary.detail,
        "clinical": _json(meta.clinical.to_json()),
        "prescription": _json(meta.prescription),
        "condition": meta.study.condition,
        "arm": meta.study.arm,
        "tags": ",".join(meta.study.tags) or None,  # a tag holds no comma (records/study.py)
    }
    return tuple(found[c] if c in found else getattr(meta, c) for c in SESSION_COLUMNS)


def _value(value: object) -> object:
    return _json(value) if isinstance(value, dict) else value


def check_table(table: str) -> None:
    """Refuse a table name that is not one of :data:`TABLES`.

    Raises:
        ParameterError: an unknown table.
    """
    if table not in COLUMNS:
        raise ParameterError("table", table, f"one of {', '.join(TABLES)}", layer=Layer.SCHEMA)


def table_rows(store: RecordStore, table: str, session_id: int) -> list[tuple[object, ...]]:
    """One session's rows of ``table``, one value per column of :data:`COLUMNS`.

    Values are Python's: None where unknown, ``bool``, ``int``, ``float`` (as stored: full
    precision), ``str`` (JSON text for a ``json`` column), ``datetime`` (UTC) for a ``time``.

    Raises:
        ParameterError: ``table`` is not one of :data:`TABLES`.
        UnknownSession: no such session.
    """
    check_table(table)
    if table == "sessions":
        return [_session_row(store.session(session_id))]
    readers: dict[str, Callable[[int], Sequence[object]]] = {
        "samples": store.samples,
        "events": store.events,
        "totals": store.totals,
    }
    records = readers[table](session_id)
    columns = COLUMNS[table][1:]
    return [(session_id, *(_value(getattr(r, c)) for c in columns)) for r in records]


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return iso(value)
    return value


def write_csv(out: TextIO, table: str, found: Iterable[Sequence[object]]) -> int:
    """Write rows of ``table`` (from :func:`table_rows`) as CSV under a header row.

    Returns:
        The number of rows written (the header not counted).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS[table])
    written = 0
    for row in found:
        writer.writerow([_cell(v) for v in row])
        written += 1
    return written


def export_samples_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's samples as CSV (:data:`SAMPLE_COLUMNS`) by time, then channel.

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return write_csv(out, "samples", table_rows(store, "samples", session_id))


def export_events_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's events as CSV (:data:`EVENT_COLUMNS`), in recorded order.

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return write_csv(out, "events", table_rows(store, "events", session_id))


def export_totals_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's delivered totals as CSV (:data:`TOTALS_COLUMNS`).

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return write_csv(out, "totals", table_rows(store, "totals", session_id))


def session_export(store: RecordStore, session_id: int) -> dict[str, Any]:
    """Everything recorded about one session, JSON-ready.

    Returns:
        ``{"format", "format_version", "session", "prescription", "steps", "events",
        "samples", "gaps", "totals", "annotations"}`` (``gaps``: the samples recorded as
        missing; ``annotations``: adverse events and notes, with when each was added);
        ``session`` holds the identity (with the compliance voltage and the practitioner's
        ``clinical`` account), outcome and owner process.

    Raises:
        UnknownSession: no such session.
    """
    summary = store.session(session_id)
    meta = dataclasses.asdict(summary.meta)
    prescription = meta.pop("prescription")
    session = {
        "id": summary.id,
        **meta,
        "started_at": iso(summary.meta.started_at),
        "ended_at": None if summary.ended_at is None else iso(summary.ended_at),
        "duration_s": summary.duration_s,
        "outcome": summary.outcome.value,
        "detail": summary.detail,
        "owner": dataclasses.asdict(summary.owner),
    }
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_VERSION,
        "session": session,
        "prescription": prescription,
        "steps": [dataclasses.asdict(s) for s in store.steps(session_id)],
        "events": [dataclasses.asdict(e) for e in store.events(session_id)],
        "samples": [dataclasses.asdict(s) for s in store.samples(session_id)],
        "gaps": [dataclasses.asdict(g) for g in store.gaps(session_id)],
        "totals": [dataclasses.asdict(t) for t in store.totals(session_id)],
        "annotations": [
            dataclasses.asdict(a) | {"added_at": iso(a.added_at)}
            for a in store.annotations(session_id)
        ],
    }


def export_session_json(store: RecordStore, session_id: int, out: TextIO) -> None:
    """Write :func:`session_export` as indented JSON.

    Raises:
        UnknownSession: no such session.
    """
    json.dump(session_export(store, session_id), out, indent=2, ensure_ascii=False)
    out.write("\n")
