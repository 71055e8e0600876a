"""Opening the database file with every check done up front, and write transactions.

A problem with the file — a folder that cannot be made, a lock, a read-only file or folder, a
damaged or foreign file, a newer schema, a file system without WAL — is a ``RecordError`` here,
before any stimulation starts.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from eacontrol.errors import RecordError
from eacontrol.records import recovery, schema
from eacontrol.records.sqlite_errors import OTHER_DATABASE_HINT, primary_code, record_error

__all__ = ["open_checked", "open_read_only", "write_transaction"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def write_transaction(
    conn: sqlite3.Connection, path: Path, action: str
) -> Iterator[sqlite3.Connection]:
    """A write transaction (``BEGIN IMMEDIATE``): committed on success, else rolled back.

    Args:
        conn: an autocommit connection (``isolation_level=None``).
        path: the database file, for messages.
        action: what is being done, for messages (``"recording an event"``).

    Yields:
        The connection.

    Raises:
        RecordError: SQLite failed (translated by
            :func:`~eacontrol.records.sqlite_errors.record_error`).
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    except sqlite3.Error as err:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise record_error(path, action, err) from err


def _probe_write(conn: sqlite3.Connection) -> None:
    """Write a counter, committed with the opening transaction: proves writes land."""
    conn.execute(
        "INSERT INTO store_info (key, value) VALUES ('opened', '1') ON CONFLICT (key) "
        "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
    )


def _connect(db: Path, busy_timeout_s: float, threaded: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        db, timeout=busy_timeout_s, isolation_level=None, check_same_thread=not threaded
    )
    try:
        conn.row_factory = sqlite3.Row
        version = schema.check_file(conn, db)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RecordError(
                f"session database {db}: the file system does not support SQLite's WAL mode "
                f"(journal mode stays {mode}); put the database on a local disk"
            )
        # FULL: a committed record survives a power cut as well as a process crash.
        conn.execute("PRAGMA synchronous = FULL")
        with write_transaction(conn, db, "opening"):
            if version < schema.SCHEMA_VERSION:
                log.info("%s: schema version %d -> %d", db, version, schema.SCHEMA_VERSION)
                schema.migrate(conn, version)  # foreign keys off: a table rebuild must not cascade
            _probe_write(conn)
            recovery.abort_orphans(conn, db)
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def open_checked(db: Path, busy_timeout_s: float, *, threaded: bool = False) -> sqlite3.Connection:
    """Open the database at ``db``, creating or migrating it, and check it can hold a session.

    Checks, in order: the folder can be created; the file is an SQLite database of this
    application with a schema version this eacontrol reads; ``PRAGMA quick_check`` finds no
    damage; WAL can be turned on; a write transaction can be taken and committed (not locked,
    not read-only, disk not full). Then sessions left running by a process that is gone are
    marked ``aborted`` (:mod:`eacontrol.records.recovery`).

    Args:
        db: the file.
        busy_timeout_s: how long to wait for another process's write transaction.
        threaded: the connection will be used from another thread than this one (by one
            thread at a time: the session's record writer).

    Returns:
        An autocommit connection with ``sqlite3.Row`` rows, WAL, ``synchronous=FULL`` and
        foreign keys on.

    Raises:
        RecordError: the message names the file, the problem and what to do.
    """
    if db.is_dir():
        raise RecordError(f"session database {db}: is a folder; give a file path")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RecordError(
            f"session database {db}: cannot create its folder {db.parent} ({err}); "
            f"{OTHER_DATABASE_HINT}"
        ) from err
    try:
        return _connect(db, busy_timeout_s, threaded)
    except sqlite3.Error as err:
        raise record_error(db, "opening", err) from err


_READONLY = 8
_CANTOPEN = 14


def _connect_read_only(db: Path, busy_timeout_s: float, immutable: bool) -> sqlite3.Connection:
    flags = "mode=ro&immutable=1" if immutable else "mode=ro"
    conn = sqlite3.connect(
        f"{db.resolve().as_uri()}?{flags}", uri=True, timeout=busy_timeout_s, isolation_level=None
    )
    try:
        conn.row_factory = sqlite3.Row
        version = schema.check_file(conn, db)
    except BaseException:
        conn.close()
        raise
    if version < schema.SCHEMA_VERSION:
        conn.close()
        raise RecordError(
            f"session database {db}: schema version {version} is older than this eacontrol's "
            f"({schema.SCHEMA_VERSION}) and a read-only open cannot migrate it; open it once "
            "for writing to migrate it"
        )
    return conn


def open_read_only(db: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open an existing database for reading only: nothing is created, migrated or marked.

    For reports and exports from an archive, a copy or read-only media. On a read-only folder
    without a ``-wal`` file (so nobody can be writing), the file is read as immutable.

    Args:
        db: the file.
        busy_timeout_s: how long to wait for another process's lock.

    Returns:
        A read-only connection with ``sqlite3.Row`` rows.

    Raises:
        RecordError: the file is missing, damaged, another application's, of another schema
            version, or cannot be read.
    """
    if not db.is_file():
        raise RecordError(f"session database {db}: no such file; {OTHER_DATABASE_HINT}")
    try:
        return _connect_read_only(db, busy_timeout_s, immutable=False)
    except sqlite3.Error as err:
        wal = db.with_name(db.name + "-wal")
        if primary_code(err) not in (_READONLY, _CANTOPEN) or wal.exists():
            raise record_error(db, "opening read-only", err) from err
    log.info("%s: read-only folder; reading the file as immutable", db)
    try:
        return _connect_read_only(db, busy_timeout_s, immutable=True)
    except sqlite3.Error as err:
        raise record_error(db, "opening read-only", err) from err
