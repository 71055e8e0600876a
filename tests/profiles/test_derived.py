"""Derived dose figures against values computed by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from profile_text import DENSE_DISPERSE_2_100_HZ

from eacontrol.profiles import Needle, Profile, profile_dose, step_dose
from eacontrol.profiles.steps import Step
from eacontrol.safety.dose import (
    average_current_mA,
    charge_density_uC_per_cm2,
    current_density_mA_per_cm2,
    needle_area_cm2,
    phase_charge_uC,
    power_density_W_per_cm2,
    pulse_count,
    pulse_duty,
    pulse_energy_uJ,
    rms_current_mA,
    segment_times_s,
    shannon_k,
)

DD = {"frequency_hz": None, "phase_width_us": None} | DENSE_DISPERSE_2_100_HZ
INTERMITTENT = {
    "mode": "intermittent",
    "frequency_hz": 4,
    "phase_width_us": 500,
    "on_s": 1.5,
    "off_s": 1.5,
}


StepMaker = Callable[..., Step]


@pytest.fixture
def a_step(
    make_profile: Callable[..., Profile], step_data: Callable[..., dict[str, Any]]
) -> StepMaker:
    def make(**changes: object) -> Step:
        return make_profile(steps=[step_data(**changes)]).steps[0]

    return make


def test_phase_charge_10_mA_600_us_is_6_uC() -> None:
    assert phase_charge_uC(10, 600) == pytest.approx(6.0)


def test_rms_of_5_mA_300_us_100_hz_symmetric() -> None:
    # I_rms = 5 mA * sqrt(2 * 300e-6 s * 100 Hz) = 5 * sqrt(0.06)
    assert rms_current_mA(5, 300, 100) == pytest.approx(1.2247449, rel=1e-6)


def test_rms_of_an_asymmetric_pulse_adds_the_recovery_phase() -> None:
    # ratio 3: I^2*w + (I/3)^2*3w = I^2*w*(4/3); 5 * sqrt(300e-6 * 100 * 4/3) = 5 * 0.2
    assert rms_current_mA(5, 300, 100, asym_ratio=3) == pytest.approx(1.0)


def test_average_energy_and_duty() -> None:
    assert average_current_mA(10, 600, 2) == pytest.approx(0.024)  # 2 * 6 uC * 2 Hz = 24 uA
    assert pulse_energy_uJ(10, 600) == pytest.approx(60.0)  # 500 ohm * (10 mA)^2 * 600 us * 2
    assert pulse_energy_uJ(10, 600, asym_ratio=4) == pytest.approx(37.5)  # * (1 + 1/4)
    assert pulse_duty(600, 2) == pytest.approx(0.0024)  # 2 * 600 us * 2 Hz
    assert pulse_duty(200, 100, asym_ratio=4) == pytest.approx(0.1)  # 5 * 200 us * 100 Hz


def test_needle_area_charge_density_and_shannon_k() -> None:
    area = needle_area_cm2(0.25, 15)
    # pi * 0.25 * 15 + pi * 0.25^2 / 4 = 11.780972 + 0.049087 mm^2
    assert area == pytest.approx(0.11830060, rel=1e-6)
    density = charge_density_uC_per_cm2(6.0, area)
    assert density == pytest.approx(50.718, rel=1e-4)
    # Shannon 1992: log10(D) = k - log10(Q)
    assert shannon_k(6.0, density) == pytest.approx(math.log10(density) + math.log10(6.0))
    assert shannon_k(6.0, density) == pytest.approx(2.4834, abs=1e-4)
    assert current_density_mA_per_cm2(1.0, 0.5) == pytest.approx(2.0)
    assert power_density_W_per_cm2(10.0, 0.5) == pytest.approx(0.1)  # (0.01 A)^2 * 500 / 0.5


def test_segment_times_fill_whole_cycles_then_the_rest_in_order() -> None:
    times = segment_times_s(10.0, np.array([3.0, 3.0]))
    assert times.tolist() == pytest.approx([6.0, 4.0])
    assert segment_times_s(2.0, np.array([3.0, 3.0])).tolist() == pytest.approx([2.0, 0.0])


@pytest.mark.parametrize(
    ("window_s", "rate_hz", "pulses"),
    [(3, 2, 6), (1.5, 2, 3), (1.2, 2, 3), (3, 100, 300), (0, 2, 0), (0.001, 100, 1)],
)
def test_pulse_count_follows_protocol_timing(window_s: float, rate_hz: float, pulses: int) -> None:
    # PROTOCOL.md §8: pulses at k/f while before the window's end.
    assert pulse_count(window_s, rate_hz) == pulses


def test_continuous_step(a_step: StepMaker) -> None:
    dose = step_dose(a_step(duration_s=1500))
    assert dose.pulses == 3000
    assert dose.phase_charge_uC == pytest.approx(1.8)  # 3 mA * 600 us
    assert dose.duty_cycle == pytest.approx(1.0)
    assert dict(dose.time_per_frequency_s) == {2.0: pytest.approx(1500.0)}
    assert dose.rms_mA == pytest.approx(dose.mean_rms_mA)
    assert dose.net_charge_uC == 0.0
    assert dose.needle is None


def test_dense_disperse_step_with_a_partial_cycle(a_step: StepMaker) -> None:
    dose = step_dose(a_step(**DD, duration_s=10))
    a, b = dose.trains
    assert (a.time_s, b.time_s) == pytest.approx((6.0, 4.0))
    assert (a.pulses, b.pulses) == (12, 400)  # 6 + 6 at 2 Hz; 300 + 100 at 100 Hz
    assert dose.pulses == 412
    assert dose.phase_charge_uC == pytest.approx(1.8)  # the larger half
    assert dose.rms_mA == pytest.approx(b.rms_mA)
    expected_mean = math.sqrt((a.rms_mA**2 * 6 + b.rms_mA**2 * 4) / 10)
    assert dose.mean_rms_mA == pytest.approx(expected_mean)


def test_intermittent_step_runs_half_the_time(a_step: StepMaker) -> None:
    dose = step_dose(a_step(**INTERMITTENT, duration_s=900))
    assert dose.pulses == 1800  # 300 trains of 6 pulses
    assert dose.duty_cycle == pytest.approx(0.5)
    assert dose.mean_rms_mA == pytest.approx(dose.rms_mA * math.sqrt(0.5))
    assert dict(dose.time_per_frequency_s) == {4.0: pytest.approx(450.0)}


def test_asymmetric_pulses_are_charge_balanced(a_step: StepMaker) -> None:
    step = a_step(shape="asymmetric_biphasic", asym_ratio=3, intensity_mA=0.05)
    dose = step_dose(step)
    train = dose.trains[0]
    assert train.recovery_charge_uC == pytest.approx(train.phase_charge_uC)
    assert dose.net_charge_uC == pytest.approx(0.0, abs=1e-12)


def test_dose_at_another_intensity_and_with_needles(a_step: StepMaker) -> None:
    needle = Needle(diameter_mm=0.25, inserted_length_mm=15)
    dose = step_dose(a_step(), intensity_mA=10, needle=needle)
    assert dose.intensity_mA == 10
    assert dose.phase_charge_uC == pytest.approx(6.0)
    assert dose.needle is not None
    assert dose.needle.area_cm2 == pytest.approx(needle_area_cm2(0.25, 15))
    assert dose.needle.shannon_k == pytest.approx(2.4834, abs=1e-4)


def test_profile_dose_sums_per_channel(
    make_profile: Callable[..., Profile], step_data: Callable[..., dict[str, Any]]
) -> None:
    profile = make_profile(
        channels=[
            {"channel": 1, "electrodes": ["BL23-L", "BL25-L"]},
            {"channel": 2, "electrodes": ["BL23-R", "BL25-R"]},
        ],
        steps=[step_data(channels=[1, 2], duration_s=600), step_data(**DD, duration_s=600)],
    )
    dose = profile_dose(profile)
    assert [(d.step, d.channel) for d in dose.steps] == [(0, 1), (0, 2), (1, 1)]
    assert dose.duration_s == 1200
    assert dose.pulses_by_channel[2] == 1200
    assert dose.pulses_by_channel[1] == 1200 + 100 * 6 + 100 * 300
    assert dict(dose.time_per_frequency_s[1]) == pytest.approx({2.0: 900.0, 100.0: 300.0})
