"""The eacontrol device simulator: firmware in integers, simulated hardware, clocks, servers.

- ``simulator.firmware``: the device logic as firmware runs it (integers, behind a HAL);
- ``simulator.hardware``: the output stages, loads, pulse tables, faults and the cable (numpy);
- ``simulator.serve``: scenarios, and the device served over ``sim://``, a pty or TCP;
- ``simulator.clock``: virtual and real time; ``simulator.numbering``: channel numbers.

Imports ``firmware_protocol``, numpy and pyserial only, never ``eacontrol``: the device's
interlocks are an independent second safety layer, not a copy of the host's (docs/architecture.md).

Importing this package registers the ``sim://`` URL with pyserial, so
``serial.serial_for_url("sim://?channels=6&seed=1")`` returns a simulated device in virtual time
(options: ``simulator/README.md``). ``python -m simulator --pty|--tcp`` serves one in real time.
"""

from simulator.clock import RealClock, Scheduler, VirtualClock
from simulator.firmware import (
    CENTI_HZ_PERIOD_US,
    DeviceModel,
    Firmware,
    Ramp,
    freq_at_cHz,
    time_per_half_us,
)
from simulator.hardware import (
    DEFAULT_LOAD,
    PULSE_DTYPE,
    ChannelRecorder,
    Device,
    DeviceEnd,
    DeviceEvent,
    Direction,
    EventKind,
    FaultKind,
    FaultUnit,
    Intermittent,
    Link,
    LinkFault,
    Load,
    OpenCircuit,
    Randles,
    Recorder,
    Resistive,
    ShortCircuit,
    Wire,
    deliverable_uA,
    parse_load,
    pulse_onsets,
    pulse_table,
)
from simulator.serve import (
    Bench,
    Scenario,
    ScenarioError,
    SimSerial,
    bundled_scenarios,
    load_scenario,
    register_url_handler,
)

# pyserial finds URL handlers as <package>.protocol_<scheme> (simulator/protocol_sim.py).
register_url_handler()

__all__ = [
    "CENTI_HZ_PERIOD_US",
    "DEFAULT_LOAD",
    "PULSE_DTYPE",
    "Bench",
    "ChannelRecorder",
    "Device",
    "DeviceEnd",
    "DeviceEvent",
    "DeviceModel",
    "Direction",
    "EventKind",
    "FaultKind",
    "FaultUnit",
    "Firmware",
    "Intermittent",
    "Link",
    "LinkFault",
    "Load",
    "OpenCircuit",
    "Ramp",
    "Randles",
    "RealClock",
    "Recorder",
    "Resistive",
    "Scenario",
    "ScenarioError",
    "Scheduler",
    "ShortCircuit",
    "SimSerial",
    "VirtualClock",
    "Wire",
    "bundled_scenarios",
    "deliverable_uA",
    "freq_at_cHz",
    "load_scenario",
    "parse_load",
    "pulse_onsets",
    "pulse_table",
    "register_url_handler",
    "time_per_half_us",
]
