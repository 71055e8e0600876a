"""The protocol's exception tree.

Every error the codec can produce is one of these; nothing else escapes from decoding any byte
string (a property test feeds random and hostile streams to prove it)::

    ProtocolError                    base of everything raised or yielded by firmware_protocol
    ├── EncodeError                  a value does not fit its wire field (names field, value, range)
    │   └── UnitError                an API value cannot be converted to its wire unit
    └── FrameError                   a received frame is rejected
        ├── UntrustedFrameError      not a frame of this major: counted, never answered
        │   ├── OversizeFrame        more than MAX_ENCODED_FRAME bytes before a delimiter
        │   ├── CobsError            the COBS encoding is invalid (e.g. a code byte overruns)
        │   ├── TruncatedFrame       shorter than header + CRC
        │   ├── CrcMismatch          CRC-32C does not match
        │   └── LengthMismatch       payload_len (or an unknown key kind) disagrees with the size
        ├── VersionMismatch          a sound frame of another major      → NAK BAD_VERSION
        ├── AuthenticationError      the frame is not the paired peer's: dropped, counted
        │   ├── BadTag               the tag does not verify (or the key is not held)
        │   └── ReplayedFrame        the counter is not new and not a retransmission
        └── TrustedFrameError        authenticated (or allowed without a key); content invalid
            ├── UnknownMessageType   msg_type not in this schema      → NAK UNEXPECTED_MESSAGE
            ├── UnsupportedFeature   an unknown incompat flag set     → NAK UNSUPPORTED_FEATURE
            └── PayloadError         a field's value is invalid       → NAK BAD_PAYLOAD

Decode errors are *yielded* by ``FrameDecoder.feed`` as values (a stream keeps going after a bad
frame); they are raised only by the one-shot ``decode_frame``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from firmware_protocol.frame import Header

__all__ = [
    "AuthenticationError",
    "BadTag",
    "CobsError",
    "CrcMismatch",
    "EncodeError",
    "FrameError",
    "LengthMismatch",
    "OversizeFrame",
    "PayloadError",
    "ProtocolError",
    "ReplayedFrame",
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
    """The bytes are not a sound frame of this major's layout: count it, never answer it."""


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
    """The header's payload_len (or its key kind, which sets the tag's size) disagrees with the
    frame's size."""

    code = "length"


class CrcMismatch(UntrustedFrameError):
    """The CRC-32C over header, payload and tag does not match."""

    code = "crc"

    def __init__(self, expected: int, received: int) -> None:
        super().__init__(
            f"CRC-32C mismatch: computed 0x{expected:08X}, frame says 0x{received:08X}"
        )
        self.expected = expected
        self.received = received


class TrustedFrameError(FrameError):
    """An authenticated frame (or one its type allows without a key) with invalid content; the
    device answers with NAK.

    Attributes:
        header: the frame's header (its counter is the NAK's ref_counter).
        field: index of the offending field in the message layout, or None.
    """

    def __init__(self, message: str, header: Header, field: int | None = None) -> None:
        super().__init__(message)
        self.header = header
        self.field = field


class UnknownMessageType(TrustedFrameError):
    """The msg_type is not defined by this schema."""

    code = "unknown_msg_type"

    def __init__(self, header: Header) -> None:
        super().__init__(f"unknown msg_type 0x{header.msg_type:02X}", header)
        self.msg_type = header.msg_type


class AuthenticationError(FrameError):
    """The frame is sound but not from the paired peer of this session: dropped and counted,
    never answered (an answer would help a forger).

    Attributes:
        header: the frame's header, as received (not to be trusted).
    """

    def __init__(self, message: str, header: Header) -> None:
        super().__init__(message)
        self.header = header


class BadTag(AuthenticationError):
    """The tag does not verify under the key its header names (or that key is not held)."""

    code = "bad_tag"


class ReplayedFrame(AuthenticationError):
    """The counter was already used and the frame is not a retransmission of a recent one."""

    code = "replayed"


class VersionMismatch(FrameError):
    """A sound frame (its CRC verified) of another protocol major.

    Attributes:
        proto_major: byte 0 of the frame, the sender's major.
    """

    code = "version"

    def __init__(self, proto_major: int, own_major: int) -> None:
        super().__init__(f"frame is protocol major {proto_major}, this side speaks {own_major}")
        self.proto_major = proto_major


class UnsupportedFeature(TrustedFrameError):
    """An incompat flag unknown to this implementation is set."""

    code = "incompat_flag"


class PayloadError(TrustedFrameError):
    """A payload field holds a value its type does not allow (e.g. an undefined enum)."""

    code = "payload"
