"""PROTOCOL.md is normative: its tables must agree with the code, field by field."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

import firmware_protocol as fp
from firmware_protocol.layout import Array, Group, Scalar, Text, WireStruct

SPEC = files("firmware_protocol").joinpath("PROTOCOL.md").read_text()
_TYPES = {"B": "u8", "H": "u16", "I": "u32", "Q": "u64", "i": "i32"}


def _expected_rows(cls: type[WireStruct]) -> list[tuple[int, str, str]]:
    rows, offset = [], 0
    for f in cls.LAYOUT:
        if isinstance(f, Scalar):
            rows.append((offset, _TYPES[f.code], f.name))
            offset += {"B": 1, "H": 2, "I": 4, "Q": 8, "i": 4}[f.code]
        elif isinstance(f, Array):
            rows.append((offset, f"{_TYPES[f.code]}[{f.count}]", f.name))
            offset += 4 * f.count
        elif isinstance(f, Text):
            rows.append((offset, f"char[{f.size}]", f.name))
            offset += f.size
        elif isinstance(f, Group):
            rows.append((offset, "u8", f.name))
    return rows


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
    cls = fp.MESSAGE_TYPES[msg_type]
    documented = _table_rows(_section(msg_type))
    expected = _expected_rows(cls)
    if cls is fp.Program:  # documented as "SET_PROGRAM's 30 bytes, then program_crc"
        expected = expected[-1:]
    assert documented == expected


def test_status_channel_record_matches_the_code() -> None:
    documented = _table_rows(_section(fp.MsgType.STATUS), relative=True)
    assert documented == _expected_rows(fp.ChannelStatus)


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
    ):
        assert f"`{name}`" in section


def test_documented_sizes() -> None:
    assert "**272 bytes**" in SPEC and fp.MAX_ENCODED_FRAME == 272
    assert fp.HEADER_SIZE == 11 and fp.MAX_FRAME == 270
