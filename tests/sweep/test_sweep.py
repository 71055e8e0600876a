"""Issue 17, sweeps: a grid of simulated sessions through any executor, one table back.

Each test's sessions are short (8 s of virtual time, ramps included) so the whole file runs in
seconds; the 200-session figure lives in benchmarks/sweep.py, never in a timed assert here.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

import pytest

from eacontrol.errors import MissingExtra, ParameterError
from eacontrol.profiles import Profile
from eacontrol.sweep import (
    CHANNEL_QUANTITIES,
    REFUSED,
    ROW_COLUMNS,
    Grid,
    Point,
    SerialExecutor,
    Setup,
    SweepTable,
    continuous_trial,
    make_trial,
    point_seed,
    run_sweep,
)

SHORT = {"duration_s": [8.0]}
"""Every test grid's session length: 3 s ramp up, 3 s held, 2 s ramp down."""


def small_grid() -> Grid:
    return Grid(frequency_hz=[2, 100], load=["500", "10k"], intensity_mA=[2.0], **SHORT)


@pytest.fixture(scope="module")
def serial_table() -> SweepTable:
    return run_sweep(small_grid(), executor=SerialExecutor())


# --- the grid ------------------------------------------------------------------------------------


def test_the_grid_is_the_cross_product_with_the_last_axis_fastest() -> None:
    grid = Grid(frequency_hz=[2, 100], load=["500", "10k", "1k"])
    points = grid.points()
    assert len(grid) == len(points) == 6
    assert [p.index for p in points] == list(range(6))
    assert [tuple(p.values.values()) for p in points[:3]] == [
        (2, "500"),
        (2, "10k"),
        (2, "1k"),
    ]
    assert list(points[3].values) == ["frequency_hz", "load"]


def test_a_seed_comes_from_the_values_not_the_position() -> None:
    before = {tuple(p.values.items()): p.seed for p in Grid(intensity_mA=[1, 2]).points()}
    after = {tuple(p.values.items()): p.seed for p in Grid(intensity_mA=[0.5, 1, 2]).points()}
    assert all(after[key] == seed for key, seed in before.items())
    assert len(set(after.values())) == 3
    # The axis order and 1 vs 1.0 (the same mA) do not matter; the base seed does.
    assert point_seed({"a": 1, "b": "x"}) == point_seed({"b": "x", "a": 1.0})
    assert point_seed({"a": 1}, base_seed=1) != point_seed({"a": 1})


@pytest.mark.parametrize(
    ("axes", "says"),
    [
        ({}, "at least one axis"),
        ({"intensity_mA": []}, "non-empty list"),
        ({"intensity_mA": "2"}, "non-empty list"),
        ({"intensity_mA": [1, 1.0]}, "each value once"),
        ({"intensity_mA": [math.nan]}, "finite numbers"),
        ({"intensity_mA": [None]}, "finite numbers"),
        ({"2x": [1]}, "an identifier"),
    ],
)
def test_a_malformed_grid_is_refused_with_what_is_allowed(axes: dict[str, Any], says: str) -> None:
    with pytest.raises(ParameterError, match=says):
        Grid(axes)


# --- executors ---------------------------------------------------------------------------------


def test_the_table_has_one_row_per_point_with_every_column(serial_table: SweepTable) -> None:
    assert len(serial_table) == 4
    channel = tuple(f"ch1_{q}" for q in CHANNEL_QUANTITIES)
    axes = ("frequency_hz", "load", "intensity_mA", "duration_s")
    assert serial_table.columns == (*axes, *ROW_COLUMNS, *channel)
    assert all(tuple(row) == serial_table.columns for row in serial_table)
    assert [row["point"] for row in serial_table] == [0, 1, 2, 3]
    assert {row["outcome"] for row in serial_table} == {"completed"}


def test_the_rows_are_what_the_device_delivered(serial_table: SweepTable) -> None:
    by = {(r["frequency_hz"], r["load"]): r for r in serial_table}
    # The load reaches the simulated device: the record's impedance is the load's.
    assert by[2, "500"]["ch1_impedance_max_ohm"] == 500.0
    assert by[2, "10k"]["ch1_impedance_max_ohm"] == 10_000.0
    # 50 times the rate, 50 times the pulses (within the one pulse a boundary adds or drops).
    low, high = by[2, "500"]["ch1_pulses"], by[100, "500"]["ch1_pulses"]
    assert isinstance(low, int) and isinstance(high, int)
    assert abs(high - 50 * low) <= 50
    for row in serial_table:
        pulses, total = row["ch1_pulses"], row["ch1_total_charge_uC"]
        assert isinstance(pulses, int) and isinstance(total, float)
        # Each biphasic pulse carries at most 2 × 2 mA × 200 µs = 0.8 µC (less while ramping).
        assert 0 < total <= pulses * 0.8 + 1e-9
        assert row["ch1_peak_mA"] == 2.0
        assert row["ch1_net_charge_uC"] == 0.0


def test_a_process_pool_of_two_gives_the_serial_table(serial_table: SweepTable) -> None:
    assert run_sweep(small_grid(), max_workers=2) == serial_table


def test_a_thread_pool_gives_the_serial_table(serial_table: SweepTable) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert run_sweep(small_grid(), executor=pool) == serial_table


def test_a_dask_local_cluster_gives_the_serial_table(serial_table: SweepTable) -> None:
    distributed = pytest.importorskip("distributed", reason="the extra dask is not installed")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        table = run_sweep(small_grid(), executor=client.get_executor())
    assert table == serial_table


# --- refusals, errors, determinism -------------------------------------------------------------


def test_a_point_the_limits_refuse_is_a_row_saying_so_and_the_others_run() -> None:
    table = run_sweep(Grid(intensity_mA=[2.0, 25.0], **SHORT), executor=SerialExecutor())
    ran, refused = table.rows
    assert ran["outcome"] == "completed"
    assert table.refused == [refused]
    assert refused["outcome"] == REFUSED
    error = refused["error"]
    assert isinstance(error, str)
    assert error.startswith("ProfileRefused")
    assert "above the standard limit" in error and "allowed ≤ 20 mA" in error
    assert refused["session_s"] is None
    assert all(refused[f"ch1_{q}"] is None for q in CHANNEL_QUANTITIES)


def test_a_point_the_profile_models_refuse_is_refused_before_any_worker() -> None:
    # 200 Hz leaves 5000 µs a period: two 3000 µs phases do not fit.
    grid = Grid(frequency_hz=[200], phase_width_us=[3000], **SHORT)
    (point,) = grid.points()
    trial = make_trial(continuous_trial, point)
    assert trial.profile is None
    assert trial.refused is not None and "profile refused by its model" in trial.refused

    class NoWorkers(Executor):
        def submit(self, *args: object, **kwargs: object) -> Future[Any]:
            raise AssertionError("a refused point needs no worker")

    (row,) = run_sweep(grid, executor=NoWorkers()).rows
    assert row["outcome"] == REFUSED and row["error"] == trial.refused


def test_a_load_the_simulator_refuses_is_an_error_row_naming_it() -> None:
    (row,) = run_sweep(Grid(load=["bogus"], **SHORT), executor=SerialExecutor()).rows
    assert row["outcome"] == "error"
    assert isinstance(row["error"], str) and "load 'bogus' not understood" in row["error"]


def test_the_same_grid_gives_the_same_table_and_the_seed_reaches_the_device() -> None:
    # Contact lost at random (mean 1 s on, 0.5 s off): what is delivered depends on the seed.
    grid = Grid(load=["intermittent:500@1000/500"], intensity_mA=[1.0, 2.0], **SHORT)
    first = run_sweep(grid, executor=SerialExecutor())
    assert run_sweep(grid, executor=SerialExecutor()) == first
    other = run_sweep(grid, executor=SerialExecutor(), seed=1)
    assert [r["seed"] for r in other] != [r["seed"] for r in first]
    assert [r["ch1_on_time_s"] for r in other] != [r["ch1_on_time_s"] for r in first]


# --- builders and arguments ----------------------------------------------------------------------


def test_any_callable_builds_a_point_and_may_set_the_simulator_options() -> None:
    def two_channels(point: Point) -> Setup:
        setup = continuous_trial(Point(point.index, {"channels": 2, **SHORT_1}, point.seed))
        return Setup(setup.profile, {**setup.sim, "load2": str(point.values["load2"])})

    SHORT_1 = {"duration_s": 8.0}
    (row,) = run_sweep(Grid(load2=["2k"]), two_channels, executor=SerialExecutor()).rows
    assert row["ch1_impedance_max_ohm"] == 500.0
    assert row["ch2_impedance_max_ohm"] == 2000.0


def test_a_builder_may_return_a_bare_profile() -> None:
    def bare(point: Point) -> Profile:
        return continuous_trial(point).profile

    (row,) = run_sweep(Grid(**SHORT), bare, executor=SerialExecutor()).rows
    assert row["outcome"] == "completed"


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda: run_sweep(Grid(frequncy_hz=[2])), "one of frequency_hz"),
        (lambda: run_sweep(Grid(channels=[7])), "a whole number 1-6"),
        (lambda: run_sweep(Grid(**SHORT), max_workers=0), "a whole number >= 1"),
        (lambda: run_sweep(Grid(outcome=["x"])), "not a column of the table"),
        (lambda: run_sweep(Grid(ch1_peak_mA=[1])), "not a column of the table"),
        (
            lambda: run_sweep(Grid(**SHORT), executor=SerialExecutor(), max_workers=2),
            "only without an executor",
        ),
        (
            lambda: run_sweep(
                Grid(**SHORT),
                lambda p: Setup(continuous_trial(p).profile, {"seed": "3"}),
                executor=SerialExecutor(),
            ),
            "derived from its values",
        ),
    ],
)
def test_a_mistake_in_the_sweep_itself_is_refused_before_any_session(
    call: Callable[[], object], says: str
) -> None:
    with pytest.raises(ParameterError, match=says):
        call()


def test_a_broken_worker_raises_with_the_point_named() -> None:
    class Broken(Executor):
        def submit(self, *args: object, **kwargs: object) -> Future[Any]:
            future: Future[Any] = Future()
            future.set_exception(RuntimeError("worker died"))
            return future

    with pytest.raises(RuntimeError, match="worker died") as err:
        run_sweep(Grid(intensity_mA=[1.0, 2.0], **SHORT), executor=Broken())
    assert "point 0 {'intensity_mA': 1.0, 'duration_s': 8.0}" in "".join(err.value.__notes__)


# --- the DataFrame -----------------------------------------------------------------------------


def test_to_pandas_has_the_columns_and_values_of_the_rows(serial_table: SweepTable) -> None:
    pd = pytest.importorskip("pandas", reason="the extra data is not installed")
    frame = serial_table.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert tuple(frame.columns) == serial_table.columns
    assert frame.to_dict("records") == list(serial_table.rows)


def test_to_pandas_without_pandas_names_the_extra(
    serial_table: SweepTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtra, match=r'pip install "eacontrol\[data\]"'):
        serial_table.to_pandas()


def test_a_session_a_fault_ends_is_a_row_with_what_was_delivered_until_then() -> None:
    def button_at_5_s(point: Point) -> Setup:
        setup = continuous_trial(point)
        return Setup(setup.profile, {**setup.sim, "stop_button_at": "5"})

    (row,) = run_sweep(Grid(**SHORT), button_at_5_s, executor=SerialExecutor()).rows
    assert row["outcome"] == "fault"
    error = row["error"]
    assert isinstance(error, str) and error.startswith("SessionStopped")
    on_time = row["ch1_on_time_s"]
    assert isinstance(on_time, float) and 1.0 < on_time < 5.0
