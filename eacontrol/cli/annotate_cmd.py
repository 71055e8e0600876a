"""``eactl annotate ID``: add an adverse event or a note to a session's record.

The one record a session takes after its end (``RecordStore.add_annotation``), stamped with
the time it was added; the report prints it (Methods paragraph, "Adverse events and notes").
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError
from eacontrol.cli.records_cmd import add_db_option

__all__ = ["register"]

_SEVERITIES = ("mild", "moderate", "severe")


def _annotate(args: argparse.Namespace) -> int:
    """Add an adverse event or a note to a session's record.

    During or after the session: --adverse-event KIND with --severity records an adverse event
    ("bleeding", "haematoma", "pain", "syncope"), --note TEXT alone a note. --at SECONDS is the
    session time it refers to (it may be after the session's end); without it the time is not
    given. The record keeps when the annotation was added (UTC). Exit codes: 0 added, 1 invalid
    (the message names the field) or no such session, 2 usage, 3 records error (database
    locked or read-only).
    """
    from eacontrol.records import (
        Annotation,
        AnnotationKind,
        RecordStore,
        Severity,
        resolve_db_path,
    )

    adverse = args.adverse_event is not None
    if adverse and args.severity is None:
        raise UsageError("--adverse-event needs --severity mild|moderate|severe")
    if not adverse and args.severity is not None:
        raise UsageError("--severity belongs to an --adverse-event")
    if not adverse and args.note is None:
        raise UsageError("give --adverse-event KIND --severity LEVEL, or --note TEXT")
    annotation = Annotation(
        kind=AnnotationKind.ADVERSE_EVENT if adverse else AnnotationKind.NOTE,
        added_at=datetime.now(UTC),
        t_s=args.at,
        event=args.adverse_event,
        severity=None if args.severity is None else Severity(args.severity),
        note=args.note or "",
    )
    path = resolve_db_path(args.db)
    if not path.exists():
        raise CliError(f"no session database at {path} (give --db PATH)")
    with RecordStore.open(path) as store:
        store.session(args.id)  # UnknownSession before anything is written
        number = store.add_annotation(args.id, annotation)
    what = f"adverse event ({args.severity} {args.adverse_event})" if adverse else "note"
    print(f"session {args.id}: {what} added as annotation {number}")
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``annotate`` to the command parsers."""
    parser = add_command(commands, "annotate", _annotate)
    parser.add_argument("id", type=int, metavar="ID", help="the session id (eactl log list)")
    parser.add_argument("--adverse-event", metavar="KIND", help="the adverse event, in words")
    parser.add_argument("--severity", choices=_SEVERITIES, help="the adverse event's severity")
    parser.add_argument(
        "--at", type=float, metavar="SECONDS", help="the session time it refers to, s"
    )
    parser.add_argument("--note", metavar="TEXT", help="a note (with an adverse event: details)")
    add_db_option(parser)
