"""``eactl simulate --pty | --tcp HOST:PORT``: the simulated device, in real time, for another
program.

eacontrol never imports the simulator (docs/architecture.md): this command runs ``python -m
simulator``
as a child process with the same interpreter, hands it every argument after ``simulate``
unchanged, and waits. The options are therefore the simulator's own, parsed by its one parser
(``eactl simulate --help`` prints its help). The child prints the URL to open (a pty path or
``socket://HOST:PORT``) as the first line on stdout. Ctrl-C or SIGTERM stops it (exit 0); a
usage error is the child's (exit 2, its message on stderr). On Linux the child is asked to get
SIGTERM if ``eactl`` itself dies (``kill -9`` of the PID a script started): a simulated device
is never left serving after the program that started it.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import ExitCode

__all__ = ["register", "simulator_command"]

log = logging.getLogger(__name__)

_STOP_WAIT_s = 5.0


# Every argument is the simulator's. argparse takes an argument as one of this parser's options
# when it starts with one of its prefix characters; NUL can start no command-line argument (argv
# strings end at a NUL), so none is: all reach the REMAINDER, dashes and all, in order.
# (REMAINDER alone would still take a leading "--pty" for an unknown option of ours.)
_NO_PREFIX = "\0"


def simulator_command(arguments: Sequence[str]) -> list[str]:
    """The ``python -m simulator`` command line for the arguments given after ``simulate``."""
    return [sys.executable, "-m", "simulator", *arguments]


_PR_SET_PDEATHSIG = 1
"""``prctl`` option (<linux/prctl.h>): the signal a process gets when its parent dies."""


def _dies_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies (Linux; else None).

    It runs in the child between fork and exec, so it only calls ``prctl`` (libc is loaded here,
    before the fork) and, if the parent died before that call, signals itself.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


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
    """Run the simulated device behind a pty or TCP socket for another program.

    Run the simulated stimulator in real time behind a new pseudo-terminal or a TCP socket:
    python -m simulator with these arguments.
    """
    command = simulator_command(args.simulator_arguments)
    log.info("running %s", shlex.join(command))
    with _sigterm_interrupts():
        child = subprocess.Popen(command, preexec_fn=_dies_with_parent())
        try:
            status = child.wait()
        except KeyboardInterrupt:
            _stop(child)
            return int(ExitCode.OK)
    if status in (ExitCode.OK, ExitCode.USAGE):
        return status  # the simulator printed its own message for a usage error
    print(f"eactl: the simulator exited with status {status}", file=sys.stderr)
    return int(ExitCode.DEVICE)


def register(commands: Commands) -> None:
    """Add ``simulate`` to the command parsers."""
    parser = add_command(
        commands,
        "simulate",
        _simulate,
        prefix_chars=_NO_PREFIX,
        add_help=False,  # --help is the simulator's, with its options
    )
    parser.add_argument(
        "simulator_arguments",
        nargs=argparse.REMAINDER,
        metavar="ARGUMENTS",
        help="the arguments of python -m simulator: --pty or --tcp HOST:PORT, then device and "
        "scenario options (eactl simulate --help lists them)",
    )
