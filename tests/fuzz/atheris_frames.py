"""Coverage-guided fuzzing of the frame decoder with atheris, for runs longer than CI's.

Not a pytest module (pytest collects ``test_*.py`` only) and not needed by the test suite: it
runs only where atheris is installed (``pip install atheris``). See ``docs/fuzzing.md``::

    python tests/fuzz/atheris_frames.py -max_total_time=3600 /tmp/frames-corpus

The first input byte chooses the chunk size the rest is fed in, and whether the rest is taken
as a frame body whose CRC is recomputed (header ‖ payload ‖ tag, plain CRC-32C, COBS), so that
libFuzzer also explores the tag and checks 9–12 of PROTOCOL.md §2.5 behind the CRC. Any
exception but the codec's own ``FrameError`` from ``parse_frame`` or ``RawFrame.decode``,
anything at all from ``FrameDecoder.feed``, or a frame that verifies under ``KEY`` without
the fuzzer knowing the key (a forgery), is a finding: atheris stops and writes the input to
``crash-…``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).parents[1] / "support"))  # frame_reencode

with atheris.instrument_imports():
    from frame_reencode import reencode

    import firmware_protocol as fp

KEY = bytes(range(0x40, 0x60))
"""A key the inputs never contain a tag of (the fuzzer cannot compute HMACs)."""


def _with_crc(body: bytes) -> bytes:
    """The body as a frame with a correct CRC and a delimiter."""
    body = body[: fp.MAX_FRAME - 4]
    crc = fp.crc32c(body)
    return fp.cobs_encode(body + crc.to_bytes(4, "little")) + b"\x00"


def test_one_input(data: bytes) -> None:
    """Feed one input; raise on anything the decoder must never do."""
    if not data:
        return
    control, rest = data[0], data[1:]
    stream = _with_crc(rest) if control & 0x80 else rest
    chunk = (control & 0x7F) + 1
    decoder = fp.FrameDecoder()
    fed: list[fp.RawFrame | fp.FrameError] = []
    for at in range(0, len(stream), chunk):
        fed += decoder.feed(stream[at : at + chunk])
        if decoder.buffered > fp.MAX_ENCODED_FRAME:
            raise AssertionError(f"decoder buffers {decoder.buffered} bytes")
    for item in fed:
        if not isinstance(item, fp.RawFrame | fp.FrameError):
            raise AssertionError(f"feed returned {item!r}")
    for piece in stream.split(b"\x00")[:-1]:
        if not piece:
            continue
        try:
            raw = fp.parse_frame(piece)
            frame = raw.decode()
        except fp.FrameError:
            continue
        if raw.authentic(KEY):
            raise AssertionError(f"{piece.hex()} verifies under a key the input never saw")
        again = reencode(frame, KEY)
        if fp.parse_frame(again[:-1]).signed != raw.signed:
            raise AssertionError(f"accepted {piece.hex()} re-encodes as {again.hex()}")


def main() -> None:
    """Run libFuzzer with the process arguments (corpus folders, ``-max_total_time=…``)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
