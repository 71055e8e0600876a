"""The benchmarks of issue 8, in the order they run, each with its full and its quick parameters.

The quick parameters only prove that a benchmark runs and reports every key (the smoke test in
``tests/benchmarks/`` and ``python -m benchmarks --quick``); their figures mean nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import (
    cli_start,
    codec,
    host_cpu,
    roundtrip_pty,
    session_speed,
    session_speed_ccore,
    stop_latency,
    sweep,
    tag_cost,
)
from benchmarks.figure import Figure

__all__ = ["BENCHMARKS", "Benchmark", "needs_pty"]


@dataclass(frozen=True)
class Benchmark:
    """One benchmark.

    Attributes:
        name: its key in ``results.json``.
        what: one line for the table.
        full: runs it with the parameters of the recorded figures.
        quick: runs it with tiny parameters.
        pty: needs POSIX ptys (``python -m simulator --pty``).
    """

    name: str
    what: str
    full: Callable[[], Figure]
    quick: Callable[[], Figure]
    pty: bool = False


def needs_pty() -> bool:
    """True where the pty benchmarks cannot run (no ``os.openpty``)."""
    return not hasattr(os, "openpty")


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "session_speed",
        "30-min 6-channel 2/100 Hz session, whole stack, virtual time",
        lambda: session_speed.measure(repeats=3, duration_s=1800.0),
        lambda: session_speed.measure(repeats=1, duration_s=8.0),
    ),
    Benchmark(
        "stop_latency",
        "stop(immediate=True) to device outputs off, 115200-baud wire model",
        lambda: stop_latency.measure(repeats=21),
        lambda: stop_latency.measure(repeats=1, settle_s=0.5),
    ),
    Benchmark(
        "roundtrip_pty",
        "GET_INFO round trip over a pty to python -m simulator",
        lambda: roundtrip_pty.measure(count=200, warmup=20, stack=50),
        lambda: roundtrip_pty.measure(count=4, warmup=1, blocks=2, stack=2),
        pty=True,
    ),
    Benchmark(
        "host_cpu",
        "host CPU of a real-time session over a pty",
        lambda: host_cpu.measure(duration_s=25.0, window_s=5.0),
        lambda: host_cpu.measure(duration_s=5.0, window_s=1.0),
        pty=True,
    ),
    Benchmark(
        "cli_start",
        "eactl --help",
        lambda: cli_start.measure(repeats=7),
        lambda: cli_start.measure(repeats=1),
    ),
    Benchmark(
        "codec",
        "frames encoded + decoded per second",
        lambda: codec.measure(repeats=5, rounds=1000),
        lambda: codec.measure(repeats=1, rounds=5),
    ),
    Benchmark(
        "codec_status",
        "one full 8-channel STATUS: tagged frame encoded, parsed, verified, decoded",
        lambda: codec.measure_status(repeats=5, rounds=2000),
        lambda: codec.measure_status(repeats=1, rounds=5),
    ),
    Benchmark(
        "tag_cost",
        "the HMAC tag's cost per round trip and per session, against no HMAC",
        lambda: tag_cost.measure(repeats=3, count=200, blocks=4, duration_s=300.0),
        lambda: tag_cost.measure(repeats=1, count=3, blocks=1, duration_s=8.0),
    ),
    Benchmark(
        "sweep",
        "200 60-s sim:// sessions through a 2-process pool, against one process",
        lambda: sweep.measure(duration_s=60.0, workers=2),
        lambda: sweep.measure(duration_s=8.0, workers=2, small=True),
    ),
)
BENCHMARKS += (Benchmark(*session_speed_ccore.ENTRY),)  # the C core beside session_speed
