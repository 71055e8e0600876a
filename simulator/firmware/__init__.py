"""The device logic, as firmware would run it: integers only, hardware behind ``hal``.

Everything here is what the C core will do, one-to-one: frames in and out, the lease, the check
grid and EVENTs (``device``), the receive order of protocol major 2 (``receive``), the open
session with its keys, counters and reply cache (``session``), the pairing keys and the pairing
window (``keys``), the command handlers in their check order (``commands``, ``checks``), the
limits table (``model``), the channel state machine (``channel``) with its ramps (``ramp``),
pulse timing (``schedule``) and dose counters (``dose``). Stimulation quantities are whole µA,
µs, ms, nC, Ω and cHz (``units`` states the rounding); time is passed in as integer µs. The
hardware is reached only through the interfaces of ``hal``.

Imports ``firmware_protocol`` and the standard library only: no numpy, no ``math``, nothing
of ``simulator.hardware`` or ``eacontrol`` (``tests/simulator/test_layering.py``).
"""

from simulator.firmware.channel import Channel, EventSink, StopCause
from simulator.firmware.checks import (
    MAX_MODE_MS,
    MIN_MODE_MS,
    Refused,
    check_intensity,
    check_program,
    max_target_uA,
)
from simulator.firmware.device import Firmware
from simulator.firmware.dose import DoseCounters
from simulator.firmware.hal import (
    OPEN_OHM,
    Delivered,
    Drive,
    OutputStage,
    RandomSource,
    random_bytes,
)
from simulator.firmware.keys import MAX_KEYS, MAX_WINDOW_S, KeyStore, Paired
from simulator.firmware.model import MAX_CHECK_PERIOD_US, DeviceModel
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import (
    Burst,
    Schedule,
    freq_at_cHz,
    half_phases_us,
    phase_at_us,
    schedule,
    time_per_half_us,
)
from simulator.firmware.session import LAST_COUNTER, ReplyCache, Session, SessionIds
from simulator.firmware.units import CENTI_HZ_PERIOD_US

__all__ = [
    "CENTI_HZ_PERIOD_US",
    "LAST_COUNTER",
    "MAX_CHECK_PERIOD_US",
    "MAX_KEYS",
    "MAX_MODE_MS",
    "MAX_WINDOW_S",
    "MIN_MODE_MS",
    "OPEN_OHM",
    "Burst",
    "Channel",
    "Delivered",
    "DeviceModel",
    "DoseCounters",
    "Drive",
    "EventSink",
    "Firmware",
    "KeyStore",
    "OutputStage",
    "Paired",
    "Ramp",
    "RandomSource",
    "Refused",
    "ReplyCache",
    "Schedule",
    "Session",
    "SessionIds",
    "StopCause",
    "check_intensity",
    "check_program",
    "freq_at_cHz",
    "half_phases_us",
    "max_target_uA",
    "phase_at_us",
    "random_bytes",
    "schedule",
    "time_per_half_us",
]
