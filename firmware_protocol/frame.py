"""Frames: ``COBS(header ‖ payload ‖ CRC-32C) ‖ 0x00`` (PROTOCOL.md §2), sans-I/O.

``encode_frame`` builds one frame; ``FrameDecoder.feed`` takes bytes in any chunking and returns
the frames and typed decode errors they complete, resyncing on the next 0x00 after garbage and
never buffering more than one maximal frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from firmware_protocol.cobs import cobs_decode, cobs_encode, max_encoded_len
from firmware_protocol.crc import crc32c
from firmware_protocol.errors import (
    CrcMismatch,
    FrameError,
    LengthMismatch,
    OversizeFrame,
    PayloadError,
    TruncatedFrame,
    UnknownMessageType,
    UnsupportedFeature,
    VersionMismatch,
)
from firmware_protocol.layout import BadField, check_int
from firmware_protocol.messages import MESSAGE_TYPES, PROTO_MAJOR, Message, schema_tag

__all__ = [
    "CRC_SIZE",
    "HEADER_SIZE",
    "KNOWN_INCOMPAT_FLAGS",
    "MAX_ENCODED_FRAME",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "Frame",
    "FrameDecoder",
    "Header",
    "decode_frame",
    "encode_frame",
]

_HEADER = struct.Struct("<BBBBHHHB")
HEADER_SIZE = _HEADER.size
"""11 bytes: proto_major, incompat_flags, compat_flags, msg_type, session_id, seq, ref_seq,
payload_len."""

CRC_SIZE = 4
MAX_PAYLOAD = 255
"""payload_len is one byte."""

MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
"""Largest decoded frame: 270 bytes."""

MAX_ENCODED_FRAME = max_encoded_len(MAX_FRAME)
"""Largest COBS-encoded frame without its delimiter: 272 bytes. More before a 0x00 is garbage."""

KNOWN_INCOMPAT_FLAGS = 0x00
"""Incompat flags this implementation understands (none yet). Any other bit → NAK."""


@dataclass(frozen=True)
class Header:
    """The 11-byte frame header."""

    proto_major: int
    incompat_flags: int
    compat_flags: int
    msg_type: int
    session_id: int
    seq: int
    ref_seq: int
    payload_len: int


@dataclass(frozen=True)
class Frame:
    """A decoded, verified frame."""

    header: Header
    message: Message


def encode_frame(
    message: Message,
    *,
    session_id: int,
    seq: int,
    ref_seq: int = 0,
    compat_flags: int = 0,
    incompat_flags: int = 0,
    proto_major: int = PROTO_MAJOR,
) -> bytes:
    """Encode ``message`` as one complete frame, including the trailing 0x00 delimiter.

    Args:
        message: the message.
        session_id: the session the frame belongs to (0 before HELLO).
        seq: the sender's sequence number; a retransmission reuses it.
        ref_seq: for replies, the seq of the command answered; 0 otherwise.
        compat_flags: optional-feature bits a receiver may ignore.
        incompat_flags: feature bits a receiver must understand (none are defined).
        proto_major: only overridden to build test vectors.

    Returns:
        The bytes to write to the link.

    Raises:
        EncodeError: a field (or the header) does not fit its wire type.
    """
    payload = message.encode()
    if len(payload) > MAX_PAYLOAD:  # pragma: no cover - no message layout is this large
        raise ValueError(f"{type(message).__name__} payload exceeds {MAX_PAYLOAD} bytes")
    header = _HEADER.pack(
        check_int("proto_major", proto_major, "B"),
        check_int("incompat_flags", incompat_flags, "B"),
        check_int("compat_flags", compat_flags, "B"),
        int(message.MSG_TYPE),
        check_int("session_id", session_id, "H"),
        check_int("seq", seq, "H"),
        check_int("ref_seq", ref_seq, "H"),
        len(payload),
    )
    body = header + payload
    crc = crc32c(schema_tag(message.MSG_TYPE), crc32c(body))
    return cobs_encode(body + crc.to_bytes(4, "little")) + b"\x00"


def decode_frame(encoded: bytes) -> Frame:
    """Decode and verify one frame given without its 0x00 delimiter.

    The checks run in the order of PROTOCOL.md §2.4; the first failing one is raised.

    Raises:
        FrameError: a subclass naming what failed.
    """
    if len(encoded) > MAX_ENCODED_FRAME:
        raise OversizeFrame(f"{len(encoded)} encoded bytes exceed {MAX_ENCODED_FRAME}")
    raw = cobs_decode(encoded)
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise TruncatedFrame(
            f"{len(raw)} bytes is shorter than header + CRC ({HEADER_SIZE + CRC_SIZE})"
        )
    header = Header(*_HEADER.unpack_from(raw))
    payload_len = len(raw) - HEADER_SIZE - CRC_SIZE
    if header.payload_len != payload_len:
        raise LengthMismatch(f"payload_len says {header.payload_len}, frame carries {payload_len}")
    cls = MESSAGE_TYPES.get(header.msg_type)  # type: ignore[call-overload]
    if cls is None:
        raise UnknownMessageType(header.msg_type)
    body = raw[:-CRC_SIZE]
    received = int.from_bytes(raw[-CRC_SIZE:], "little")
    computed = crc32c(schema_tag(header.msg_type), crc32c(body))
    if computed != received:
        raise CrcMismatch(computed, received)
    if header.proto_major != PROTO_MAJOR:
        raise VersionMismatch(
            f"frame is protocol major {header.proto_major}, this side speaks {PROTO_MAJOR}", header
        )
    unknown = header.incompat_flags & ~KNOWN_INCOMPAT_FLAGS
    if unknown:
        raise UnsupportedFeature(f"unknown incompat flags 0x{unknown:02X}", header)
    try:
        message = cls.decode(body[HEADER_SIZE:])
    except BadField as err:
        raise PayloadError(str(err), header, err.index) from None
    return Frame(header, message)


class FrameDecoder:
    """Stateful, sans-I/O stream decoder.

    Feed it bytes as they arrive, in any chunking; it returns, in order, each complete frame and
    each rejected one as a ``FrameError`` value. Empty frames (repeated 0x00) are skipped. After
    ``MAX_ENCODED_FRAME`` bytes without a delimiter it reports one ``OversizeFrame`` and discards
    up to the next 0x00, so its buffer never exceeds one maximal frame.

    Attributes:
        error_count: number of rejected frames so far (the device's ``rx_err_count``).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._discarding = False
        self.error_count = 0

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for a delimiter (never more than MAX_ENCODED_FRAME)."""
        return len(self._buffer)

    def reset(self) -> None:
        """Drop any partial frame (e.g. after the port was reopened)."""
        self._buffer.clear()
        self._discarding = False

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Consume ``data`` and return the frames and errors it completes.

        Args:
            data: bytes received, any length, any split.

        Returns:
            Decoded frames and ``FrameError`` values, in stream order.
        """
        out: list[Frame | FrameError] = []
        *complete, tail = bytes(data).split(b"\x00")
        for piece in complete:
            if self._discarding:
                self._discarding = False
                self._buffer.clear()
                continue
            self._buffer += piece
            if self._buffer:
                out.append(self._decode(bytes(self._buffer)))
                self._buffer.clear()
        if not self._discarding:
            self._buffer += tail
            if len(self._buffer) > MAX_ENCODED_FRAME:
                self._buffer.clear()
                self._discarding = True
                self.error_count += 1
                out.append(OversizeFrame(f"no delimiter within {MAX_ENCODED_FRAME} bytes"))
        return out

    def _decode(self, encoded: bytes) -> Frame | FrameError:
        try:
            return decode_frame(encoded)
        except FrameError as err:
            self.error_count += 1
            return err
