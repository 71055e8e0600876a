"""The eacontrol device simulator: firmware model, output stage, pulse engine, clocks, faults.

Imports ``firmware_protocol``, numpy and pyserial only, never ``eacontrol``: the device's
interlocks are an independent second safety layer, not a copy of the host's (DESIGN.md §2).

Importing this package registers the ``sim://`` URL with pyserial, so
``serial.serial_for_url("sim://?channels=6&seed=1")`` returns a simulated device in virtual time
(options: ``simulator/README.md``). ``python -m simulator --pty|--tcp`` serves one in real time.
"""

import serial

from simulator.clock import RealClock, VirtualClock
from simulator.hardware.faults import Direction, EventKind, FaultKind, FaultUnit, LinkFault
from simulator.firmware.device import Device
from simulator.hardware.loads import (
    DEFAULT_LOAD,
    Intermittent,
    Load,
    OpenCircuit,
    Randles,
    Resistive,
    ShortCircuit,
    deliverable_uA,
    parse_load,
)
from simulator.firmware.model import DeviceModel
from simulator.hardware.pulses import (
    CENTI_HZ_PERIOD_US,
    PULSE_DTYPE,
    freq_at_cHz,
    pulse_onsets,
    pulse_table,
    time_per_half_us,
)
from simulator.hardware.recorder import ChannelRecorder, Recorder
from simulator.serve.scenario import (
    Bench,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
)
from simulator.hardware.wire import Link, Wire

# pyserial finds URL handlers as <package>.protocol_<scheme> (simulator/protocol_sim.py).
if "simulator" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("simulator")

__all__ = [
    "CENTI_HZ_PERIOD_US",
    "DEFAULT_LOAD",
    "PULSE_DTYPE",
    "Bench",
    "ChannelRecorder",
    "Device",
    "DeviceModel",
    "Direction",
    "EventKind",
    "FaultKind",
    "FaultUnit",
    "Intermittent",
    "Link",
    "LinkFault",
    "Load",
    "OpenCircuit",
    "Randles",
    "RealClock",
    "Recorder",
    "Resistive",
    "Scenario",
    "ScenarioError",
    "ShortCircuit",
    "VirtualClock",
    "Wire",
    "bundled_scenarios",
    "deliverable_uA",
    "freq_at_cHz",
    "load_scenario",
    "parse_load",
    "pulse_onsets",
    "pulse_table",
    "time_per_half_us",
]
