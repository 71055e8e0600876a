"""``session_speed_ccore``: ``session_speed``'s session on ``sim://?core=c`` — the C firmware core
in-process (ctypes) on the Python hardware model — beside the Python device in the same run.

The same 30-minute, 6-channel 2/100 Hz session through the whole stack in virtual time
(``session_speed``: profile → runner → link → ``sim://`` → device → record), once per seed on
each core. The figure is the C core's simulated seconds per wall second (median of ``repeats``
seeds); ``details`` holds the Python device's speed on the same seeds and the ratio, and whether
both cores recorded the same outcome. The library is built before the clock starts (the first
use compiles it into the per-user cache, ``simulator.ccore.build``).
"""

from __future__ import annotations

from benchmarks.figure import Figure, median
from benchmarks.session_speed import one_session, speed_figure
from simulator.ccore import library_path

__all__ = ["BENCHMARK_NAME", "ENTRY", "WHAT", "full", "measure", "quick"]

BENCHMARK_NAME = "session_speed_ccore"
WHAT = "session_speed on sim://?core=c (the C core in-process), the Python device beside it"


def measure(*, repeats: int = 3, duration_s: float = 1800.0) -> Figure:
    """Median speed of the C core over ``repeats`` seeds, the Python device's beside it.

    Raises:
        simulator.ccore.CoreUnavailable: the C core cannot be built here.
    """
    library_path()  # build (or find) the library before anything is timed
    seeds = range(1, repeats + 1)
    c_runs = [one_session(duration_s, seed, "c") for seed in seeds]
    py_runs = [one_session(duration_s, seed, "python") for seed in seeds]
    python = speed_figure("session_speed", duration_s, py_runs)
    c_x = median(simulated / wall for wall, simulated, _, _ in c_runs)
    return speed_figure(
        BENCHMARK_NAME,
        duration_s,
        c_runs,
        core="c (ctypes, the Python hardware model as HAL)",
        python_x_real_time=python.value,
        python_samples=list(python.samples),
        python_wall_s=median(r[0] for r in py_runs),
        c_over_python=c_x / python.value,
        same_outcomes=[r[2] for r in c_runs] == [r[2] for r in py_runs],
    )


def full() -> Figure:
    """The recorded figures' parameters: ``session_speed``'s (3 seeds, 30 minutes)."""
    return measure(repeats=3, duration_s=1800.0)


def quick() -> Figure:
    """Tiny parameters: proves the benchmark runs (its figures mean nothing)."""
    return measure(repeats=1, duration_s=8.0)


ENTRY = (BENCHMARK_NAME, WHAT, full, quick)
"""``benchmarks.suite.Benchmark``'s fields, in order (the suite's one registration line)."""
