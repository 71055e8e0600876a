"""The simulated hardware around the firmware: physics in numpy, faults, the cable.

- ``output``: a channel's current source with its pulse engine, relay and load, implementing
  ``simulator.firmware.hal.OutputStage``; ``loads``: electrode–tissue loads and the compliance
  limit; ``pulses``: the exact pulse tables; ``recorder``: delivered charge, pulse by pulse.
- ``device``: ``Device``, the firmware running on these output stages.
- ``faults``: the seeded link fault layer and timed device events; ``wire``: the serial line in
  each direction and the cable (``Link``) with its fault layers.

Floats are at home here: currents limited by compliance, Randles impedances, charges. What the
firmware reads back crosses ``simulator.firmware.hal`` as integers.
"""

from simulator.hardware.device import Device, SeededRandom
from simulator.hardware.faults import (
    DeviceEvent,
    Direction,
    EventKind,
    FaultInjector,
    FaultKind,
    FaultUnit,
    LinkFault,
)
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
from simulator.hardware.output import SimulatedOutputStage, TimeVaryingLoad
from simulator.hardware.pulses import (
    PULSE_DTYPE,
    pulse_onsets,
    pulse_table,
    ramp_amplitude_uA,
    shape_pulses,
)
from simulator.hardware.recorder import ChannelRecorder, Recorder
from simulator.hardware.wire import BITS_PER_BYTE, DEFAULT_BAUD, DeviceEnd, Link, Wire

__all__ = [
    "BITS_PER_BYTE",
    "DEFAULT_BAUD",
    "DEFAULT_LOAD",
    "PULSE_DTYPE",
    "ChannelRecorder",
    "Device",
    "DeviceEnd",
    "DeviceEvent",
    "Direction",
    "EventKind",
    "FaultInjector",
    "FaultKind",
    "FaultUnit",
    "Intermittent",
    "Link",
    "LinkFault",
    "Load",
    "OpenCircuit",
    "Randles",
    "Recorder",
    "Resistive",
    "SeededRandom",
    "ShortCircuit",
    "SimulatedOutputStage",
    "TimeVaryingLoad",
    "Wire",
    "deliverable_uA",
    "parse_load",
    "pulse_onsets",
    "pulse_table",
    "ramp_amplitude_uA",
    "shape_pulses",
]
