"""Issue 14: schema version 2 (device time of samples, missing samples, totals read afterwards,
the records_unavailable outcome) migrates a version-1 file without losing a record."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import RecordError
from eacontrol.records import (
    ChannelTotals,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SampleGap,
    SessionMeta,
)
from eacontrol.records.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION

MakeMeta = Callable[..., SessionMeta]


def _version_1_file(path: Path, make_meta: MakeMeta) -> int:
    """A file as eacontrol wrote it before issue 14, holding one session with a sample and an
    event."""
    with RecordStore.open(path) as store:
        session_id = store.begin_session(make_meta())
    # Rebuild it as version 1 exactly: version 1's statements, then the rows copied over.
    old = path.with_name("v1.sqlite3")
    conn = sqlite3.connect(old, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("ATTACH DATABASE ? AS new", (str(path),))
    columns = ", ".join(
        row[1]
        for row in conn.execute("PRAGMA table_info(sessions)")  # version 1's columns
    )
    conn.execute(f"INSERT INTO sessions SELECT {columns} FROM new.sessions")
    conn.execute(
        "INSERT INTO samples (session_id, t_s, channel, set_mA, measured_mA, impedance_ohm) "
        "VALUES (?, 1.0, 1, 2.0, 1.98, 850.0)",
        (session_id,),
    )
    conn.execute(
        "INSERT INTO events (session_id, t_s, kind, channel, message, data_json) "
        "VALUES (?, 0.5, 'progress', NULL, 'step 1 started', '{}')",
        (session_id,),
    )
    conn.execute("DETACH DATABASE new")
    conn.close()
    return session_id


def test_i14_09_schema_v2_migrates_a_version_1_file_keeping_every_record(
    tmp_path: Path, make_meta: MakeMeta
) -> None:
    session_id = _version_1_file(tmp_path / "new.sqlite3", make_meta)
    path = tmp_path / "v1.sqlite3"
    with RecordStore.open(path) as store:
        assert store.session(session_id).meta == make_meta()
        assert store.samples(session_id) == [Sample(1.0, 1, 2.0, 1.98, 850.0, None)]
        # The device times version 1 did not record stay unknown (schema v2, v6).
        (event,) = store.events(session_id)
        assert event == EventRecord(0.5, "progress", None, "step 1 started", {}, None)
        store.record_samples(session_id, [Sample(2.0, 1, 2.0, 1.99, 850.0, 12.5)])
        store.record_gaps(session_id, [SampleGap(3.0, 0.9, "no STATUS for 0.9 s")])
        store.record_totals(
            session_id, [ChannelTotals(1, 4, 0, 2.0, 0.0, 1.0, 1.0, 0.0, 2.0, 0.1, 2.0, 0)]
        )
        store.end_session(
            session_id, Outcome.RECORDS_UNAVAILABLE, make_meta().started_at, "records unavailable"
        )
        assert store.session(session_id).outcome is Outcome.RECORDS_UNAVAILABLE
        assert store.samples(session_id)[-1].device_uptime_s == 12.5
        assert store.gaps(session_id) == [SampleGap(3.0, 0.9, "no STATUS for 0.9 s")]
        assert store.totals(session_id)[0].read_after is False
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_i14_10_totals_read_afterwards_only_for_an_aborted_session(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())
    totals = [ChannelTotals(1, 4, 0, 2.0, 0.0, 1.0, 1.0, 0.0, 2.0, 0.1, 2.0, 0, read_after=True)]
    with pytest.raises(RecordError, match="only for aborted sessions"):
        store.add_totals_read_after(session_id, totals, "read at the next connect")
    store._connection().execute(
        "UPDATE sessions SET owner_host = 'other-pc' WHERE id = ?", (session_id,)
    )
    store.mark_aborted(session_id, "the PC lost power")
    store.add_totals_read_after(session_id, totals, "read at the next connect")
    assert store.totals(session_id) == totals
    assert store.session(session_id).detail.endswith("; read at the next connect")
