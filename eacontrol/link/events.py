"""What the link machine reports: the events ``LinkMachine.receive`` returns, and silence.

Plain frozen values, in stream order, so a test can compare a whole transcript at once and a
caller can route each kind where it belongs (``Link`` calls its ``on_status``/``on_event``
callbacks with ``StatusReceived`` and ``EventReceived``; the rest is for tests and tools).
"""

from __future__ import annotations

from dataclasses import dataclass

from eacontrol.errors import DeviceFault
from firmware_protocol import Event, Frame, FrameError, Status

__all__ = [
    "EventReceived",
    "FrameRejected",
    "LinkEvent",
    "LinkSilent",
    "ReplyReceived",
    "SessionEnded",
    "StatusReceived",
]


@dataclass(frozen=True)
class StatusReceived:
    """A STATUS newer than any accepted before (stale or pre-reboot ones are not reported).

    Attributes:
        status: the device's STATUS.
        ref_seq: the seq of the request it answers (0 if unsolicited).
        time_s: host time of receipt.
    """

    status: Status
    ref_seq: int
    time_s: float


@dataclass(frozen=True)
class EventReceived:
    """A device EVENT frame (every one, duplicates included: the device layer deduplicates).

    Attributes:
        event: the EVENT message.
        device_seq: the device's seq of the frame.
        time_s: host time of receipt.
    """

    event: Event
    device_seq: int
    time_s: float


@dataclass(frozen=True)
class ReplyReceived:
    """The answer to a pending command (matched by ``ref_seq`` and type; first one only).

    Attributes:
        seq: the command's seq.
        frame: the reply frame.
        time_s: host time of receipt.
    """

    seq: int
    frame: Frame
    time_s: float


@dataclass(frozen=True)
class FrameRejected:
    """Received bytes that did not decode to an acceptable frame (never answered).

    Attributes:
        error: the decoder's error (a ``TrustedFrameError`` answering a pending command is
            raised by ``retry_if_due`` for it).
        time_s: host time of receipt.
    """

    error: FrameError
    time_s: float


@dataclass(frozen=True)
class SessionEnded:
    """The device rebooted or forgot the session: stimulation will not resume by itself.

    Attributes:
        fault: the ``DeviceFault`` to raise (faults ``REBOOT`` or ``NO_SESSION``).
        time_s: host time the frame that showed it arrived.
    """

    fault: DeviceFault
    time_s: float


LinkEvent = StatusReceived | EventReceived | ReplyReceived | FrameRejected | SessionEnded
"""Everything ``LinkMachine.receive`` reports, in stream order."""


@dataclass(frozen=True)
class LinkSilent:
    """No STATUS for ``lease_periods`` lease periods of listening: the link is lost.

    Attributes:
        silent_s: seconds without a STATUS (counted from the caller's return if it was away).
        lease_s: the session's lease.
        lease_periods: the silence that counts as loss, in lease periods.
    """

    silent_s: float
    lease_s: float
    lease_periods: int

    @property
    def reason(self) -> str:
        """The loss, in words, for ``LinkLost``."""
        return (
            f"no STATUS from the device for {self.silent_s:.3f} s "
            f"({self.lease_periods} lease periods of {self.lease_s:g} s)"
        )
