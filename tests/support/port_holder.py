"""Another process holding a serial port, for the tests of issue 13's exclusive port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["HOLDERS", "port_held_by_child"]

_HOLD = """
import sys
{opener}
print("held", flush=True)
sys.stdin.read()
"""

HOLDERS = {
    "eacontrol": "from eacontrol.link import Transport; port = Transport.open(sys.argv[1])",
    "pyserial": "import serial; port = serial.Serial(sys.argv[1], exclusive=True)",
}
"""How the child holds the port: as eacontrol does (TIOCEXCL and flock) or as a plain pyserial
program does (flock only)."""


@contextmanager
def port_held_by_child(path: str, holder: str = "eacontrol") -> Iterator[int]:
    """Hold ``path`` open in a child process (``HOLDERS[holder]``); yield the child's pid. The
    child closes the port and exits when its stdin closes."""
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD.format(opener=HOLDERS[holder]), path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "held", f"the {holder} child did not hold it"
        yield child.pid
    finally:
        child.stdin.close()
        child.wait(timeout=60)
        child.stdout.close()
