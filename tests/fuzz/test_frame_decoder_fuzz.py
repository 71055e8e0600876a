"""Fuzzing the frame decoder: at least 100,000 generated or mutated inputs per CI run (the
``ci`` hypothesis profile; a quarter of them on ``dev``).

Each hypothesis example builds :data:`BATCH` inputs from a few valid frames and feeds them, as
one byte stream in drawn chunk sizes, to one ``FrameDecoder``. The inputs come from three
families (``docs/fuzzing.md``):

- wire mutations of valid tagged and untagged frames: bit flips, byte overwrites, inserted and
  deleted runs, truncation, splices of two frames, injected or lost 0x00 delimiters (checks
  1–6 of PROTOCOL.md §2.5: COBS, truncation, CRC, version, key kind and length);
- body mutations with a *recomputed* CRC (what a forger can do without the key): header fields,
  the key byte, the tag and payload bytes changed, payloads resized, then a fresh CRC, so the
  frame passes checks 1–6 and reaches the tag and checks 9–12 (type, incompat flags, every
  payload field);
- random bytes, and runs longer than a maximal frame.

What must hold, whatever the bytes: ``feed`` never raises and returns only ``RawFrame`` and
``FrameError`` values; its buffer never exceeds ``MAX_ENCODED_FRAME``; the stream's outcome
equals parsing each delimited piece on its own with ``parse_frame`` (so chunking changes
nothing), which raises only ``FrameError``, as does ``RawFrame.decode``; every decoded frame
re-encodes to the same header and payload (nothing is accepted that the encoder would not
produce); and **no mutant verifies under the key unless its header and payload are exactly a
sent frame's** (no forgery). Derandomized: the same inputs every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from frame_reencode import reencode
from fuzz_budget import BATCH, MIN_INPUTS, fuzz_settings
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from proto_strategies import messages

import firmware_protocol as fp
from firmware_protocol.frame import CRC_SIZE

KEY = bytes(range(0x40, 0x60))
"""The key of the tagged frames (the vectors' test pairing key)."""

KNOWN_TYPES = sorted(int(t) for t in fp.MESSAGE_TYPES)

EDGE_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
"""Text fields end at 0x00; enums and flags have their top values and bits."""


def wire_mutant(rng: random.Random, frames: list[bytes]) -> bytes:
    """A valid frame (with its delimiter) changed on the wire."""
    frame = bytearray(rng.choice(frames))
    kind = rng.randrange(9)
    at = rng.randrange(len(frame))
    if kind == 0:  # a few bit flips anywhere, the delimiter included
        for _ in range(rng.randint(1, 4)):
            frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        frame[at] = rng.randrange(256)
    elif kind == 2:
        frame[at:at] = rng.randbytes(rng.randint(1, 8))
    elif kind == 3:
        del frame[at : at + rng.randint(1, 8)]
    elif kind == 4:  # truncated, with or without a delimiter
        frame = frame[:at] + (b"\x00" if rng.random() < 0.5 else b"")
    elif kind == 5:  # spliced with another frame
        other = rng.choice(frames)
        frame = frame[:at] + other[rng.randrange(len(other)) :]
    elif kind == 6:  # a run duplicated
        frame[at:at] = frame[at : at + rng.randint(1, 16)]
    elif kind == 7:  # a delimiter injected
        frame[at:at] = b"\x00"
    else:  # the delimiter lost: the next input merges with this one
        frame = frame[:-1]
    return bytes(frame)


def body_mutant(rng: random.Random, frames: list[bytes]) -> bytes:
    """A valid frame's header or payload changed, the CRC recomputed: it passes checks 1–6."""
    raw = bytearray(fp.cobs_decode(rng.choice(frames)[:-1])[:-CRC_SIZE])
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(6)
        payload = len(raw) - fp.HEADER_SIZE
        if kind == 0:  # any header byte: major, flags, key kind, session, counters
            raw[rng.randrange(fp.HEADER_SIZE)] = rng.randrange(256)
        elif kind == 1:  # another known message type with this payload
            raw[3] = rng.choice(KNOWN_TYPES)
        elif kind == 2 and payload:  # a payload (or tag) byte
            raw[fp.HEADER_SIZE + rng.randrange(payload)] = rng.randrange(256)
        elif kind == 3:  # payload shortened
            del raw[max(fp.HEADER_SIZE, len(raw) - rng.randint(1, 16)) :]
        elif kind == 4:  # payload lengthened
            raw += rng.randbytes(rng.randint(1, 16))
        elif payload:  # text, enum and flag fields meet their edge values
            raw[fp.HEADER_SIZE + rng.randrange(payload)] = rng.choice(EDGE_BYTES)
    del raw[fp.MAX_FRAME - CRC_SIZE :]
    if rng.random() < 0.75:  # payload_len usually kept consistent, sometimes not
        tag_size = fp.TAG_SIZE if raw[4] in (fp.KeyKind.PAIRING, fp.KeyKind.SESSION) else 0
        raw[17] = max(0, len(raw) - fp.HEADER_SIZE - tag_size) & 0xFF
    crc = fp.crc32c(bytes(raw))
    return fp.cobs_encode(bytes(raw) + crc.to_bytes(4, "little")) + b"\x00"


def garbage(rng: random.Random, frames: list[bytes]) -> bytes:
    """Random bytes, or a run longer than any frame."""
    if rng.random() < 0.875:
        return rng.randbytes(rng.randint(0, 40))
    run = rng.randint(fp.MAX_ENCODED_FRAME - 2, 2 * fp.MAX_ENCODED_FRAME)
    return bytes([rng.randint(1, 255)]) * run + rng.choice([b"", b"\x00"])


FAMILIES = (wire_mutant, body_mutant, garbage)


@dataclass(frozen=True)
class Batch:
    """One example: the inputs, and the chunk sizes the stream is fed in."""

    frames: list[bytes]
    inputs: list[bytes]
    chunks: list[int]


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    """:data:`BATCH` inputs mutated from one to three valid frames.

    Hypothesis draws the valid messages, the chunking and a seed; the seed drives the mutations
    (drawing every mutation through hypothesis costs ten times the decoding).
    """
    frames = [
        fp.encode_frame(
            m,
            key=KEY if draw(st.booleans()) else None,
            session_id=draw(st.integers(0, 0xFFFF_FFFF)),
            counter=draw(st.integers(0, 9)),
        )
        for m in draw(st.lists(messages, min_size=1, max_size=3))
    ]
    rng = random.Random(draw(st.integers(0, 2**64 - 1)))
    inputs = [rng.choice(FAMILIES)(rng, frames) for _ in range(BATCH)]
    chunks = draw(st.lists(st.integers(1, 300), min_size=1, max_size=8))
    return Batch(frames, inputs, chunks)


def _expected(stream: bytes) -> list[object]:
    """What the stream must decode to: each delimited piece parsed alone (PROTOCOL.md §2.5)."""
    *pieces, tail = stream.split(b"\x00")
    out: list[object] = []
    for piece in pieces:
        if not piece:
            continue  # empty frames are skipped
        try:
            out.append(fp.parse_frame(piece))
        except fp.FrameError as err:  # the only exception parse_frame may raise
            out.append(type(err))
    if len(tail) > fp.MAX_ENCODED_FRAME:
        out.append(fp.OversizeFrame)
    return out


def _feed(stream: bytes, chunks: list[int]) -> list[object]:
    decoder = fp.FrameDecoder()
    out: list[object] = []
    at = 0
    i = 0
    while at < len(stream):
        size = chunks[i % len(chunks)]
        i += 1
        for item in decoder.feed(stream[at : at + size]):
            assert isinstance(item, fp.RawFrame | fp.FrameError), item
            out.append(item if isinstance(item, fp.RawFrame) else type(item))
        at += size
        assert decoder.buffered <= fp.MAX_ENCODED_FRAME
    return out


def _check(raw: fp.RawFrame, sent: set[bytes]) -> None:
    """A parsed frame: decoding raises only FrameError, a decoded one re-encodes to the same
    header and payload, and it verifies under the key only if it is a sent frame's."""
    if raw.authentic(KEY):
        assert raw.signed in sent, raw.signed.hex()  # a forgery verified
    try:
        frame = raw.decode()
    except fp.FrameError:
        return
    again = reencode(frame, KEY)
    assert fp.parse_frame(again[:-1]).signed == raw.signed, (frame, raw.signed.hex())


@pytest.mark.slow
def test_the_decoder_takes_100000_hostile_inputs() -> None:
    fed = [0]

    @fuzz_settings(HealthCheck.data_too_large)
    @given(batches())
    def feed_one_batch(batch: Batch) -> None:
        stream = b"".join(batch.inputs)
        expected = _expected(stream)
        assert _feed(stream, batch.chunks) == expected
        sent = {fp.parse_frame(f[:-1]).signed for f in batch.frames}
        for outcome in expected:
            if isinstance(outcome, fp.RawFrame):
                _check(outcome, sent)
        fed[0] += len(batch.inputs)

    feed_one_batch()
    assert fed[0] >= MIN_INPUTS
