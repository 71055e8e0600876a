"""``eactl simulate --pty | --tcp HOST:PORT``: the simulated device, in real time, for another
program.

eacontrol never imports the simulator (DESIGN.md §2): this command runs ``python -m simulator``
as a child process with the same interpreter, passes the device and scenario options through,
and waits. The child prints the URL to open (a pty path or ``socket://HOST:PORT``) as the first
line on stdout. Ctrl-C or SIGTERM stops it (exit 0).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from eacontrol.cli.exitcodes import ExitCode

__all__ = ["register", "simulator_command"]

log = logging.getLogger(__name__)

_STOP_WAIT_s = 5.0


def simulator_command(args: argparse.Namespace) -> list[str]:
    """The ``python -m simulator`` command line for the parsed options."""
    command = [sys.executable, "-m", "simulator"]
    command += ["--pty"] if args.pty else ["--tcp", args.tcp]
    for name in ("scenario", "channels", "seed", "baud", "serial"):
        value = getattr(args, name)
        if value is not None:
            command += [f"--{name}", str(value)]
    for load in args.load:
        command += ["--load", load]
    for option in args.option:
        command += ["-o", option]
    if args.verbose >= 2:
        command.append("-v")
    return command


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Make SIGTERM stop the wait like Ctrl-C (only the main thread can set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(_STOP_WAIT_s)
    except subprocess.TimeoutExpired:
        log.warning("the simulator did not stop within %g s; killing it", _STOP_WAIT_s)
        child.kill()
        child.wait()


def _simulate(args: argparse.Namespace) -> int:
    command = simulator_command(args)
    log.info("running %s", shlex.join(command))
    with _sigterm_interrupts():
        child = subprocess.Popen(command)
        try:
            status = child.wait()
        except KeyboardInterrupt:
            _stop(child)
            return int(ExitCode.OK)
    if status in (ExitCode.OK, ExitCode.USAGE):
        return status  # the simulator printed its own message for a usage error
    print(f"eactl: the simulator exited with status {status}", file=sys.stderr)
    return int(ExitCode.DEVICE)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate`` to the command parsers."""
    parser = commands.add_parser(
        "simulate",
        help="run the simulated device behind a pty or TCP socket for another program",
        description="Run the simulated stimulator in real time behind a new pseudo-terminal or "
        "a TCP socket. The first line printed is the port to open (a pty path, or "
        "socket://HOST:PORT). Stop it with Ctrl-C or SIGTERM.",
        epilog="Device and scenario options are those of sim:// URLs; -o KEY=VALUE takes any of "
        "them (e.g. -o drop=0.05 -o unplug_at=30).",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument(
        "--tcp", metavar="HOST:PORT", help="serve on TCP for socket:// (PORT 0 picks a free one)"
    )
    parser.add_argument("--scenario", metavar="FILE", help="a scenario TOML file")
    parser.add_argument("--channels", type=int, metavar="N", help="channel count, 1..8")
    parser.add_argument("--seed", type=int, metavar="N", help="seed of every random generator")
    parser.add_argument("--baud", type=int, metavar="N", help="wire model baud rate (0 = off)")
    parser.add_argument("--serial", metavar="TEXT", help="the serial number the device reports")
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="CH=LOAD",
        help="load on channel CH, e.g. 1=10k or 2=randles:200,1k,100n; repeatable",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any sim:// option, e.g. drop=0.1 or electrode_off=1@20; repeatable",
    )
    parser.set_defaults(handler=_simulate)
