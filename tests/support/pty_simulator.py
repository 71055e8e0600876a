"""The simulator as a real-time device behind a pty, for the tests that need a real serial port.

Shared by the ``pty_device`` fixture of ``tests/eacontrol/test_stimulator_pty.py`` and the
``bench_device`` fixture of ``tests/plugin/test_project.py``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["simulator_on_a_pty", "simulator_printing"]


@contextmanager
def simulator_printing(*args: str, first: str, what: str) -> Iterator[str]:
    """Start ``python -m simulator *args``; yield the first line it prints (which must start with
    ``first``, ``what`` it is: a pty path, a URL); stop it with SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    try:
        assert line.startswith(first), f"expected {what}, got {line!r}"
        yield line
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@contextmanager
def simulator_on_a_pty(*args: str) -> Iterator[str]:
    """Start ``python -m simulator --pty *args``; yield the pty's path (the first line it prints);
    stop it with SIGTERM."""
    with simulator_printing("--pty", *args, first="/dev/", what="a pty path") as path:
        yield path
