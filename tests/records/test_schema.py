"""Schema creation, migration from version 0, identity and version checks, WAL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import RecordError
from eacontrol.records import SCHEMA_VERSION, RecordStore, SessionMeta
from eacontrol.records.schema import APPLICATION_ID, MIGRATIONS, TABLES


def _pragmas(path: Path) -> tuple[int, int, str, set[str]]:
    conn = sqlite3.connect(path)
    try:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    return app, version, mode, tables


def test_schema_version_counts_the_migrations() -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 1


def test_new_file_gets_the_current_schema_in_wal_mode(db_path: Path) -> None:
    with RecordStore.open(db_path):
        pass
    app, version, mode, tables = _pragmas(db_path)
    assert (app, version, mode) == (APPLICATION_ID, SCHEMA_VERSION, "wal")
    assert tables == TABLES


def test_migrates_an_empty_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with RecordStore.open(path) as store:
        assert store.sessions() == []
    assert _pragmas(path)[1:] == (SCHEMA_VERSION, "wal", TABLES)


def test_migrates_an_empty_version_0_database(tmp_path: Path) -> None:
    path = tmp_path / "v0.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 0")
    conn.execute("VACUUM")  # writes a valid, empty database file
    conn.close()
    assert path.stat().st_size > 0
    with RecordStore.open(path):
        pass
    assert _pragmas(path) == (APPLICATION_ID, SCHEMA_VERSION, "wal", set(TABLES))


def test_reopening_keeps_records(db_path: Path, make_meta: Callable[..., SessionMeta]) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
    with RecordStore.open(db_path) as store:
        assert store.session(session_id).meta == make_meta()


def test_wal_and_full_sync_on_the_store_connection(store: RecordStore) -> None:
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_newer_schema_version_is_refused(db_path: Path) -> None:
    with RecordStore.open(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RecordError) as caught:
        RecordStore.open(db_path)
    message = str(caught.value)
    assert str(db_path) in message
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "newer eacontrol" in message and "upgrade" in message


def test_another_applications_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(RecordError, match="not an eacontrol session database"):
        RecordStore.open(path)
    # Refused, not converted: the foreign file is untouched.
    assert _pragmas(path)[0:2] == (0, 0)


def test_foreign_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.close()
    with pytest.raises(RecordError, match="application id is 0x000004d2"):
        RecordStore.open(path)


def test_missing_tables_are_reported_as_damage(db_path: Path) -> None:
    with RecordStore.open(db_path):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE samples")
    conn.commit()
    conn.close()
    with pytest.raises(RecordError, match=r"tables missing \(samples\)"):
        RecordStore.open(db_path)
