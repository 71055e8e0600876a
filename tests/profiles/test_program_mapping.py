"""Golden fields: every profile value lands in its own wire field and unit (STYLE.md 7).

The profile's keys (frequency_a_hz, interphase_gap_us, …) differ from the Stimulator's
(frequency_hz, interphase_us, …); ``ChannelParams.program`` is the one mapping between them and
``ProgramChecker.program`` the one conversion to wire units. This test follows every step and
channel of every stored profile down to SET_PROGRAM.
"""

from __future__ import annotations

import pytest

from eacontrol.device.program import ProgramChecker
from eacontrol.profiles import ChannelParams, load_profile, stored_profile_names
from eacontrol.safety.limits import DeviceLimits
from firmware_protocol import Mode, SetProgram, Shape

DEVICE = DeviceLimits(
    channel_count=8,
    max_intensity_mA=20.0,
    min_phase_width_us=50,
    max_phase_width_us=1000,
    min_frequency_hz=1.0,
    max_frequency_hz=200.0,
    max_phase_charge_uC=10.0,
    max_slew_mA_per_s=5.0,
    compliance_V=60.0,
    min_lease_ms=200,
    max_lease_ms=1000,
    max_run_s=3600,
    max_interphase_us=500,
    max_asym_ratio=8,
)


def _all_params() -> list[ChannelParams]:
    params = []
    for name in stored_profile_names():
        profile = load_profile(name)
        for index, step in enumerate(profile.steps):
            params += [profile.channel_params(index, channel) for channel in step.channels]
    return params


def _ms(value_s: float | None) -> int:
    return 0 if value_s is None else round(value_s * 1000)


@pytest.mark.parametrize("params", _all_params(), ids=lambda p: f"ch{p.channel}-{p.mode}")
def test_every_profile_value_lands_in_its_wire_field(params: ChannelParams) -> None:
    checker = ProgramChecker(DEVICE, "test device")
    wire: SetProgram = checker.program(params.channel, params.program())
    assert wire.channel == params.channel - 1  # profiles count from 1, the wire from 0
    assert wire.mode is Mode[params.mode.name]
    assert wire.shape is Shape[params.shape.name]
    assert wire.asym_ratio == params.asym_ratio
    assert wire.freq_a_cHz == round(params.frequency_a_hz * 100)  # 2 Hz → 200 cHz
    assert wire.phase_a_us == params.phase_width_a_us  # 600 µs → 600
    assert wire.freq_b_cHz == round((params.frequency_b_hz or 0) * 100)  # 100 Hz → 10000
    assert wire.phase_b_us == (params.phase_width_b_us or 0)
    assert (wire.dwell_a_ms, wire.dwell_b_ms) == (_ms(params.dwell_a_s), _ms(params.dwell_b_s))
    assert (wire.on_ms, wire.off_ms) == (_ms(params.on_s), _ms(params.off_s))
    assert wire.interphase_us == params.interphase_gap_us
    assert wire.target_uA == round(params.intensity_mA * 1000)  # 2.5 mA → 2500 µA
    assert wire.ramp_up_ms == _ms(params.ramp_up_s)
    assert wire.ramp_down_ms == _ms(params.ramp_down_s)
    assert params.duration_s <= wire.max_run_s < params.duration_s + 1


def test_dense_disperse_halves_are_not_swapped() -> None:
    profile = load_profile("lbp_2_100hz_han")
    params = profile.channel_params(0, profile.steps[0].channels[0])
    wire = ProgramChecker(DEVICE, "test device").program(params.channel, params.program())
    assert (wire.freq_a_cHz, wire.phase_a_us) == (200, 600)  # 2 Hz, 0.6 ms (Han)
    assert (wire.freq_b_cHz, wire.phase_b_us) == (10000, 200)  # 100 Hz, 0.2 ms
