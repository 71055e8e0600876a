"""Encoding a decoded frame again from its own header, for the frame-decoder fuzzers (the
hypothesis one in ``tests/fuzz/test_frame_decoder_fuzz.py`` and ``tests/fuzz/atheris_frames.py``):
an accepted frame must re-encode to the same header and payload."""

from __future__ import annotations

import firmware_protocol as fp

__all__ = ["reencode"]


def reencode(frame: fp.Frame, key: bytes) -> bytes:
    """``frame`` encoded again with every header field it came with, tagged under ``key`` if its
    header names a key kind (the encoded frame, delimiter included)."""
    h = frame.header
    return fp.encode_frame(
        frame.message,
        key=key if h.key != fp.KeyKind.NONE else None,
        kind=fp.KeyKind(h.key),
        session_id=h.session_id,
        counter=h.counter,
        ref_counter=h.ref_counter,
        compat_flags=h.compat_flags,
        incompat_flags=h.incompat_flags,
        proto_major=h.proto_major,
    )
