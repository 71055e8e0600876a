"""The device layer: ``connect()``, the ``Stimulator`` API, identity and port discovery.

Above the link (``eacontrol.link``), below the session runner (``eacontrol.session``).
"""

from eacontrol.device.connection import connect
from eacontrol.device.events import DeviceEvent
from eacontrol.device.identity import DeviceInfo
from eacontrol.device.ports import PortInfo, find_ports, resolve_port
from eacontrol.device.status import ChannelDose, ChannelReport, DeviceStatus
from eacontrol.device.stimulator import Stimulator

__all__ = [
    "ChannelDose",
    "ChannelReport",
    "DeviceEvent",
    "DeviceInfo",
    "DeviceStatus",
    "PortInfo",
    "Stimulator",
    "connect",
    "find_ports",
    "resolve_port",
]
