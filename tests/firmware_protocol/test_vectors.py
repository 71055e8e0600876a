"""Golden vectors, both directions, loaded from the installed package (PROTOCOL.md §9)."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import make_vectors
import pytest

import firmware_protocol as fp
from firmware_protocol.frame import decode_frame


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files("firmware_protocol.vectors").joinpath(name).read_text())
    return data


VALID = _load("messages.json")["valid"]
INVALID = _load("invalid.json")["invalid"]

ERRORS: dict[str, type[fp.FrameError]] = {
    cls.code: cls
    for cls in (
        fp.OversizeFrame,
        fp.CobsError,
        fp.TruncatedFrame,
        fp.LengthMismatch,
        fp.UnknownMessageType,
        fp.CrcMismatch,
        fp.VersionMismatch,
        fp.UnsupportedFeature,
        fp.PayloadError,
    )
}


def test_vectors_cover_every_message_type_and_every_rejection() -> None:
    assert {v["msg_type"] for v in VALID} == {t.name for t in fp.MsgType}
    assert {v["error"] for v in INVALID} == set(ERRORS)


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_decodes_to_its_fields(vector: dict[str, Any]) -> None:
    frame = decode_frame(bytes.fromhex(vector["hex"])[:-1])
    assert frame.header.msg_type == fp.MsgType[vector["msg_type"]]
    assert (frame.header.session_id, frame.header.seq, frame.header.ref_seq) == (
        vector["session_id"],
        vector["seq"],
        vector["ref_seq"],
    )
    assert make_vectors.fields_of(frame.message) == vector["fields"]


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_fields_encode_to_its_bytes(vector: dict[str, Any]) -> None:
    cls = fp.MESSAGE_TYPES[fp.MsgType[vector["msg_type"]]]
    message = _build(cls, vector["fields"])
    wire = fp.encode_frame(
        message, session_id=vector["session_id"], seq=vector["seq"], ref_seq=vector["ref_seq"]
    )
    assert wire.hex() == vector["hex"]


def _build(cls: type[Any], fields: dict[str, Any]) -> Any:
    kwargs = dict(fields)
    if cls is fp.Status:
        kwargs["channels"] = tuple(fp.ChannelStatus(**c) for c in fields["channels"])
    elif "program_crc" in fields and isinstance(fields["program_crc"], list):
        kwargs["program_crc"] = tuple(fields["program_crc"])
    return cls(**kwargs)


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_invalid_vector_is_rejected_with_its_error(vector: dict[str, Any]) -> None:
    out = fp.FrameDecoder().feed(bytes.fromhex(vector["hex"]))
    assert len(out) == 1
    error = out[0]
    assert isinstance(error, ERRORS[vector["error"]])
    answered = isinstance(error, fp.TrustedFrameError)
    assert answered == (vector["nak"] is not None)


def test_stored_vectors_match_a_fresh_build() -> None:
    """A protocol change must come with regenerated, reviewed vectors."""
    for name, content in make_vectors.build().items():
        stored = files("firmware_protocol.vectors").joinpath(name).read_text()
        assert stored == make_vectors.render(content), f"{name} is stale: run make_vectors.py"


def test_crc_and_cobs_vectors() -> None:
    data = _load("crc.json")
    for case in data["crc32c"]:
        assert fp.crc32c(bytes.fromhex(case["data"])) == int(case["crc"], 16)
    for case in data["cobs"]:
        assert fp.cobs_encode(bytes.fromhex(case["decoded"])).hex() == case["encoded"]
        assert fp.cobs_decode(bytes.fromhex(case["encoded"])).hex() == case["decoded"]


def test_schema_vector_lists_every_tag() -> None:
    schema = _load("schema.json")
    assert int(schema["schema_hash"], 16) == fp.SCHEMA_HASH
    for entry in schema["messages"]:
        tag = fp.schema_tag(int(entry["msg_type"], 16))
        assert int.from_bytes(tag, "little") == int(entry["schema_tag"], 16)
        assert fp.crc32c(entry["descriptor"].encode()).to_bytes(4, "little") == tag
