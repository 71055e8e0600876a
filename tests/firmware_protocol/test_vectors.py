"""Golden vectors of major 2, both directions, from the installed package (PROTOCOL.md §9)."""

from __future__ import annotations

import dataclasses
import difflib
import hmac
import json
from importlib.resources import files
from typing import Any

import make_vectors
import pytest
from receiver_model import receive
from vector_keys import (
    DEVICE_NONCE,
    HOST_NONCE,
    KEY_ID,
    PAIRING_KEY,
    SESSION_ID,
    key_of,
)

import firmware_protocol as fp
from firmware_protocol.layout import Group, Opaque


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(files("firmware_protocol.vectors").joinpath(name).read_text())
    return data


MESSAGES = _load("messages.json")
VALID = MESSAGES["valid"]
INVALID_FILE = _load("invalid.json")
INVALID = INVALID_FILE["invalid"]
AUTH = _load("auth.json")


def test_vectors_cover_every_message_type_key_kind_and_rejection() -> None:
    assert {v["msg_type"] for v in VALID} == {t.name for t in fp.MsgType}
    assert {v["key_kind"] for v in VALID} == {k.name for k in fp.KeyKind}
    errors = {v["error"] for v in INVALID}
    assert {"oversize", "cobs", "truncated", "crc", "length", "version", "payload"} <= errors
    assert {"bad_tag", "replayed", "auth_required", "no_session", "not_paired"} <= errors
    assert {v["receiver_state"] for v in INVALID} == set(INVALID_FILE["receiver_states"])


def test_every_vector_file_states_the_test_inputs() -> None:
    expected = {
        "pairing_key": PAIRING_KEY.hex(),
        "key_id": KEY_ID,
        "host_nonce": HOST_NONCE.hex(),
        "device_nonce": DEVICE_NONCE.hex(),
        "session_id": SESSION_ID,
    }
    for content in (MESSAGES, INVALID_FILE, AUTH):
        assert content["test_inputs"] == expected


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_verifies_and_decodes_to_its_header_and_fields(
    vector: dict[str, Any],
) -> None:
    raw = fp.parse_frame(bytes.fromhex(vector["hex"])[:-1])
    key = key_of(vector["key"])
    assert raw.header.key == fp.KeyKind[vector["key_kind"]]
    if key is None:
        assert raw.tag == b""
    else:
        assert raw.authentic(key)
        assert vector["tag_hex"] == hmac.digest(key, raw.signed, "sha256")[:16].hex()
    frame = raw.decode()
    assert frame.header.msg_type == fp.MsgType[vector["msg_type"]]
    assert dataclasses.asdict(frame.header) == vector["header"]
    assert make_vectors.fields_of(frame.message) == vector["fields"]


@pytest.mark.parametrize("vector", VALID, ids=[v["name"] for v in VALID])
def test_valid_vector_fields_encode_to_its_bytes(vector: dict[str, Any]) -> None:
    cls = fp.MESSAGE_TYPES[fp.MsgType[vector["msg_type"]]]
    h = vector["header"]
    key = key_of(vector["key"])
    wire = fp.encode_frame(
        _build(cls, vector["fields"]),
        key=key,
        kind=fp.KeyKind[vector["key_kind"]],
        session_id=h["session_id"],
        counter=h["counter"],
        ref_counter=h["ref_counter"],
    )
    assert wire.hex() == vector["hex"]


def test_valid_vectors_use_the_key_kind_their_type_is_given() -> None:
    schema = {m["name"]: m["key"] for m in _load("schema.json")["messages"]}
    for v in VALID:
        assert v["key_kind"] in schema[v["msg_type"]], v["name"]
        direction = "device_to_host" if fp.MsgType[v["msg_type"]].from_device else "host_to_device"
        if v["key_kind"] == "SESSION":
            assert v["key"] == direction, v["name"]


def _build(cls: type[Any], fields: dict[str, Any]) -> Any:
    kwargs = dict(fields)
    for f in cls.LAYOUT:
        if isinstance(f, Opaque):
            kwargs[f.name] = bytes.fromhex(fields[f.name])
        elif isinstance(f, Group):
            kwargs[f.name] = tuple(f.elem(**c) for c in fields[f.name])
        elif isinstance(fields[f.name], list):
            kwargs[f.name] = tuple(fields[f.name])
    return cls(**kwargs)


@pytest.mark.parametrize("vector", INVALID, ids=[v["name"] for v in INVALID])
def test_i13_02_invalid_vector_has_the_outcome_of_the_check_order(vector: dict[str, Any]) -> None:
    """Each refusal's stated outcome follows from PROTOCOL.md §2.5 applied with the codec to
    the stated receiver state (receiver_model)."""
    outcome = receive(bytes.fromhex(vector["hex"]), vector["receiver_state"])
    stated = {k: vector[k] for k in ("error", "outcome", "counter", "nak", "nak_field", "nak_key")}
    assert dataclasses.asdict(outcome) == stated


def test_i13_02_a_retransmission_in_the_window_is_not_in_the_invalid_vectors() -> None:
    """The model tells a retransmission (cached reply) from a replay: the same GET_STATUS of
    counter 40 is answered again, the one of counter 3 is dropped."""
    get_status = fp.encode_frame(
        fp.GetStatus(), key=key_of("host_to_device"), session_id=SESSION_ID, counter=40
    )
    assert receive(get_status, "session_open").outcome == "cached_reply"
    replay = next(v for v in INVALID if v["name"] == "replayed_old_counter")
    assert receive(bytes.fromhex(replay["hex"]), "session_open").error == "replayed"


@pytest.mark.parametrize("case", AUTH["hkdf_sha256_rfc5869"], ids=lambda c: f"case{c['case']}")
def test_i13_02_hkdf_sha256_passes_rfc5869(case: dict[str, Any]) -> None:
    salt, ikm = bytes.fromhex(case["salt"]), bytes.fromhex(case["ikm"])
    assert hmac.digest(salt or bytes(32), ikm, "sha256").hex() == case["prk"]
    okm = fp.hkdf_sha256(ikm, salt=salt, info=bytes.fromhex(case["info"]), length=case["length"])
    assert okm.hex() == case["okm"]


@pytest.mark.parametrize("case", AUTH["hmac_sha256_rfc4231"], ids=lambda c: f"case{c['case']}")
def test_i13_02_hmac_sha256_passes_rfc4231(case: dict[str, Any]) -> None:
    key, data = bytes.fromhex(case["key"]), bytes.fromhex(case["data"])
    if case["truncate_bytes"] == fp.TAG_SIZE:  # RFC 4231 case 5: the protocol's truncation
        assert fp.tag(key, data).hex() == case["mac"]
        assert fp.tag_matches(key, data, bytes.fromhex(case["mac"]))
    else:
        assert hmac.digest(key, data, "sha256").hex() == case["mac"]
        assert fp.tag(key, data).hex() == case["mac"][: 2 * fp.TAG_SIZE]


def test_i13_02_the_derived_test_keys_follow_the_documented_derivation() -> None:
    derived = AUTH["derived"]
    hello = fp.hkdf_sha256(PAIRING_KEY, salt=b"", info=b"eacontrol-proto 2 hello", length=32)
    assert derived["hello_key"]["okm"] == hello.hex() == fp.hello_key(PAIRING_KEY).hex()
    info = b"eacontrol-proto 2 session" + SESSION_ID.to_bytes(4, "little")
    okm = fp.hkdf_sha256(PAIRING_KEY, salt=HOST_NONCE + DEVICE_NONCE, info=info, length=64)
    s = derived["session_keys"]
    assert (s["info_hex"], s["salt_hex"], s["okm"]) == (
        info.hex(),
        (HOST_NONCE + DEVICE_NONCE).hex(),
        okm.hex(),
    )
    keys = fp.session_keys(
        PAIRING_KEY, host_nonce=HOST_NONCE, device_nonce=DEVICE_NONCE, session_id=SESSION_ID
    )
    assert (s["host_to_device"], s["device_to_host"]) == (okm[:32].hex(), okm[32:].hex())
    assert (keys.host_to_device, keys.device_to_host) == (okm[:32], okm[32:])


def test_stored_vectors_match_a_fresh_build() -> None:
    """A protocol change must come with regenerated, reviewed vectors (schema.json included)."""
    for name, text in make_vectors.build().items():
        stored = files("firmware_protocol.vectors").joinpath(name).read_text()
        diff = "".join(
            difflib.unified_diff(
                stored.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"stored {name}",
                "built from the code",
                n=2,
            )
        )
        assert not diff, f"{name} is stale: run python tests/support/make_vectors.py\n{diff}"


def test_crc_and_cobs_vectors() -> None:
    data = _load("crc.json")
    for case in data["crc32c"]:
        assert fp.crc32c(bytes.fromhex(case["data"])) == int(case["crc"], 16)
    for case in data["cobs"]:
        assert fp.cobs_encode(bytes.fromhex(case["decoded"])).hex() == case["encoded"]
        assert fp.cobs_decode(bytes.fromhex(case["encoded"])).hex() == case["decoded"]
