"""Run a grid of simulated sessions through any ``concurrent.futures.Executor``; one table back.

::

    table = run_sweep(Grid(frequency_hz=[2, 100], intensity_mA=[1, 2, 4], load=["500", "10k"]))
    table.rows[0]["ch1_total_charge_uC"]
    frame = table.to_pandas()            # the extra "data"

``executor=None`` runs a process pool (one process per core, started with ``spawn`` so that no
thread of the caller is copied into a worker); pass any other executor — :class:`SerialExecutor`
(in this process), a ``ThreadPoolExecutor``, ``distributed.Client(...).get_executor()`` — and
nothing else changes: the trials are built here, each worker gets one picklable
:class:`~eacontrol.sweep.trial.Trial` and returns one row, and the rows come back in the grid's
order whatever order they finished in. A trial gives the same row in every executor
(``docs/sweeps.md``).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from eacontrol.errors import Layer, ParameterError
from eacontrol.records.frames import optional_module
from eacontrol.sweep.grid import Grid
from eacontrol.sweep.trial import Builder, Trial, continuous_trial, make_trial
from eacontrol.sweep.worker import CHANNEL_QUANTITIES, REFUSED, ROW_COLUMNS, Row, run_trial

__all__ = ["SerialExecutor", "SweepTable", "run_sweep"]

_CHANNEL_COLUMN = re.compile(r"ch\d+_")
_P = ParamSpec("_P")
_T = TypeVar("_T")


class SerialExecutor(Executor):
    """An executor that runs each call at once, in the calling process and thread.

    The one-process reference of a sweep: for debugging a builder (a breakpoint works), and for
    comparing a pool's table against (they are equal).
    """

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` now; its result or exception is in the future returned."""
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # the caller sees it from future.result(), as in a pool
            future.set_exception(err)
        return future


@dataclass(frozen=True)
class SweepTable:
    """The rows of a sweep, one per grid point in the grid's order, every row with every column.

    Columns: the grid's axes; ``point``, ``seed``, ``outcome``, ``detail``, ``error``,
    ``session_s`` (:data:`~eacontrol.sweep.worker.ROW_COLUMNS`); then ``ch<N>_<quantity>``
    for each channel any point used and each of
    :data:`~eacontrol.sweep.worker.CHANNEL_QUANTITIES`. None where a value is not known (a
    refused point, a channel the point did not use).

    Attributes:
        columns: the column names, in order.
        rows: the rows (dicts keyed by column).
    """

    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    @classmethod
    def from_rows(cls, axes: Sequence[str], rows: Sequence[Row]) -> SweepTable:
        """Gather rows (each with the columns its point has) into one table."""
        channels = sorted(
            {int(k[2:].split("_")[0]) for r in rows for k in r if _CHANNEL_COLUMN.match(k)}
        )
        columns = (
            *axes,
            *ROW_COLUMNS,
            *(f"ch{n}_{q}" for n in channels for q in CHANNEL_QUANTITIES),
        )
        return cls(columns, tuple({c: r.get(c) for c in columns} for r in rows))

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    @property
    def refused(self) -> list[Row]:
        """The rows of the points refused before anything was stimulated."""
        return [r for r in self.rows if r["outcome"] == REFUSED]

    def to_pandas(self) -> Any:
        """The table as a ``pandas.DataFrame`` (one row per point, the columns in order; an
        unknown value is NaN in a number column, None in a text column).

        Raises:
            MissingExtra: pandas is not installed (``pip install "eacontrol[data]"``).
        """
        pd = optional_module("pandas", "SweepTable.to_pandas")
        return pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))


def run_sweep(
    grid: Grid,
    build: Builder = continuous_trial,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    seed: int = 0,
) -> SweepTable:
    """Run one simulated session per grid point, in parallel, and gather one table.

    Each session runs on its own ``sim://`` device (seeded from its point: the same grid and
    ``seed`` give the same table) in virtual time, with its own record store, through the same
    session runner and limit engine as a real session. A point the profile models or a limit
    layer refuse is a row with ``outcome = "refused"`` and the reason in ``error``.

    Args:
        grid: the points.
        build: turns a point into its profile and ``sim://`` options (any callable: it runs
            here); default :func:`~eacontrol.sweep.trial.continuous_trial`.
        executor: where the sessions run; None for a process pool of ``max_workers`` processes
            (started with ``spawn`` and shut down here: a script calls ``run_sweep`` under
            ``if __name__ == "__main__":``, as for any spawned pool). Any
            ``concurrent.futures.Executor`` that can pickle a
            :class:`~eacontrol.sweep.trial.Trial` works; it is not shut down here.
        max_workers: the default pool's processes (default: one per core).
        seed: the base seed every point's seed is derived from.

    Returns:
        The table, one row per point in the grid's order.

    Raises:
        ParameterError: ``max_workers`` given with an executor, or not a whole number ≥ 1; an
            axis named as a column of the table (``outcome``, ``ch1_peak_mA``); the
            builder's options are malformed (:func:`~eacontrol.sweep.trial.make_trial`).
        Exception: a worker failed outside a session (a bug, a broken pool): raised with a note
            naming the point; the points not yet started are cancelled.
    """
    if max_workers is not None:
        if executor is not None:
            raise ParameterError(
                "max_workers",
                max_workers,
                "only without an executor (the default pool's size)",
                Layer.SCHEMA,
            )
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ParameterError("max_workers", max_workers, "a whole number >= 1", Layer.SCHEMA)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ParameterError("seed", seed, "a whole number", Layer.SCHEMA)
    taken = [a for a in grid.axes if a in ROW_COLUMNS or _CHANNEL_COLUMN.match(a)]
    if taken:
        raise ParameterError(
            "grid axis", taken[0], "a name that is not a column of the table", Layer.SCHEMA
        )
    trials = [make_trial(build, point) for point in grid.points(seed)]
    if executor is None:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max_workers, mp_context=context) as pool:
            rows = _gather(pool, trials)
    else:
        rows = _gather(executor, trials)
    return SweepTable.from_rows(list(grid.axes), rows)


def _gather(executor: Executor, trials: Sequence[Trial]) -> list[Row]:
    """Each trial's row, in order; a refused trial's here, without a worker."""
    futures: dict[int, Future[Row]] = {
        i: executor.submit(run_trial, t) for i, t in enumerate(trials) if t.profile is not None
    }
    rows: list[Row] = []
    try:
        for i, trial in enumerate(trials):
            rows.append(futures[i].result() if i in futures else run_trial(trial))
    except BaseException as err:
        for future in futures.values():
            future.cancel()
        point = trials[len(rows)].point
        err.add_note(f"eacontrol.sweep: while running point {point.index} {dict(point.values)}")
        raise
    return rows
