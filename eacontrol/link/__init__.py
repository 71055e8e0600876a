"""The link to a device: transport, clock, sequence numbers, replies, retries and the lease.

Below the device layer and above the wire protocol: ``eacontrol.device`` drives it; it imports
only ``firmware_protocol``, pyserial and ``eacontrol.errors``.
"""

from eacontrol.link.clock import Clock, RealClock, TICK_s
from eacontrol.link.driver import (
    DEFAULT_MAX_ATTEMPTS,
    LEASE_PERIODS_TO_LOSS,
    DEFAULT_REPLY_TIMEOUT_s,
    Link,
)
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog, FrameRecord
from eacontrol.link.transport import DEFAULT_BAUDRATE, SIMULATOR_HANDLER_PACKAGE, Transport

__all__ = [
    "DEFAULT_BAUDRATE",
    "DEFAULT_HISTORY",
    "DEFAULT_MAX_ATTEMPTS",
    "LEASE_PERIODS_TO_LOSS",
    "SIMULATOR_HANDLER_PACKAGE",
    "Clock",
    "DEFAULT_REPLY_TIMEOUT_s",
    "FrameLog",
    "FrameRecord",
    "Link",
    "RealClock",
    "TICK_s",
    "Transport",
]
