"""Conversion between record objects and database rows (JSON columns, ISO 8601 UTC times)."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import datetime
from typing import Any

from eacontrol.errors import Layer, ParameterError
from eacontrol.records.clinical import (
    Annotation,
    AnnotationKind,
    ClinicalDetails,
    Response,
    Severity,
)
from eacontrol.records.model import (
    ChannelTotals,
    EventRecord,
    Outcome,
    Sample,
    SampleGap,
    SessionMeta,
    SessionSummary,
    StepRecord,
    utc,
)
from eacontrol.records.owner import ProcessOwner
from eacontrol.records.study import Study

__all__ = [
    "ANNOTATION_COLUMNS",
    "META_AS_IS",
    "SAMPLE_COLUMNS",
    "TOTALS_COLUMNS",
    "annotation_from_row",
    "annotation_values",
    "dump_json",
    "event_from_row",
    "gap_from_row",
    "insert_sql",
    "iso",
    "meta_values",
    "prescription_channels",
    "sample_from_row",
    "step_from_row",
    "summary_from_row",
    "totals_from_row",
    "values",
]

TOTALS_COLUMNS = tuple(f.name for f in dataclasses.fields(ChannelTotals))
"""The ``totals`` table's value columns: the :class:`ChannelTotals` fields, in order."""

SAMPLE_COLUMNS = tuple(f.name for f in dataclasses.fields(Sample))
"""The ``samples`` table's value columns: the :class:`Sample` fields, in order."""


def iso(moment: datetime) -> str:
    """A UTC time as ISO 8601 with microseconds, so text order is time order."""
    return utc(moment).isoformat(timespec="microseconds")


def dump_json(value: dict[str, Any], name: str) -> str:
    """JSON text for a record's dict field.

    Raises:
        ParameterError: the value is not JSON-ready (a set, an object, NaN...).
    """
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ParameterError(
            name, repr(value)[:200], f"JSON-ready values ({err})", layer=Layer.SCHEMA
        ) from err


META_AS_IS = (
    "profile_name",
    "profile_version",
    "profile_hash",
    "device_model",
    "device_serial",
    "firmware_version",
    "boot_id",
    "port",
    "compliance_V",
    "operator_id",
    "patient_id",
    "software_version",
)
"""The :class:`SessionMeta` fields stored as they are, each in the column of its name."""


def meta_values(meta: SessionMeta) -> dict[str, object]:
    """Column values of a session row for ``meta``."""
    return {
        **{name: getattr(meta, name) for name in META_AS_IS},
        "prescription_json": dump_json(meta.prescription, "prescription"),
        "clinical_json": dump_json(meta.clinical.to_json(), "clinical"),
        "study_json": dump_json(meta.study.to_json(), "study"),
        "simulated": int(meta.simulated),
        "started_at": iso(meta.started_at),
    }


def summary_from_row(row: sqlite3.Row) -> SessionSummary:
    """A session from its row."""
    meta = SessionMeta(
        **{name: row[name] for name in META_AS_IS},
        prescription=json.loads(row["prescription_json"]),
        simulated=bool(row["simulated"]),
        started_at=datetime.fromisoformat(row["started_at"]),
        clinical=ClinicalDetails.from_json(json.loads(row["clinical_json"])),
        study=Study.from_json(json.loads(row["study_json"])),
    )
    ended = row["ended_at"]
    return SessionSummary(
        id=row["id"],
        meta=meta,
        outcome=Outcome(row["outcome"]),
        ended_at=None if ended is None else datetime.fromisoformat(ended),
        detail=row["detail"],
        owner=ProcessOwner(row["owner_pid"], row["owner_host"], row["owner_start"]),
    )


def step_from_row(row: sqlite3.Row) -> StepRecord:
    """A step from its row."""
    return StepRecord(
        index=row["step_index"],
        name=row["name"],
        mode=row["mode"],
        started_s=row["started_s"],
        ended_s=row["ended_s"],
        parameters=json.loads(row["parameters_json"]),
    )


def event_from_row(row: sqlite3.Row) -> EventRecord:
    """An event from its row."""
    return EventRecord(
        t_s=row["t_s"],
        kind=row["kind"],
        channel=row["channel"],
        message=row["message"],
        data=json.loads(row["data_json"]),
        device_uptime_s=row["device_uptime_s"],
    )


def sample_from_row(row: sqlite3.Row) -> Sample:
    """A sample from its row."""
    return Sample(**{column: row[column] for column in SAMPLE_COLUMNS})


def values(
    record: Sample | ChannelTotals | EventRecord, columns: tuple[str, ...]
) -> tuple[object, ...]:
    """A record's values for ``columns`` (:data:`SAMPLE_COLUMNS`, :data:`TOTALS_COLUMNS`)."""
    return tuple(getattr(record, column) for column in columns)


def totals_from_row(row: sqlite3.Row) -> ChannelTotals:
    """Totals from their row."""
    found = {column: row[column] for column in TOTALS_COLUMNS}
    return ChannelTotals(**found | {"read_after": bool(found["read_after"])})


def gap_from_row(row: sqlite3.Row) -> SampleGap:
    """A missing sample from its row."""
    return SampleGap(t_s=row["t_s"], status_age_s=row["status_age_s"], reason=row["reason"])


ANNOTATION_COLUMNS = ("added_at", "kind", "t_s", "event", "severity", "note", "response")
"""The ``annotations`` table's value columns (``response``: schema version 4)."""


def annotation_values(a: Annotation) -> tuple[object, ...]:
    """An annotation's values for :data:`ANNOTATION_COLUMNS` (``added_at`` already in UTC)."""
    response = None if a.response is None else a.response.value
    return (iso(a.added_at), a.kind.value, a.t_s, a.event, a.severity, a.note, response)


def annotation_from_row(row: sqlite3.Row) -> Annotation:
    """An annotation from its row."""
    severity, response = row["severity"], row["response"]
    return Annotation(
        kind=AnnotationKind(row["kind"]),
        added_at=datetime.fromisoformat(row["added_at"]),
        t_s=row["t_s"],
        event=row["event"],
        severity=None if severity is None else Severity(severity),
        note=row["note"],
        response=None if response is None else Response(response),
        id=row["id"],
    )


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """``INSERT INTO table (session_id, columns...) VALUES (?, ...)``."""
    marks = ", ".join("?" for _ in range(len(columns) + 1))
    return f"INSERT INTO {table} (session_id, {', '.join(columns)}) VALUES ({marks})"


def prescription_channels(prescription: dict[str, Any]) -> frozenset[int]:
    """The channel numbers a prescription defines."""
    return frozenset(int(c["channel"]) for c in prescription["channels"])
