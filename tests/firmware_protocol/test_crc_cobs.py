"""CRC-32C and COBS: catalogue values and round-trip properties."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

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


# --- the codec against a byte-by-byte reference ---------------------------------------------


def reference_encode(data: bytes) -> bytes:
    """COBS as Cheshire & Baker (1999) describe it, one byte at a time (no fast path)."""
    out = bytearray([0])
    code_at = 0
    for byte in data:
        if byte == 0:
            out[code_at] = len(out) - code_at
            code_at = len(out)
            out.append(0)
            continue
        out.append(byte)
        if len(out) - code_at == 255:  # a full block: 254 data bytes, no zero after it
            out[code_at] = 255
            code_at = len(out)
            out.append(0)
    out[code_at] = len(out) - code_at
    return bytes(out)


def reference_decode(data: bytes) -> bytes:
    """Strict COBS decoding one byte at a time, with the codec's documented errors."""
    if not data:
        raise CobsError("empty COBS frame")
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0:
            raise CobsError(f"0x00 inside a COBS frame at offset {i}")
        if i + code > len(data):
            raise CobsError(
                f"COBS code 0x{code:02X} at offset {i} runs past the frame end ({len(data)})"
            )
        for byte in data[i + 1 : i + code]:
            if byte == 0:
                raise CobsError(f"0x00 inside a COBS frame after offset {i}")
            out.append(byte)
        i += code
        if code != 255 and i < len(data):
            out.append(0)
    return bytes(out)


def _runs(pieces: list[tuple[int, int]]) -> bytes:
    """Bytes made of runs: (length, byte) pairs, so zero runs and long non-zero runs occur."""
    return b"".join(bytes([byte]) * length for length, byte in pieces)


zero_heavy = st.lists(st.sampled_from([0, 0, 0, 1, 0x25, 0xFE, 0xFF]), max_size=600).map(bytes)
"""Mostly zeros, like a STATUS payload; 0xFF and '%' among the rest."""

long_runs = st.lists(
    st.tuples(st.integers(0, 600), st.sampled_from([0, 0x01, 0x7F, 0xFF])), max_size=6
).map(_runs)
"""Runs up to 600 bytes long: around, at and beyond the 254-byte block."""

any_bytes = st.one_of(st.binary(max_size=700), zero_heavy, long_runs)


@settings(max_examples=examples(1000))
@given(any_bytes)
def test_cobs_encode_equals_the_reference(data: bytes) -> None:
    assert cobs_encode(data) == reference_encode(data)
    assert cobs_decode(reference_encode(data)) == data


@pytest.mark.parametrize("length", [252, 253, 254, 255, 256, 508, 509, 600])
@pytest.mark.parametrize("byte", [0x01, 0xFF])
def test_cobs_matches_the_reference_around_full_blocks(length: int, byte: int) -> None:
    for data in (bytes([byte]) * length, b"\x00" + bytes([byte]) * length + b"\x00\x00"):
        assert cobs_encode(data) == reference_encode(data)
        assert cobs_decode(cobs_encode(data)) == data


def _outcome(decode: object, data: bytes) -> bytes | str:
    assert callable(decode)
    try:
        result = decode(data)
    except CobsError as err:
        return f"CobsError: {err}"
    assert isinstance(result, bytes)
    return result


@settings(max_examples=examples(2000))
@given(st.one_of(any_bytes, any_bytes.map(reference_encode)), st.data())
def test_cobs_decode_equals_the_reference_with_the_same_errors(
    data: bytes, draw: st.DataObject
) -> None:
    if data and draw.draw(st.booleans(), label="damage one byte"):
        at = draw.draw(st.integers(0, len(data) - 1), label="at")
        data = data[:at] + bytes([draw.draw(st.integers(0, 255), label="to")]) + data[at + 1 :]
    assert _outcome(cobs_decode, data) == _outcome(reference_decode, data)
