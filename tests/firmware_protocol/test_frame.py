"""Frames of major 2 and the stream decoder: round trips, tags, bit flips, chunks, hostile input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from invalid_vectors import build_frame
from proto_strategies import messages, u32
from sim_programs import program
from tiers import examples

import firmware_protocol as fp
from firmware_protocol.frame import MAX_ENCODED_FRAME

keys = st.binary(min_size=fp.KEY_SIZE, max_size=fp.KEY_SIZE)
KEY = bytes(range(32))


def _raw(wire: bytes) -> fp.RawFrame:
    return fp.parse_frame(wire[:-1])


@given(messages, keys, u32, u32, u32)
def test_every_message_round_trips_through_a_tagged_frame(
    message: fp.Message, key: bytes, session_id: int, counter: int, ref_counter: int
) -> None:
    wire = fp.encode_frame(
        message, key=key, session_id=session_id, counter=counter, ref_counter=ref_counter
    )
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert len(wire) - 1 <= MAX_ENCODED_FRAME
    raw = _raw(wire)
    assert raw.authentic(key) and len(raw.tag) == fp.TAG_SIZE
    frame = raw.decode()
    assert frame.message == message
    h = frame.header
    assert (h.session_id, h.counter, h.ref_counter) == (session_id, counter, ref_counter)
    assert (h.msg_type, h.key, h.payload_len) == (
        message.MSG_TYPE,
        fp.KeyKind.SESSION,
        len(message.encode()),
    )
    assert fp.decode_frame(wire[:-1], key=key) == frame


@given(messages, u32)
def test_untagged_frames_round_trip_and_never_pass_as_authentic(
    message: fp.Message, counter: int
) -> None:
    wire = fp.encode_frame(message, counter=counter)
    raw = _raw(wire)
    assert raw.header.key == fp.KeyKind.NONE and raw.tag == b""
    assert len(fp.cobs_decode(wire[:-1])) == fp.HEADER_SIZE + len(message.encode()) + 4
    assert not raw.authentic(KEY)  # a key-0 frame is never taken as tagged
    assert raw.decode().message == message


def test_the_tag_is_hmac_sha256_of_header_and_payload_truncated_to_16() -> None:
    import hmac

    wire = fp.encode_frame(fp.Heartbeat(), key=KEY, session_id=7, counter=9)
    decoded = fp.cobs_decode(wire[:-1])
    signed, tag = decoded[: fp.HEADER_SIZE], decoded[fp.HEADER_SIZE : -4]
    assert tag == hmac.digest(KEY, signed, "sha256")[:16]
    assert int.from_bytes(decoded[-4:], "little") == fp.crc32c(decoded[:-4])


def test_hello_is_tagged_with_the_pairing_kind() -> None:
    hello = fp.Hello(key_id=1, host_nonce=bytes(16), lease_ms=500, schema_hash=fp.SCHEMA_HASH)
    wire = fp.encode_frame(hello, key=fp.hello_key(KEY), kind=fp.KeyKind.PAIRING, counter=3)
    raw = _raw(wire)
    assert raw.header.key == fp.KeyKind.PAIRING and raw.authentic(fp.hello_key(KEY))
    assert not raw.authentic(KEY)


def test_encode_refuses_a_key_kind_without_its_key() -> None:
    with pytest.raises(ValueError, match="needs a key"):
        fp.encode_frame(fp.Heartbeat(), kind=fp.KeyKind.SESSION)
    with pytest.raises(ValueError, match="needs no key"):
        fp.encode_frame(fp.Heartbeat(), key=KEY, kind=fp.KeyKind.NONE)


def test_decode_frame_with_a_key_refuses_a_bad_tag() -> None:
    wire = fp.encode_frame(fp.GetStatus(), key=KEY, session_id=1, counter=1)
    with pytest.raises(fp.BadTag) as info:
        fp.decode_frame(wire[:-1], key=bytes(32))
    assert info.value.header.counter == 1
    with pytest.raises(fp.BadTag):
        fp.decode_frame(fp.encode_frame(fp.GetStatus())[:-1], key=KEY)  # untagged


@settings(max_examples=examples(300))
@given(messages, keys, u32, st.data())
def test_i13_02_any_single_bit_flip_is_refused(
    message: fp.Message, key: bytes, counter: int, data: st.DataObject
) -> None:
    """A single flipped bit anywhere in an authenticated frame is refused: by the CRC (or COBS,
    length, version) when it is flipped on the wire, by the tag when a forger flips it in the
    header, payload or tag and recomputes the CRC. Never a frame that verifies."""
    wire = fp.encode_frame(message, key=key, session_id=0x5E551D01, counter=counter)
    on_wire = bytearray(wire)
    bit = data.draw(st.integers(0, (len(wire) - 1) * 8 - 1), label="wire bit")
    on_wire[bit // 8] ^= 1 << (bit % 8)
    # A flipped bit may turn a byte into 0x00 and split the frame in two: still no frame.
    out = fp.FrameDecoder().feed(bytes(on_wire))
    assert out and not any(isinstance(x, fp.RawFrame) and x.authentic(key) for x in out)

    body = bytearray(fp.cobs_decode(wire[:-1])[:-4])
    bit = data.draw(st.integers(0, len(body) * 8 - 1), label="body bit, CRC recomputed")
    body[bit // 8] ^= 1 << (bit % 8)
    forged = bytes(body) + fp.crc32c(bytes(body)).to_bytes(4, "little")
    try:
        raw = fp.parse_frame(fp.cobs_encode(forged))
    except fp.FrameError:
        return  # the flip hit proto_major, the key byte or payload_len: refused before the tag
    assert not raw.authentic(key)


def test_exhaustive_single_bit_flips_of_a_status_frame() -> None:
    status = fp.Status(
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        fp.DeviceFlag.NONE,
        (fp.ChannelStatus(fp.ChannelState.RUNNING, fp.Fault.NONE, 4000, 4000, 3990, 510, 200),) * 8,
    )
    wire = fp.encode_frame(status, key=KEY, session_id=9, counter=9, ref_counter=9)
    for bit in range((len(wire) - 1) * 8):
        flipped = bytearray(wire)
        flipped[bit // 8] ^= 1 << (bit % 8)
        out = fp.FrameDecoder().feed(bytes(flipped))
        assert not any(isinstance(x, fp.RawFrame) and x.authentic(KEY) for x in out), bit


def test_truncation_is_at_header_plus_crc() -> None:
    wire = fp.encode_frame(fp.GetInfo(), counter=1)  # the smallest frame: 22 bytes decoded
    decoded = fp.cobs_decode(wire[:-1])
    assert len(decoded) == fp.HEADER_SIZE + 4 == 22
    assert fp.parse_frame(wire[:-1]).header.msg_type == fp.MsgType.GET_INFO
    with pytest.raises(fp.TruncatedFrame):
        fp.parse_frame(fp.cobs_encode(decoded[:21]))


def test_a_sound_frame_of_another_major_is_a_version_mismatch_not_an_error() -> None:
    wire = build_frame(fp.MsgType.GET_INFO, b"", major=3)
    with pytest.raises(fp.VersionMismatch) as info:
        fp.parse_frame(wire[:-1])
    assert info.value.proto_major == 3
    decoder = fp.FrameDecoder()
    assert isinstance(decoder.feed(wire)[0], fp.VersionMismatch)
    assert decoder.error_count == 0  # answered with NAK BAD_VERSION, not counted


@pytest.mark.parametrize("key_byte", [3, 0x80, 0xFF])
def test_an_unknown_key_kind_is_a_length_error(key_byte: int) -> None:
    with pytest.raises(fp.LengthMismatch, match="key kind"):
        fp.parse_frame(build_frame(fp.MsgType.GET_INFO, b"", key_byte=key_byte)[:-1])


@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_decoder_accepts_any_chunking(batch: list[fp.Message], data: st.DataObject) -> None:
    stream = b"".join(
        fp.encode_frame(m, key=KEY, session_id=1, counter=i) for i, m in enumerate(batch)
    )
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts"))
    decoder = fp.FrameDecoder()
    out: list[fp.RawFrame | fp.FrameError] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[a:b])
    assert all(isinstance(f, fp.RawFrame) and f.authentic(KEY) for f in out)
    assert [f.decode().message for f in out if isinstance(f, fp.RawFrame)] == batch
    assert [f.header.counter for f in out if isinstance(f, fp.RawFrame)] == list(range(len(batch)))
    assert decoder.buffered == 0 and decoder.error_count == 0


def _flip(wire: bytes, bit: int) -> bytes:
    flipped = bytearray(wire)
    flipped[(bit // 8) % (len(wire) - 1)] ^= 1 << (bit % 8)
    return bytes(flipped)


def _tagged(message: fp.Message) -> bytes:
    return fp.encode_frame(message, key=KEY, session_id=3, counter=4)


@pytest.mark.slow
@settings(
    max_examples=examples(10_000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(
        st.one_of(
            messages.map(lambda m: ("frame", _tagged(m))),
            st.binary(max_size=400).map(lambda b: ("garbage", b)),
            st.tuples(messages, st.integers(0, 10_000)).map(
                lambda t: ("flipped", _flip(_tagged(t[0]), t[1]))
            ),
        ),
        max_size=5,
    ),
    st.integers(1, 64),
)
def test_hostile_streams_only_yield_protocol_errors_and_sent_frames(
    pieces: list[tuple[str, bytes]], chunk: int
) -> None:
    """10,000 streams (on the ``ci`` profile) of valid, corrupted and garbage frames, split and
    merged at random: nothing raises, and whatever verifies under the key was sent."""
    stream = b"".join(b for _, b in pieces)
    sent = {b for kind, b in pieces if kind == "frame"}
    decoder = fp.FrameDecoder()
    out: list[fp.RawFrame | fp.FrameError] = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])  # anything raised here fails the test
        assert decoder.buffered <= MAX_ENCODED_FRAME
    for item in out:
        assert isinstance(item, fp.RawFrame | fp.FrameError)
        if isinstance(item, fp.RawFrame) and item.authentic(KEY):
            h = item.header
            again = fp.encode_frame(
                item.decode().message,
                key=KEY,
                session_id=h.session_id,
                counter=h.counter,
                ref_counter=h.ref_counter,
            )
            assert again in sent


def test_seeded_random_byte_streams_never_raise() -> None:
    rng = np.random.default_rng(20261121)
    decoder = fp.FrameDecoder()
    for _ in range(2000):
        n = int(rng.integers(0, 600))
        # Mostly non-zero bytes so long runs without a delimiter exercise the buffer cap.
        data = rng.integers(0, 256, n, dtype=np.uint8)
        data[rng.random(n) < 0.9] |= 1
        for item in decoder.feed(data.tobytes()):
            assert isinstance(item, fp.FrameError | fp.RawFrame)
        assert decoder.buffered <= MAX_ENCODED_FRAME


def test_oversize_run_is_reported_once_then_resyncs() -> None:
    decoder = fp.FrameDecoder()
    good = fp.encode_frame(fp.Heartbeat(), key=KEY, session_id=1, counter=1)
    out = decoder.feed(b"\x01" * 1000)
    out += decoder.feed(b"\x01" * 1000 + b"\x00" + good)
    assert [type(x) for x in out] == [fp.OversizeFrame, fp.RawFrame]
    assert decoder.error_count == 1


def test_empty_frames_are_skipped_and_a_leading_delimiter_flushes() -> None:
    decoder = fp.FrameDecoder()
    good = fp.encode_frame(fp.GetStatus(), key=KEY, session_id=1, counter=1)
    assert decoder.feed(b"\x00\x00") == []
    decoder.feed(b"\x05\x07")  # a partial frame left by line noise
    out = decoder.feed(b"\x00" + good)
    assert isinstance(out[0], fp.FrameError) and isinstance(out[1], fp.RawFrame)


def test_trusted_errors_carry_the_header_for_a_nak() -> None:
    wire = fp.encode_frame(fp.Heartbeat(), key=KEY, session_id=7, counter=42, incompat_flags=0x10)
    raw = _raw(wire)
    assert raw.authentic(KEY)  # the flag is checked after the tag
    with pytest.raises(fp.UnsupportedFeature) as info:
        raw.decode()
    assert info.value.header.counter == 42 and info.value.header.session_id == 7


def test_unknown_msg_type_is_refused_after_the_tag() -> None:
    raw = _raw(build_frame(0x42, b"", key_byte=2, tag_key=KEY, session_id=1, counter=2))
    assert raw.authentic(KEY)
    with pytest.raises(fp.UnknownMessageType) as info:
        raw.decode()
    assert info.value.msg_type == 0x42


def test_payload_error_names_the_field_index() -> None:
    payload = bytearray(_program().encode())
    payload[1] = 9  # mode
    raw = _raw(build_frame(fp.MsgType.SET_PROGRAM, bytes(payload), key_byte=2, tag_key=KEY))
    with pytest.raises(fp.PayloadError) as info:
        raw.decode()
    assert info.value.field == fp.SetProgram.field_index("mode") == 1
    short = _raw(build_frame(fp.MsgType.STOP, b"\x01", key_byte=2, tag_key=KEY))
    with pytest.raises(fp.PayloadError) as info:
        short.decode()
    assert info.value.field is None  # a wrong length names no field (NAK field 0xFF)


def _program() -> fp.SetProgram:
    """A continuous program (2 Hz, 300 µs, 2.5 mA, ramps 3 s / 2 s, 30 min)."""
    return program(target_uA=2500, ramp_up_ms=3000, ramp_down_ms=2000)


def test_encode_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(fp.EncodeError) as info:
        fp.encode_frame(dataclasses.replace(_program(), target_uA=70_000), key=KEY)
    assert info.value.field == "target_uA"
    with pytest.raises(fp.EncodeError) as info:
        fp.encode_frame(fp.Heartbeat(), key=KEY, session_id=1, counter=2**32)
    assert info.value.field == "counter"
    with pytest.raises(fp.EncodeError):
        fp.encode_frame(fp.Heartbeat(), key=KEY, session_id=-1)
    with pytest.raises(fp.EncodeError):
        fp.Start(channel_mask=1, program_crc=(1, 2)).encode()
    with pytest.raises(fp.EncodeError) as info:
        fp.Hello(key_id=1, host_nonce=bytes(15), lease_ms=500, schema_hash=0).encode()
    assert info.value.field == "host_nonce"
