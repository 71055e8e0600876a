"""vectors/schema.json: generated from the code, kept current, and enough to build a codec from.

The last tests here are that claim made concrete: a codec written from schema.json alone (no
firmware_protocol layout, struct or message class) reproduces every golden frame of
messages.json byte for byte, tag and CRC included.
"""

from __future__ import annotations

import difflib
import hmac
import json
import struct
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

import firmware_protocol as fp
from firmware_protocol.schema import ENUMS, protocol_schema, render_schema, unit_of

VECTORS = files("firmware_protocol.vectors")
STORED = VECTORS.joinpath("schema.json").read_text()
SCHEMA: dict[str, Any] = json.loads(STORED)
MESSAGES = json.loads(VECTORS.joinpath("messages.json").read_text())["valid"]
DERIVED = json.loads(VECTORS.joinpath("auth.json").read_text())["derived"]


def test_i13_01_schema_json_is_current() -> None:
    """Fails with a diff when the code changed and schema.json was not regenerated."""
    diff = "".join(
        difflib.unified_diff(
            STORED.splitlines(keepends=True),
            render_schema().splitlines(keepends=True),
            "stored vectors/schema.json",
            "protocol_schema() of the code",
            n=2,
        )
    )
    assert not diff, f"schema.json is stale: run python tests/support/make_vectors.py\n{diff}"


def test_i13_01_schema_json_validates_against_its_json_schema() -> None:
    meta = json.loads(VECTORS.joinpath("schema.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(meta)
    jsonschema.Draft202012Validator(meta).validate(SCHEMA)


def test_i13_01_the_schema_hash_recomputes_from_the_schema_alone() -> None:
    h = SCHEMA["schema_hash"]
    text = h["prefix"] + h["separator"].join(h["descriptors"])
    assert h["prefix"] == "eacontrol-proto 2\n" and h["separator"] == "\n"
    assert fp.crc32c(text.encode("ascii")) == int(h["value"], 16) == fp.SCHEMA_HASH
    assert h["descriptors"] == [m["descriptor"] for m in SCHEMA["messages"]]


def test_i13_01_every_message_enum_and_header_field_is_listed() -> None:
    assert [m["value"] for m in SCHEMA["messages"]] == sorted(int(t) for t in fp.MsgType)
    assert [e["name"] for e in SCHEMA["enums"]] == [e.__name__ for e in ENUMS]
    for entry, kind in zip(SCHEMA["enums"], ENUMS, strict=True):
        assert {v["name"]: v["value"] for v in entry["values"]} == {
            m.name: int(m.value) for m in kind.__members__.values()
        }
        assert all(v["meaning"] for v in entry["values"])
    assert [(f["offset"], f["name"]) for f in SCHEMA["header"]] == [
        (0, "proto_major"),
        (1, "incompat_flags"),
        (2, "compat_flags"),
        (3, "msg_type"),
        (4, "key"),
        (5, "session_id"),
        (9, "counter"),
        (13, "ref_counter"),
        (17, "payload_len"),
    ]
    assert SCHEMA["frame"]["header_size"] == fp.HEADER_SIZE == 18
    assert SCHEMA["keys"]["hello_key"]["info"] == "eacontrol-proto 2 hello"


def test_i13_01_key_kinds_follow_the_design_table() -> None:
    keys = {m["name"]: m["key"] for m in SCHEMA["messages"]}
    assert keys.pop("HELLO") == ["PAIRING"]
    for name in ("GET_INFO", "PAIR", "INFO", "PAIR_ACK"):
        assert keys.pop(name) == ["NONE"]
    assert keys.pop("NAK") == keys.pop("EVENT") == ["SESSION", "NONE"]
    assert set(map(tuple, keys.values())) == {("SESSION",)}


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("target_uA", "µA"),
        ("slew_uA_per_s", "µA/s"),
        ("phase_a_us", "µs"),
        ("lease_ms", "ms"),
        ("max_run_s", "s"),
        ("freq_a_cHz", "cHz"),
        ("charge_pos_nC", "nC"),
        ("compliance_mV", "mV"),
        ("impedance_ohm", "Ω"),
        ("pulses_a", None),
        ("key_id", None),
    ],
)
def test_units_come_from_the_name_suffix(name: str, unit: str | None) -> None:
    assert unit_of(name) == unit


def test_protocol_schema_is_json_ready_and_deterministic() -> None:
    assert json.loads(json.dumps(protocol_schema())) == protocol_schema() == SCHEMA


# --- a codec from schema.json alone ---------------------------------------------------------

_CODES = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q"}
_RECORDS = {r["struct"]: r for r in SCHEMA["records"]}


def _put(field: dict[str, Any], value: Any) -> bytes:
    t = field["type"]
    if t in _CODES:
        lo, hi = field["range"]
        assert lo <= value <= hi
        return struct.pack("<" + _CODES[t], value)
    if t == "array":
        return struct.pack(f"<{field['count']}{_CODES[field['element']]}", *value)
    if t.startswith("char["):
        return value.encode("ascii").ljust(field["size"], b"\0")
    if t.startswith("bytes["):
        return bytes.fromhex(value)
    record = _RECORDS[field["record"]]
    return bytes([len(value)]) + b"".join(_payload(record["fields"], r) for r in value)


def _payload(fields: list[dict[str, Any]], values: dict[str, Any]) -> bytes:
    out = b""
    for f in fields:
        assert f["offset"] == len(out), f["name"]
        out += _put(f, values[f["name"]])
    return out


def _get(field: dict[str, Any], data: bytes) -> tuple[Any, int]:
    t, at = field["type"], field["offset"]
    if t in _CODES:
        return struct.unpack_from("<" + _CODES[t], data, at)[0], field["size"]
    if t == "array":
        code = f"<{field['count']}{_CODES[field['element']]}"
        return list(struct.unpack_from(code, data, at)), field["size"]
    if t.startswith("char["):
        return data[at : at + field["size"]].rstrip(b"\0").decode("ascii"), field["size"]
    if t.startswith("bytes["):
        return data[at : at + field["size"]].hex(), field["size"]
    record = _RECORDS[field["record"]]
    size = record["size"]
    rest = data[at + 1 :]
    assert len(rest) == data[at] * size
    values = [_fields(record["fields"], rest[k * size : (k + 1) * size]) for k in range(data[at])]
    return values, 1 + len(rest)


def _fields(fields: list[dict[str, Any]], data: bytes) -> dict[str, Any]:
    out, end = {}, 0
    for f in fields:
        out[f["name"]], size = _get(f, data)
        end = f["offset"] + size
    assert end == len(data)
    return out


def _frame(
    message: dict[str, Any], header: dict[str, Any], payload: bytes, key: bytes | None
) -> bytes:
    head = b"".join(
        struct.pack("<" + _CODES[h["type"]], header[h["name"]]) for h in SCHEMA["header"]
    )
    body = head + payload
    if key is not None:
        body += hmac.digest(key, body, "sha256")[: SCHEMA["tag"]["size"]]
    return body + fp.crc32c(body).to_bytes(4, "little")


def _key(name: str | None) -> bytes | None:
    if name is None:
        return None
    if name == "hello_key":
        return bytes.fromhex(DERIVED["hello_key"]["okm"])
    return bytes.fromhex(DERIVED["session_keys"][name])


@pytest.mark.parametrize("vector", MESSAGES, ids=[v["name"] for v in MESSAGES])
def test_i13_01_a_codec_from_the_schema_alone_reproduces_every_golden_frame(
    vector: dict[str, Any],
) -> None:
    message = next(m for m in SCHEMA["messages"] if m["name"] == vector["msg_type"])
    payload = _payload(message["fields"], vector["fields"])
    assert payload.hex() == vector["payload_hex"]
    rule = message["payload"]
    assert (
        len(payload) == rule["size"]
        if rule["rule"] == "fixed"
        else rule["min_size"] <= len(payload) <= rule["max_size"]
    )
    assert _fields(message["fields"], payload) == vector["fields"]
    assert vector["key_kind"] in message["key"]
    header = dict(vector["header"], msg_type=message["value"], payload_len=len(payload))
    decoded = _frame(message, header, payload, _key(vector["key"]))
    assert (fp.cobs_encode(decoded) + b"\0").hex() == vector["hex"]
    assert SCHEMA["frame"]["min_frame"] <= len(decoded) <= SCHEMA["frame"]["max_frame"]
