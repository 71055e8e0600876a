"""Frames of major 2: ``COBS(header ‖ payload ‖ tag ‖ CRC-32C) ‖ 0x00`` (PROTOCOL.md §2), sans-I/O.

``encode_frame`` builds one frame, tagged when given a key. Receiving has two stages, because
which key verifies a frame depends on the receiver's state (its session, its key store):
``FrameDecoder.feed`` takes bytes in any chunking and returns each ``RawFrame`` (a sound frame
of this major: CRC, version and length checked) and each rejected one as a ``FrameError``; the
receiver then checks the tag (``RawFrame.authentic``) and its counter, and only then decodes
the message (``RawFrame.decode``). It resyncs on the next 0x00 after garbage and never buffers
more than one maximal frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from firmware_protocol.auth import TAG_SIZE, KeyKind, tag, tag_matches
from firmware_protocol.cobs import cobs_decode, cobs_encode, max_encoded_len
from firmware_protocol.crc import crc32c
from firmware_protocol.errors import (
    BadTag,
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
from firmware_protocol.messages import MESSAGE_TYPES, PROTO_MAJOR, Message

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
    "RawFrame",
    "decode_frame",
    "encode_frame",
    "parse_frame",
]

_HEADER = struct.Struct("<BBBBBIIIB")
HEADER_SIZE = _HEADER.size
"""18 bytes: proto_major, incompat_flags, compat_flags, msg_type, key, session_id, counter,
ref_counter, payload_len."""

CRC_SIZE = 4
MAX_PAYLOAD = 255
"""payload_len is one byte."""

MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + TAG_SIZE + CRC_SIZE
"""Largest decoded frame: 293 bytes."""

MAX_ENCODED_FRAME = max_encoded_len(MAX_FRAME)
"""Largest COBS-encoded frame without its delimiter: 295 bytes. More before a 0x00 is garbage."""

KNOWN_INCOMPAT_FLAGS = 0x00
"""Incompat flags this implementation understands (none yet). Any other bit → NAK."""

_TAG_SIZES = {KeyKind.NONE: 0, KeyKind.PAIRING: TAG_SIZE, KeyKind.SESSION: TAG_SIZE}


@dataclass(frozen=True)
class Header:
    """The 18-byte frame header."""

    proto_major: int
    incompat_flags: int
    compat_flags: int
    msg_type: int
    key: int
    session_id: int
    counter: int
    ref_counter: int
    payload_len: int


@dataclass(frozen=True)
class Frame:
    """A decoded frame (authenticated by its receiver when ``header.key`` is not NONE)."""

    header: Header
    message: Message


@dataclass(frozen=True)
class RawFrame:
    """A sound frame of this major, not yet authenticated nor decoded.

    Attributes:
        header: the header as received (trust it only after ``authentic``).
        signed: header and payload, the bytes the tag covers.
        tag: the tag (empty for key NONE).
    """

    header: Header
    signed: bytes
    tag: bytes

    @property
    def payload(self) -> bytes:
        """The payload bytes."""
        return self.signed[HEADER_SIZE:]

    def authentic(self, key: bytes) -> bool:
        """True when the frame carries a tag and it verifies under ``key``."""
        return bool(self.tag) and tag_matches(key, self.signed, self.tag)

    def decode(self) -> Frame:
        """Decode the message (checks 9, 10 and 12 of PROTOCOL.md §2.5).

        Raises:
            UnknownMessageType: msg_type is not in this schema.
            UnsupportedFeature: an incompat flag this side does not know is set.
            PayloadError: the payload does not fit the message's layout.
        """
        header = self.header
        cls = MESSAGE_TYPES.get(header.msg_type)  # type: ignore[call-overload]
        if cls is None:
            raise UnknownMessageType(header)
        unknown = header.incompat_flags & ~KNOWN_INCOMPAT_FLAGS
        if unknown:
            raise UnsupportedFeature(f"unknown incompat flags 0x{unknown:02X}", header)
        try:
            message = cls.decode(self.payload)
        except BadField as err:
            raise PayloadError(str(err), header, err.index) from None
        return Frame(header, message)


def encode_frame(
    message: Message | type[Message],
    *,
    key: bytes | None = None,
    kind: KeyKind | None = None,
    session_id: int = 0,
    counter: int = 0,
    ref_counter: int = 0,
    compat_flags: int = 0,
    incompat_flags: int = 0,
    proto_major: int = PROTO_MAJOR,
    payload: bytes | None = None,
) -> bytes:
    """Encode ``message`` as one complete frame, including the trailing 0x00 delimiter.

    Args:
        message: the message; or its class, with ``payload`` (a payload built in wire form).
        key: the key that tags the frame (the hello key for HELLO, else the sender's session
            key); None for an untagged frame.
        kind: the header's key byte; SESSION when a key is given, NONE otherwise, unless set
            (HELLO is PAIRING).
        session_id: the open session (0 in frames outside a session).
        counter: the sender's counter (a retransmission reuses it); a request id when untagged.
        ref_counter: for replies, the counter of the frame answered; 0 otherwise.
        compat_flags: optional-feature bits a receiver may ignore.
        incompat_flags: feature bits a receiver must understand (none are defined).
        proto_major: only overridden to build test vectors.
        payload: ``message.encode()``, when the caller has it already (not encoded twice).

    Returns:
        The bytes to write to the link.

    Raises:
        EncodeError: a field (or the header) does not fit its wire type.
        ValueError: a key kind other than NONE without a key, or a key with kind NONE.
        TypeError: a message class without its payload.
    """
    if kind is None:
        kind = KeyKind.NONE if key is None else KeyKind.SESSION
    if (kind == KeyKind.NONE) != (key is None):
        raise ValueError(f"key kind {kind.name} needs {'a key' if key is None else 'no key'}")
    if payload is None:
        if isinstance(message, type):
            raise TypeError(f"{message.__name__}: a message class needs its payload")
        payload = message.encode()
    if len(payload) > MAX_PAYLOAD:  # pragma: no cover - no message layout is this large
        raise ValueError(f"{type(message).__name__} payload exceeds {MAX_PAYLOAD} bytes")
    header = _HEADER.pack(
        check_int("proto_major", proto_major, "B"),
        check_int("incompat_flags", incompat_flags, "B"),
        check_int("compat_flags", compat_flags, "B"),
        int(message.MSG_TYPE),
        int(kind),
        check_int("session_id", session_id, "I"),
        check_int("counter", counter, "I"),
        check_int("ref_counter", ref_counter, "I"),
        len(payload),
    )
    body = header + payload
    if key is not None:
        body += tag(key, body)
    return cobs_encode(body + crc32c(body).to_bytes(4, "little")) + b"\x00"


def parse_frame(encoded: bytes) -> RawFrame:
    """Check one frame given without its 0x00 delimiter (checks 1–6 of PROTOCOL.md §2.5).

    Raises:
        UntrustedFrameError: a subclass naming what failed (never answered).
        VersionMismatch: a sound frame of another major.
    """
    if len(encoded) > MAX_ENCODED_FRAME:
        raise OversizeFrame(f"{len(encoded)} encoded bytes exceed {MAX_ENCODED_FRAME}")
    raw = cobs_decode(encoded)
    if len(raw) < HEADER_SIZE + CRC_SIZE:
        raise TruncatedFrame(
            f"{len(raw)} bytes is shorter than header + CRC ({HEADER_SIZE + CRC_SIZE})"
        )
    received = int.from_bytes(raw[-CRC_SIZE:], "little")
    computed = crc32c(raw[:-CRC_SIZE])
    if computed != received:
        raise CrcMismatch(computed, received)
    if raw[0] != PROTO_MAJOR:
        raise VersionMismatch(raw[0], PROTO_MAJOR)
    header = Header(*_HEADER.unpack_from(raw))
    tag_size = _TAG_SIZES.get(header.key)  # type: ignore[call-overload]
    if tag_size is None:
        raise LengthMismatch(f"unknown key kind {header.key}")
    payload_len = len(raw) - HEADER_SIZE - tag_size - CRC_SIZE
    if header.payload_len != payload_len:
        raise LengthMismatch(f"payload_len says {header.payload_len}, frame carries {payload_len}")
    signed_end = HEADER_SIZE + payload_len
    return RawFrame(header, raw[:signed_end], raw[signed_end:-CRC_SIZE])


def decode_frame(encoded: bytes, *, key: bytes | None = None) -> Frame:
    """Check, authenticate and decode one frame given without its 0x00 delimiter.

    A one-shot helper for tests, vectors and logs. With ``key`` the tag must verify under it;
    without, a tagged frame is decoded unverified (only for inspecting known-good bytes).

    Raises:
        FrameError: a subclass naming what failed.
    """
    raw = parse_frame(encoded)
    if key is not None and not raw.authentic(key):
        raise BadTag("the tag does not verify under the given key", raw.header)
    return raw.decode()


class FrameDecoder:
    """Stateful, sans-I/O stream decoder.

    Feed it bytes as they arrive, in any chunking; it returns, in order, each complete sound
    frame as a ``RawFrame`` and each rejected one as a ``FrameError`` value. Empty frames
    (repeated 0x00) are skipped. After ``MAX_ENCODED_FRAME`` bytes without a delimiter it
    reports one ``OversizeFrame`` and discards up to the next 0x00, so its buffer never exceeds
    one maximal frame.

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

    def feed(self, data: bytes) -> list[RawFrame | FrameError]:
        """Consume ``data`` and return the frames and errors it completes.

        Args:
            data: bytes received, any length, any split.

        Returns:
            Decoded frames and ``FrameError`` values, in stream order.
        """
        out: list[RawFrame | FrameError] = []
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

    def _decode(self, encoded: bytes) -> RawFrame | FrameError:
        try:
            return parse_frame(encoded)
        except VersionMismatch as err:
            return err  # a sound frame, answered: not counted as a receive error
        except FrameError as err:
            self.error_count += 1
            return err
