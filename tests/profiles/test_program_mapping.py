"""Golden fields: every profile value lands in its own wire field and unit (STYLE.md 7).

A dense-disperse step's keys (frequency_a_hz, phase_width_a_us) differ from the Stimulation's
(frequency_hz, phase_width_us); ``Step.stimulation`` is the one mapping between them and
``eacontrol.device.wire`` the one conversion to wire units. This test follows every step and
channel of every stored profile from its TOML keys down to SET_PROGRAM.
"""

from __future__ import annotations

import pytest

from eacontrol.device.program import ProgramChecker
from eacontrol.profiles import Step, load_profile, stored_profile_names
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


def _all_steps() -> list[tuple[str, Step, int]]:
    found = []
    for name in stored_profile_names():
        for step in load_profile(name).steps:
            found += [(name, step, channel) for channel in step.channels]
    return found


def _ms(value_s: float | None) -> int:
    return 0 if value_s is None else round(value_s * 1000)


@pytest.mark.parametrize(
    ("name", "step", "channel"), _all_steps(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_profile_value_lands_in_its_wire_field(name: str, step: Step, channel: int) -> None:
    keys = step.model_dump()
    checker = ProgramChecker(DEVICE, "test device")
    wire: SetProgram = checker.program(channel, step.stimulation())
    assert wire.channel == channel - 1  # profiles count from 1, the wire from 0
    assert wire.mode is Mode[step.MODE.name]
    assert wire.shape is Shape[step.shape.name]
    assert wire.asym_ratio == keys["asym_ratio"]
    frequency_a = keys.get("frequency_a_hz", keys.get("frequency_hz"))
    phase_a = keys.get("phase_width_a_us", keys.get("phase_width_us"))
    assert wire.freq_a_cHz == round(frequency_a * 100)  # 2 Hz → 200 cHz
    assert wire.phase_a_us == phase_a  # 600 µs → 600
    assert wire.freq_b_cHz == round(keys.get("frequency_b_hz", 0) * 100)  # 100 Hz → 10000
    assert wire.phase_b_us == keys.get("phase_width_b_us", 0)
    assert (wire.dwell_a_ms, wire.dwell_b_ms) == (
        _ms(keys.get("dwell_a_s")),
        _ms(keys.get("dwell_b_s")),
    )
    assert (wire.on_ms, wire.off_ms) == (_ms(keys.get("on_s")), _ms(keys.get("off_s")))
    assert wire.interphase_us == keys["interphase_gap_us"]
    assert wire.target_uA == round(keys["intensity_mA"] * 1000)  # 2.5 mA → 2500 µA
    assert wire.ramp_up_ms == _ms(keys["ramp_up_s"])
    assert wire.ramp_down_ms == _ms(keys["ramp_down_s"])
    assert keys["duration_s"] <= wire.max_run_s < keys["duration_s"] + 1


def test_dense_disperse_halves_are_not_swapped() -> None:
    profile = load_profile("lbp_2_100hz_han")
    channel = profile.steps[0].channels[0]
    wire = ProgramChecker(DEVICE, "test device").program(channel, profile.stimulation(0, channel))
    assert (wire.freq_a_cHz, wire.phase_a_us) == (200, 600)  # 2 Hz, 0.6 ms (Han)
    assert (wire.freq_b_cHz, wire.phase_b_us) == (10000, 200)  # 100 Hz, 0.2 ms
