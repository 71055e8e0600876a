"""The bare echo for ``roundtrip_pty``: a tiny process that echoes bytes on a pty.

Run as a script (``python benchmarks/echo.py``): it opens a pty set up like the simulator's
(``simulator.serve.PtyEndpoint``: raw mode, the server keeps the slave open), prints the slave's
path on one line and then writes back every byte it reads, until SIGTERM. It imports only the
standard library, so the round trip it allows is what a pty and a Python process cost, with no
device model behind them.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import tty
from types import FrameType

__all__ = ["main"]

_CHUNK = 4096


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> int:
    """Serve the echo until SIGTERM or SIGINT; returns the exit status."""
    master, slave = os.openpty()
    tty.setraw(slave)  # as the simulator's pty: no echo by the line discipline, no editing
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(os.ttyname(slave), flush=True)
    try:
        while True:
            select.select([master], [], [])
            try:
                data = os.read(master, _CHUNK)
            except OSError:  # the host closed the slave while we held it: keep serving
                continue
            view = memoryview(data)
            while view:
                view = view[os.write(master, view) :]
    finally:
        os.close(master)
        os.close(slave)


if __name__ == "__main__":
    sys.exit(main())
