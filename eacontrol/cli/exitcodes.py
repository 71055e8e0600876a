"""Exit codes of eactl and the one place that turns an error into a message and a code.

==== ======================================================================================
code meaning
==== ======================================================================================
0    success
1    refused or invalid: a profile, a parameter, an acupoint, an unknown session, a request;
     an optional dependency that is not installed (``MissingExtra`` names the extra);
     or an output that cannot be written (a full disk: stdout or a file asked for)
2    usage: the command line itself is wrong (argparse)
3    device, link or records: the port, the device or the session database failed
4    stopped: a session ended early by the operator, a fault, or with its stop not confirmed
5    pairing: the device is not paired with this host (the message names ``eactl pair PORT``),
     its pairing window is closed or its key store full, or the host's key store is refused
     (a key file or directory others can read or write: the message names the ``chmod``)
70   internal error: a bug in eactl (``EX_SOFTWARE`` of sysexits.h); the traceback with ``-vv``
129  ended by SIGHUP (128 + SIGHUP: the terminal closed), after the confirmed stop in a session
130  interrupted by Ctrl-C outside a stimulation session (128 + SIGINT, the shell convention)
143  ended by SIGTERM (128 + SIGTERM), after the confirmed stop in a session
==== ======================================================================================

Ctrl-C during a session is 4 (stopped, outputs confirmed at zero); SIGTERM and SIGHUP during
``eactl run`` end the session the same way (``eacontrol.cli.signals``) and keep their own code,
so that whoever sent the signal sees it was obeyed; the record says which signal it was. If the
stop is not confirmed, the alarm and code 4 win over either.

User errors never print a traceback: :func:`report_error` prints ``str(err)``, which for every
eacontrol error names what, where (file, field path, line), the allowed range and the limit
layer.
"""

from __future__ import annotations

import enum
import errno
import logging
import sys
import traceback
from typing import TextIO

from eacontrol.cli.signals import Terminated
from eacontrol.errors import (
    DeviceError,
    DeviceFault,
    InvalidNeedleSite,
    KeyStoreError,
    LinkError,
    MissingExtra,
    NotPaired,
    PairingClosed,
    ParameterError,
    ProfileError,
    RecordError,
    SessionError,
    SessionStopped,
    StopNotConfirmed,
    UnknownAcupoint,
    UnknownSession,
)

__all__ = [
    "STOP_ALARM",
    "CliError",
    "ExitCode",
    "UsageError",
    "cannot_write",
    "exit_code_for",
    "report_error",
]

log = logging.getLogger(__name__)

_CANNOT_WRITE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}
"""errno values of an output eactl cannot write (a full disk, a quota, a read-only or failing
medium): the user's environment, not a bug (exit 1, like any output file that cannot be written)."""


def cannot_write(err: BaseException) -> bool:
    """Whether ``err`` is a failure to write eactl's output (stdout or a file it was asked for)."""
    return isinstance(err, OSError) and err.errno in _CANNOT_WRITE


class ExitCode(enum.IntEnum):
    """The documented exit codes of eactl (``docs/cli.md``)."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    DEVICE = 3
    STOPPED = 4
    PAIRING = 5
    SOFTWARE = 70
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


STOP_ALARM = (
    "!!! STOP NOT CONFIRMED: the device did not confirm its outputs off. !!!\n"
    "!!! Press the stimulator's hardware STOP button now, or disconnect the electrodes. !!!"
)
"""What eactl prints, loudly, when a stop is not confirmed (docs/architecture.md)."""


class CliError(Exception):
    """A problem with what the user asked eactl to do, outside the library's error tree.

    Attributes:
        exit_code: the code eactl exits with.
    """

    def __init__(self, message: str, exit_code: ExitCode = ExitCode.REFUSED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class UsageError(CliError):
    """The command line is wrong in a way argparse cannot see (exit code 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


# Order matters: the first class an error is an instance of decides (subclasses first).
_CODES: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (StopNotConfirmed, ExitCode.STOPPED),
    (SessionStopped, ExitCode.STOPPED),
    (DeviceFault, ExitCode.STOPPED),
    # An unknown session id is a wrong argument, not a failing database.
    (UnknownSession, ExitCode.REFUSED),
    (NotPaired, ExitCode.PAIRING),
    (PairingClosed, ExitCode.PAIRING),
    (KeyStoreError, ExitCode.PAIRING),
    (LinkError, ExitCode.DEVICE),
    (DeviceError, ExitCode.DEVICE),
    (RecordError, ExitCode.DEVICE),
    (ProfileError, ExitCode.REFUSED),
    (ParameterError, ExitCode.REFUSED),
    (UnknownAcupoint, ExitCode.REFUSED),
    (InvalidNeedleSite, ExitCode.REFUSED),
    (MissingExtra, ExitCode.REFUSED),  # docs/cli.md: "a missing ... optional dependency"
    (SessionError, ExitCode.REFUSED),
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
)


def exit_code_for(err: BaseException) -> ExitCode:
    """The exit code for an error (``ExitCode.SOFTWARE`` for anything unexpected)."""
    if isinstance(err, CliError):
        return err.exit_code
    if isinstance(err, Terminated):
        return ExitCode(err.exit_code)
    if cannot_write(err):
        return ExitCode.REFUSED
    for kind, code in _CODES:
        if isinstance(err, kind):
            return code
    return ExitCode.SOFTWARE


def report_error(err: BaseException, verbosity: int = 0, stream: TextIO | None = None) -> int:
    """Print an error for the operator and return the exit code.

    Known errors print ``eactl: <message>``; a stop not confirmed adds :data:`STOP_ALARM`
    before and after the message so that it cannot be missed. An unexpected error prints a
    short line naming its type; its traceback only with ``-vv``.

    Args:
        err: the error.
        verbosity: the number of ``-v`` flags given.
        stream: where to print (default: ``sys.stderr`` at the time of the call).

    Returns:
        The exit code (:func:`exit_code_for`).
    """
    out = sys.stderr if stream is None else stream
    code = exit_code_for(err)
    if isinstance(err, StopNotConfirmed):
        print(f"{STOP_ALARM}\neactl: {err}\n{STOP_ALARM}", file=out)
    elif isinstance(err, Terminated):
        print(f"eactl: {err}", file=out)
    elif cannot_write(err):
        assert isinstance(err, OSError)
        where = f" {err.filename}" if err.filename else " the output"
        print(
            f"eactl: cannot write{where}: {err.strerror}: free space or write elsewhere", file=out
        )
    elif isinstance(err, KeyboardInterrupt):
        print("eactl: interrupted", file=out)
    elif code is ExitCode.SOFTWARE:
        print(
            f"eactl: internal error: {type(err).__name__}: {err}"
            + ("" if verbosity >= 2 else " (run with -vv for the traceback)"),
            file=out,
        )
        if verbosity >= 2:
            traceback.print_exception(err, file=out)
    else:
        print(f"eactl: {err}", file=out)
    log.debug("exit code %d after %s", code, type(err).__name__)
    return int(code)
