"""eacontrol: open, safety-first control of electroacupuncture stimulators.

The public API, importable from here (submodules other than the exception tree load on first
use, so ``import eacontrol`` and the ``eactl`` command start fast)::

    import eacontrol

    profile = eacontrol.load_profile("lbp_2_100hz_han")
    with eacontrol.connect("sim://") as stim:          # or a serial port, socket://, spy://
        stim.program(1, profile.stimulation(0, 1))
        stim.start(1)
        stim.wait(10.0)                                # keeps the heartbeat lease

Channels are numbered from 1, as labelled on the device. Every error is an ``EAError``.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

# The exception tree is standard library only, so it loads at once: every error is importable
# from here, and named in __all__, as eacontrol.errors.__all__ lists it (no second list here).
from eacontrol import errors
from eacontrol.errors import *  # noqa: F403

__version__ = "0.1.0"

# Logging belongs to the application (STYLE.md 10): the library only adds a NullHandler.
logging.getLogger(__name__).addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from eacontrol.device import (
        ChannelDose,
        ChannelReport,
        DeviceEvent,
        DeviceInfo,
        DeviceStatus,
        PortInfo,
        Stimulator,
        connect,
        find_ports,
    )
    from eacontrol.link import Clock, RealClock
    from eacontrol.profiles import (
        PatientContext,
        Profile,
        SitePolicy,
        check_profile,
        load_profile,
        validate_file,
    )
    from eacontrol.records import RecordStore
    from eacontrol.stimulation import PulseShape, Stimulation, StimulationMode

_HOMES = {
    "Clock": "eacontrol.link.clock",
    "RealClock": "eacontrol.link.clock",
    "connect": "eacontrol.device.connection",
    "DeviceEvent": "eacontrol.device.events",
    "DeviceInfo": "eacontrol.device.identity",
    "PortInfo": "eacontrol.device.ports",
    "find_ports": "eacontrol.device.ports",
    "PatientContext": "eacontrol.profiles",
    "Profile": "eacontrol.profiles",
    "SitePolicy": "eacontrol.profiles",
    "check_profile": "eacontrol.profiles",
    "load_profile": "eacontrol.profiles",
    "validate_file": "eacontrol.profiles",
    "PulseShape": "eacontrol.stimulation",
    "Stimulation": "eacontrol.stimulation",
    "StimulationMode": "eacontrol.stimulation",
    "RecordStore": "eacontrol.records",
    "ChannelDose": "eacontrol.device.status",
    "ChannelReport": "eacontrol.device.status",
    "DeviceStatus": "eacontrol.device.status",
    "Stimulator": "eacontrol.device.stimulator",
}

__all__ = [
    "ChannelDose",
    "ChannelReport",
    "Clock",
    "DeviceEvent",
    "DeviceInfo",
    "DeviceStatus",
    "PatientContext",
    "PortInfo",
    "Profile",
    "PulseShape",
    "RealClock",
    "RecordStore",
    "SitePolicy",
    "Stimulation",
    "StimulationMode",
    "Stimulator",
    "__version__",
    "check_profile",
    "connect",
    "find_ports",
    "load_profile",
    "validate_file",
]
__all__ += errors.__all__
__all__.sort()  # ASCII order, as ruff's RUF022: Classes, then __version__, then functions


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'eacontrol' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
