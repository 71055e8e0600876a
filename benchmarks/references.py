"""The machine's own reference figures, measured once at the start of every run and written
beside every ratio: a bare pyserial echo's round trip over a pty (what ``roundtrip_pty`` is
compared with) and ``python -c pass`` (what ``cli_start`` is compared with).

They say how fast the machine was during the run, whichever benchmarks ran (``--only``): a
ratio from a run whose echo took 80 µs and one whose echo took 30 µs are not the same evidence.
"""

from __future__ import annotations

import os
import sys

import serial

from benchmarks.cli_start import spawn_s
from benchmarks.figure import Json, median
from benchmarks.roundtrip_pty import exchange
from benchmarks.stack import echo_pty

__all__ = ["measure_references"]

_ECHO_FRAME = bytes(range(1, 94)) + b"\x00"
"""A 94-byte frame-like message ending in the delimiter (the size of an INFO frame)."""


def _bare_echo_us(count: int) -> float | None:
    if not hasattr(os, "openpty"):
        return None
    with echo_pty() as echo, serial.Serial(echo.path, timeout=2.0, exclusive=True) as port:
        for _ in range(max(1, count // 10)):  # warm-up
            exchange(port, _ECHO_FRAME)
        return median(exchange(port, _ECHO_FRAME)[0] * 1e6 for _ in range(count))


def measure_references(*, echo_count: int = 200, spawns: int = 5) -> dict[str, Json]:
    """The bare echo's median round trip (µs; None without POSIX ptys) and the median wall time
    of ``python -c pass`` (s), ``spawns`` fresh processes after one warm-up."""
    bare = [sys.executable, "-c", "pass"]
    spawn_s(bare)
    return {
        "bare_echo_us": _bare_echo_us(echo_count),
        "bare_echo_bytes": len(_ECHO_FRAME),
        "python_c_pass_s": median(spawn_s(bare) for _ in range(spawns)),
    }
