"""The link to a device: a sans-I/O protocol machine, and the adapter that drives it.

``LinkMachine`` (``eacontrol.link.machine``) owns the host counter, the session keys and the
check of every device frame (``eacontrol.link.auth``), reply matching, retries, the heartbeat
lease and pending commands, and does no I/O; ``Link`` (``eacontrol.link.driver``)
drives it over a ``Transport`` (pyserial) with a ``Clock``. ``docs/link.md`` describes both.

Below the device layer and above the wire protocol: ``eacontrol.device`` drives it; it imports
only ``firmware_protocol``, pyserial and ``eacontrol.errors``.
"""

from eacontrol.link.clock import Clock, RealClock, TICK_s
from eacontrol.link.counter import COUNTER_MAX, COUNTER_RESERVE
from eacontrol.link.driver import Link
from eacontrol.link.events import (
    AuthenticationFailed,
    EventReceived,
    FrameRejected,
    LinkEvent,
    LinkSilent,
    ReplyReceived,
    SessionEnded,
    StatusReceived,
)
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog, FrameRecord
from eacontrol.link.machine import (
    DEFAULT_MAX_ATTEMPTS,
    HEARTBEAT_FRACTION,
    LEASE_PERIODS_TO_LOSS,
    DEFAULT_REPLY_TIMEOUT_s,
    LinkMachine,
)
from eacontrol.link.transport import DEFAULT_BAUDRATE, SIMULATOR_HANDLER_PACKAGE, Transport

__all__ = [
    "COUNTER_MAX",
    "COUNTER_RESERVE",
    "DEFAULT_BAUDRATE",
    "DEFAULT_HISTORY",
    "DEFAULT_MAX_ATTEMPTS",
    "HEARTBEAT_FRACTION",
    "LEASE_PERIODS_TO_LOSS",
    "SIMULATOR_HANDLER_PACKAGE",
    "AuthenticationFailed",
    "Clock",
    "DEFAULT_REPLY_TIMEOUT_s",
    "EventReceived",
    "FrameLog",
    "FrameRecord",
    "FrameRejected",
    "Link",
    "LinkEvent",
    "LinkMachine",
    "LinkSilent",
    "RealClock",
    "ReplyReceived",
    "SessionEnded",
    "StatusReceived",
    "TICK_s",
    "Transport",
]
