"""Issue 14, item 11: ``eactl log`` and ``eactl report`` open the database read-only.

Reading a record must never write it: no probe write, no migration, no session marked aborted
behind the operator's back (another eactl may be running a session on the file). A damaged,
foreign or locked database gives a message that says what is wrong and what to do, exit 3.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .conftest import Result

Eactl = Callable[..., Result]

_READS = (("log", "list"), ("log", "show", "1"), ("report", "1"))


def _opened_count(db: Path) -> int:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT value FROM store_info WHERE key = 'opened'").fetchone()[0])


def test_i14_11_log_and_report_never_write_the_database(eactl: Eactl, recorded_db: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    with sqlite3.connect(recorded_db) as conn:  # a session left running by a process now gone
        conn.execute(
            "UPDATE sessions SET outcome = 'running', ended_at = NULL, owner_pid = ?, "
            "owner_start = NULL WHERE id = 1",
            (dead.pid,),
        )
    opened = _opened_count(recorded_db)
    for argv in _READS:
        result = eactl(*argv, "--db", str(recorded_db))
        assert result.code == 0, result.err
    assert _opened_count(recorded_db) == opened  # no write transaction was taken
    with sqlite3.connect(recorded_db) as conn:
        assert conn.execute("SELECT outcome FROM sessions").fetchone()[0] == "running"


def test_i14_11_corrupt_database_is_a_clear_message_and_exit_3(
    eactl: Eactl, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite3"
    db.write_bytes(b"this is not a session database\n" * 200)
    for argv in _READS:
        result = eactl(*argv, "--db", str(db))
        assert result.code == 3, result.err
        assert str(db) in result.err
        assert "not a valid session database or is damaged" in result.err
        assert "Traceback" not in result.err and result.out == ""
    assert db.read_bytes() == b"this is not a session database\n" * 200  # left as it was


def test_i14_11_locked_database_is_a_clear_message_and_exit_3(
    eactl: Eactl, recorded_db: Path
) -> None:
    other = sqlite3.connect(recorded_db, isolation_level=None)
    try:
        # Another program holds the file exclusively (even WAL readers are shut out).
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE store_info SET value = value WHERE key = 'opened'")
        other.execute("COMMIT")  # exclusive locking mode keeps the lock after the commit
        result = eactl("log", "list", "--db", str(recorded_db))
    finally:
        other.close()
    assert result.code == 3, result.err
    assert "locked by another program" in result.err and str(recorded_db) in result.err
    assert "Traceback" not in result.err and result.out == ""
