"""The device's own limits table and its checks of programs and intensities (PROTOCOL.md §3.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from firmware_protocol import (
    MAX_CHANNELS,
    PROTO_MINOR,
    SCHEMA_HASH,
    Mode,
    NakCode,
    SetIntensity,
    SetProgram,
    Shape,
)
from simulator.firmware.checks import Refused, check_intensity, check_program, max_target_uA
from simulator.firmware.model import DeviceModel

if TYPE_CHECKING:
    from conftest import ProgramFactory

MODEL = DeviceModel()


def refusal(program: SetProgram, model: DeviceModel = MODEL) -> tuple[str, int]:
    """(field name, limit) of the OUT_OF_RANGE refusal of ``program``."""
    with pytest.raises(Refused) as caught:
        check_program(model, program)
    assert caught.value.code == NakCode.OUT_OF_RANGE
    return SetProgram.field_name(caught.value.field), caught.value.limit


# --- DeviceModel -----------------------------------------------------------------------------


def test_the_reference_model_is_the_documented_one() -> None:
    assert (MODEL.channel_count, MODEL.max_intensity_uA, MODEL.max_phase_charge_nC) == (
        6,
        20_000,
        10_000,
    )
    assert (MODEL.min_lease_ms, MODEL.max_lease_ms, MODEL.check_period_us) == (200, 1000, 10_000)
    assert MODEL.all_channels_mask == 0x3F


def test_hello_ack_reports_identity_and_limits() -> None:
    model = DeviceModel(serial="SN-42", channel_count=8, fw_version=(2, 3, 4))
    ack = model.hello_ack(boot_id=99, session_id=7, lease_ms=300, device_nonce=bytes(range(16)))
    assert (ack.proto_minor, ack.schema_hash) == (PROTO_MINOR, SCHEMA_HASH)
    assert (ack.fw_major, ack.fw_minor, ack.fw_patch) == (2, 3, 4)
    assert (ack.model, ack.serial, ack.boot_id, ack.session_id, ack.lease_ms) == (
        "EA-SIM-6",
        "SN-42",
        99,
        7,
        300,
    )
    assert ack.channel_count == 8
    assert ack.max_asym_ratio == model.max_asym_ratio
    assert ack.compliance_mV == model.compliance_mV
    assert ack.device_nonce == bytes(range(16))
    assert ack.as_info() == model.info()  # INFO's fields, and the session besides
    ack.encode()  # every value fits its wire field


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"channel_count": 0}, "channel_count"),
        ({"channel_count": MAX_CHANNELS + 1}, "channel_count"),
        ({"max_intensity_uA": 70_000}, "max_intensity_uA"),
        ({"min_phase_us": 600, "max_phase_us": 500}, "min_phase_us"),
        ({"min_freq_cHz": 0}, "min_freq_cHz"),
        ({"min_lease_ms": 2000}, "min_lease_ms"),
        ({"check_period_us": 20_000}, "check_period_us"),
        ({"max_asym_ratio": 0}, "max_asym_ratio"),
        ({"compliance_mV": True}, "compliance_mV"),
        ({"model": "x" * 17}, "model"),
        ({"serial": "a\x00b"}, "serial"),
        ({"serial": ""}, "serial"),
        ({"fw_version": (1, 256, 0)}, "fw_version"),
        ({"fw_version": (1, 0)}, "fw_version"),
    ],
)
def test_an_impossible_model_is_refused_naming_the_field(
    changes: dict[str, Any], name: str
) -> None:
    with pytest.raises(ValueError, match=name):
        DeviceModel(**changes)


# --- SET_PROGRAM ---------------------------------------------------------------------------


def test_the_default_programs_of_every_mode_pass(make_program: ProgramFactory) -> None:
    for mode in Mode:
        check_program(MODEL, make_program(mode))
    check_program(MODEL, make_program(shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=4))
    check_program(MODEL, make_program(target_uA=0, ramp_up_ms=0))


@pytest.mark.parametrize(
    ("mode", "fields", "field", "limit"),
    [
        (Mode.CONTINUOUS, {"freq_a_cHz": 99}, "freq_a_cHz", 100),
        (Mode.CONTINUOUS, {"freq_a_cHz": 20_001}, "freq_a_cHz", 20_000),
        (Mode.CONTINUOUS, {"phase_a_us": 49}, "phase_a_us", 50),
        (Mode.CONTINUOUS, {"phase_a_us": 1001}, "phase_a_us", 1000),
        (Mode.DENSE_DISPERSE, {"freq_b_cHz": 20_001}, "freq_b_cHz", 20_000),
        (Mode.DENSE_DISPERSE, {"phase_b_us": 0}, "phase_b_us", 50),
        (Mode.DENSE_DISPERSE, {"dwell_a_ms": 99}, "dwell_a_ms", 100),
        (Mode.DENSE_DISPERSE, {"dwell_b_ms": 60_001}, "dwell_b_ms", 60_000),
        (Mode.INTERMITTENT, {"on_ms": 0}, "on_ms", 100),
        (Mode.INTERMITTENT, {"off_ms": 65_000}, "off_ms", 60_000),
        # fields the mode does not use must be 0, so a mis-mapped field cannot hide
        (Mode.CONTINUOUS, {"freq_b_cHz": 10_000}, "freq_b_cHz", 0),
        (Mode.CONTINUOUS, {"dwell_b_ms": 3000}, "dwell_b_ms", 0),
        (Mode.DENSE_DISPERSE, {"on_ms": 1500}, "on_ms", 0),
        (Mode.INTERMITTENT, {"phase_b_us": 200}, "phase_b_us", 0),
        (Mode.CONTINUOUS, {"interphase_us": 501}, "interphase_us", 500),
        (Mode.CONTINUOUS, {"asym_ratio": 2}, "asym_ratio", 1),
        (Mode.CONTINUOUS, {"asym_ratio": 0}, "asym_ratio", 1),
        (Mode.CONTINUOUS, {"shape": Shape.ASYMMETRIC_BIPHASIC}, "asym_ratio", 2),
        (
            Mode.CONTINUOUS,
            {"shape": Shape.ASYMMETRIC_BIPHASIC, "asym_ratio": 9},
            "asym_ratio",
            8,
        ),
        (Mode.CONTINUOUS, {"target_uA": 20_001, "ramp_up_ms": 5000}, "target_uA", 20_000),
        # 10 µC per phase: at 1000 µs no more than 10 mA
        (
            Mode.CONTINUOUS,
            {"phase_a_us": 1000, "target_uA": 10_001, "ramp_up_ms": 5000},
            "target_uA",
            10_000,
        ),
        # dense-disperse: the wider half bounds the charge
        (
            Mode.DENSE_DISPERSE,
            {"phase_b_us": 800, "target_uA": 12_501, "ramp_up_ms": 5000},
            "target_uA",
            12_500,
        ),
        # ramp no faster than the device's max slew (5 mA/s): 5 mA needs ≥ 1000 ms
        (Mode.CONTINUOUS, {"ramp_up_ms": 999}, "ramp_up_ms", 1000),
        (Mode.CONTINUOUS, {"target_uA": 1, "ramp_up_ms": 0}, "ramp_up_ms", 1),
        (Mode.CONTINUOUS, {"target_uA": 5001, "ramp_up_ms": 1000}, "ramp_up_ms", 1001),
        (Mode.CONTINUOUS, {"max_run_s": 0}, "max_run_s", 1),
        (Mode.CONTINUOUS, {"max_run_s": 3601}, "max_run_s", 3600),
        # a pulse must fit between two onsets: 200 Hz leaves 5000 µs
        (
            Mode.CONTINUOUS,
            {
                "freq_a_cHz": 20_000,
                "phase_a_us": 1000,
                "shape": Shape.ASYMMETRIC_BIPHASIC,
                "asym_ratio": 8,
                "target_uA": 1000,
            },
            "phase_a_us",
            (5000 - 50) // 9,
        ),
    ],
)
def test_every_field_is_checked_against_the_device_s_own_limits(
    make_program: ProgramFactory, mode: Mode, fields: dict[str, Any], field: str, limit: int
) -> None:
    assert refusal(make_program(mode, **fields)) == (field, limit)


def test_the_first_offending_field_is_named(make_program: ProgramFactory) -> None:
    program = make_program(freq_a_cHz=1, phase_a_us=1, max_run_s=0)
    assert refusal(program) == ("freq_a_cHz", 100)


def test_checks_use_the_device_s_table_not_a_fixed_one(make_program: ProgramFactory) -> None:
    small = DeviceModel(max_intensity_uA=3000, max_slew_uA_per_s=1000, max_run_s=60)
    assert refusal(make_program(target_uA=3001, ramp_up_ms=5000), small) == ("target_uA", 3000)
    assert refusal(make_program(target_uA=3000, ramp_up_ms=2999), small) == ("ramp_up_ms", 3000)
    assert refusal(make_program(target_uA=3000, ramp_up_ms=3000), small) == ("max_run_s", 60)


def test_max_target_is_the_smaller_of_intensity_and_charge(make_program: ProgramFactory) -> None:
    assert max_target_uA(MODEL, make_program(phase_a_us=300)) == 20_000
    assert max_target_uA(MODEL, make_program(phase_a_us=700)) == 14_285


# --- SET_INTENSITY -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target_uA", "slew", "field", "limit"),
    [
        (20_001, 1000, "target_uA", 20_000),
        (14_286, 1000, "target_uA", 14_285),
        (1000, 0, "slew_uA_per_s", 1),
        (1000, 5001, "slew_uA_per_s", 5000),
    ],
)
def test_intensity_checks(
    make_program: ProgramFactory, target_uA: int, slew: int, field: str, limit: int
) -> None:
    command = SetIntensity(channel=0, target_uA=target_uA, slew_uA_per_s=slew)
    with pytest.raises(Refused) as caught:
        check_intensity(MODEL, make_program(phase_a_us=700), command)
    assert (SetIntensity.field_name(caught.value.field), caught.value.limit) == (field, limit)
    check_intensity(MODEL, make_program(), SetIntensity(0, 14_000, 5000))
