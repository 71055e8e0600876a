"""Coverage-guided fuzzing of the frame decoder with atheris, for runs longer than CI's.

Not a pytest module (pytest collects ``test_*.py`` only) and not needed by the test suite: it
runs only where atheris is installed (``pip install atheris``). See ``docs/fuzzing.md``::

    python tests/fuzz/atheris_frames.py -max_total_time=3600 /tmp/frames-corpus

The first input byte chooses the chunk size the rest is fed in, and whether the rest is taken
as a frame body whose CRC is recomputed (header ‖ payload, CRC with the schema tag, COBS), so
that libFuzzer also explores checks 7–9 of PROTOCOL.md §2.4 behind the CRC. Any exception but
the codec's own ``FrameError`` from ``decode_frame``, or anything at all from
``FrameDecoder.feed``, is a finding: atheris stops and writes the input to ``crash-…``.
"""

from __future__ import annotations

import sys

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports():
    import firmware_protocol as fp
    from firmware_protocol.messages import schema_tag


def _with_crc(body: bytes) -> bytes:
    """The body as a frame with a correct CRC (when its msg_type is known) and a delimiter."""
    body = body[: fp.HEADER_SIZE + fp.MAX_PAYLOAD]
    msg_type = body[3] if len(body) > 3 else -1
    tag = schema_tag(msg_type) if msg_type in fp.MESSAGE_TYPES else b"\x00" * 4
    crc = fp.crc32c(tag, fp.crc32c(body))
    return fp.cobs_encode(body + crc.to_bytes(4, "little")) + b"\x00"


def test_one_input(data: bytes) -> None:
    """Feed one input; raise on anything the decoder must never do."""
    if not data:
        return
    control, rest = data[0], data[1:]
    stream = _with_crc(rest) if control & 0x80 else rest
    chunk = (control & 0x7F) + 1
    decoder = fp.FrameDecoder()
    fed: list[fp.Frame | fp.FrameError] = []
    for at in range(0, len(stream), chunk):
        fed += decoder.feed(stream[at : at + chunk])
        if decoder.buffered > fp.MAX_ENCODED_FRAME:
            raise AssertionError(f"decoder buffers {decoder.buffered} bytes")
    for item in fed:
        if not isinstance(item, fp.Frame | fp.FrameError):
            raise AssertionError(f"feed returned {item!r}")
    for piece in stream.split(b"\x00")[:-1]:
        if not piece:
            continue
        try:
            frame = fp.decode_frame(piece)
        except fp.FrameError:
            continue
        h = frame.header
        again = fp.encode_frame(
            frame.message,
            session_id=h.session_id,
            seq=h.seq,
            ref_seq=h.ref_seq,
            compat_flags=h.compat_flags,
            incompat_flags=h.incompat_flags,
            proto_major=h.proto_major,
        )
        if fp.cobs_decode(again[:-1]) != fp.cobs_decode(piece):
            raise AssertionError(f"accepted {piece.hex()} re-encodes as {again.hex()}")


def main() -> None:
    """Run libFuzzer with the process arguments (corpus folders, ``-max_total_time=…``)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
