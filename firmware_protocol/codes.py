"""Numeric codes of the wire protocol: message types, modes, states, faults, NAK and event codes.

The numbers are normative (PROTOCOL.md §4–§7); never renumber one, only add.
"""

from __future__ import annotations

import enum

__all__ = [
    "ChannelState",
    "DeviceFlag",
    "EventCode",
    "Fault",
    "InfoFlag",
    "Mode",
    "MsgType",
    "NakCode",
    "SessionClosed",
    "Shape",
    "StopMode",
]


class MsgType(enum.IntEnum):
    """msg_type byte. Host→device types have bit 7 clear; device→host types have it set."""

    HELLO = 0x01
    GET_INFO = 0x02
    SET_PROGRAM = 0x03
    GET_PROGRAM = 0x04
    START = 0x05
    SET_INTENSITY = 0x06
    STOP = 0x07
    HEARTBEAT = 0x08
    GET_STATUS = 0x09
    CLEAR_FAULT = 0x0A
    GET_DOSE = 0x0B
    PAIR = 0x0C
    FORGET = 0x0D
    ACK = 0x80
    HELLO_ACK = 0x81
    INFO = 0x82
    PROGRAM = 0x84
    STATUS = 0x89
    DOSE = 0x8B
    PAIR_ACK = 0x8C
    NAK = 0x8E
    EVENT = 0x8F

    @property
    def from_device(self) -> bool:
        """True for messages the device sends."""
        return bool(self & 0x80)


class Mode(enum.IntEnum):
    """Stimulation mode of a program."""

    CONTINUOUS = 0
    DENSE_DISPERSE = 1
    INTERMITTENT = 2


class Shape(enum.IntEnum):
    """Pulse shape. Both are charge-balanced biphasic; monophasic output does not exist."""

    SYMMETRIC_BIPHASIC = 0
    ASYMMETRIC_BIPHASIC = 1


class StopMode(enum.IntEnum):
    """How STOP brings a channel to zero."""

    RAMP_DOWN = 0
    IMMEDIATE = 1


class ChannelState(enum.IntEnum):
    """Per-channel state reported in STATUS."""

    IDLE = 0
    PROGRAMMED = 1
    RAMPING = 2
    RUNNING = 3
    STOPPING = 4
    FAULT = 5

    @property
    def output_active(self) -> bool:
        """True while the channel may deliver current."""
        return self in (ChannelState.RAMPING, ChannelState.RUNNING, ChannelState.STOPPING)


class Fault(enum.IntFlag):
    """Latched per-channel fault bits; cleared only by CLEAR_FAULT once the channel's output
    stage has passed its self-test (PROTOCOL.md §3.10)."""

    NONE = 0
    ELECTRODE = 0x01
    COMPLIANCE = 0x02
    LEASE = 0x04
    STUCK_OUTPUT = 0x08
    BUTTON_STOP = 0x10


class DeviceFlag(enum.IntFlag):
    """Device-level flags in STATUS."""

    NONE = 0
    SESSION_OPEN = 0x01
    LEASE_VALID = 0x02
    FAULT_LATCHED = 0x04
    OUTPUT_ACTIVE = 0x08


class InfoFlag(enum.IntFlag):
    """Capability flags in INFO (major 2)."""

    NONE = 0
    PAIRING_WINDOW = 0x01
    """The pairing window is open: PAIR is accepted now."""


class NakCode(enum.IntEnum):
    """Error codes carried by NAK (PROTOCOL.md §7)."""

    BAD_VERSION = 1
    UNSUPPORTED_FEATURE = 2
    BAD_PAYLOAD = 3
    UNEXPECTED_MESSAGE = 4
    NO_SESSION = 5
    SCHEMA_MISMATCH = 6
    OUT_OF_RANGE = 7
    BAD_STATE = 8
    PROGRAM_MISMATCH = 9
    NONZERO_START = 10
    FAULT_LATCHED = 11
    NO_PROGRAM = 12
    NO_LEASE = 13
    BAD_CHANNEL = 14
    SELF_TEST_FAILED = 15  # CLEAR_FAULT refused: the output stage failed its self-test
    AUTH_REQUIRED = 16  # major 2: this message type needs a key the frame does not carry
    NOT_PAIRED = 17  # major 2: HELLO names a key_id the device does not hold
    PAIRING_CLOSED = 18  # major 2: PAIR outside the device's pairing window
    KEY_STORE_FULL = 19  # major 2: PAIR while every key slot is taken (FORGET one first)


class EventCode(enum.IntEnum):
    """Codes of unsolicited EVENT frames."""

    LEASE_EXPIRED = 1
    ELECTRODE_FAULT = 2
    COMPLIANCE = 3
    REBOOT = 4
    BUTTON_STOP = 5
    STUCK_OUTPUT = 6
    MAX_RUN_TIME = 7
    RAMP_DONE = 8
    STOPPED = 9
    SESSION_CLOSED = 10  # major 2: detail is a SessionClosed reason; the session never reopens


class SessionClosed(enum.IntEnum):
    """Why the device closed a session for good (EVENT SESSION_CLOSED ``detail``)."""

    LEASE = 1
    """The lease expired with an output active."""
    COUNTER_EXHAUSTED = 2
    """The host's counter reached 0xFFFFFFFF: the session ends rather than wrap."""
    REPLACED = 3
    """A HELLO opened another session while this one was idle."""
    FORGOTTEN = 4
    """FORGET erased the pairing key of this session."""
