"""Sweeps: a parameter grid of simulated sessions, run in parallel, gathered into one table.

::

    from eacontrol.sweep import Grid, run_sweep

    grid = Grid(frequency_hz=[2, 100], intensity_mA=[1.0, 2.0, 4.0], load=["500", "10k"])
    table = run_sweep(grid)                    # a process pool; or executor=any Executor
    frame = table.to_pandas()                  # one row per point (the extra "data")

Each point is one session of the session runner on its own ``sim://`` device in virtual time,
seeded from the point, checked by the same limit engine as any profile; a point the limits
refuse is a row saying so. ``docs/sweeps.md`` has the table's columns, builders, and running on
a Dask or Ray cluster.
"""

from eacontrol.sweep.grid import AXIS_VALUE_TYPES, Grid, Point, Value, point_seed
from eacontrol.sweep.runner import SerialExecutor, SweepTable, run_sweep
from eacontrol.sweep.trial import (
    CONTINUOUS_AXES,
    SAME_SIDE_PAIRS,
    Builder,
    Setup,
    Trial,
    continuous_trial,
    make_trial,
)
from eacontrol.sweep.worker import (
    CHANNEL_QUANTITIES,
    ERROR,
    RECORD_EPOCH,
    REFUSED,
    ROW_COLUMNS,
    Row,
    run_trial,
)

__all__ = [
    "AXIS_VALUE_TYPES",
    "CHANNEL_QUANTITIES",
    "CONTINUOUS_AXES",
    "ERROR",
    "RECORD_EPOCH",
    "REFUSED",
    "ROW_COLUMNS",
    "SAME_SIDE_PAIRS",
    "Builder",
    "Grid",
    "Point",
    "Row",
    "SerialExecutor",
    "Setup",
    "SweepTable",
    "Trial",
    "Value",
    "continuous_trial",
    "make_trial",
    "point_seed",
    "run_sweep",
    "run_trial",
]
