"""``eactl log list|show|export`` and ``eactl report``: the session records.

Every command takes ``--db PATH``; without it the database is ``$EACONTROL_DB``, else the XDG
data folder, exactly as the library resolves it (``eacontrol.records.resolve_db_path``). A
database that does not exist is never created by these commands: ``log list`` says there are no
sessions, the others refuse (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from eacontrol.cli.command import Commands, Handler, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError
from eacontrol.cli.output import printable
from eacontrol.cli.table import duration_text, number, render_table

if TYPE_CHECKING:
    from eacontrol.records import RecordStore, SessionSummary

__all__ = ["DB_ENV_VAR", "add_db_option", "register", "session_record"]

DB_ENV_VAR = "EACONTROL_DB"
"""``eacontrol.records.DB_ENV_VAR``, repeated so that the help is built without importing the
records (sqlite3, pydantic); a test checks that the two agree."""

_READ_BUSY_TIMEOUT_s = 2.0
"""Design value: how long a read waits for another program's exclusive lock before it gives up
with a clear message (a session's own writes never block a read: WAL)."""

_CSV_TABLES = ("samples", "events", "totals")
"""The tables ``log export --format csv --table`` takes."""


def _csv_exporter(table: str) -> Callable[[RecordStore, int, TextIO], int]:
    """The function that writes the CSV table ``table`` (one of :data:`_CSV_TABLES`)."""
    from eacontrol.records import export_events_csv, export_samples_csv, export_totals_csv

    exporters: dict[str, Callable[[RecordStore, int, TextIO], int]] = {
        "samples": export_samples_csv,
        "events": export_events_csv,
        "totals": export_totals_csv,
    }
    return exporters[table]


def add_db_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--db PATH`` (the session database) to a command's parser."""
    parser.add_argument(
        "--db",
        metavar="PATH",
        help=f"the session database (default ${DB_ENV_VAR}, else "
        "$XDG_DATA_HOME/eacontrol/sessions.sqlite3)",
    )


def _existing_db(args: argparse.Namespace) -> Path | None:
    from eacontrol.records import resolve_db_path

    path = resolve_db_path(args.db)
    return path if path.exists() else None


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[RecordStore]:
    from eacontrol.records import RecordStore, resolve_db_path

    path = _existing_db(args)
    if path is None:
        raise CliError(
            f"no session database at {resolve_db_path(args.db)} (give --db PATH or set "
            f"{DB_ENV_VAR})"
        )
    with RecordStore.open(path, read_only=True, busy_timeout_s=_READ_BUSY_TIMEOUT_s) as store:
        yield store


@contextmanager
def _output(target: str | None, csv: bool = False) -> Iterator[TextIO]:
    """The file ``-o`` names (UTF-8), else stdout."""
    if target is None or target == "-":
        yield sys.stdout
        return
    try:
        handle = open(target, "w", encoding="utf-8", newline="" if csv else None)  # noqa: SIM115
    except OSError as err:
        raise CliError(f"cannot write {target}: {err.strerror}") from err
    with handle:
        yield handle


def _length(summary: SessionSummary) -> str:
    """The session's length; ``>=`` for an aborted one (known only up to its last record)."""
    text = duration_text(summary.duration_s)
    return f">={text}" if summary.outcome.value == "aborted" else text


def session_record(summary: SessionSummary) -> dict[str, object]:
    """One session as ``log list --json`` prints it."""
    meta = summary.meta
    return {
        "id": summary.id,
        "started_at": meta.started_at.isoformat(),
        "ended_at": None if summary.ended_at is None else summary.ended_at.isoformat(),
        "duration_s": summary.duration_s,
        "outcome": summary.outcome.value,
        "detail": summary.detail,
        "profile_name": meta.profile_name,
        "patient_id": meta.patient_id,
        "operator_id": meta.operator_id,
        "device_serial": meta.device_serial,
        "port": meta.port,
        "simulated": meta.simulated,
    }


def _list(args: argparse.Namespace) -> int:
    """List sessions, newest first."""
    from eacontrol.records import RecordStore, resolve_db_path
    from eacontrol.records.fmt import local_time

    path = _existing_db(args)
    summaries: list[SessionSummary] = []
    with_simulated: list[SessionSummary] = []
    if path is not None:
        # A patient's history is treatment delivered: simulated sessions only on request.
        simulated = args.include_simulated or args.patient is None
        with RecordStore.open(path, read_only=True, busy_timeout_s=_READ_BUSY_TIMEOUT_s) as store:
            summaries = store.sessions(
                patient_id=args.patient, limit=args.limit, simulated=simulated
            )
            with_simulated = summaries if simulated else store.sessions(patient_id=args.patient)
    if args.json:
        print(json.dumps([session_record(s) for s in summaries], indent=2, ensure_ascii=False))
        return int(ExitCode.OK)
    if not summaries and args.patient:
        print(f"no sessions for patient {printable(args.patient)}")
        if with_simulated:
            print(
                f"({len(with_simulated)} on a simulator, not shown: --include-simulated lists them)"
            )
        return int(ExitCode.OK)
    if not summaries:
        print(f"no sessions in {resolve_db_path(args.db)}")
        return int(ExitCode.OK)
    rows = [
        (
            s.id,
            local_time(s.meta.started_at),
            _length(s),
            s.outcome.value,
            s.meta.profile_name,
            s.meta.patient_id or "-",
            s.meta.operator_id or "-",
            "sim" if s.meta.simulated else s.meta.device_serial,
        )
        for s in summaries
    ]
    headers = ("ID", "STARTED", "LENGTH", "OUTCOME", "PROFILE", "PATIENT", "OPERATOR", "DEV")
    print(render_table(headers, rows, right=(0,)))
    return int(ExitCode.OK)


def _show(args: argparse.Namespace) -> int:
    """Show one session's record."""
    from eacontrol.records import alarm_text
    from eacontrol.records.fmt import local_time

    with _store(args) as store:
        s = store.session(args.id)
        steps, events, totals = store.steps(args.id), store.events(args.id), store.totals(args.id)
        samples = len(store.samples(args.id))
    meta = s.meta
    device = "simulated device" if meta.simulated else f"{meta.device_model} {meta.device_serial}"
    print(f"session {s.id}: {meta.profile_name} ({meta.profile_version})")
    print(f"  started:  {local_time(meta.started_at)}  length {_length(s)}")
    print(f"  outcome:  {s.outcome.value}" + (f" ({s.detail})" if s.detail else ""))
    if alarm_text(s.outcome):
        print(f"  ALARM:    {alarm_text(s.outcome)}")
    print(f"  device:   {device}, firmware {meta.firmware_version}, on {meta.port}")
    print(f"  patient:  {meta.patient_id or '-'}   operator: {meta.operator_id or '-'}")
    print(f"  samples:  {samples} (eactl log export {s.id} --format csv --table samples)")
    print("\nSteps")
    step_rows = [
        (st.index, st.name or "-", st.mode, number(st.started_s), number(st.ended_s))
        for st in steps
    ]
    print(render_table(("STEP", "LABEL", "MODE", "START s", "END s"), step_rows, right=(3, 4)))
    print("\nEvents")
    event_rows = [(number(e.t_s), e.kind, e.channel or "-", e.message) for e in events]
    print(render_table(("t s", "KIND", "CH", "MESSAGE"), event_rows, right=(0,)))
    print("\nDelivered")
    total_rows = [
        (
            t.channel,
            "-" if t.step_index is None else t.step_index,
            t.pulses_a + t.pulses_b,
            number(t.on_time_s),
            number(t.peak_mA),
            number(t.rms_mA),
            number(t.charge_pos_uC),
            number(t.net_charge_uC),
        )
        for t in totals
    ]
    headers = ("CH", "STEP", "PULSES", "ON s", "PEAK mA", "Irms mA", "Q+ µC", "NET µC")
    print(render_table(headers, total_rows, right=(2, 3, 4, 5, 6, 7)))
    return int(ExitCode.OK)


def _export(args: argparse.Namespace) -> int:
    """Export session records: one session as CSV or JSON, many as CSV or Parquet tables.

    Export at full precision. One session (ID): JSON (everything) or one CSV table (samples,
    events or delivered totals) to stdout or -o FILE. With --out DIR: the sessions, samples,
    events and totals tables of the session ID, of --all sessions or of one --patient's (not
    simulated ones unless --include-simulated), as CSV or Parquet (--format parquet: the
    optional extra 'data'), one file per table; --format bids writes the session ID's BIDS-style
    events.tsv and events.json; --format nwb writes the session ID as one NWB file, -o FILE
    (the optional extra 'nwb').
    """
    _check_export(args)
    if args.format == "nwb":
        return _export_nwb(args)
    if args.out is not None:
        return _export_dataset(args)
    from eacontrol.records import export_session_json

    csv = args.format == "csv"
    with _store(args) as store:
        store.session(args.id)  # an unknown id fails before the output file is created
        with _output(args.output, csv=csv) as out:
            if csv:
                _csv_exporter(args.table or "samples")(store, args.id, out)
            else:
                export_session_json(store, args.id, out)
    return int(ExitCode.OK)


def _check_export(args: argparse.Namespace) -> None:
    """Refuse a combination of ``log export`` options that means nothing (exit 2)."""
    chosen = [name for name, given in _SELECTORS.items() if given(args)]
    if args.format == "nwb":
        _check_nwb(args)
    if len(chosen) != 1:
        raise UsageError(
            "choose the sessions: a session ID, --all or --patient ID"
            + (f" (not {' and '.join(chosen)})" if chosen else "")
        )
    if args.include_simulated and args.patient is None:
        raise UsageError("--include-simulated goes with --patient (--all includes every session)")
    if args.out is None:
        if args.format in _DIR_FORMATS:
            raise UsageError(f"--format {args.format} writes files into a folder: give --out DIR")
        if args.id is None:
            raise UsageError("--all and --patient write one file per table: give --out DIR")
        if args.table is not None and args.format != "csv":
            raise UsageError("--table chooses a CSV table; a JSON export holds every table")
        return
    if args.format == "json":
        raise UsageError("a JSON export is one session's document: use -o FILE, not --out")
    if args.format == "bids" and args.id is None:
        raise UsageError("--format bids writes one session's events: give its ID")
    if args.table is not None or args.output is not None:
        raise UsageError("--out DIR writes every table into DIR: leave out --table and -o")


def _check_nwb(args: argparse.Namespace) -> None:
    """``--format nwb``: one session (ID) into one file (-o FILE); exit 2 otherwise."""
    if args.id is None:
        raise UsageError("--format nwb writes one session's file: give its ID (not --all)")
    if args.out is not None:
        raise UsageError("--format nwb writes one file: give -o FILE.nwb, not --out DIR")
    if args.output is None or args.output == "-":
        raise UsageError("--format nwb writes an HDF5 file, not text: give -o FILE.nwb")
    if args.table is not None:
        raise UsageError("--table chooses a CSV table; an NWB file holds every table")


def _export_nwb(args: argparse.Namespace) -> int:
    """``log export ID --format nwb -o FILE``."""
    from eacontrol.records.nwb import write_nwb

    with _store(args) as store:
        store.session(args.id)  # an unknown id is exit 1 before anything is written
        try:
            path = write_nwb(store, args.id, args.output)
        except OSError as err:
            raise CliError(f"cannot write {args.output}: {err.strerror or err}") from err
    print(f"exported session {args.id} to {printable(str(path))}")
    return int(ExitCode.OK)


_SELECTORS: dict[str, Callable[[argparse.Namespace], bool]] = {
    "ID": lambda args: args.id is not None,
    "--all": lambda args: bool(args.all),
    "--patient": lambda args: args.patient is not None,
}
"""The ways ``log export`` chooses sessions; exactly one is given."""

_DIR_FORMATS = ("parquet", "bids")
"""``log export`` formats that write a folder (``--out DIR``), never one stream."""


def _export_dataset(args: argparse.Namespace) -> int:
    """``log export ... --out DIR``: the tables of the chosen sessions, or BIDS events."""
    from eacontrol.records import export_dataset, write_bids_events

    with _store(args) as store:
        if args.id is not None:
            store.session(args.id)  # an unknown id is exit 1 before anything is written
            ids = [args.id]
        else:
            # A patient's history is treatment delivered: simulated sessions only on request.
            simulated = args.include_simulated or args.patient is None
            found = store.sessions(patient_id=args.patient, simulated=simulated)
            ids = sorted(s.id for s in found)
            if not ids:
                raise CliError(_no_sessions(store, args.patient))
        try:
            if args.format == "bids":
                paths = list(write_bids_events(store, args.id, args.out))
            else:
                paths = list(export_dataset(store, args.out, ids, format=args.format).values())
        except OSError as err:
            raise CliError(f"cannot write {args.out}: {err.strerror or err}") from err
    names = ", ".join(p.name for p in paths)
    sessions = f"{len(ids)} session" + ("" if len(ids) == 1 else "s")
    print(f"exported {sessions} to {printable(args.out)}: {names}")
    return int(ExitCode.OK)


def _no_sessions(store: RecordStore, patient: str | None) -> str:
    """Why ``log export --all|--patient`` found nothing to export."""
    if patient is None:
        return f"no sessions in {store.path} to export"
    simulated = len(store.sessions(patient_id=patient))
    hint = f" ({simulated} on a simulator: --include-simulated exports them)" if simulated else ""
    return f"no sessions for patient {printable(patient)} to export{hint}"


def _report(args: argparse.Namespace) -> int:
    """A session report (Markdown, JSON or printable HTML).

    Print the report of one session: the methods paragraph, identity, STRICTA items, electrical
    parameters, what was delivered over time (intensity, operator changes, pauses, stops), the
    delivered dose per channel, adverse events, events and findings. --format html writes one
    self-contained page to print or file. A session whose outputs were not confirmed off opens
    with an ALARM, a simulated one with a SIMULATOR notice; the patient's session count leaves
    out simulated sessions unless --include-simulated.
    """
    from eacontrol.records import build_report, render_html, render_json, render_markdown

    with _store(args) as store:
        report = build_report(store, args.id, include_simulated=args.include_simulated)
    render = {"json": render_json, "html": render_html, "md": render_markdown}[args.format]
    text = render(report)
    with _output(args.output) as out:
        out.write(text if text.endswith("\n") else text + "\n")
    return int(ExitCode.OK)


def _session_parser(commands: Commands, name: str, handler: Handler) -> argparse.ArgumentParser:
    parser = add_command(commands, name, handler)
    parser.add_argument("id", type=int, metavar="ID", help="the session id (eactl log list)")
    add_db_option(parser)
    return parser


def _add_patient_filter(parser: argparse.ArgumentParser, which: str) -> None:
    """``--patient ID`` (any case, simulated sessions left out) and ``--include-simulated``."""
    parser.add_argument("--patient", metavar="ID", help=f"{which} (any case; not simulated)")
    parser.add_argument(
        "--include-simulated",
        action="store_true",
        help="with --patient, also the sessions run on a simulator",
    )


def register(commands: Commands) -> None:
    """Add ``log`` (list, show, export) and ``report`` to the command parsers."""
    log = commands.add_parser(
        "log", help="list, show and export session records", description="Session records."
    )
    actions = log.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = add_command(actions, "list", _list)
    _add_patient_filter(listing, "only this patient's sessions")
    listing.add_argument("--limit", type=int, metavar="N", help="at most N sessions")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_db_option(listing)
    _session_parser(actions, "show", _show)
    export = add_command(actions, "export", _export)
    export.add_argument(
        "id", type=int, nargs="?", metavar="ID", help="the session id (eactl log list)"
    )
    add_db_option(export)
    export.add_argument(
        "--format", choices=("csv", "json", "parquet", "bids", "nwb"), required=True
    )
    export.add_argument(
        "--table",
        choices=_CSV_TABLES,
        help="the CSV table to export (default samples)",
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (default stdout; nwb: required)"
    )
    export.add_argument("--all", action="store_true", help="every session (with --out DIR)")
    _add_patient_filter(export, "this patient's sessions")
    export.add_argument(
        "--out",
        metavar="DIR",
        help="write sessions, samples, events and totals (csv, parquet) or events.tsv and "
        "events.json (bids) into DIR (created if missing)",
    )
    report = _session_parser(commands, "report", _report)
    report.add_argument("--format", choices=("md", "json", "html"), default="md")
    report.add_argument(
        "--include-simulated",
        action="store_true",
        help="count the patient's simulated sessions among their sessions",
    )
    report.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default stdout)")
