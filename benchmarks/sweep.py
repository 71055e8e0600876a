"""``sweep``: a 200-session parameter sweep on ``sim://`` through a process pool, against the same
sweep in one process, in the same run.

The grid (:func:`grid`): 5 frequencies × 5 intensities × 4 loads × 2 phase widths = 200 points,
each one 60 s continuous session on one channel (``eacontrol.sweep.continuous_trial``) through
the session runner, recording to its own SQLite file. The same grid runs twice: in this process
(``SerialExecutor``: one process, one session after the other) and through
``run_sweep(max_workers=N)`` (a ``spawn`` process pool, started and shut down inside the timed
region, as a user's call pays for it). The figure is the speed-up, serial wall time over pool wall
time; its limit is N, the speed-up N perfectly parallel workers would give, so the ratio is the
pool's parallel efficiency. Both tables must be equal (``details.tables_equal``).
"""

from __future__ import annotations

import os
import time

from benchmarks.figure import Figure, median
from eacontrol.sweep import Grid, SerialExecutor, SweepTable, run_sweep

__all__ = ["WORKERS", "SESSION_s", "grid", "measure"]

SESSION_s = 60.0
"""Each session's step length (virtual time, ramps included): long enough that the session, not
the connect and pre-flight, is most of a trial's work, short enough that 200 of them run in about
a minute on one core."""

WORKERS = 2
"""The pool's processes: the recorded machine's two cores."""


def grid(duration_s: float = SESSION_s, *, small: bool = False) -> Grid:
    """The benchmark's grid: 200 points (``small``: 4 points, for ``--quick``)."""
    if small:
        return Grid(frequency_hz=[2, 100], load=["500", "10k"], duration_s=[duration_s])
    return Grid(
        frequency_hz=[2, 15, 50, 100, 200],
        intensity_mA=[1.0, 2.0, 3.0, 4.0, 5.0],
        load=["500", "1k", "2k", "10k"],
        phase_width_us=[100, 200],
        duration_s=[duration_s],
    )


def _timed(run: object) -> tuple[float, SweepTable]:
    assert callable(run)
    start = time.perf_counter()
    table = run()
    assert isinstance(table, SweepTable)
    return time.perf_counter() - start, table


def measure(
    *, duration_s: float = SESSION_s, workers: int = WORKERS, small: bool = False
) -> Figure:
    """Run the grid serially and through a pool of ``workers`` processes; the speed-up."""
    points = grid(duration_s, small=small)
    serial_s, serial = _timed(lambda: run_sweep(points, executor=SerialExecutor()))
    pool_s, pooled = _timed(lambda: run_sweep(points, max_workers=workers))
    speedup = serial_s / pool_s
    outcomes: dict[str, int] = {}
    for row in pooled:
        outcomes[str(row["outcome"])] = outcomes.get(str(row["outcome"]), 0) + 1
    simulated = sum(float(r["session_s"] or 0.0) for r in pooled)
    return Figure(
        name="sweep",
        value=median([speedup]),
        unit="x one process",
        limit=float(workers),
        limit_is=f"{workers} workers perfectly parallel",
        ratio=speedup / workers,
        goal="none set",
        met=None,
        samples=[speedup],
        details={
            "sessions": len(points),
            "session_step_s": duration_s,
            "workers": workers,
            "cores_usable": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "serial_wall_s": serial_s,
            "pool_wall_s": pool_s,
            "serial_wall_s_per_session": serial_s / len(points),
            "simulated_s": simulated,
            "serial_x_real_time": simulated / serial_s,
            "pool_x_real_time": simulated / pool_s,
            "outcomes": outcomes,
            "tables_equal": pooled == serial,
        },
    )
