"""Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999) — strict codec.

Hand-written rather than the ``cobs`` package: the package ships only as a source archive (a C
compile on every fresh install), has no type information, and saves under 0.6 µs on a maximal
frame, against a link that spends 23 ms on the same frame at 115200 baud. This codec is built on
``bytes.split``/slicing so its loops run per 254-byte block, not per byte.

The encoding never contains 0x00; the caller appends the 0x00 delimiter.
"""

from __future__ import annotations

from firmware_protocol.errors import CobsError

__all__ = ["cobs_decode", "cobs_encode", "max_encoded_len"]

_BLOCK = 254


def max_encoded_len(decoded_len: int) -> int:
    """Return the largest COBS encoding of ``decoded_len`` bytes (one code byte per 254)."""
    return decoded_len + decoded_len // _BLOCK + 1


def cobs_encode(data: bytes) -> bytes:
    """Encode ``data`` with COBS (no trailing delimiter).

    Args:
        data: any bytes.

    Returns:
        The encoding, free of 0x00 bytes.
    """
    out = bytearray()
    for chunk in data.split(b"\x00"):
        while len(chunk) >= _BLOCK:
            out.append(_BLOCK + 1)
            out += chunk[:_BLOCK]
            chunk = chunk[_BLOCK:]
        out.append(len(chunk) + 1)
        out += chunk
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Decode one COBS block sequence (without its delimiter), strictly.

    Args:
        data: the encoded bytes between two delimiters.

    Returns:
        The decoded bytes.

    Raises:
        CobsError: empty input, a 0x00 inside, or a code byte that runs past the end.
    """
    if not data:
        raise CobsError("empty COBS frame")
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code == 0:
            raise CobsError(f"0x00 inside a COBS frame at offset {i}")
        end = i + code
        if end > n:
            raise CobsError(f"COBS code 0x{code:02X} at offset {i} runs past the frame end ({n})")
        block = data[i + 1 : end]
        if 0 in block:
            raise CobsError(f"0x00 inside a COBS frame after offset {i}")
        out += block
        i = end
        if code != _BLOCK + 1 and i < n:
            out.append(0)
    return bytes(out)
