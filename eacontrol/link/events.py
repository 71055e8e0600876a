"""What the link machine reports: the events ``LinkMachine.receive`` returns, and silence.

Plain frozen values, in stream order, so a test can compare a whole transcript at once and a
caller can route each kind where it belongs (``Link`` calls its ``on_status``/``on_event``
callbacks with ``StatusReceived`` and ``EventReceived``; the rest is for tests and tools).
"""

from __future__ import annotations

from dataclasses import dataclass

from eacontrol.errors import DeviceFault
from firmware_protocol import AuthenticationError, Event, Frame, FrameError, Status

__all__ = [
    "AuthenticationFailed",
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
        ref_counter: the host counter of the request it answers (0 if unsolicited).
        time_s: host time of receipt.
    """

    status: Status
    ref_counter: int
    time_s: float


@dataclass(frozen=True)
class EventReceived:
    """A device EVENT frame (every one, duplicates included: the device layer deduplicates).

    Attributes:
        event: the EVENT message.
        device_counter: the device's counter of the frame.
        time_s: host time of receipt.
    """

    event: Event
    device_counter: int
    time_s: float


@dataclass(frozen=True)
class ReplyReceived:
    """The answer to a pending command (matched by ``ref_counter`` and type; first one only).

    Attributes:
        counter: the command's host counter.
        frame: the reply frame.
        time_s: host time of receipt.
    """

    counter: int
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
    """The device rebooted, forgot or closed the session: stimulation will not resume by itself.

    Attributes:
        fault: the ``DeviceFault`` to raise (faults ``REBOOT`` or ``NO_SESSION``).
        time_s: host time the frame that showed it arrived.
    """

    fault: DeviceFault
    time_s: float


@dataclass(frozen=True)
class AuthenticationFailed:
    """A SESSION-key device frame that is not this session's peer: a link fault.

    Its tag does not verify under the device→host key, its counter is not above the last one
    accepted (a replay), or it names another session. The machine accepts nothing more from the
    device; ``Link`` ends the link as lost (``LinkFault``): one best-effort STOP, the port
    closed, the device's lease switching its outputs off.

    Attributes:
        error: ``BadTag`` or ``ReplayedFrame``, naming what failed.
        time_s: host time of receipt.
    """

    error: AuthenticationError
    time_s: float


LinkEvent = (
    StatusReceived
    | EventReceived
    | ReplyReceived
    | FrameRejected
    | SessionEnded
    | AuthenticationFailed
)
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
