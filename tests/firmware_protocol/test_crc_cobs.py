"""CRC-32C and COBS: catalogue values and round-trip properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import CHECK_VALUE, CobsError, cobs_decode, cobs_encode, crc32c
from firmware_protocol.cobs import max_encoded_len


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283 == CHECK_VALUE


def test_crc32c_continues_a_running_crc() -> None:
    assert crc32c(b"56789", crc32c(b"1234")) == CHECK_VALUE


@pytest.mark.parametrize(
    ("decoded", "encoded"),
    [  # Cheshire & Baker 1999 / the usual published examples
        (b"", b"\x01"),
        (b"\x00", b"\x01\x01"),
        (b"\x00\x00", b"\x01\x01\x01"),
        (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
        (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
        (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
        (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255)) + b"\x01"),
        (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255)) + b"\x01"),
    ],
)
def test_cobs_known_encodings(decoded: bytes, encoded: bytes) -> None:
    assert cobs_encode(decoded) == encoded
    assert cobs_decode(encoded) == decoded


@given(st.binary(max_size=1200))
def test_cobs_round_trip_has_no_zero_and_bounded_overhead(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= max_encoded_len(len(data))
    assert cobs_decode(encoded) == data


@pytest.mark.parametrize("bad", [b"", b"\x03\x11", b"\x02\x00", b"\x05\x01\x02"])
def test_cobs_rejects_malformed(bad: bytes) -> None:
    with pytest.raises(CobsError):
        cobs_decode(bad)


@given(st.binary(max_size=300))
def test_cobs_decode_of_garbage_raises_only_cobs_error(data: bytes) -> None:
    with contextlib.suppress(CobsError):
        cobs_decode(data)
