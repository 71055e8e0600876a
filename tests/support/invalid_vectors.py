"""The invalid vectors of PROTOCOL.md §9 (``invalid.json``): frames a receiver must refuse.

Each is built by hand (header packed here, tag and CRC computed here) so it can carry what the
encoder never produces: a flipped bit under a recomputed CRC, an unknown key kind, a frame cut
inside its tag. Outcomes that depend on the receiver's state name one of ``RECEIVER_STATES``;
every vector is applied on its own to that state (they are not a sequence).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vector_keys import (
    DEVICE_TO_HOST,
    HELLO_KEY,
    HOST_NONCE,
    HOST_TO_DEVICE,
    KEY_ID,
    SESSION_ID,
)

import firmware_protocol as fp
from firmware_protocol.frame import _HEADER

__all__ = ["HIGHEST_EXECUTED", "RECEIVER_STATES", "build_frame", "invalid_cases"]

HIGHEST_EXECUTED = 40
"""In state ``session_open``: the host counters 1..40 were executed, each a GET_STATUS."""

RECEIVER_STATES = {
    "any": "the outcome does not depend on the receiver's state",
    "no_session": f"a device holding the test pairing key under key_id {KEY_ID}, no session "
    "open, pairing window closed, no output active",
    "session_open": f"a device holding the test pairing key under key_id {KEY_ID}, session "
    f"{SESSION_ID} open with the test nonces (session keys of auth.json), host counters 1.."
    f"{HIGHEST_EXECUTED} executed, each a GET_STATUS frame (encode_frame(GetStatus(), "
    "key=host_to_device, session_id, counter=n)), so the retransmission window holds counters "
    f"{HIGHEST_EXECUTED - 15}..{HIGHEST_EXECUTED} with those frames' tags; no output active",
}

Mutation = Callable[[bytearray], None]


def build_frame(
    msg_type: int,
    payload: bytes,
    *,
    key_byte: int = 0,
    tag_key: bytes | None = None,
    session_id: int = 0,
    counter: int = 1,
    major: int = fp.PROTO_MAJOR,
    incompat: int = 0,
    payload_len: int | None = None,
    mutate: Mutation | None = None,
    fix_crc: bool = True,
) -> bytes:
    """A frame built by hand: header, payload, the tag under ``tag_key`` (if any), then
    ``mutate`` on those bytes, then the CRC (over the mutated bytes unless ``fix_crc`` is
    False), COBS and the delimiter."""
    header = _HEADER.pack(
        major,
        incompat,
        0,
        msg_type,
        key_byte,
        session_id,
        counter,
        0,
        len(payload) if payload_len is None else payload_len,
    )
    body = bytearray(header + payload)
    if tag_key is not None:
        body += fp.tag(tag_key, bytes(body))
    crc = fp.crc32c(bytes(body))
    if mutate is not None:
        mutate(body)
    if fix_crc:
        crc = fp.crc32c(bytes(body))
    return fp.cobs_encode(bytes(body) + crc.to_bytes(4, "little")) + b"\x00"


def _flip(offset: int, bit: int = 0) -> Mutation:
    def flip(body: bytearray) -> None:
        body[offset if offset >= 0 else len(body) + offset] ^= 1 << bit

    return flip


def _in_session(msg_type: int, payload: bytes, **kw: Any) -> bytes:
    """A host frame of the open session, tagged with the host→device key unless overridden."""
    args: dict[str, Any] = dict(key_byte=2, tag_key=HOST_TO_DEVICE, session_id=SESSION_ID)
    args.update(kw)
    return build_frame(msg_type, payload, **args)


def _case(
    name: str,
    what: str,
    wire: bytes,
    state: str,
    error: str,
    outcome: str,
    counter: str | None = None,
    nak: tuple[str, int, str] | None = None,
) -> dict[str, Any]:
    code, field, key = nak if nak is not None else (None, None, None)
    return {
        "name": name,
        "what": what,
        "hex": wire.hex(),
        "receiver_state": state,
        "error": error,
        "outcome": outcome,
        "counter": counter,
        "nak": code,
        "nak_field": field,
        "nak_key": key,
    }


def invalid_cases() -> dict[str, Any]:
    """``receiver_states`` and the ``invalid`` list of invalid.json."""
    T = fp.MsgType
    set_intensity = fp.SetIntensity(channel=1, target_uA=4500, slew_uA_per_s=500).encode()
    hello = fp.Hello(key_id=KEY_ID, host_nonce=HOST_NONCE, lease_ms=500, schema_hash=fp.SCHEMA_HASH)
    stop = fp.Stop(channel_mask=0xFF, mode=fp.StopMode.IMMEDIATE).encode()
    new = HIGHEST_EXECUTED + 1
    good = _in_session(T.SET_INTENSITY, set_intensity, counter=new)
    decoded = fp.cobs_decode(good[:-1])
    rx = ("counted", "rx_err_count")
    fail = ("dropped", "auth_fail_count")
    payload_at = fp.HEADER_SIZE  # first payload byte in the body
    tag_at = fp.HEADER_SIZE + len(set_intensity)
    cases = [
        _case("oversize", "296 non-zero bytes before a delimiter",
              b"\x01" * (fp.MAX_ENCODED_FRAME + 1) + b"\x00", "any", "oversize", *rx),
        _case("cobs_overrun", "a COBS code byte runs past the end",
              bytes([0x09, 0x01, 0x02, 0x00]), "any", "cobs", *rx),
        _case("truncated", "21 decoded bytes: one short of header + CRC",
              fp.cobs_encode(decoded[:21]) + b"\x00", "any", "truncated", *rx),
        _case("bad_crc", "one payload bit flipped, CRC not recomputed",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new,
                          mutate=_flip(payload_at + 1), fix_crc=False),
              "any", "crc", *rx),
        _case("length_mismatch", "payload_len one more than the frame carries (CRC right)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new,
                          payload_len=len(set_intensity) + 1),
              "any", "length", *rx),
        _case("tag_cut_short", "the last 4 tag bytes missing (CRC right over what is left)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new,
                          mutate=lambda b: b.__delitem__(slice(-4, None))),
              "any", "length", *rx),
        _case("unknown_key_kind", "key byte 3 (CRC right)",
              build_frame(T.GET_INFO, b"", key_byte=3), "any", "length", *rx),
        _case("other_major", "a sound frame of major 3 (plain CRC-32C)",
              build_frame(T.HELLO, hello.encode(), key_byte=1, tag_key=HELLO_KEY, major=3),
              "any", "version", "nak", None, ("BAD_VERSION", fp.NO_FIELD, "NONE")),
        _case("key0_set_intensity", "SET_INTENSITY untagged (key 0)",
              build_frame(T.SET_INTENSITY, set_intensity, session_id=SESSION_ID, counter=new),
              "any", "auth_required", "nak", None, ("AUTH_REQUIRED", fp.NO_FIELD, "NONE")),
        _case("key1_stop", "STOP tagged with the hello key (key 1)",
              build_frame(T.STOP, stop, key_byte=1, tag_key=HELLO_KEY),
              "any", "auth_required", "nak", None, ("AUTH_REQUIRED", fp.NO_FIELD, "NONE")),
        _case("pair_label_not_ascii", "PAIR whose host_label holds 0x80",
              build_frame(T.PAIR, b"host\x80".ljust(16, b"\x00")),
              "any", "payload", "nak", None, ("BAD_PAYLOAD", 0, "NONE")),
        _case("pair_label_nul_inside", "PAIR whose host_label has a NUL before other text",
              build_frame(T.PAIR, b"ab\x00cd".ljust(16, b"\x00")),
              "any", "payload", "nak", None, ("BAD_PAYLOAD", 0, "NONE")),
        _case("hello_bad_length", "HELLO (key 1) with a 25-byte payload, tag right",
              build_frame(T.HELLO, hello.encode()[:-1], key_byte=1, tag_key=HELLO_KEY),
              "no_session", "payload", "nak", None, ("BAD_PAYLOAD", fp.NO_FIELD, "NONE")),
        _case("hello_not_paired", "HELLO naming key_id 0x0BAD, which the device does not hold",
              build_frame(T.HELLO, hello.replace(key_id=0x0BAD).encode(), key_byte=1,
                          tag_key=fp.hello_key(bytes(32))),
              "no_session", "not_paired", "nak", None, ("NOT_PAIRED", 0, "NONE")),
        _case("hello_bad_tag", "HELLO with one tag bit flipped (CRC right)",
              build_frame(T.HELLO, hello.encode(), key_byte=1, tag_key=HELLO_KEY,
                          mutate=_flip(-1, 7)),
              "no_session", "bad_tag", *fail),
        _case("no_session_open", "SET_INTENSITY in session 0x5E551D01 while none is open",
              _in_session(T.SET_INTENSITY, set_intensity, counter=1),
              "no_session", "no_session", "nak", None, ("NO_SESSION", fp.NO_FIELD, "NONE")),
        _case("bad_tag_bit_in_tag", "one bit of the tag flipped (CRC right)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new, mutate=_flip(tag_at, 3)),
              "session_open", "bad_tag", *fail),
        _case("bad_tag_bit_in_header", "counter's top bit flipped after tagging (CRC right)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new, mutate=_flip(12, 7)),
              "session_open", "bad_tag", *fail),
        _case("bad_tag_bit_in_payload", "target_uA's low bit flipped after tagging (CRC right)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new,
                          mutate=_flip(payload_at + 1)),
              "session_open", "bad_tag", *fail),
        _case("bad_tag_reflected", "tagged with the device→host key (a device frame's key)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new, tag_key=DEVICE_TO_HOST),
              "session_open", "bad_tag", *fail),
        _case("wrong_session", "session_id one off the open session (tag not checked)",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new, session_id=SESSION_ID ^ 1),
              "session_open", "no_session", "nak", None, ("NO_SESSION", fp.NO_FIELD, "NONE")),
        _case("session_zero", "key 2 with session_id 0",
              _in_session(T.SET_INTENSITY, set_intensity, counter=new, session_id=0),
              "session_open", "no_session", "nak", None, ("NO_SESSION", fp.NO_FIELD, "NONE")),
        _case("replayed_old_counter", "the executed GET_STATUS of counter 3, sent again",
              _in_session(T.GET_STATUS, b"", counter=3),
              "session_open", "replayed", "dropped", "replay_count"),
        _case("reused_counter", "counter 40 again, but a HEARTBEAT (other tag than the cached)",
              _in_session(T.HEARTBEAT, b"", counter=HIGHEST_EXECUTED),
              "session_open", "replayed", "dropped", "replay_count"),
        _case("counter_exhausted", "GET_STATUS with counter 0xFFFFFFFF: not executed; outputs "
              "cut, EVENT SESSION_CLOSED detail COUNTER_EXHAUSTED, closing STATUS",
              _in_session(T.GET_STATUS, b"", counter=0xFFFF_FFFF),
              "session_open", "counter_exhausted", "session_closed"),
        _case("unknown_msg_type", "msg_type 0x42, tagged, new counter",
              _in_session(0x42, b"", counter=new),
              "session_open", "unknown_msg_type", "nak", None,
              ("UNEXPECTED_MESSAGE", fp.NO_FIELD, "SESSION")),
        _case("device_type_to_device", "an ACK (device → host type) sent to the device",
              _in_session(T.ACK, fp.Ack(acked_type=T.STOP, value=0).encode(), counter=new),
              "session_open", "unexpected_message", "nak", None,
              ("UNEXPECTED_MESSAGE", fp.NO_FIELD, "SESSION")),
        _case("unknown_incompat_flag", "HEARTBEAT with incompat flag 0x80",
              _in_session(T.HEARTBEAT, b"", counter=new, incompat=0x80),
              "session_open", "incompat_flag", "nak", None,
              ("UNSUPPORTED_FEATURE", fp.NO_FIELD, "SESSION")),
        _case("bad_enum", "STOP mode 7 (StopMode has 0 and 1)",
              _in_session(T.STOP, bytes([0xFF, 7]), counter=new),
              "session_open", "payload", "nak", None,
              ("BAD_PAYLOAD", fp.Stop.field_index("mode"), "SESSION")),
        _case("bad_payload_length", "STOP with a 1-byte payload",
              _in_session(T.STOP, bytes([0xFF]), counter=new),
              "session_open", "payload", "nak", None, ("BAD_PAYLOAD", fp.NO_FIELD, "SESSION")),
    ]  # fmt: skip
    return {"receiver_states": RECEIVER_STATES, "invalid": cases}
