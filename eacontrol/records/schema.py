"""The session database's schema, its version and its migrations.

The file identifies itself with ``PRAGMA application_id`` (``EACT``) and carries its schema
version in ``PRAGMA user_version`` (STYLE.md 6: stored files carry a version checked on load).
``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1``; version 0 is an empty file. A
migration's text never changes once released: a later change is a new migration.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eacontrol.errors import RecordError
from eacontrol.records.sqlite_errors import OTHER_DATABASE_HINT, corrupt_advice

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "TABLES", "check_file", "migrate"]

APPLICATION_ID = 0x45414354
"""``PRAGMA application_id`` of a session database: "EACT" in ASCII."""


def _sessions_table(name: str, outcome: str) -> str:
    # One column list for version 1's table and version 2's rebuild of it, which copies every
    # row with ``SELECT *`` (so the columns stay the same, in the same order) and changes only
    # the outcome's CHECK. Released text, as the migrations it builds: never edited.
    return f"""CREATE TABLE {name} (
        id INTEGER PRIMARY KEY,
        profile_name TEXT NOT NULL,
        profile_version TEXT NOT NULL,
        profile_hash TEXT NOT NULL,
        prescription_json TEXT NOT NULL,
        device_model TEXT NOT NULL,
        device_serial TEXT NOT NULL,
        firmware_version TEXT NOT NULL,
        boot_id INTEGER NOT NULL,
        port TEXT NOT NULL,
        simulated INTEGER NOT NULL CHECK (simulated IN (0, 1)),
        operator_id TEXT,
        patient_id TEXT,
        software_version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        {outcome},
        detail TEXT NOT NULL DEFAULT '',
        owner_pid INTEGER NOT NULL,
        owner_host TEXT NOT NULL,
        owner_start TEXT
    )"""


_V1 = (
    """CREATE TABLE store_info (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    _sessions_table(
        "sessions",
        """outcome TEXT NOT NULL CHECK (outcome IN ('running', 'completed', 'stopped',
            'emergency_stop', 'fault', 'link_lost', 'stop_not_confirmed', 'error', 'aborted'))""",
    ),
    "CREATE INDEX sessions_by_patient ON sessions (patient_id, started_at)",
    "CREATE INDEX sessions_by_outcome ON sessions (outcome)",
    """CREATE TABLE steps (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        step_index INTEGER NOT NULL,
        name TEXT NOT NULL,
        mode TEXT NOT NULL,
        started_s REAL NOT NULL,
        ended_s REAL,
        parameters_json TEXT NOT NULL,
        PRIMARY KEY (session_id, step_index)
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t_s REAL NOT NULL,
        kind TEXT NOT NULL,
        channel INTEGER,
        message TEXT NOT NULL,
        data_json TEXT NOT NULL
    )""",
    "CREATE INDEX events_by_session ON events (session_id, id)",
    """CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t_s REAL NOT NULL,
        channel INTEGER NOT NULL,
        set_mA REAL NOT NULL,
        measured_mA REAL NOT NULL,
        impedance_ohm REAL
    )""",
    "CREATE INDEX samples_by_session ON samples (session_id, t_s, channel)",
    """CREATE TABLE totals (
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        step_index INTEGER,
        channel INTEGER NOT NULL,
        pulses_a INTEGER NOT NULL,
        pulses_b INTEGER NOT NULL,
        time_a_s REAL NOT NULL,
        time_b_s REAL NOT NULL,
        charge_pos_uC REAL NOT NULL,
        charge_neg_uC REAL NOT NULL,
        net_charge_uC REAL NOT NULL,
        peak_mA REAL NOT NULL,
        rms_mA REAL NOT NULL,
        on_time_s REAL NOT NULL
    )""",
    "CREATE INDEX totals_by_session ON totals (session_id, channel, step_index)",
)

_V2 = (
    # Outcomes are the application's Outcome enum, checked when a row is read: a new outcome
    # (records_unavailable, ...) needs no table rebuild. SQLite cannot drop a CHECK, so the
    # table is rebuilt (https://sqlite.org/lang_altertable.html#otheralter); foreign keys are
    # off while it runs (connection.py turns them on after the opening transaction).
    _sessions_table("sessions_v2", "outcome TEXT NOT NULL CHECK (outcome <> '')"),
    "INSERT INTO sessions_v2 SELECT * FROM sessions",
    "DROP TABLE sessions",
    "ALTER TABLE sessions_v2 RENAME TO sessions",
    "CREATE INDEX sessions_by_patient ON sessions (patient_id, started_at)",
    "CREATE INDEX sessions_by_outcome ON sessions (outcome)",
    "CREATE INDEX sessions_by_device ON sessions (device_serial, started_at)",
    # The device time (uptime from the STATUS) each sample was measured at; NULL before v2.
    "ALTER TABLE samples ADD COLUMN device_uptime_s REAL",
    # 1: read from the device at the next connect, after the session was interrupted.
    "ALTER TABLE totals ADD COLUMN read_after INTEGER NOT NULL DEFAULT 0 "
    "CHECK (read_after IN (0, 1))",
    # A sample period without a fresh STATUS: recorded as missing, never filled.
    """CREATE TABLE sample_gaps (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        t_s REAL NOT NULL,
        status_age_s REAL,
        reason TEXT NOT NULL
    )""",
    "CREATE INDEX sample_gaps_by_session ON sample_gaps (session_id, t_s)",
)

_V3 = (
    # The device's compliance voltage from its HELLO_ACK (NULL before v3: not recorded).
    "ALTER TABLE sessions ADD COLUMN compliance_V REAL",
    # The practitioner's account: intensity aim and STRICTA items (clinical.ClinicalDetails).
    "ALTER TABLE sessions ADD COLUMN clinical_json TEXT NOT NULL DEFAULT '{}'",
    # Adverse events and notes, added at or after the session: the one record an ended session
    # still takes, stamped with when it was added.
    """CREATE TABLE annotations (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        added_at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('adverse_event', 'note')),
        t_s REAL,
        event TEXT,
        severity TEXT CHECK (severity IS NULL OR severity IN ('mild', 'moderate', 'severe')),
        note TEXT NOT NULL DEFAULT '',
        CHECK ((kind = 'adverse_event') = (event IS NOT NULL AND severity IS NOT NULL))
    )""",
    "CREATE INDEX annotations_by_session ON annotations (session_id, id)",
)

_V4 = (
    # The patient's response of a note (clinical.Response: de qi, twitch, comfort), NULL for
    # none; the vocabulary is the application's enum, checked when a row is read, so a new
    # word needs no table rebuild (as the outcomes of v2).
    "ALTER TABLE annotations ADD COLUMN response TEXT CHECK (response IS NULL OR response <> '')",
)

_V5 = (
    # The session's place in a study: condition, arm, tags (study.Study), '{}' when not given.
    "ALTER TABLE sessions ADD COLUMN study_json TEXT NOT NULL DEFAULT '{}'",
)

_V6 = (
    # The device time (uptime) of an event where the device told it: its EVENT's uptime, or
    # the STATUS it was learned from (issue 17); NULL for the host's own events and before v6.
    "ALTER TABLE events ADD COLUMN device_uptime_s REAL",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
"""``MIGRATIONS[n]``: the statements that take the schema from version ``n`` to ``n + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this eacontrol writes."""

TABLES = frozenset(
    {
        "store_info",
        "sessions",
        "steps",
        "events",
        "samples",
        "totals",
        "sample_gaps",
        "annotations",
    }
)
"""Tables of the current schema."""


def _not_ours(path: Path, why: str) -> RecordError:
    return RecordError(
        f"session database {path}: {why}, so it is not an eacontrol session database; "
        f"{OTHER_DATABASE_HINT}"
    )


def check_file(conn: sqlite3.Connection, path: Path) -> int:
    """Check that the file is an eacontrol session database this version can use.

    Runs ``PRAGMA quick_check`` on existing files: a damaged page is found before a session
    starts, not when a record is written to it.

    Args:
        conn: a connection to the file.
        path: the file, for messages.

    Returns:
        The file's schema version (0 for an empty file).

    Raises:
        RecordError: another application's database, a newer schema, or a damaged file.
        sqlite3.Error: the file cannot be read (locked, not a database); the caller translates.
    """
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == 0 and not tables and version == 0:
        return 0
    if app_id != APPLICATION_ID:
        raise _not_ours(path, f"its application id is {app_id:#010x}")
    if version > SCHEMA_VERSION:
        raise RecordError(
            f"session database {path}: schema version {version} was written by a newer "
            f"eacontrol (this one reads up to {SCHEMA_VERSION}); upgrade eacontrol, "
            f"{OTHER_DATABASE_HINT}"
        )
    problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        shown = "; ".join(str(p) for p in problems[:3])
        raise RecordError(f"session database {path}: {shown}; {corrupt_advice()}")
    if version == SCHEMA_VERSION and not tables >= TABLES:
        missing = ", ".join(sorted(TABLES - tables))
        raise RecordError(
            f"session database {path}: tables missing ({missing}); {corrupt_advice()}"
        )
    return int(version)


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring the schema from ``version`` to :data:`SCHEMA_VERSION`.

    Must run inside the caller's write transaction, so a failed migration leaves the file as it
    was (SQLite's DDL is transactional).

    Args:
        conn: a connection inside ``BEGIN IMMEDIATE``.
        version: the file's version from :func:`check_file`.
    """
    for statements in MIGRATIONS[version:]:
        for statement in statements:
            conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
