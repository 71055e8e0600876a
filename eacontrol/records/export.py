"""Exports of session records: CSV tables and one JSON document, at full precision.

For ``eactl log export ID --format csv|json``, and the one home of the exported tables'
columns (:data:`COLUMNS`), what each column holds (:data:`COLUMN_KINDS`) and the conversion of a
record to a row (:func:`table_rows`), which the multi-session exports
(``eacontrol.records.dataset``) and the DataFrames (``eacontrol.records.frames``) reuse.

CSV files have a header row; an empty cell is "none" (impedance open or unknown, no channel,
step unknown, device time unknown); an event's ``data`` is JSON text. Open output files with
``newline=""`` (the csv module writes its own line endings) and UTF-8.

Every sample and event carries three times: ``t_s`` (session time, as recorded), ``utc`` (the
wall-clock time: the session's ``started_at`` plus ``t_s``, :func:`session_utc`; ISO 8601 with
its ``+00:00`` offset in CSV and JSON) and ``device_uptime_s`` (the device's own clock: its
uptime in the STATUS a sample came from, or of the EVENT an event came from; none where the
device did not tell it). ``started_at`` is the host's wall clock when the session began (or
the runner's ``utc_now``); ``t_s`` runs on the session's clock, so under the virtual clock
``utc`` is virtual time from that start: it advances as the virtual clock does, not as real time.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
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
    "session_utc",
    "table_rows",
    "write_csv",
]

EXPORT_FORMAT = "eacontrol-session"
"""The ``format`` field of a JSON export."""

EXPORT_VERSION = 6
"""The ``format_version`` field of a JSON export (3: ``session.compliance_V``,
``session.clinical`` and ``annotations``; 4: an annotation's ``response``; 5:
``session.study``: condition, arm and tags; 6: ``utc`` on each sample, event and gap, an
event's ``device_uptime_s``, ``total_charge_uC`` on each totals row)."""

SAMPLE_COLUMNS = ("session_id", "t_s", "utc", *rows.SAMPLE_COLUMNS[1:])
"""Columns of the samples CSV (``utc``: :func:`session_utc` of ``t_s``)."""

EVENT_COLUMNS = (
    "session_id",
    "t_s",
    "utc",
    "device_uptime_s",
    "kind",
    "channel",
    "message",
    "data",
)
"""Columns of the events CSV (``data`` is JSON text; ``device_uptime_s`` empty when the device
did not tell it: the host's own events, and records made before schema version 6)."""

_NET = rows.TOTALS_COLUMNS.index("net_charge_uC") + 1
TOTALS_COLUMNS = (
    "session_id",
    *rows.TOTALS_COLUMNS[:_NET],
    "total_charge_uC",
    *rows.TOTALS_COLUMNS[_NET:],
)
"""Columns of the delivered totals CSV (``step_index`` empty when unknown; ``total_charge_uC``
beside ``net_charge_uC``: both phases' charge, ``ChannelTotals.total_charge_uC``)."""

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
        "total_charge_uC",
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
    | {"utc": "time", "impedance_ohm": "float?", "device_uptime_s": "float?"},
    "events": {
        "session_id": "int",
        "t_s": "float",
        "utc": "time",
        "device_uptime_s": "float?",
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


def session_utc(started_at: datetime, t_s: float) -> datetime:
    """The wall-clock time (UTC) of session time ``t_s``: the session's start plus ``t_s``.

    Exactly ``started_at + timedelta(seconds=t_s)``, to the microsecond the store keeps start
    times at (``timedelta`` rounds half to even). Under the virtual clock ``t_s`` is virtual,
    so is the result (from a real start).

    Args:
        started_at: the session's start (``SessionMeta.started_at``, UTC).
        t_s: session time.
    """
    return started_at + timedelta(seconds=t_s)


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
    if "utc" not in columns:
        return [(session_id, *(_value(getattr(r, c)) for c in columns)) for r in records]
    started, t_s = store.session(session_id).meta.started_at, operator.attrgetter("t_s")
    return [
        (
            session_id,
            *(
                session_utc(started, t_s(r)) if c == "utc" else _value(getattr(r, c))
                for c in columns
            ),
        )
        for r in records
    ]


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
        missing; ``annotations``: adverse events and notes, with when each was added); each
        event, sample and gap with its ``utc`` (:func:`session_utc`, ISO 8601), each totals
        row with its ``total_charge_uC``;
        ``session`` holds the identity (with the compliance voltage and the practitioner's
        ``clinical`` account), outcome and owner process.

    Raises:
        UnknownSession: no such session.
    """
    summary = store.session(session_id)
    started = summary.meta.started_at

    def timed(record: Any) -> dict[str, Any]:
        found = dataclasses.asdict(record)
        return found | {"utc": iso(session_utc(started, record.t_s))}

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
        "events": [timed(e) for e in store.events(session_id)],
        "samples": [timed(s) for s in store.samples(session_id)],
        "gaps": [timed(g) for g in store.gaps(session_id)],
        "totals": [
            dataclasses.asdict(t) | {"total_charge_uC": t.total_charge_uC}
            for t in store.totals(session_id)
        ],
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
