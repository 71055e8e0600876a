"""PROTOCOL.md is normative: its tables must agree with the code (through the generated schema,
vectors/schema.json), field by field."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

import firmware_protocol as fp
from firmware_protocol.schema import protocol_schema

SPEC = files("firmware_protocol").joinpath("PROTOCOL.md").read_text()
SCHEMA = protocol_schema()
_MESSAGES = {m["value"]: m for m in SCHEMA["messages"]}


def _type(field: dict[str, object]) -> str:
    """How PROTOCOL.md writes a field's type: u16, u32[8], char[16], bytes[16]; a group is its
    u8 count."""
    if field["type"] == "array":
        return f"{field['element']}[{field['count']}]"
    if field["type"] == "group":
        return "u8"
    return str(field["type"])


def _expected_rows(fields: list[dict[str, object]]) -> list[tuple[int, str, str]]:
    return [(int(str(f["offset"])), _type(f), str(f["name"])) for f in fields]


def _section(msg_type: int) -> str:
    match = re.search(
        rf"^### 5\.\d+ [^\n]*\(0x{msg_type:02X}\)[^\n]*\n(.*?)(?=^### |^## )",
        SPEC,
        re.MULTILINE | re.DOTALL,
    )
    assert match, f"PROTOCOL.md §5 has no section for 0x{msg_type:02X}"
    return match.group(1)


def _table_rows(text: str, relative: bool = False) -> list[tuple[int, str, str]]:
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4:  # layout tables have offset, type, field and more
            continue
        off = cells[0]
        if relative and off.startswith("+") and off[1:].isdigit():
            rows.append((int(off[1:]), cells[1], cells[2]))
        elif not relative and off.isdigit():
            rows.append((int(off), cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("msg_type", list(fp.MsgType), ids=[t.name for t in fp.MsgType])
def test_layout_tables_match_the_code(msg_type: fp.MsgType) -> None:
    documented = _table_rows(_section(msg_type))
    expected = _expected_rows(_MESSAGES[int(msg_type)]["fields"])
    if msg_type is fp.MsgType.PROGRAM:  # documented as "SET_PROGRAM's 30 bytes, then program_crc"
        expected = expected[-1:]
    assert documented == expected


def test_status_channel_record_matches_the_code() -> None:
    documented = _table_rows(_section(fp.MsgType.STATUS), relative=True)
    assert documented == _expected_rows(SCHEMA["records"][0]["fields"])


def test_header_table_matches_the_code() -> None:
    section = SPEC[SPEC.index("### 2.3 Header\n") : SPEC.index("### 2.4")]
    expected = [(h["offset"], h["type"], h["name"]) for h in SCHEMA["header"]]
    assert _table_rows(section) == expected


def _code_table(heading: str) -> dict[int, str]:
    match = re.search(rf"{heading}.*?\n((?:\|[^\n]*\n)+)", SPEC, re.DOTALL)
    assert match
    table = {}
    for line in match.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0].isdigit():
            table[int(cells[0])] = cells[1]
        elif cells[0].startswith("0x"):
            table[int(cells[0], 16)] = cells[1]
    return table


def test_message_type_table() -> None:
    assert _code_table("## 4. Message types") == {int(t): t.name for t in fp.MsgType}


def test_nak_code_table() -> None:
    assert _code_table("## 7. NAK codes") == {int(c): c.name for c in fp.NakCode}


def test_event_code_table() -> None:
    assert _code_table(r"\| code \| name \| detail \|") == {int(c): c.name for c in fp.EventCode}


def test_rejection_table_names_every_decode_error() -> None:
    section = SPEC[SPEC.index("### 2.4") : SPEC.index("## 3.")]
    for name in (
        "OversizeFrame",
        "CobsError",
        "TruncatedFrame",
        "LengthMismatch",
        "UnknownMessageType",
        "CrcMismatch",
        "VersionMismatch",
        "UnsupportedFeature",
        "PayloadError",
        "BadTag",
        "ReplayedFrame",
    ):
        assert f"`{name}`" in section


def test_documented_sizes() -> None:
    assert "**295 bytes**" in SPEC and fp.MAX_ENCODED_FRAME == 295
    assert fp.HEADER_SIZE == 18 and fp.MAX_FRAME == 293 and fp.TAG_SIZE == 16


def test_the_spec_is_major_2_and_states_the_schema_hash_join() -> None:
    assert SPEC.startswith("# eacontrol wire protocol, major version 2")
    assert '"eacontrol-proto 2\\n"' in SPEC  # the prefix, as the schema states it
    for info in ("eacontrol-proto 2 hello", "eacontrol-proto 2 session"):
        assert info in SPEC
