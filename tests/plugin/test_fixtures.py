"""The plugin's fixtures in this test session (the installed entry point loads the plugin here
too): URL building, marker merging, and the stimulator's teardown."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from eacontrol.device import Stimulator
from eacontrol.testing.plugin import simulator_url

pytestmark = pytest.mark.ea_simulator(channels=3, seed=11)


def test_simulator_url_encodes_options_and_repeats_lists() -> None:
    url = simulator_url(
        {
            "channels": 4,
            "drop": 0.01,
            "electrode_off": ["0@2", "1@5.5"],
            "baud": False,
            "scenario": Path("/tmp/a b.toml"),
        }
    )
    assert url.startswith("sim://?")
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(url).query) == {
        "channels": ["4"],
        "drop": ["0.01"],
        "electrode_off": ["0@2", "1@5.5"],
        "baud": ["0"],
        "scenario": ["/tmp/a b.toml"],
    }
    assert simulator_url({}) == "sim://"


def test_module_marker_applies(ea_simulator: str) -> None:
    assert ea_simulator == "sim://?channels=3&seed=11"


@pytest.mark.ea_simulator(seed=12, serial="SIM-NEAR")
def test_the_closest_marker_wins(ea_simulator: str) -> None:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(ea_simulator).query)
    assert query == {"channels": ["3"], "seed": ["12"], "serial": ["SIM-NEAR"]}


def test_ea_port_is_the_simulator_without_the_option(ea_port: str, ea_simulator: str) -> None:
    assert ea_port == ea_simulator


@pytest.mark.ea_simulator(serial="SIM-TEARDOWN")
def test_stimulator_is_connected_in_virtual_time(ea_stimulator: Stimulator) -> None:
    assert ea_stimulator.info.serial == "SIM-TEARDOWN"
    assert ea_stimulator.limits.channel_count == 3
    start = ea_stimulator.clock.now()
    ea_stimulator.wait(30)
    assert ea_stimulator.clock.now() - start >= 30
