"""Exports of a session's records: CSV tables and one JSON document, at full precision.

For ``eactl log export ID --format csv|json``. CSV files have a header row; an empty cell is
"none" (impedance open or unknown, no channel, step unknown); an event's ``data`` is JSON text.
Open output files with ``newline=""`` (the csv module writes its own line endings) and UTF-8.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from eacontrol.records import rows
from eacontrol.records.rows import iso
from eacontrol.records.store import RecordStore

__all__ = [
    "EVENT_COLUMNS",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "SAMPLE_COLUMNS",
    "TOTALS_COLUMNS",
    "export_events_csv",
    "export_samples_csv",
    "export_session_json",
    "export_totals_csv",
    "session_export",
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


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def _write(out: TextIO, session_id: int, columns: Sequence[str], records: Iterable[object]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    written = 0
    for record in records:
        writer.writerow([session_id, *(_cell(getattr(record, c)) for c in columns[1:])])
        written += 1
    return written


def export_samples_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's samples as CSV (:data:`SAMPLE_COLUMNS`) by time, then channel.

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return _write(out, session_id, SAMPLE_COLUMNS, store.samples(session_id))


def export_events_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's events as CSV (:data:`EVENT_COLUMNS`), in recorded order.

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return _write(out, session_id, EVENT_COLUMNS, store.events(session_id))


def export_totals_csv(store: RecordStore, session_id: int, out: TextIO) -> int:
    """Write the session's delivered totals as CSV (:data:`TOTALS_COLUMNS`).

    Returns:
        The number of rows written (the header not counted).

    Raises:
        UnknownSession: no such session.
    """
    return _write(out, session_id, TOTALS_COLUMNS, store.totals(session_id))


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
