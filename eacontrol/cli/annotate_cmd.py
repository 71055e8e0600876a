"""``eactl annotate ID``: add an adverse event, a note or the patient's response to a
session's record, while it runs (from another terminal) or after it.

Built by ``eacontrol.records.new_annotation`` and stored by ``RecordStore.add_annotation`` (the
one home the live view uses too), stamped with the time it was added; the report prints it in
time order (Methods paragraph, "Adverse events and notes").
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError
from eacontrol.cli.records_cmd import add_db_option

__all__ = ["register"]

_SEVERITIES = ("mild", "moderate", "severe")
_RESPONSES = ("de_qi", "no_de_qi", "twitch", "comfortable", "uncomfortable", "too_strong")
"""``eacontrol.records.Response``'s values, repeated so that the help is built without importing
the records (sqlite3); a test checks that the two agree."""


def _annotate(args: argparse.Namespace) -> int:
    """Add an adverse event, a note or the patient's response to a session's record.

    During the session (from another terminal while it runs) or after it: --adverse-event KIND
    with --severity records an adverse event ("bleeding", "haematoma", "pain", "syncope");
    --response WORD the patient's response (de_qi, no_de_qi, twitch, comfortable,
    uncomfortable, too_strong), with --note TEXT or alone; --note TEXT alone a note. --at
    SECONDS is the session time it refers to (it may be after the session's end); without it
    the report places it by when it was added. The record keeps when it was added (UTC). Exit
    codes: 0 added, 1 invalid (the message names the field) or no such session, 2 usage, 3
    records error (database locked or read-only).
    """
    from eacontrol.records import RecordStore, Response, Severity, new_annotation, resolve_db_path

    adverse = args.adverse_event is not None
    if adverse and args.severity is None:
        raise UsageError("--adverse-event needs --severity mild|moderate|severe")
    if not adverse and args.severity is not None:
        raise UsageError("--severity belongs to an --adverse-event")
    if adverse and args.response is not None:
        raise UsageError("--response is the patient's response: give it without --adverse-event")
    if not adverse and args.note is None and args.response is None:
        raise UsageError(
            "give --adverse-event KIND --severity LEVEL, --response WORD, or --note TEXT"
        )
    annotation = new_annotation(
        datetime.now(UTC),
        note=args.note,
        response=None if args.response is None else Response(args.response),
        adverse_event=args.adverse_event,
        severity=None if args.severity is None else Severity(args.severity),
        t_s=args.at,
    )
    path = resolve_db_path(args.db)
    if not path.exists():
        raise CliError(f"no session database at {path} (give --db PATH)")
    with RecordStore.open(path) as store:
        store.session(args.id)  # UnknownSession before anything is written
        number = store.add_annotation(args.id, annotation)
    if adverse:
        what = f"adverse event ({args.severity} {args.adverse_event})"
    elif args.response is not None:
        what = f"patient response ({args.response.replace('_', ' ')})"
    else:
        what = "note"
    print(f"session {args.id}: {what} added as annotation {number}")
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``annotate`` to the command parsers."""
    parser = add_command(commands, "annotate", _annotate)
    parser.add_argument("id", type=int, metavar="ID", help="the session id (eactl log list)")
    parser.add_argument("--adverse-event", metavar="KIND", help="the adverse event, in words")
    parser.add_argument("--severity", choices=_SEVERITIES, help="the adverse event's severity")
    parser.add_argument(
        "--response", choices=_RESPONSES, help="the patient's response (with --note: details)"
    )
    parser.add_argument(
        "--at", type=float, metavar="SECONDS", help="the session time it refers to, s"
    )
    parser.add_argument("--note", metavar="TEXT", help="a note (with an adverse event: details)")
    add_db_option(parser)
