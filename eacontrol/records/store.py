"""The session store: one SQLite file (WAL) holding every session's complete record.

Opening checks everything that could lose records later — the file is writable, not locked,
not damaged, and has a schema this version reads — so a problem is a ``RecordError`` before any
stimulation starts, never a lost record mid-session. Every record is committed when it is
written (``synchronous=FULL``: a committed record survives a crash of the process, and of the
machine), so a session interrupted by a crash keeps everything up to the crash; the next open
marks it ``aborted`` (:mod:`eacontrol.records.recovery`).

A store is used from the thread that opened it (``threaded=True``: from one other thread, the
session's record writer, :mod:`eacontrol.records.writer`). Several processes may share a file:
SQLite's WAL lets readers work while a session records, and writers queue for ``busy_timeout_s``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Self

from eacontrol.errors import Layer, ParameterError, RecordError, UnknownSession
from eacontrol.records import recovery, rows
from eacontrol.records.alarm import ALARM_KIND, alarm_text
from eacontrol.records.clinical import Annotation
from eacontrol.records.connection import open_checked, open_read_only, write_transaction
from eacontrol.records.model import (
    INTERRUPTED,
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
from eacontrol.records.paths import resolve_db_path
from eacontrol.records.prescription import check_prescription
from eacontrol.records.sqlite_errors import record_error

__all__ = ["DEFAULT_BUSY_TIMEOUT_s", "RecordStore"]

log = logging.getLogger(__name__)
_EVENT_VALUES = ("t_s", "kind", "channel", "message")  # then data_json and device_uptime_s

DEFAULT_BUSY_TIMEOUT_s = 5.0
"""How long a write waits for another process's write transaction before the file is locked."""


class RecordStore:
    """The session database. Open it with :meth:`open`; use it as a context manager.

    Attributes:
        busy_timeout_s: how long a write waits for another process's write transaction.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        """Wrap an open, checked connection (use :meth:`open`)."""
        self._conn: sqlite3.Connection | None = conn
        self._path = path
        self._read_only = read_only
        self.busy_timeout_s = DEFAULT_BUSY_TIMEOUT_s
        self._channels: dict[int, frozenset[int]] = {}

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_s,
        read_only: bool = False,
        threaded: bool = False,
    ) -> RecordStore:
        """Open (creating or migrating) the database and check it can hold a session.

        Checks, in order: the folder can be created; the file is an SQLite database of this
        application with a schema version this eacontrol reads; ``PRAGMA quick_check`` finds
        no damage; WAL can be turned on; a write transaction can be taken and committed (not
        locked, not read-only, disk not full). Then sessions left running by a process that is
        gone are marked ``aborted`` (details: :func:`~eacontrol.records.connection.open_checked`).

        Args:
            path: the file; None for :func:`~eacontrol.records.paths.default_db_path`
                (``$EACONTROL_DB``, else the XDG data directory).
            busy_timeout_s: how long to wait for another process's write transaction.
            read_only: only read (reports and exports from an archive, a copy or read-only
                media): the file must exist with the current schema; nothing is created,
                migrated or marked aborted, and every write is a ``RecordError``.
            threaded: the store will be used from another thread than the one opening it (one
                thread at a time; the session's record writer).

        Returns:
            The open store.

        Raises:
            RecordError: the file is locked, read-only, damaged, another application's, or of
                a newer schema; the message names the file, the problem and what to do.
        """
        db = resolve_db_path(path)
        if read_only:
            store = cls(open_read_only(db, busy_timeout_s), db, read_only=True)
        else:
            store = cls(open_checked(db, busy_timeout_s, threaded=threaded), db)
        store.busy_timeout_s = busy_timeout_s
        return store

    def set_busy_timeout(self, seconds: float) -> None:
        """Change how long a write waits for another process's write transaction."""
        self._connection().execute(f"PRAGMA busy_timeout = {max(0, round(seconds * 1000))}")
        self.busy_timeout_s = seconds

    @property
    def read_only(self) -> bool:
        """True when opened with ``read_only=True``."""
        return self._read_only

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the database (safe to call twice)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------

    def begin_session(self, meta: SessionMeta) -> int:
        """Record a new running session, owned by this process.

        Args:
            meta: identity, profile and device of the session.

        Returns:
            The new session's id.

        Raises:
            ParameterError: the prescription does not have the documented shape
                (:func:`~eacontrol.records.prescription.parse_prescription`).
            RecordError: the record could not be written.
        """
        check_prescription(meta.prescription)
        values = rows.meta_values(meta)
        owner = ProcessOwner.current()
        values |= {
            "outcome": Outcome.RUNNING.value,
            "owner_pid": owner.pid,
            "owner_host": owner.host,
            "owner_start": owner.start_marker,
        }
        columns = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        with self._transaction("beginning a session") as conn:
            cursor = conn.execute(f"INSERT INTO sessions ({columns}) VALUES ({marks})", values)
        session_id = cursor.lastrowid
        assert session_id is not None  # an INSERT into a rowid table always sets it
        self._channels[session_id] = rows.prescription_channels(meta.prescription)
        log.info("%s: session %d began (%s)", self._path, session_id, meta.profile_name)
        return session_id

    def record_step(self, session_id: int, step: StepRecord) -> None:
        """Record a step; a later record with the same index replaces it (start, then end).

        Raises:
            UnknownSession: no such session.
            RecordError: the session has ended, or the record could not be written.
        """
        params = rows.dump_json(step.parameters, "StepRecord.parameters")
        with self._transaction("recording a step") as conn:
            self._require_running(conn, session_id)
            conn.execute(
                "INSERT OR REPLACE INTO steps (session_id, step_index, name, mode, started_s, "
                "ended_s, parameters_json) VALUES (:id, :index, :name, :mode, :started_s, "
                ":ended_s, :params)",
                {
                    "id": session_id,
                    "index": step.index,
                    "name": step.name,
                    "mode": step.mode,
                    "started_s": step.started_s,
                    "ended_s": step.ended_s,
                    "params": params,
                },
            )

    def record_event(self, session_id: int, event: EventRecord) -> None:
        """Record an event, committed before this returns.

        Raises:
            UnknownSession: no such session.
            ParameterError: the event names a channel the prescription does not define.
            RecordError: the session has ended, or the record could not be written.
        """
        data = rows.dump_json(event.data, "EventRecord.data")
        with self._transaction("recording an event") as conn:
            self._require_running(conn, session_id, [event.channel])
            conn.execute(
                rows.insert_sql("events", (*_EVENT_VALUES, "data_json", "device_uptime_s")),
                (session_id, *rows.values(event, _EVENT_VALUES), data, event.device_uptime_s),
            )

    def record_samples(self, session_id: int, samples: Sequence[Sample]) -> None:
        """Record periodic samples, committed together before this returns.

        Raises:
            UnknownSession: no such session.
            ParameterError: a sample names a channel the prescription does not define.
            RecordError: the session has ended, or the records could not be written.
        """
        with self._transaction("recording samples") as conn:
            self._require_running(conn, session_id, [s.channel for s in samples])
            conn.executemany(
                rows.insert_sql("samples", rows.SAMPLE_COLUMNS),
                [(session_id, *rows.values(s, rows.SAMPLE_COLUMNS)) for s in samples],
            )

    def record_gaps(self, session_id: int, gaps: Sequence[SampleGap]) -> None:
        """Record samples that are missing (no fresh STATUS), committed before this returns.

        Raises:
            UnknownSession: no such session.
            RecordError: the session has ended, or the records could not be written.
        """
        with self._transaction("recording missing samples") as conn:
            self._require_running(conn, session_id)
            conn.executemany(
                "INSERT INTO sample_gaps (session_id, t_s, status_age_s, reason) "
                "VALUES (?, ?, ?, ?)",
                [(session_id, g.t_s, g.status_age_s, g.reason) for g in gaps],
            )

    def add_totals_read_after(
        self, session_id: int, totals: Sequence[ChannelTotals], note: str
    ) -> None:
        """Add to an interrupted session (``INTERRUPTED``: aborted, link lost, stop not
        confirmed) the totals its device still held.

        Each replaces the totals recorded during the session for its step and channel (the
        same counters, read later); ``note`` is appended to the session's detail.

        Raises:
            UnknownSession: no such session.
            RecordError: the session was not interrupted, or the records could not be written.
        """
        with self._transaction("adding totals read afterwards") as conn:
            found = conn.execute("SELECT outcome FROM sessions WHERE id = ?", (session_id,))
            row = found.fetchone()
            if row is None:
                raise UnknownSession(session_id, str(self._path))
            if row["outcome"] not in INTERRUPTED:
                raise RecordError(
                    f"session database {self._path}: session {session_id} is "
                    f"{row['outcome']}; totals are read afterwards only for aborted sessions "
                    "and those that lost the link or their stop's confirmation"
                )
            self._replace_totals(conn, session_id, totals)
            conn.execute(
                "UPDATE sessions SET detail = detail || ? WHERE id = ?", (f"; {note}", session_id)
            )

    def _replace_totals(
        self, conn: sqlite3.Connection, session_id: int, totals: Sequence[ChannelTotals]
    ) -> None:
        for t in totals:
            conn.execute(
                "DELETE FROM totals WHERE session_id = ? AND channel = ? AND step_index IS ?",
                (session_id, t.channel, t.step_index),
            )
            conn.execute(
                rows.insert_sql("totals", rows.TOTALS_COLUMNS),
                (session_id, *rows.values(t, rows.TOTALS_COLUMNS)),
            )

    def record_totals(self, session_id: int, totals: Sequence[ChannelTotals]) -> None:
        """Record delivered totals; each replaces an earlier record of its step and channel.

        Raises:
            UnknownSession: no such session.
            ParameterError: totals name a channel the prescription does not define.
            RecordError: the session has ended, or the records could not be written.
        """
        with self._transaction("recording delivered totals") as conn:
            self._require_running(conn, session_id, [t.channel for t in totals])
            self._replace_totals(conn, session_id, totals)

    def end_session(
        self, session_id: int, outcome: Outcome, ended_at: datetime, detail: str = ""
    ) -> None:
        """Mark a running session ended.

        An ending that leaves the outputs not confirmed off (a lost link, a stop not confirmed)
        also records an ``alarm`` event in plain words at the session time of the end
        (:mod:`eacontrol.records.alarm`).

        Args:
            session_id: the session.
            outcome: how it ended (not ``RUNNING``).
            ended_at: when, timezone-aware, not before its start.
            detail: why, in words (the stop reason, the fault, the error).

        Raises:
            UnknownSession: no such session.
            ParameterError: ``outcome`` is ``RUNNING``, or ``ended_at`` is naive or before the
                session's start.
            RecordError: the session has already ended, or the record could not be written.
        """
        if outcome is Outcome.RUNNING:
            raise ParameterError("outcome", outcome.value, "an end outcome", layer=Layer.SCHEMA)
        end = utc(ended_at, "ended_at")
        started = self.session(session_id).meta.started_at
        if end < started:
            raise ParameterError(
                "ended_at", end.isoformat(), f">= started_at {started.isoformat()}", Layer.SCHEMA
            )
        alarm = alarm_text(outcome)
        with self._transaction("ending a session") as conn:
            self._require_running(conn, session_id)
            if alarm:  # the outputs were not confirmed off: the record says so in plain words
                conn.execute(
                    "INSERT INTO events (session_id, t_s, kind, channel, message, data_json) "
                    "VALUES (?, ?, ?, NULL, ?, '{}')",
                    (session_id, (end - started).total_seconds(), ALARM_KIND, alarm),
                )
            conn.execute(
                "UPDATE sessions SET outcome = ?, ended_at = ?, detail = ? WHERE id = ?",
                (outcome.value, rows.iso(end), detail, session_id),
            )
        log.info("%s: session %d ended: %s %s", self._path, session_id, outcome, detail)

    def mark_aborted(self, session_id: int, detail: str) -> None:
        """Mark a session still recorded as running, whose process cannot be checked, aborted.

        For a session begun on another host (opening only judges this host's processes), after
        the operator has made sure it no longer runs.

        Raises:
            UnknownSession: no such session.
            RecordError: it has ended, or its process runs on this host.
        """
        summary = self.session(session_id)
        if summary.owner.on_this_host and not summary.owner.is_gone():
            raise RecordError(
                f"session database {self._path}: session {session_id} is still running in "
                f"process {summary.owner.pid} on this host; stop it there"
            )
        with self._transaction("marking a session aborted") as conn:
            self._require_running(conn, session_id)
            recovery.abort_session(conn, self._path, session_id, summary.meta.started_at, detail)

    def add_annotation(self, session_id: int, annotation: Annotation) -> int:
        """Add an adverse event, a note or the patient's response (built by
        :func:`~eacontrol.records.clinical.new_annotation`), during the session (from any
        process) or after it: the one record an ended session takes; the one home of an
        annotation, for ``eactl annotate`` and the live view alike.

        Returns:
            The annotation's id.

        Raises:
            UnknownSession: no such session.
            ParameterError: ``added_at`` is naive or before the session's start.
            RecordError: the record could not be written.
        """
        added = utc(annotation.added_at, "added_at")
        started = self.session(session_id).meta.started_at
        if added < started:
            raise ParameterError(
                "added_at", added.isoformat(), f">= started_at {started.isoformat()}", Layer.SCHEMA
            )
        stamped = dataclasses.replace(annotation, added_at=added)
        with self._transaction("adding an annotation") as conn:
            cursor = conn.execute(
                rows.insert_sql("annotations", rows.ANNOTATION_COLUMNS),
                (session_id, *rows.annotation_values(stamped)),
            )
        assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
        return cursor.lastrowid

    # -- reading ----------------------------------------------------------------------------

    def sessions(
        self, *, patient_id: str | None = None, limit: int | None = None, simulated: bool = True
    ) -> list[SessionSummary]:
        """Sessions, newest first: only ``patient_id``'s (any case) if given, at most ``limit``;
        ``simulated=False`` leaves out the sessions run on a simulator (no patient stimulated)."""
        found = self._query(
            "SELECT * FROM sessions WHERE (? IS NULL OR patient_id = ? COLLATE NOCASE) "
            "AND (? OR simulated = 0) ORDER BY started_at DESC, id DESC LIMIT ?",
            (patient_id, patient_id, simulated, -1 if limit is None else limit),
        )
        return [rows.summary_from_row(r) for r in found]

    def session(self, session_id: int) -> SessionSummary:
        """One session.

        Raises:
            UnknownSession: no such session (a ``RecordError`` and a ``KeyError``).
        """
        found = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not found:
            raise UnknownSession(session_id, str(self._path))
        return rows.summary_from_row(found[0])

    def steps(self, session_id: int) -> list[StepRecord]:
        """The session's steps by index."""
        return [rows.step_from_row(r) for r in self._rows("steps", session_id, "step_index")]

    def events(self, session_id: int) -> list[EventRecord]:
        """The session's events in the order they were recorded."""
        return [rows.event_from_row(r) for r in self._rows("events", session_id, "id")]

    def samples(self, session_id: int) -> list[Sample]:
        """The session's samples by time, then channel."""
        found = self._rows("samples", session_id, "t_s, channel, id")
        return [rows.sample_from_row(r) for r in found]

    def gaps(self, session_id: int) -> list[SampleGap]:
        """The session's missing samples by time."""
        return [rows.gap_from_row(r) for r in self._rows("sample_gaps", session_id, "t_s, id")]

    def annotations(self, session_id: int) -> list[Annotation]:
        """The session's adverse events and notes in the order they were added."""
        return [rows.annotation_from_row(r) for r in self._rows("annotations", session_id, "id")]

    def totals(self, session_id: int) -> list[ChannelTotals]:
        """The session's delivered totals by channel, then step (unknown step first)."""
        found = self._rows("totals", session_id, "channel, step_index")
        return [rows.totals_from_row(r) for r in found]

    # -- internals --------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RecordError(f"session database {self._path}: the store is closed")
        return self._conn

    def _transaction(self, action: str) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        conn = self._connection()
        if self._read_only:
            raise RecordError(
                f"session database {self._path}: {action} refused: the store was opened read-only"
            )
        return write_transaction(conn, self._path, action)

    def _rows(self, table: str, session_id: int, order_by: str) -> list[sqlite3.Row]:
        """The rows of ``table`` that belong to an existing session, in ``order_by`` order.

        Raises:
            UnknownSession: no such session.
        """
        self.session(session_id)
        return self._query(
            f"SELECT * FROM {table} WHERE session_id = ? ORDER BY {order_by}", (session_id,)
        )

    def _query(self, sql: str, params: Sequence[object]) -> list[sqlite3.Row]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise record_error(self._path, "reading", err) from err

    def _require_running(
        self, conn: sqlite3.Connection, session_id: int, channels: Sequence[int | None] = ()
    ) -> None:
        row = conn.execute(
            "SELECT outcome, prescription_json FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise UnknownSession(session_id, str(self._path))
        if row["outcome"] != Outcome.RUNNING:
            raise RecordError(
                f"session database {self._path}: session {session_id} has ended "
                f"({row['outcome']}); no more records can be added to it"
            )
        if session_id not in self._channels:
            self._channels[session_id] = rows.prescription_channels(
                json.loads(row["prescription_json"])
            )
        defined = self._channels[session_id]
        for channel in channels:
            if channel is not None and channel not in defined:
                raise ParameterError(
                    "channel", channel, f"a channel of the prescription {sorted(defined)}"
                )
