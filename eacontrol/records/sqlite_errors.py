"""Translate sqlite3 errors into a ``RecordError`` that says what is wrong and what to do.

SQLite result codes (https://sqlite.org/rescode.html): the primary code is the low byte of the
extended code that Python 3.11+ puts in ``sqlite3.Error.sqlite_errorcode``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eacontrol.errors import RecordError
from eacontrol.records.paths import DB_ENV_VAR

__all__ = ["OTHER_DATABASE_HINT", "corrupt_advice", "primary_code", "record_error"]

_PERM = 3
_BUSY = 5
_LOCKED = 6
_READONLY = 8
_IOERR = 10
_CORRUPT = 11
_FULL = 13
_CANTOPEN = 14
_NOTADB = 26

OTHER_DATABASE_HINT = f"or use another database (--db, or the {DB_ENV_VAR} environment variable)"
"""The way out of any database problem, for the end of an error message."""
_SIDECARS = "SQLite also writes {name}-wal and {name}-shm beside it"


def _advice(code: int, path: Path) -> str:
    sidecars = _SIDECARS.format(name=path.name)
    if code in (_BUSY, _LOCKED):
        return (
            "it is locked by another program (another eactl running a session, or a tool "
            f"holding a write transaction); close that program and retry, {OTHER_DATABASE_HINT}"
        )
    if code in (_READONLY, _PERM):
        return (
            "it is read-only: make the file and its folder writable by this user "
            f"({sidecars}), {OTHER_DATABASE_HINT}"
        )
    if code == _CANTOPEN:
        return (
            "it cannot be opened: check that its folder exists and is writable "
            f"({sidecars}), {OTHER_DATABASE_HINT}"
        )
    if code in (_CORRUPT, _NOTADB):
        return corrupt_advice()
    if code == _FULL:
        return f"the disk is full: free space, {OTHER_DATABASE_HINT}"
    if code == _IOERR:
        return f"the disk reported an I/O error: check the disk, {OTHER_DATABASE_HINT}"
    return f"check the file, {OTHER_DATABASE_HINT}"


def corrupt_advice() -> str:
    """What to do about a damaged database file."""
    return (
        "it is not a valid session database or is damaged: move it aside (keep it: "
        "'sqlite3 FILE .recover' may rescue its records) so a new one is created, "
        f"{OTHER_DATABASE_HINT}"
    )


def primary_code(err: sqlite3.Error) -> int:
    """SQLite's primary result code of ``err`` (-1 when it carries none)."""
    code = getattr(err, "sqlite_errorcode", None)
    return -1 if code is None else int(code) & 0xFF


def record_error(path: Path, action: str, err: sqlite3.Error) -> RecordError:
    """A ``RecordError`` for ``err``, raised while doing ``action`` on the database at ``path``.

    Args:
        path: the database file.
        action: what was being done, e.g. ``"opening"`` or ``"recording an event"``.
        err: the sqlite3 error.

    Returns:
        The error to raise (``raise record_error(...) from err``).
    """
    primary = primary_code(err)
    name = getattr(err, "sqlite_errorname", type(err).__name__)
    return RecordError(
        f"session database {path}: {action} failed ({name}: {err}); {_advice(primary, path)}"
    )
