"""A locked, read-only or damaged database is a RecordError at open, before any session.

Each message names the file, says what is wrong and what to do.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import RecordError
from eacontrol.records import EventRecord, Outcome, RecordStore, Sample, SessionMeta

Unprivileged = Callable[[], contextlib.AbstractContextManager[None]]
NOBODY = 65534


def _make_db(path: Path, meta: SessionMeta | None = None, samples: int = 0) -> None:
    with RecordStore.open(path) as store:
        if meta is not None:
            session_id = store.begin_session(meta)
            batch = [Sample(float(t), 1, 1.0, 1.0, 900.0) for t in range(samples)]
            store.record_samples(session_id, batch)
            store.end_session(session_id, Outcome.COMPLETED, meta.started_at)


def _give(path: Path) -> None:
    """Make ``path`` belong to the unprivileged user when running as root."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def _refusal(path: Path, as_user: Unprivileged | None = None) -> str:
    """The message of the RecordError ``RecordStore.open(path)`` raises (as the unprivileged user
    when ``as_user`` is given), checked to name the file."""
    with as_user() if as_user else contextlib.nullcontext(), pytest.raises(RecordError) as caught:
        RecordStore.open(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_locked_database_is_refused_at_open(db_path: Path) -> None:
    _make_db(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    try:
        with pytest.raises(RecordError) as caught:
            RecordStore.open(db_path, busy_timeout_s=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(caught.value)
    assert str(db_path) in message
    assert "locked by another program" in message
    assert "EACONTROL_DB" in message


def test_exclusively_locked_rollback_journal_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # not even readers get in
    try:
        with pytest.raises(RecordError, match="locked by another program"):
            RecordStore.open(path, busy_timeout_s=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_session_recording_does_not_lock_out_another_open(
    db_path: Path, make_meta: Callable[..., SessionMeta]
) -> None:
    with RecordStore.open(db_path) as running:
        session_id = running.begin_session(make_meta())
        running.record_event(session_id, EventRecord(1.0, "progress", None, "running"))
        with RecordStore.open(db_path, busy_timeout_s=0.05) as other:
            # Same live process: left running, readable from the other store.
            assert other.session(session_id).outcome is Outcome.RUNNING
            assert len(other.events(session_id)) == 1


def test_lock_held_mid_session_is_a_record_error_not_a_silent_loss(
    db_path: Path, make_meta: Callable[..., SessionMeta]
) -> None:
    with RecordStore.open(db_path, busy_timeout_s=0.05) as store:
        session_id = store.begin_session(make_meta())
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(RecordError, match=r"recording an event failed.*locked"):
                store.record_event(session_id, EventRecord(2.0, "fault", 1, "electrode"))
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        store.record_event(session_id, EventRecord(2.0, "fault", 1, "electrode"))
        assert [e.t_s for e in store.events(session_id)] == [2.0]


def test_read_only_file_is_refused(
    shared_dir: Path, make_meta: Callable[..., SessionMeta], unprivileged: Unprivileged
) -> None:
    path = shared_dir / "sessions.sqlite3"
    _make_db(path, make_meta())
    _give(shared_dir)  # the folder stays writable for the user; the file does not
    path.chmod(0o444)
    message = _refusal(path, unprivileged)
    assert "read-only" in message and "writable" in message


def test_existing_database_in_read_only_folder_is_refused(
    shared_dir: Path, make_meta: Callable[..., SessionMeta], unprivileged: Unprivileged
) -> None:
    folder = shared_dir / "ro"
    folder.mkdir()
    path = folder / "sessions.sqlite3"
    _make_db(path, make_meta())
    _give(path)  # the file is writable for the user; its folder is not (no -wal/-shm)
    folder.chmod(0o555)
    message = _refusal(path, unprivileged)
    assert "sessions.sqlite3-wal" in message and "writable" in message


def test_new_database_in_read_only_folder_is_refused(
    shared_dir: Path, unprivileged: Unprivileged
) -> None:
    folder = shared_dir / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    path = folder / "sessions.sqlite3"
    assert "writable" in _refusal(path, unprivileged)
    assert not path.exists()


def test_folder_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordError, match="cannot create its folder"):
        RecordStore.open(blocker / "sub" / "sessions.sqlite3")


def test_a_folder_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="is a folder"):
        RecordStore.open(tmp_path)


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "noise.sqlite3"
    path.write_bytes(random.Random(7).randbytes(8192))
    message = _refusal(path)
    assert "not a valid session database or is damaged" in message
    assert ".recover" in message
    assert path.read_bytes() == random.Random(7).randbytes(8192)  # left as found


def test_damaged_page_is_found_before_a_session(
    db_path: Path, make_meta: Callable[..., SessionMeta]
) -> None:
    _make_db(db_path, make_meta(), samples=2000)
    page = sqlite3.connect(db_path).execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(db_path.read_bytes())
    pages = len(data) // page
    assert pages > 4
    at = (pages - 2) * page  # a page of the samples table, well past the schema
    data[at : at + page] = random.Random(3).randbytes(page)
    db_path.write_bytes(bytes(data))
    assert "damaged" in _refusal(db_path)
