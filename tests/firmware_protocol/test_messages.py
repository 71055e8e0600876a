"""Message definitions: schema hash, field indices, program CRC, unit conversion."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_programs import program

import firmware_protocol as fp
from firmware_protocol import units
from firmware_protocol.layout import Scalar
from firmware_protocol.messages import _descriptor


def test_message_types_are_one_to_one_and_directional() -> None:
    assert set(fp.MESSAGE_TYPES) == set(fp.MsgType)
    for t, cls in fp.MESSAGE_TYPES.items():
        assert cls.MSG_TYPE is t
        assert t.from_device == (
            cls in (fp.Ack, fp.HelloAck, fp.Program, fp.Status, fp.Dose, fp.Nak, fp.Event)
        )


def test_any_layout_change_changes_tag_and_hash() -> None:
    original = fp.SetIntensity.LAYOUT
    try:
        fp.SetIntensity.LAYOUT = (*original[:2], Scalar("slew_uA_per_ms", "H"))
        changed = _descriptor(fp.SetIntensity)
    finally:
        fp.SetIntensity.LAYOUT = original
    assert fp.crc32c(changed.encode()).to_bytes(4, "little") != fp.schema_tag(
        fp.MsgType.SET_INTENSITY
    )


def test_schema_tags_are_distinct() -> None:
    tags = {fp.schema_tag(t) for t in fp.MsgType}
    assert len(tags) == len(fp.MsgType)


def test_frozen_layouts_never_change() -> None:
    """HELLO, HELLO_ACK and NAK are frozen across versions (PROTOCOL.md §3.5)."""
    assert fp.schema_tag(fp.MsgType.HELLO).hex() == _tag_of("01 Hello")
    assert fp.schema_tag(fp.MsgType.HELLO_ACK).hex() == _tag_of("81 HelloAck")
    assert fp.schema_tag(fp.MsgType.NAK).hex() == _tag_of("8E Nak")


_FROZEN = {
    "01 Hello": "01 Hello(new_session_id:H,lease_ms:H,schema_hash:I)",
    "8E Nak": "8E Nak(nak_type:B,code:B/NakCode,field:B,limit:I)",
    "81 HelloAck": "81 HelloAck(proto_minor:B,schema_hash:I,fw_major:B,fw_minor:B,fw_patch:B,"
    "model:16s,serial:16s,boot_id:I,session_id:H,lease_ms:H,channel_count:B,"
    "max_intensity_uA:H,min_phase_us:H,max_phase_us:H,min_freq_cHz:H,max_freq_cHz:H,"
    "max_phase_charge_nC:H,max_slew_uA_per_s:H,compliance_mV:I,min_lease_ms:H,max_lease_ms:H,"
    "max_run_s:H,max_interphase_us:H,max_asym_ratio:B)",
}


def _tag_of(key: str) -> str:
    return fp.crc32c(_FROZEN[key].encode()).to_bytes(4, "little").hex()


def test_field_index_and_name_agree() -> None:
    assert fp.Start.field_index("program_crc", 3) == 4
    assert fp.Start.field_name(4) == "program_crc[3]"
    assert fp.SetProgram.field_name(fp.SetProgram.field_index("target_uA")) == "target_uA"
    assert fp.Program.field_index("program_crc") == 17
    assert fp.Nak.field_name(99) == "field #99"


def test_program_crc_ignores_the_channel_and_matches_read_back() -> None:
    a = program(target_uA=2500, ramp_up_ms=3000, ramp_down_ms=2000)
    b = dataclasses.replace(a, channel=5)
    assert a.crc == b.crc == fp.program_crc(a)
    assert a.crc == fp.crc32c(a.encode()[1:])
    read_back = fp.Program(
        **{f.name: getattr(a, f.name) for f in dataclasses.fields(a)}, program_crc=a.crc
    )
    assert read_back.as_set_program() == a
    assert fp.program_crc(read_back) == a.crc
    assert dataclasses.replace(a, target_uA=2501).crc != a.crc


def test_status_outputs_off() -> None:
    off = fp.ChannelStatus(fp.ChannelState.PROGRAMMED, fp.Fault.NONE, 0, 0, 0, 500, 0)
    on = dataclasses.replace(off, state=fp.ChannelState.STOPPING, measured_uA=10)
    assert fp.Status(1, 1, 0, 0, 0, fp.DeviceFlag.NONE, (off, off)).outputs_off
    assert not fp.Status(1, 1, 0, 0, 0, fp.DeviceFlag.NONE, (off, on)).outputs_off


# --- units: the one conversion point -------------------------------------------------------


@pytest.mark.parametrize(
    ("func", "value", "wire"),
    [
        (units.mA_to_uA, 2.5, 2500),
        (units.mA_to_uA, 10, 10000),
        (units.mA_to_uA, 0.001, 1),
        (units.us_to_wire, 300, 300),
        (units.hz_to_cHz, 2, 200),
        (units.hz_to_cHz, 100, 10000),
        (units.hz_to_cHz, 2.5, 250),
        (units.s_to_ms, 3, 3000),
        (units.s_to_ms, 1.5, 1500),
        (units.s_to_ms, 0.1, 100),
        (units.s_to_whole_s, 1800, 1800),
    ],
)
def test_unit_golden_values(func: object, value: float, wire: int) -> None:
    assert callable(func)
    assert func(value) == wire


@pytest.mark.parametrize(
    ("func", "value"),
    [
        (units.mA_to_uA, 2.5004),  # finer than 1 uA: refused, not rounded
        (units.mA_to_uA, -1),
        (units.mA_to_uA, math.nan),
        (units.mA_to_uA, math.inf),
        (units.mA_to_uA, 70),  # beyond u16
        (units.hz_to_cHz, 100.005),
        (units.us_to_wire, 300.5),
        (units.s_to_ms, 66),
        (units.s_to_whole_s, 1.5),
        (units.mA_to_uA, True),
        (units.hz_to_cHz, 1e306),  # no OverflowError escapes
        (units.mA_to_uA, -0.0004),
    ],
)
def test_unit_refusals_name_the_field(func: object, value: float) -> None:
    assert callable(func)
    with pytest.raises(fp.UnitError) as info:
        func(value, "some_field")
    assert info.value.field == "some_field"
    assert "allowed" in str(info.value)


@given(st.integers(0, 0xFFFF))
def test_units_round_trip(wire: int) -> None:
    assert units.mA_to_uA(units.uA_to_mA(wire)) == wire
    assert units.hz_to_cHz(units.cHz_to_hz(wire)) == wire
    assert units.s_to_ms(units.ms_to_s(wire)) == wire
