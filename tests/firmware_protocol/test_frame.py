"""Frames and the stream decoder: round trips, bit flips, chunking, hostile input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proto_strategies import messages, u16
from sim_programs import program
from tiers import examples

import firmware_protocol as fp
from firmware_protocol.frame import MAX_ENCODED_FRAME


@given(messages, u16, u16, u16)
def test_every_message_round_trips_through_a_frame(
    message: fp.Message, session_id: int, seq: int, ref_seq: int
) -> None:
    wire = fp.encode_frame(message, session_id=session_id, seq=seq, ref_seq=ref_seq)
    assert wire.endswith(b"\x00") and 0 not in wire[:-1]
    assert len(wire) - 1 <= MAX_ENCODED_FRAME
    frame = fp.decode_frame(wire[:-1])
    assert frame.message == message
    assert (frame.header.session_id, frame.header.seq, frame.header.ref_seq) == (
        session_id,
        seq,
        ref_seq,
    )
    assert frame.header.msg_type == message.MSG_TYPE


@settings(max_examples=examples(300))
@given(messages, st.data())
def test_any_single_flipped_bit_is_rejected(message: fp.Message, data: st.DataObject) -> None:
    wire = bytearray(fp.encode_frame(message, session_id=1, seq=2))
    bit = data.draw(st.integers(0, (len(wire) - 1) * 8 - 1), label="bit")
    wire[bit // 8] ^= 1 << (bit % 8)
    decoder = fp.FrameDecoder()
    out = decoder.feed(bytes(wire))
    # A flipped bit may turn a byte into 0x00 and split the frame in two: still no frame.
    assert out and all(isinstance(item, fp.FrameError) for item in out)


def test_exhaustive_single_bit_flips_of_a_status_frame() -> None:
    status = fp.Status(
        1,
        2,
        3,
        4,
        5,
        fp.DeviceFlag.NONE,
        (fp.ChannelStatus(fp.ChannelState.RUNNING, fp.Fault.NONE, 4000, 4000, 3990, 510, 200),) * 8,
    )
    wire = fp.encode_frame(status, session_id=9, seq=9, ref_seq=9)
    for bit in range((len(wire) - 1) * 8):
        flipped = bytearray(wire)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not any(isinstance(x, fp.Frame) for x in fp.FrameDecoder().feed(bytes(flipped)))


@given(st.lists(messages, min_size=1, max_size=6), st.data())
def test_decoder_accepts_any_chunking(batch: list[fp.Message], data: st.DataObject) -> None:
    stream = b"".join(fp.encode_frame(m, session_id=1, seq=i) for i, m in enumerate(batch))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts"))
    decoder = fp.FrameDecoder()
    out: list[fp.Frame | fp.FrameError] = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        out += decoder.feed(stream[a:b])
    assert [f.message for f in out if isinstance(f, fp.Frame)] == batch
    assert decoder.buffered == 0 and decoder.error_count == 0


@pytest.mark.slow
@settings(
    max_examples=examples(10_000), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    st.lists(
        st.one_of(
            messages.map(lambda m: ("frame", fp.encode_frame(m, session_id=3, seq=4))),
            st.binary(max_size=400).map(lambda b: ("garbage", b)),
            st.tuples(messages, st.integers(0, 10_000)).map(
                lambda t: ("flipped", _flip(fp.encode_frame(t[0], session_id=3, seq=4), t[1]))
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
    merged at random."""
    stream = b"".join(b for _, b in pieces)
    sent = {b for kind, b in pieces if kind == "frame"}
    decoder = fp.FrameDecoder()
    out: list[fp.Frame | fp.FrameError] = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])  # anything raised here fails the test
        assert decoder.buffered <= MAX_ENCODED_FRAME
    for item in out:
        assert isinstance(item, fp.Frame | fp.FrameError)
        if isinstance(item, fp.Frame):
            # Never a frame that was not sent: corrupted frames and garbage decode to nothing.
            wire = fp.encode_frame(
                item.message,
                session_id=item.header.session_id,
                seq=item.header.seq,
                ref_seq=item.header.ref_seq,
            )
            assert wire in sent


def _flip(wire: bytes, bit: int) -> bytes:
    flipped = bytearray(wire)
    flipped[(bit // 8) % (len(wire) - 1)] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_seeded_random_byte_streams_never_raise() -> None:
    rng = np.random.default_rng(20261121)
    decoder = fp.FrameDecoder()
    for _ in range(2000):
        n = int(rng.integers(0, 600))
        # Mostly non-zero bytes so long runs without a delimiter exercise the buffer cap.
        data = rng.integers(0, 256, n, dtype=np.uint8)
        data[rng.random(n) < 0.9] |= 1
        for item in decoder.feed(data.tobytes()):
            assert isinstance(item, fp.FrameError | fp.Frame)
        assert decoder.buffered <= MAX_ENCODED_FRAME


def test_oversize_run_is_reported_once_then_resyncs() -> None:
    decoder = fp.FrameDecoder()
    good = fp.encode_frame(fp.Heartbeat(), session_id=1, seq=1)
    out = decoder.feed(b"\x01" * 1000)
    out += decoder.feed(b"\x01" * 1000 + b"\x00" + good)
    assert [type(x) for x in out] == [fp.OversizeFrame, fp.Frame]
    assert decoder.error_count == 1


def test_empty_frames_are_skipped_and_a_leading_delimiter_flushes() -> None:
    decoder = fp.FrameDecoder()
    good = fp.encode_frame(fp.GetStatus(), session_id=1, seq=1)
    assert decoder.feed(b"\x00\x00") == []
    decoder.feed(b"\x05\x07")  # a partial frame left by line noise
    out = decoder.feed(b"\x00" + good)
    assert isinstance(out[0], fp.FrameError) and isinstance(out[1], fp.Frame)


def test_trusted_errors_carry_the_header_for_a_nak() -> None:
    wire = fp.encode_frame(fp.Heartbeat(), session_id=7, seq=42, incompat_flags=0x10)
    with pytest.raises(fp.UnsupportedFeature) as info:
        fp.decode_frame(wire[:-1])
    assert info.value.header.seq == 42 and info.value.header.session_id == 7


def test_payload_error_names_the_field_index() -> None:
    program = dataclasses.replace(_program(), mode=fp.Mode.CONTINUOUS)
    raw = bytearray(program.encode())
    raw[1] = 9  # mode
    from firmware_protocol.frame import _HEADER

    body = _HEADER.pack(1, 0, 0, fp.MsgType.SET_PROGRAM, 1, 5, 0, len(raw)) + bytes(raw)
    crc = fp.crc32c(fp.schema_tag(fp.MsgType.SET_PROGRAM), fp.crc32c(body))
    with pytest.raises(fp.PayloadError) as info:
        fp.decode_frame(fp.cobs_encode(body + crc.to_bytes(4, "little")))
    assert info.value.field == fp.SetProgram.field_index("mode") == 1


def _program() -> fp.SetProgram:
    """A continuous program (2 Hz, 300 µs, 2.5 mA, ramps 3 s / 2 s, 30 min)."""
    return program(target_uA=2500, ramp_up_ms=3000, ramp_down_ms=2000)


def test_encode_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(fp.EncodeError) as info:
        fp.encode_frame(dataclasses.replace(_program(), target_uA=70_000), session_id=1, seq=1)
    assert info.value.field == "target_uA"
    with pytest.raises(fp.EncodeError):
        fp.encode_frame(fp.Heartbeat(), session_id=1, seq=70_000)
    with pytest.raises(fp.EncodeError):
        fp.Start(channel_mask=1, program_crc=(1, 2)).encode()
