"""CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the frame check of PROTOCOL.md §2.

CRC-32C rather than a 16-bit CRC: a flipped COBS code byte moves the re-inserted zeros, so two or
three wire bit errors become many decoded ones and pass a CRC-16 about once in 2^16 frames;
CRC-32C showed none in ~170k trials (measured; PROTOCOL.md §2). The check value of b"123456789" is
0xE3069283.

Computed by the ``crc32c`` package (ICRAR): a C implementation with hardware acceleration, typed,
with wheels for every platform we support — 0.1 µs per 270-byte frame against 25 µs for a
table-driven pure-Python loop, measured on the project machine.
"""

from __future__ import annotations

import crc32c as _crc32c

__all__ = ["CHECK_VALUE", "crc32c"]

CHECK_VALUE = 0xE3069283
"""CRC-32C of b"123456789" (the catalogue check value)."""


def crc32c(data: bytes, value: int = 0) -> int:
    """Return the CRC-32C of ``data``, continuing from ``value`` (a previous CRC) if given.

    Args:
        data: the bytes to check.
        value: the CRC of the bytes before ``data``, to continue a running CRC.

    Returns:
        The CRC as an unsigned 32-bit integer.
    """
    return _crc32c.crc32c(data, value)
