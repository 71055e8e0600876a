"""Opening read-only: reports and exports from an archive, a copy or read-only media."""

from __future__ import annotations

import contextlib
import io
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import RecordError
from eacontrol.records import (
    EventRecord,
    Outcome,
    RecordStore,
    SessionMeta,
    build_report,
    export_events_csv,
)

MakeMeta = Callable[..., SessionMeta]
Unprivileged = Callable[[], contextlib.AbstractContextManager[None]]


def test_reads_everything_and_refuses_every_write(
    db_path: Path, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    with RecordStore.open(db_path) as store:
        session_id = record_session(store, make_meta())
    with RecordStore.open(db_path, read_only=True) as store:
        assert store.read_only
        assert [s.id for s in store.sessions()] == [session_id]
        assert build_report(store, session_id)["session"]["outcome"] == "completed"
        assert export_events_csv(store, session_id, io.StringIO()) == 5
        with pytest.raises(RecordError, match=r"beginning a session refused: .* read-only"):
            store.begin_session(make_meta())
        with pytest.raises(RecordError, match="read-only"):
            store.record_event(session_id, EventRecord(0.0, "x", None, ""))
    with RecordStore.open(db_path) as store:
        assert len(store.sessions()) == 1


def test_does_not_mark_crashed_sessions(db_path: Path, make_meta: MakeMeta) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE sessions SET owner_pid = ?, owner_start = NULL", (dead.pid,))
    conn.commit()
    conn.close()
    with RecordStore.open(db_path, read_only=True) as store:
        assert store.session(session_id).outcome is Outcome.RUNNING
    with RecordStore.open(db_path) as store:
        assert store.session(session_id).outcome is Outcome.ABORTED


def test_reads_a_database_on_a_read_only_folder(
    shared_dir: Path, make_meta: MakeMeta, unprivileged: Unprivileged
) -> None:
    folder = shared_dir / "archive"
    folder.mkdir()
    path = folder / "sessions.sqlite3"
    with RecordStore.open(path) as store:
        session_id = store.begin_session(make_meta())
        store.end_session(session_id, Outcome.COMPLETED, make_meta().started_at)
    path.chmod(0o444)
    folder.chmod(0o555)
    with unprivileged():
        with pytest.raises(RecordError, match="read-only"):
            RecordStore.open(path)
        with RecordStore.open(path, read_only=True) as store:
            assert store.session(session_id).outcome is Outcome.COMPLETED
    assert sorted(os.listdir(folder)) == ["sessions.sqlite3"]


def test_missing_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "none.sqlite3"
    with pytest.raises(RecordError, match="no such file"):
        RecordStore.open(path, read_only=True)
    assert not path.exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "schema version 0 is older"),
        (random.Random(5).randbytes(4096), "damaged"),
    ],
)
def test_unusable_files_are_refused(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "s.sqlite3"
    path.write_bytes(content)
    with pytest.raises(RecordError, match=match):
        RecordStore.open(path, read_only=True)
    assert path.read_bytes() == content


def test_readers_see_a_session_while_it_records(db_path: Path, make_meta: MakeMeta) -> None:
    with RecordStore.open(db_path) as writer:
        session_id = writer.begin_session(make_meta())
        writer.record_event(session_id, EventRecord(1.0, "progress", None, "ramp"))
        with RecordStore.open(db_path, read_only=True) as reader:
            assert [e.message for e in reader.events(session_id)] == ["ramp"]
            writer.record_event(session_id, EventRecord(2.0, "progress", None, "plateau"))
            assert len(reader.events(session_id)) == 2
