"""Scenario files, URL/CLI options and a scenario running on the virtual clock."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from firmware_protocol import ChannelState, Fault
from simulator.clock import VirtualClock
from simulator.firmware.model import DeviceModel
from simulator.hardware.faults import (
    DeviceEvent,
    Direction,
    EventKind,
    FaultKind,
    FaultUnit,
    LinkFault,
)
from simulator.hardware.loads import DEFAULT_LOAD, OpenCircuit, Resistive
from simulator.serve.bench import Bench
from simulator.serve.options import scenario_from_options
from simulator.serve.scenario import (
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    scenario_from_dict,
)

FULL = """
schema_version = 1
seed = 7
baud = 9600

[device]
serial = "SIM-000042"
channel_count = 4
fw_version = [1, 2, 3]

[loads]
1 = "1k"
3 = "randles:200,1k,100n"

[[fault]]
kind = "corrupt"
direction = "to_device"
rate = 0.01
bits = 2

[[fault]]
kind = "delay"
unit = "byte"
at_s = 3
delay_ms = 20

[[event]]
at_s = 12.5
kind = "electrode_off"
channel = 3

[[event]]
at_s = 20
kind = "load"
channel = 2
load = "10k"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_scenario_file(tmp_path: Path) -> None:
    # the file numbers channels from 1, as labelled on the device; the Scenario holds wire indices
    scenario = load_scenario(write(tmp_path, FULL))
    assert scenario.seed == 7
    assert scenario.baud == 9600
    assert scenario.model.serial == "SIM-000042"
    assert scenario.model.channel_count == 4
    assert scenario.model.fw_version == (1, 2, 3)
    assert scenario.loads == ("1k", "", "randles:200,1k,100n")
    assert scenario.faults == (
        LinkFault(FaultKind.CORRUPT, Direction.TO_DEVICE, rate=0.01, bits=2),
        LinkFault(FaultKind.DELAY, unit=FaultUnit.BYTE, at_s=3.0, delay_ms=20.0),
    )
    assert scenario.events == (
        DeviceEvent(12.5, EventKind.ELECTRODE_OFF, channel=2),
        DeviceEvent(20.0, EventKind.LOAD, channel=1, load="10k"),
    )


def test_the_bundled_scenarios_are_installed_and_load_by_name() -> None:
    names = bundled_scenarios()
    assert names == ["electrode_loss", "flaky_link", "hardware_faults"]
    for name in names:
        assert isinstance(load_scenario(name), Scenario)
    assert scenario_from_options({"scenario": ["flaky_link"]}).faults


def test_the_bundled_scenarios_number_channels_from_1() -> None:
    loss = load_scenario("electrode_loss")
    assert loss.loads == ("randles:200,1k,100n", "1k", "intermittent:1k@5000/200", "10k")
    assert loss.events == (
        DeviceEvent(20.0, EventKind.ELECTRODE_OFF, channel=1),  # "channel = 2" in the file
        DeviceEvent(40.0, EventKind.ELECTRODE_ON, channel=1),
        DeviceEvent(60.0, EventKind.LOAD, channel=3, load="2k"),
    )
    stuck = load_scenario("hardware_faults").events[0]
    assert stuck == DeviceEvent(30.0, EventKind.STUCK_OUTPUT, channel=0, current_uA=1500)


def test_minimal_file_gives_the_defaults() -> None:
    assert scenario_from_dict({"schema_version": 1}) == Scenario()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "schema_version must be 1"),
        ({"schema_version": 2}, "schema_version must be 1"),
        ({"schema_version": 1, "colour": "red"}, "unknown key.*colour"),
        ({"schema_version": 1, "device": {"chanels": 2}}, r"\[device\]: unknown key.*chanels"),
        ({"schema_version": 1, "device": {"channel_count": 9}}, "channel_count"),
        ({"schema_version": 1, "device": {"channel_count": "4"}}, "whole number"),
        ({"schema_version": 1, "device": {"serial": 5}}, "string"),
        ({"schema_version": 1, "device": {"fw_version": [1, 2]}}, "list of 3"),
        ({"schema_version": 1, "seed": 1.5}, "seed must be a whole number"),
        ({"schema_version": 1, "device": []}, r"\[device\] must be a table"),
        ({"schema_version": 1, "loads": {"x": "1k"}}, "expected channel"),
        ({"schema_version": 1, "loads": {"1": "lots"}}, "load of channel 1"),
        (
            {"schema_version": 1, "loads": {"0": "1k"}},
            r"test\.toml \[loads\] 0: no channel 0: channels are 1\.\.6",
        ),
        (
            {"schema_version": 1, "loads": {"7": "1k"}},
            r"test\.toml \[loads\] 7: no channel 7: channels are 1\.\.6",
        ),
        (
            {"schema_version": 1, "device": {"channel_count": 2}, "loads": {"3": "1k"}},
            r"\[loads\] 3: no channel 3: channels are 1\.\.2",
        ),
        ({"schema_version": 1, "fault": {"kind": "drop"}}, "array of tables"),
        ({"schema_version": 1, "fault": [{"kind": "explode", "rate": 1}]}, "kind must be one of"),
        ({"schema_version": 1, "fault": [{"kind": "drop"}]}, r"\[\[fault\]\] #1.*exactly one"),
        ({"schema_version": 1, "fault": [{"kind": "drop", "rate": "x"}]}, "rate must be a number"),
        ({"schema_version": 1, "fault": [{"kind": "drop", "rate": 1, "when": 1}]}, "when"),
        ({"schema_version": 1, "event": [{"kind": "reboot"}]}, "at_s is required"),
        (
            {"schema_version": 1, "event": [{"at_s": 1, "kind": "load", "channel": 1}]},
            "only a load event, names a load",
        ),
        (
            {"schema_version": 1, "event": [{"at_s": 1, "kind": "electrode_off", "channel": 7}]},
            r"\[\[event\]\] #1: no channel 7: channels are 1\.\.6",
        ),
        (
            {"schema_version": 1, "event": [{"at_s": 1, "kind": "electrode_off", "channel": 0}]},
            r"\[\[event\]\] #1: no channel 0: channels are 1\.\.6",
        ),
        (
            {"schema_version": 1, "event": [{"at_s": 1, "kind": "load", "channel": 1, "load": 3}]},
            "load must be a string",
        ),
    ],
)
def test_invalid_files_are_refused_with_the_key_named(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict(data, source="test.toml")


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.toml"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match=r"scenario\.toml"):
        load_scenario(write(tmp_path, "schema_version = = 1"))


def test_options_build_a_scenario() -> None:
    scenario = scenario_from_options(
        {
            "channels": ["2"],
            "seed": ["9"],
            "baud": ["0"],
            "serial": ["SIM-7"],
            "max_lease_ms": ["800"],
            "load2": ["10k"],
            "drop": ["0.3"],
            "corrupt_to_host": ["0.01"],
            "delay_to_device": ["0.5"],
            "delay_ms": ["40"],
            "unplug_at": ["12.5"],
            "electrode_off": ["1@1", "2@2.5"],
        }
    )
    assert scenario.model == DeviceModel(channel_count=2, serial="SIM-7", max_lease_ms=800)
    assert (scenario.seed, scenario.baud, scenario.loads) == (9, 0, ("", "10k"))
    assert scenario.faults == (
        LinkFault(FaultKind.DROP, rate=0.3),
        LinkFault(FaultKind.CORRUPT, Direction.TO_HOST, rate=0.01),
        LinkFault(FaultKind.DELAY, Direction.TO_DEVICE, rate=0.5, delay_ms=40.0),
    )
    assert scenario.events == (
        DeviceEvent(12.5, EventKind.UNPLUG),
        DeviceEvent(1.0, EventKind.ELECTRODE_OFF, channel=0),
        DeviceEvent(2.5, EventKind.ELECTRODE_OFF, channel=1),
    )


def test_load1_option_sets_the_load_of_wire_index_0() -> None:
    scenario = scenario_from_options({"channels": ["2"], "load1": ["10k"]})
    assert scenario.loads == ("10k",)
    bench = Bench(scenario, VirtualClock())
    assert bench.device.load(0) == Resistive(10_000.0)
    assert bench.device.load(1) == DEFAULT_LOAD
    assert bench.loads == [Resistive(10_000.0), DEFAULT_LOAD]


def test_event_channel_1_in_a_file_acts_on_wire_index_0(tmp_path: Path) -> None:
    text = """
schema_version = 1
[device]
channel_count = 2
[loads]
1 = "1k"
2 = "2k"
[[event]]
at_s = 1
kind = "electrode_off"
channel = 1
"""
    scenario = load_scenario(write(tmp_path, text))
    assert scenario.loads == ("1k", "2k")
    assert scenario.events == (DeviceEvent(1.0, EventKind.ELECTRODE_OFF, channel=0),)
    clock = VirtualClock()
    bench = Bench(scenario, clock)
    clock.sleep(1.5)
    assert isinstance(bench.device.load(0), OpenCircuit)
    assert bench.device.load(1) == Resistive(2000.0)


def test_options_shrinking_the_device_below_a_files_channels_are_refused_by_number(
    tmp_path: Path,
) -> None:
    loads = write(tmp_path, 'schema_version = 1\n[loads]\n6 = "1k"\n')
    with pytest.raises(ScenarioError, match=r"load given for channel 6; channels are 1\.\.2"):
        scenario_from_options({"scenario": [str(loads)], "channels": ["2"]})
    event = 'schema_version = 1\n[[event]]\nat_s = 1\nkind = "electrode_off"\nchannel = 6\n'
    with pytest.raises(ScenarioError, match=r"names channel 6; channels are 1\.\.2"):
        scenario_from_options({"scenario": [str(write(tmp_path, event))], "channels": ["2"]})


def test_options_override_and_extend_a_scenario_file(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    scenario = scenario_from_options({"scenario": [str(path)], "seed": ["1"], "reboot_at": ["5"]})
    assert scenario.seed == 1
    assert scenario.model.serial == "SIM-000042"
    assert len(scenario.faults) == 2
    assert scenario.events[-1] == DeviceEvent(5.0, EventKind.REBOOT)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"colour": ["red"]}, "unknown option 'colour'"),
        ({"seed": ["1", "2"]}, "seed given 2 times"),
        ({"seed": ["one"]}, "not a whole number"),
        ({"channels": ["0"]}, "channel_count"),
        ({"drop": ["2"]}, "probability"),
        ({"drop": ["-0.1"]}, "number >= 0"),
        ({"drop_to_nowhere": ["0.1"]}, "drop_to_nowhere"),
        ({"delay": ["0.1"]}, "delay_ms"),
        ({"delay_ms": ["10"]}, "without a delay rate"),
        ({"unplug_at": ["soon"]}, "unplug_at"),
        ({"electrode_off": ["2"]}, "<channel>@<seconds>"),
        (
            {"channels": ["2"], "electrode_on": ["3@1"]},
            r"electrode_on=3@1: no channel 3: .* 1\.\.2",
        ),
        ({"electrode_off": ["0@1"]}, r"electrode_off=0@1: no channel 0: channels are 1\.\.6"),
        ({"electrode_on": ["0@1"]}, r"electrode_on=0@1: no channel 0: channels are 1\.\.6"),
        ({"load0": ["1k"]}, r"load0: no channel 0: channels are 1\.\.6"),
        ({"load0": ["1k"], "channels": ["8"]}, r"load0: no channel 0: channels are 1\.\.8"),
        ({"load9": ["1k"], "channels": ["8"]}, r"load9: no channel 9: channels are 1\.\.8"),
        ({"loadx": ["1k"]}, "unknown option"),
        ({"load3": ["1k"], "channels": ["2"]}, r"load3: no channel 3: channels are 1\.\.2"),
        ({"fw_version": ["1.x.0"]}, "not a whole number"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        scenario_from_options(options)


def test_bench_applies_the_timed_events(caplog: pytest.LogCaptureFixture) -> None:
    scenario = scenario_from_options(
        {
            "channels": ["2"],
            "load1": ["1k"],
            "electrode_off": ["1@1"],
            "electrode_on": ["1@2"],
            "stop_button_at": ["2.5"],
            "reboot_at": ["3"],
            "unplug_at": ["4"],
        }
    )
    clock = VirtualClock()
    bench = Bench(scenario, clock)
    boot_id = bench.device.boot_id
    assert bench.loads == [Resistive(1000.0), DEFAULT_LOAD]
    with caplog.at_level(logging.INFO, logger="simulator.serve.bench"):
        clock.sleep(1.5)
        assert isinstance(bench.device.load(0), OpenCircuit)
        clock.sleep(1.0)
        assert bench.device.load(0) == Resistive(1000.0)
        clock.sleep(1.0)
        assert bench.device.boot_id != boot_id
        assert not bench.link.unplugged
        clock.sleep(1.0)
        assert bench.link.unplugged
    messages = [r.getMessage() for r in caplog.records]
    assert any("scenario: electrode_off channel 1 at 1 s" in m for m in messages)
    assert any("device EVENT REBOOT" in m for m in messages)


def test_bench_stuck_output_and_load_change() -> None:
    scenario = Scenario(
        DeviceModel(channel_count=2),
        events=(
            DeviceEvent(0.5, EventKind.LOAD, channel=1, load="open"),
            DeviceEvent(1.0, EventKind.STUCK_OUTPUT, channel=0, current_uA=1500),
        ),
    )
    clock = VirtualClock()
    bench = Bench(scenario, clock)
    clock.sleep(2)
    assert isinstance(bench.device.load(1), OpenCircuit)
    assert bench.device.channel_state(0) is ChannelState.FAULT
    assert bench.device.status().channels[0].faults & Fault.STUCK_OUTPUT


def test_same_seed_same_device() -> None:
    def boot_id(seed: int) -> int:
        return Bench(Scenario(seed=seed), VirtualClock()).device.boot_id

    assert boot_id(1) == boot_id(1)
    assert boot_id(1) != boot_id(2)
