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


def test_message_types_are_one_to_one_and_directional() -> None:
    assert set(fp.MESSAGE_TYPES) == set(fp.MsgType)
    device = (fp.Ack, fp.HelloAck, fp.Info, fp.Program, fp.Status, fp.Dose, fp.PairAck, fp.Nak)
    for t, cls in fp.MESSAGE_TYPES.items():
        assert cls.MSG_TYPE is t
        assert t.from_device == (cls in (*device, fp.Event))


def _hash_of(descriptors: list[str]) -> int:
    """PROTOCOL.md §3.6: CRC-32C of the prefix, then the descriptors joined by a newline."""
    return fp.crc32c(("eacontrol-proto 2\n" + "\n".join(descriptors)).encode())


def test_i13_01_schema_hash_is_the_documented_join_of_the_descriptors() -> None:
    ordered = [fp.descriptor(fp.MESSAGE_TYPES[t]) for t in sorted(fp.MESSAGE_TYPES)]
    assert _hash_of(ordered) == fp.SCHEMA_HASH
    assert ordered[0] == "01 Hello(key_id:I,host_nonce:16o,lease_ms:H,schema_hash:I)"
    assert "8C PairAck(key_id:I,pairing_key:32o,serial:16s)" in ordered
    assert fp.descriptor(fp.Status).startswith(
        "89 Status(boot_id:I,uptime_ms:I,lease_remaining_ms:H,last_applied_counter:I,"
        "rx_err_count:I,auth_fail_count:I,replay_count:I,flags:B/DeviceFlag,channels:[8]{"
    )


def test_any_layout_change_changes_the_schema_hash() -> None:
    original = fp.SetIntensity.LAYOUT
    try:
        fp.SetIntensity.LAYOUT = (*original[:2], Scalar("slew_uA_per_ms", "H"))
        changed = [fp.descriptor(fp.MESSAGE_TYPES[t]) for t in sorted(fp.MESSAGE_TYPES)]
    finally:
        fp.SetIntensity.LAYOUT = original
    assert _hash_of(changed) != fp.SCHEMA_HASH


def test_descriptors_are_distinct() -> None:
    assert len({fp.descriptor(c) for c in fp.MESSAGE_TYPES.values()}) == len(fp.MsgType)


def test_hello_ack_carries_info_then_the_session() -> None:
    info_names = [f.name for f in fp.Info.LAYOUT]
    names = [f.name for f in fp.HelloAck.LAYOUT]
    assert names == [*info_names, "boot_id", "session_id", "lease_ms", "device_nonce"]
    assert "session_id" not in info_names  # INFO never reveals a session


def test_field_index_and_name_agree() -> None:
    assert fp.Start.field_index("program_crc", 3) == 4
    assert fp.Start.field_name(4) == "program_crc[3]"
    assert fp.SetProgram.field_name(fp.SetProgram.field_index("target_uA")) == "target_uA"
    assert fp.Program.field_index("program_crc") == 17
    assert fp.Nak.field_name(99) == "field #99"
    assert fp.Hello.field_index("lease_ms") == 2  # a bytes[16] nonce counts one
    assert fp.Status.field_index("channels") == 8


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
    assert fp.Status(1, 1, 0, 0, 0, 0, 0, fp.DeviceFlag.NONE, (off, off)).outputs_off
    assert not fp.Status(1, 1, 0, 0, 0, 0, 0, fp.DeviceFlag.NONE, (off, on)).outputs_off


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
