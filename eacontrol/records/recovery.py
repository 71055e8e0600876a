"""Marking interrupted sessions ``aborted``: what a crash leaves behind is closed on next open.

A session's records are committed as they happen, so a crash loses nothing already recorded;
only its end is missing. When the store is opened, each session still marked running whose
owner process is gone (:meth:`ProcessOwner.is_gone`: this host only) is marked aborted, ending
at its last record (event, sample or step time), with a detail saying so. A session whose
owner is alive — another eactl running a session on the same file — is left alone.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from eacontrol.records.model import Outcome
from eacontrol.records.owner import ProcessOwner
from eacontrol.records.rows import iso

__all__ = ["abort_orphans", "abort_session"]

log = logging.getLogger(__name__)


def abort_orphans(conn: sqlite3.Connection, path: Path) -> list[int]:
    """Mark aborted every running session whose owner process on this host is gone.

    Args:
        conn: a connection inside the caller's write transaction.
        path: the database file, for the log.

    Returns:
        The ids of the sessions marked.
    """
    running = conn.execute(
        "SELECT id, started_at, owner_pid, owner_host, owner_start FROM sessions WHERE outcome = ?",
        (Outcome.RUNNING.value,),
    ).fetchall()
    marked = []
    for session_id, started_at, pid, host, start_marker in running:
        owner = ProcessOwner(pid, host, start_marker)
        if not owner.is_gone():
            log.info("%s: session %d runs in process %d on %s", path, session_id, pid, host)
            continue
        detail = (
            f"interrupted: process {pid} on {host} ended without closing the session "
            "(crash, kill or power loss); marked aborted when the database was next opened"
        )
        abort_session(conn, path, session_id, datetime.fromisoformat(started_at), detail)
        marked.append(session_id)
    return marked


def abort_session(
    conn: sqlite3.Connection, path: Path, session_id: int, started: datetime, detail: str
) -> None:
    """Mark one session aborted, ending at its last record (its start if it has none).

    Args:
        conn: a connection inside the caller's write transaction.
        path: the database file, for the log.
        session_id: the session.
        started: its start.
        detail: why; the time of the last record is appended.
    """
    last_s = conn.execute(
        "SELECT max(t) FROM (SELECT max(t_s) AS t FROM events WHERE session_id = :id "
        "UNION ALL SELECT max(t_s) FROM samples WHERE session_id = :id "
        "UNION ALL SELECT max(coalesce(ended_s, started_s)) FROM steps "
        "WHERE session_id = :id)",
        {"id": session_id},
    ).fetchone()[0]
    last_s = max(0.0, last_s or 0.0)
    conn.execute(
        "UPDATE sessions SET outcome = ?, ended_at = ?, detail = ? WHERE id = ?",
        (
            Outcome.ABORTED.value,
            iso(started + timedelta(seconds=last_s)),
            f"{detail}; last record at t = {last_s:.1f} s",
            session_id,
        ),
    )
    log.warning("%s: session %d marked aborted: %s", path, session_id, detail)
