"""The history screen: the sessions in the record and each one's report, read-only.

Read in a worker thread (``asyncio.to_thread``), from a read-only connection of its own: the
session's record writer is never touched, and nothing is marked or migrated. The list may be
filtered by patient id: the record's own query (``RecordStore.sessions(patient_id=…)``, any
case), simulated sessions included and marked (``eactl log list --patient`` leaves them out
unless ``--include-simulated``; the page marks each one "simulated"). A report is the
one ``eactl report ID`` prints (``build_report`` rendered as Markdown), shown as plain text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["HISTORY_LIMIT", "report_text", "sessions"]

HISTORY_LIMIT = 50
"""The newest sessions listed."""


def sessions(db: Path | str | None, patient: str | None = None) -> list[dict[str, Any]]:
    """The newest sessions, newest first (JSON-ready), only ``patient``'s if given (any case);
    none when the database does not exist."""
    from eacontrol.errors import RecordError
    from eacontrol.records import RecordStore

    try:
        store = RecordStore.open(db, read_only=True)
    except RecordError:  # no database yet: no session was run
        return []
    with store:
        return [
            {
                "session_id": s.id,
                "started_at": s.meta.started_at.isoformat(timespec="seconds"),
                "profile": s.meta.profile_name,
                "patient": s.meta.patient_id,
                "operator": s.meta.operator_id,
                "outcome": s.outcome.value,
                "detail": s.detail,
                "simulated": s.meta.simulated,
            }
            for s in store.sessions(patient_id=patient, limit=HISTORY_LIMIT)
        ]


def report_text(db: Path | str | None, session_id: int) -> str:
    """The session's report, as ``eactl report`` prints it.

    Raises:
        RecordError: no database, or no such session (``UnknownSession``).
    """
    from eacontrol.records import RecordStore, build_report, render_markdown

    with RecordStore.open(db, read_only=True) as store:
        return render_markdown(build_report(store, session_id))
