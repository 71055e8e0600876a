"""The eactl command line: the parser, logging, and the run loop that maps errors to exit codes.

Each command lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` (a function of the parsed arguments returning an exit code).

Building the parser must stay cheap, so that ``eactl --help`` starts at once (issue 8): at
module level a command module imports only the standard library, the other light ``eacontrol.cli``
modules, ``eacontrol.errors``, ``eacontrol.errors`` and ``eacontrol.link.clock``. The profiles
(pydantic, numpy), the records (sqlite3), the session runner, the device and pyserial are
imported inside the handler that uses them, and names needed only in annotations under
``TYPE_CHECKING``. ``tests/cli/test_startup.py`` checks this.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from eacontrol import __version__
from eacontrol.cli import (
    annotate_cmd,
    clear_fault_cmd,
    pair_cmd,
    panel_cmd,
    plan_cmd,
    plot_cmd,
    ports_cmd,
    profiles_cmd,
    records_cmd,
    run_cmd,
    simulate_cmd,
    sweep_cmd,
)
from eacontrol.cli.exitcodes import ExitCode, cannot_write, report_error
from eacontrol.cli.output import discard_stdout

__all__ = ["build_parser", "run"]

_COMMANDS = (
    profiles_cmd,
    plan_cmd,
    run_cmd,
    panel_cmd,
    simulate_cmd,
    ports_cmd,
    pair_cmd,
    records_cmd,
    plot_cmd,
    annotate_cmd,
    clear_fault_cmd,
    sweep_cmd,
)
_LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    """The complete eactl parser, every command registered."""
    parser = argparse.ArgumentParser(
        prog="eactl",
        description="Control and simulate electroacupuncture stimulators with eacontrol.",
        epilog=(
            "exit codes: 0 ok, 1 refused or invalid, 2 usage, 3 device, link or records error, "
            "4 stopped by a fault or the operator, 5 pairing needed or key store refused, "
            "70 internal error. See docs/cli.md."
        ),
    )
    parser.add_argument("--version", action="version", version=f"eactl (eacontrol) {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress to stderr (-v INFO, -vv DEBUG and tracebacks of internal errors)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.register(commands)
    return parser


@contextmanager
def _logging(verbosity: int) -> Iterator[None]:
    """Send eacontrol's log to stderr at the level ``-v`` asks for, for the duration."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    root = logging.getLogger("eacontrol")
    saved = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


def _parse(argv: Sequence[str]) -> argparse.Namespace | int:
    """Parse ``argv``; an int is the exit code argparse asked for (usage error, help, version)."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return int(done.code or 0)
        print(done.code, file=sys.stderr)
        return int(ExitCode.USAGE)


def run(argv: Sequence[str]) -> int:
    """Run eactl with the arguments ``argv`` (no program name) and return the exit code.

    Never raises for a user error: every error is printed as a message by
    :func:`~eacontrol.cli.exitcodes.report_error` and becomes a documented exit code.
    """
    args = _parse(argv)
    if isinstance(args, int):
        return args
    verbosity = int(args.verbose)
    with _logging(verbosity):
        try:
            code = int(args.handler(args))
            sys.stdout.flush()  # here, so that a full disk is reported, not lost at exit
            return code
        except BrokenPipeError:
            # The reader of our output went away (`eactl log list | head`): nothing to report.
            discard_stdout()
            return int(ExitCode.OK)
        except (Exception, KeyboardInterrupt) as err:
            if cannot_write(err):
                discard_stdout()  # what is still buffered cannot be written either
            return report_error(err, verbosity)
