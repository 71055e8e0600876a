"""The protocol's exception tree.

Every error the codec can produce is one of these; nothing else escapes from decoding any byte
string (a property test feeds random and hostile streams to prove it)::

    ProtocolError                    base of everything raised or yielded by firmware_protocol
    ├── EncodeError                  a value does not fit its wire field (names field, value, range)
    │   └── UnitError                an API value cannot be converted to its wire unit
    └── FrameError                   a received frame is rejected
        ├── UntrustedFrameError      header not verified: the frame is counted, never answered
        │   ├── OversizeFrame        more than MAX_ENCODED_FRAME bytes before a delimiter
        │   ├── CobsError            the COBS encoding is invalid (e.g. a code byte overruns)
        │   ├── TruncatedFrame       shorter than header + CRC
        │   ├── LengthMismatch       header.payload_len disagrees with the frame's length
        │   ├── UnknownMessageType   msg_type not in this schema (its CRC cannot be verified)
        │   └── CrcMismatch          CRC-32C (with the message's schema tag) does not match
        └── TrustedFrameError        CRC verified: the header is trusted and the device NAKs
            ├── VersionMismatch      proto_major differs          → NAK BAD_VERSION
            ├── UnsupportedFeature   an unknown incompat flag set → NAK UNSUPPORTED_FEATURE
            └── PayloadError         a field's value is invalid   → NAK BAD_PAYLOAD

Decode errors are *yielded* by ``FrameDecoder.feed`` as values (a stream keeps going after a bad
frame); they are raised only by the one-shot ``decode_frame``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_protocol.frame import Header

__all__ = [
    "CobsError",
    "CrcMismatch",
    "EncodeError",
    "FrameError",
    "LengthMismatch",
    "OversizeFrame",
    "PayloadError",
    "ProtocolError",
    "TruncatedFrame",
    "TrustedFrameError",
    "UnitError",
    "UnknownMessageType",
    "UnsupportedFeature",
    "UntrustedFrameError",
    "VersionMismatch",
]


class ProtocolError(Exception):
    """Base of every error of the wire protocol."""


class EncodeError(ProtocolError, ValueError):
    """A value does not fit its wire field.

    Attributes:
        field: the field's name.
        value: the offending value.
        allowed: the allowed range, as text (e.g. ``"0..65535"``).
    """

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"{field}={value!r} does not fit its wire field (allowed {allowed})")
        self.field = field
        self.value = value
        self.allowed = allowed


class UnitError(EncodeError):
    """An API value (mA, ms, Hz, …) cannot be converted to its integer wire unit."""


class FrameError(ProtocolError):
    """A received frame was rejected. ``code`` is a stable short name used in vectors."""

    code = "frame_error"


class UntrustedFrameError(FrameError):
    """The frame failed before its CRC was verified: count it, never answer it."""


class OversizeFrame(UntrustedFrameError):
    """More bytes than the largest possible frame arrived before a 0x00 delimiter."""

    code = "oversize"


class CobsError(UntrustedFrameError):
    """The COBS encoding is invalid."""

    code = "cobs"


class TruncatedFrame(UntrustedFrameError):
    """The decoded frame is shorter than a header plus a CRC."""

    code = "truncated"


class LengthMismatch(UntrustedFrameError):
    """The header's payload_len disagrees with the number of payload bytes received."""

    code = "length"


class UnknownMessageType(UntrustedFrameError):
    """The msg_type is not defined by this schema, so its CRC cannot be verified."""

    code = "unknown_msg_type"

    def __init__(self, msg_type: int) -> None:
        super().__init__(f"unknown msg_type 0x{msg_type:02X}")
        self.msg_type = msg_type


class CrcMismatch(UntrustedFrameError):
    """The CRC-32C over header, payload and schema tag does not match."""

    code = "crc"

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(
            f"CRC-32C mismatch: computed 0x{expected:08X}, frame says 0x{received:08X}"
        )
        self.expected = expected
        self.received = received


class TrustedFrameError(FrameError):
    """The CRC verified, so the header can be trusted; the device answers with NAK.

    Attributes:
        header: the verified header (its seq is the NAK's ref_seq).
        field: index of the offending field in the message layout, or None.
    """

    def __init__(self, message: str, header: Header, field: int | None = None) -> None:
        super().__init__(message)
        self.header = header
        self.field = field


class VersionMismatch(TrustedFrameError):
    """The frame's proto_major is not this implementation's."""

    code = "version"


class UnsupportedFeature(TrustedFrameError):
    """An incompat flag unknown to this implementation is set."""

    code = "incompat_flag"


class PayloadError(TrustedFrameError):
    """A payload field holds a value its type does not allow (e.g. an undefined enum)."""

    code = "payload"
