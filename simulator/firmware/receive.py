"""The device's receive order of protocol major 2, one small function per step.

Every item ``FrameDecoder.feed`` yields goes through these checks; the first failure decides:

1–4  oversize, COBS, truncated (< 22 bytes), CRC → counted in rx_err_count, never answered
5    proto_major ≠ 2 → NAK BAD_VERSION (key 0, limit 2)
6    key byte ∉ {0, 1, 2} or payload_len wrong → counted in rx_err_count, never answered
7    key 0: only GET_INFO and PAIR (else NAK AUTH_REQUIRED, key 0)
     key 1: only HELLO (else AUTH_REQUIRED); payload decodes (else BAD_PAYLOAD, key 0); key_id
            held (else NAK NOT_PAIRED, key 0); tag verifies (else dropped, auth_fail_count + 1)
     key 2: session_id is the open session (else NAK NO_SESSION, key 0, the refused id in its
            header, no tag check); tag verifies with the host → device key (else dropped,
            auth_fail_count + 1, no reply); msg_type is not one with a key kind of its own
            (GET_INFO, PAIR: key 0; HELLO: key 1), else NAK AUTH_REQUIRED (key 0)
8    counter (key 2): above the highest executed → new; at or below it and one of the last
     ``reply_cache_size`` executed with the identical tag → the cached reply again, nothing
     executed; otherwise dropped, replay_count + 1, no reply. 0xFFFFFFFF → not executed, the
     session ends (COUNTER_EXHAUSTED)
9    msg_type known (else NAK UNEXPECTED_MESSAGE, field 0xFF)
10   incompat flags known (else NAK UNSUPPORTED_FEATURE)
11   a host → device type (else NAK UNEXPECTED_MESSAGE)
12   payload (else NAK BAD_PAYLOAD, field index)
13   the handler's own checks (``simulator.firmware.commands``)

Checks 9–12 answer in the frame's own key: untagged for key 0 and key 1, in the session for key
2, whose counter is then used up (the NAK is cached like any reply). A key-2 AUTH_REQUIRED is
checked after the tag and before the counter: it uses no counter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_protocol import (
    KNOWN_INCOMPAT_FLAGS,
    MESSAGE_TYPES,
    NO_FIELD,
    PROTO_MAJOR,
    FrameError,
    Hello,
    KeyKind,
    Message,
    MsgType,
    Nak,
    NakCode,
    PairAck,
    PayloadError,
    RawFrame,
    SessionClosed,
    UnknownMessageType,
    UnsupportedFeature,
    VersionMismatch,
)
from simulator.firmware.checks import Refused
from simulator.firmware.commands import HANDLERS, check_hello
from simulator.firmware.session import LAST_COUNTER, Reply, Session

if TYPE_CHECKING:
    from simulator.firmware.device import Firmware

__all__ = ["receive_item"]

_UNTAGGED = frozenset({MsgType.GET_INFO, MsgType.PAIR})
"""The only messages accepted without a key (key 0)."""

_NOT_IN_SESSION = frozenset({MsgType.HELLO, MsgType.GET_INFO, MsgType.PAIR})
"""Host messages with a key kind of their own, refused in a session frame (AUTH_REQUIRED)."""

_APPLIED = frozenset(
    {
        MsgType.SET_PROGRAM,
        MsgType.START,
        MsgType.SET_INTENSITY,
        MsgType.STOP,
        MsgType.CLEAR_FAULT,
        MsgType.FORGET,
    }
)
"""The commands STATUS ``last_applied_counter`` reports (PROTOCOL.md §3.4, last applied)."""

_VERSION_NAK_TYPE = 0
"""nak_type of NAK BAD_VERSION: a frame of another major has no header this side can read
beyond byte 0, so the NAK names no message type (and ref_counter is 0)."""


def receive_item(device: Firmware, item: RawFrame | FrameError) -> None:
    """Take one item of ``FrameDecoder.feed``: checks 1–6, then the frame's key."""
    if isinstance(item, VersionMismatch):  # check 5
        device.send_plain(Nak(_VERSION_NAK_TYPE, NakCode.BAD_VERSION, NO_FIELD, PROTO_MAJOR))
    elif not isinstance(item, RawFrame):  # checks 1–4 and 6
        device.count_rx_error()
    elif item.header.key == KeyKind.NONE:
        _untagged(device, item)
    elif item.header.key == KeyKind.PAIRING:
        _hello(device, item)
    else:
        _in_session(device, item)


def _nak(raw: RawFrame, code: NakCode, field: int = NO_FIELD, limit: int = 0) -> Nak:
    return Nak(raw.header.msg_type, code, field, limit)


def _decoded(raw: RawFrame) -> Message | Nak:
    """Checks 9–12: the message, or the NAK that refuses it."""
    header = raw.header
    if header.msg_type not in MESSAGE_TYPES:
        return _nak(raw, NakCode.UNEXPECTED_MESSAGE)
    try:
        if header.incompat_flags & ~KNOWN_INCOMPAT_FLAGS:
            raise UnsupportedFeature("unknown incompat flags", header)
        if MsgType(header.msg_type).from_device:
            return _nak(raw, NakCode.UNEXPECTED_MESSAGE)
        return raw.decode().message
    except UnsupportedFeature:
        return _nak(raw, NakCode.UNSUPPORTED_FEATURE, NO_FIELD, KNOWN_INCOMPAT_FLAGS)
    except PayloadError as err:
        return _nak(raw, NakCode.BAD_PAYLOAD, NO_FIELD if err.field is None else err.field)
    except UnknownMessageType:  # pragma: no cover - checked above
        return _nak(raw, NakCode.UNEXPECTED_MESSAGE)


# --- key 0 ------------------------------------------------------------------------------------


def _untagged(device: Firmware, raw: RawFrame) -> None:
    """Key 0: GET_INFO → INFO, PAIR → PAIR_ACK, all untagged; anything else AUTH_REQUIRED."""
    request_id = raw.header.counter
    if raw.header.msg_type not in _UNTAGGED:
        device.send_plain(_nak(raw, NakCode.AUTH_REQUIRED), request_id)
        return
    message = _decoded(raw)
    if isinstance(message, Nak):
        device.send_plain(message, request_id)
    elif message.MSG_TYPE == MsgType.PAIR:
        device.send_plain(_pair(device, raw), request_id)
    else:
        device.send_plain(device.model.info(device.info_flags()), request_id)


def _pair(device: Firmware, raw: RawFrame) -> Message:
    try:
        paired = device.keys.pair(device.now_us)
    except Refused as refusal:
        return _nak(raw, refusal.code, refusal.field, refusal.limit)
    return PairAck(paired.key_id, paired.pairing_key, device.model.serial)


# --- key 1 ------------------------------------------------------------------------------------


def _hello(device: Firmware, raw: RawFrame) -> None:
    """Key 1: HELLO under a held key's hello key opens a session (HELLO_ACK in it)."""
    request_id = raw.header.counter
    if raw.header.msg_type != MsgType.HELLO:
        device.send_plain(_nak(raw, NakCode.AUTH_REQUIRED), request_id)
        return
    hello = _decoded(raw)
    if not isinstance(hello, Hello):
        assert isinstance(hello, Nak)
        device.send_plain(hello, request_id)
        return
    key = device.keys.hello_key(hello.key_id)
    if key is None:
        field = Hello.field_index("key_id")
        device.send_plain(_nak(raw, NakCode.NOT_PAIRED, field), request_id)
        return
    if not raw.authentic(key):
        device.auth_fail_count += 1
        return
    frame = raw.signed + raw.tag
    open_session = device.session
    if open_session is not None and open_session.hello == frame:
        _answer_again(device, open_session, request_id)  # the HELLO_ACK was lost: no new session
        return
    try:
        check_hello(device, hello)
    except Refused as refusal:
        device.send_plain(_nak(raw, refusal.code, refusal.field, refusal.limit), request_id)
        return
    device.end_session(SessionClosed.REPLACED)  # an idle session open: told first, in its keys
    session = device.open_session(hello, frame)
    session.hello_ack = device.model.hello_ack(
        boot_id=device.boot_id,
        session_id=session.session_id,
        lease_ms=hello.lease_ms,
        device_nonce=session.device_nonce,
        flags=device.info_flags(),
    )
    device.send_in_session(session, session.hello_ack, request_id)


def _answer_again(device: Firmware, session: Session, request_id: int) -> None:
    if session.hello_ack is not None:
        device.send_in_session(session, session.hello_ack, request_id)


# --- key 2 ------------------------------------------------------------------------------------


def _in_session(device: Firmware, raw: RawFrame) -> None:
    """Key 2: the open session's frames; checks 7 (session, tag), 8 (counter), 9–13."""
    session = device.session
    header = raw.header
    if session is None or header.session_id != session.session_id:
        device.send_plain(_nak(raw, NakCode.NO_SESSION), header.counter, header.session_id)
        return
    if not raw.authentic(session.keys.host_to_device):
        device.auth_fail_count += 1
        return
    if header.msg_type in _NOT_IN_SESSION:
        device.send_plain(_nak(raw, NakCode.AUTH_REQUIRED), header.counter)
        return
    if _counter_used(device, session, raw):
        return
    reply = _execute(device, session, raw)
    session.cache.put(header.counter, raw.tag, reply)
    device.send_in_session(session, reply, header.counter)
    if header.msg_type == MsgType.FORGET and session.key_id not in device.keys:
        device.end_session(SessionClosed.FORGOTTEN)  # its key is gone: it cannot go on


def _counter_used(device: Firmware, session: Session, raw: RawFrame) -> bool:
    """Check 8: True when the frame must not be executed (answered again, dropped, or the end
    of the session); otherwise the counter is taken as the highest executed."""
    counter = raw.header.counter
    if counter == LAST_COUNTER:
        device.end_session(SessionClosed.COUNTER_EXHAUSTED)  # never executed, never wrapped
        return True
    if counter <= session.highest:
        cached = session.cache.get(counter, raw.tag)
        if cached is None:
            device.replay_count += 1
        else:
            device.send_in_session(session, cached, counter)  # a retransmission: same answer
        return True
    session.highest = counter
    return False


def _execute(device: Firmware, session: Session, raw: RawFrame) -> Reply:
    """Checks 9–13 and the command itself: the reply (ACK, NAK or the message asked for)."""
    message = _decoded(raw)
    if isinstance(message, Nak):
        return message
    try:
        reply = HANDLERS[message.MSG_TYPE](device, raw.header, message)
    except Refused as refusal:
        return _nak(raw, refusal.code, refusal.field, refusal.limit)
    if message.MSG_TYPE in _APPLIED:
        session.last_applied = raw.header.counter
    return reply
