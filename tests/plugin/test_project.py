"""The pytest plugin, exercised by a user's test project (``project/``) in its own pytest run.

The project has no conftest: its fixtures come from the installed entry point. It runs once on
the simulator, and once with ``--ea-port`` on a "real" device: the simulator served in real
time behind a pseudo-terminal by ``python -m simulator --pty``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import plugin_project
import pytest
from plugin_project import Outcomes
from pty_simulator import simulator_on_a_pty

from eacontrol.device.pair_port import pair_port


@pytest.fixture
def run_project(tmp_path: Path) -> Callable[..., Outcomes]:
    """Run the project (``plugin_project.run_project``) with extra options."""

    def run(*options: str) -> Outcomes:
        return plugin_project.run_project(tmp_path, *options, timeout_s=300)[0]

    return run


ALL_TESTS = {
    "test_device_reports_limits_and_starts_with_outputs_off",
    "test_ramps_to_the_intensity_and_stops_at_zero",
    "test_the_marker_configures_the_simulated_device",
    "test_a_needle_coming_out_is_a_latched_fault",
    "test_long_stimulation_runs_in_virtual_time",
    "test_the_url_opens_with_pyserial_too",
}


@pytest.mark.slow
def test_project_passes_on_the_simulator(run_project: Callable[..., Outcomes]) -> None:
    outcomes = run_project()
    assert set(outcomes) == ALL_TESTS
    assert {name: o for name, (o, _) in outcomes.items() if o != "passed"} == {}


@pytest.fixture
def bench_device() -> Iterator[str]:
    """A device in real time behind a pty (``python -m simulator --pty``), paired with this
    test's key store (``XDG_CONFIG_HOME``, tests/conftest.py) as ``eactl pair`` would; yields its
    path."""
    with simulator_on_a_pty("--serial", "BENCH-1", "-q", "--pairing-window", "60") as path:
        pair_port(path)
        yield path


@pytest.mark.pty
@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="the bench device is served on a POSIX pty")
def test_ea_port_points_the_same_tests_at_a_device(
    run_project: Callable[..., Outcomes], bench_device: str
) -> None:
    outcomes = run_project("--ea-port", bench_device, "--ea-device-serial", "BENCH-1")
    assert set(outcomes) == ALL_TESTS
    states = {name: o for name, (o, _) in outcomes.items()}
    failed = {name: message for name, (o, message) in outcomes.items() if o == "failure"}
    assert states == {
        "test_device_reports_limits_and_starts_with_outputs_off": "passed",
        "test_ramps_to_the_intensity_and_stops_at_zero": "passed",  # in real time
        "test_the_marker_configures_the_simulated_device": "skipped",
        "test_a_needle_coming_out_is_a_latched_fault": "skipped",
        # ea_simulator is always the simulator: these need no device.
        "test_long_stimulation_runs_in_virtual_time": "passed",
        "test_the_url_opens_with_pyserial_too": "passed",
    }, failed  # what a failing project test said
    reason = outcomes["test_the_marker_configures_the_simulated_device"][1]
    assert "needs the simulator (channels, seed, serial); --ea-port is a real device" in reason
    assert "electrode_off" in outcomes["test_a_needle_coming_out_is_a_latched_fault"][1]


@pytest.mark.pty
@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="the bench device is served on a POSIX pty")
def test_a_pinned_serial_refuses_another_device(
    run_project: Callable[..., Outcomes], bench_device: str
) -> None:
    outcomes = run_project(
        "--ea-port", bench_device, "--ea-device-serial", "EA6-000123", "-k", "reports_limits"
    )
    outcome, message = outcomes["test_device_reports_limits_and_starts_with_outputs_off"]
    assert outcome == "error"
    assert "IdentityMismatch" in message
