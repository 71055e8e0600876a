"""Child processes with a known signal disposition, for the tests that send them signals.

A child inherits ignored signals and the signal mask across ``exec``. A launcher that ignores
SIGINT (a non-interactive shell's background job, some CI runners, a test runner's worker)
hands that on, and a Python child whose SIGINT is ignored at start never installs its
``KeyboardInterrupt`` handler: a test's Ctrl-C then does nothing and the test hangs until its
timeout. :func:`spawn` starts every child with SIGINT, SIGTERM, SIGQUIT and SIGHUP at their
defaults, unblocked, in a new session (its own process group, as a terminal's foreground job), and
:func:`interrupt` sends SIGINT to that group, as Ctrl-C on a terminal does.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

__all__ = ["SIGNALS", "interrupt", "spawn", "spawn_run"]

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP)
"""Signals the tests send, or a terminal would: default disposition, unblocked, in every child
(SIGHUP too: a launcher under ``nohup`` ignores it, and the child would inherit that)."""


def _default_signals() -> None:
    # Runs in the child between fork and exec: signal calls only, no locks, no imports.
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def spawn(argv: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(argv, **popen)`` with SIGINT, SIGTERM, SIGQUIT and SIGHUP at their
    defaults and unblocked, in a new session."""
    return subprocess.Popen(argv, preexec_fn=_default_signals, start_new_session=True, **popen)


def spawn_run(console_script: str, profile: str, db: str) -> subprocess.Popen[str]:
    """``eactl run PROFILE --db DB`` without a terminal (stdin closed), its output piped as text."""
    return spawn(
        [console_script, "run", profile, "--db", db],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt(process: subprocess.Popen[Any]) -> None:
    """Ctrl-C: SIGINT to the child's process group (the child leads it: :func:`spawn`)."""
    os.killpg(process.pid, signal.SIGINT)
