"""A reference of the device's receive checks (PROTOCOL.md §2.5) over the codec, for the vectors.

Not the simulator: a direct transcription of the check order, so that ``invalid.json``'s stated
outcomes can be derived a second way (``tests/firmware_protocol/test_vectors.py``). It decides
what happens to one frame in one of the vectors' receiver states and executes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from invalid_vectors import HIGHEST_EXECUTED
from vector_keys import HOST_TO_DEVICE, KEY_ID, PAIRING_KEY, SESSION_ID

import firmware_protocol as fp
from firmware_protocol.layout import BadField
from firmware_protocol.schema import REPLY_WINDOW

__all__ = ["Outcome", "receive"]


@dataclass(frozen=True)
class Outcome:
    """What the device does with one frame (the fields of an invalid.json entry)."""

    error: str | None
    outcome: str
    counter: str | None = None
    nak: str | None = None
    nak_field: int | None = None
    nak_key: str | None = None


def _nak(error: str, code: fp.NakCode, field: int | None, key: fp.KeyKind) -> Outcome:
    field = fp.NO_FIELD if field is None else field
    return Outcome(error, "nak", None, code.name, field, key.name)


def _cached_tag(counter: int) -> bytes:
    """The tag of the GET_STATUS the ``session_open`` state executed at ``counter``."""
    wire = fp.encode_frame(
        fp.GetStatus(), key=HOST_TO_DEVICE, session_id=SESSION_ID, counter=counter
    )
    return fp.parse_frame(wire[:-1]).tag


def receive(wire: bytes, state: str) -> Outcome:
    """The outcome of ``wire`` (one frame and its delimiter) in receiver state ``state``."""
    out = fp.FrameDecoder().feed(wire)
    if len(out) != 1:
        raise ValueError(f"{len(out)} frames in one vector")
    raw = out[0]
    if isinstance(raw, fp.VersionMismatch):  # check 5
        return _nak(raw.code, fp.NakCode.BAD_VERSION, None, fp.KeyKind.NONE)
    if isinstance(raw, fp.FrameError):  # checks 1-4, 6
        return Outcome(raw.code, "counted", "rx_err_count")
    h = raw.header
    session = SESSION_ID if state == "session_open" else None
    none = fp.KeyKind.NONE
    if h.key == fp.KeyKind.NONE:  # check 7, key 0
        if h.msg_type not in (fp.MsgType.GET_INFO, fp.MsgType.PAIR):
            return _nak("auth_required", fp.NakCode.AUTH_REQUIRED, None, none)
        return _content(raw, none)
    if h.key == fp.KeyKind.PAIRING:  # check 7, key 1
        if h.msg_type != fp.MsgType.HELLO:
            return _nak("auth_required", fp.NakCode.AUTH_REQUIRED, None, none)
        try:
            hello = fp.Hello.decode(raw.payload)
        except BadField as err:
            return _nak("payload", fp.NakCode.BAD_PAYLOAD, err.index, none)
        if hello.key_id != KEY_ID:
            return _nak("not_paired", fp.NakCode.NOT_PAIRED, 0, none)
        if not raw.authentic(fp.hello_key(PAIRING_KEY)):
            return Outcome("bad_tag", "dropped", "auth_fail_count")
        return _content(raw, none)
    # key 2 (check 7), then the counter (check 8)
    if session is None or h.session_id != session:
        return _nak("no_session", fp.NakCode.NO_SESSION, None, none)
    if not raw.authentic(HOST_TO_DEVICE):
        return Outcome("bad_tag", "dropped", "auth_fail_count")
    if h.counter == 0xFFFF_FFFF:
        return Outcome("counter_exhausted", "session_closed")
    if h.counter <= HIGHEST_EXECUTED:
        window = h.counter > HIGHEST_EXECUTED - REPLY_WINDOW
        if window and raw.tag == _cached_tag(h.counter):
            return Outcome(None, "cached_reply")
        return Outcome("replayed", "dropped", "replay_count")
    return _content(raw, fp.KeyKind.SESSION)


def _content(raw: fp.RawFrame, key: fp.KeyKind) -> Outcome:
    """Checks 9-12 on an authenticated (or key-0-allowed) frame."""
    h = raw.header
    if h.msg_type not in fp.MESSAGE_TYPES:
        return _nak("unknown_msg_type", fp.NakCode.UNEXPECTED_MESSAGE, None, key)
    if h.incompat_flags & ~fp.KNOWN_INCOMPAT_FLAGS:
        return _nak("incompat_flag", fp.NakCode.UNSUPPORTED_FEATURE, None, key)
    if fp.MsgType(h.msg_type).from_device:
        return _nak("unexpected_message", fp.NakCode.UNEXPECTED_MESSAGE, None, key)
    try:
        raw.decode()
    except fp.PayloadError as err:
        return _nak("payload", fp.NakCode.BAD_PAYLOAD, err.field, key)
    return Outcome(None, "accepted")
