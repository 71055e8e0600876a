"""The profile models: strict units, frozen, structure checked, settings read off a step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from eacontrol.profiles import Profile
from eacontrol.stimulation import PulseShape, Stimulation, StimulationMode

DataMaker = Callable[..., dict[str, Any]]
ProfileMaker = Callable[..., Profile]


def test_integers_are_accepted_for_floats_and_stored_as_floats(make_profile: ProfileMaker) -> None:
    step = make_profile().steps[0]
    assert step.intensity_mA == 3.0
    assert isinstance(step.intensity_mA, float)


@pytest.mark.parametrize("value", ["3", "3 mA", True, None, [3]])
def test_a_number_must_be_a_number(
    value: object, profile_data: DataMaker, step_data: DataMaker
) -> None:
    data = profile_data(steps=[{**step_data(), "intensity_mA": value}])
    with pytest.raises(ValidationError):
        Profile.model_validate(data)


def test_profiles_are_frozen(make_profile: ProfileMaker) -> None:
    profile = make_profile()
    with pytest.raises(ValidationError):
        profile.name = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        profile.steps[0].intensity_mA = 20  # type: ignore[misc]
    assert isinstance(profile.steps, tuple)


def test_structure_is_checked_on_construction(
    profile_data: DataMaker, step_data: DataMaker
) -> None:
    data = profile_data(steps=[step_data(channels=[1, 2], duration_s=4)])
    with pytest.raises(ValidationError) as caught:
        Profile.model_validate(data)
    text = str(caught.value)
    assert "steps[0].channels[1]" in text
    assert "steps[0].duration_s" in text


def test_structure_can_be_deferred_for_the_loader(
    profile_data: DataMaker, step_data: DataMaker
) -> None:
    data = profile_data(steps=[step_data(channels=[1, 2])])
    profile = Profile.model_validate(data, context={"defer_structure": True})
    assert profile.steps[0].channels == (1, 2)


def test_continuous_stimulation(make_profile: ProfileMaker, step_data: DataMaker) -> None:
    profile = make_profile(steps=[step_data(interphase_gap_us=20)])
    stim = profile.stimulation(0, 1)
    assert stim == Stimulation(
        mode=StimulationMode.CONTINUOUS,
        shape=PulseShape.SYMMETRIC_BIPHASIC,
        asym_ratio=1,
        frequency_hz=2.0,
        phase_width_us=600.0,
        frequency_b_hz=None,
        phase_width_b_us=None,
        dwell_a_s=None,
        dwell_b_s=None,
        on_s=None,
        off_s=None,
        interphase_gap_us=20.0,
        intensity_mA=3.0,
        ramp_up_s=3.0,
        ramp_down_s=2.0,
        max_run_s=600.0,  # the step's length: the device's own shut-off
    )
    assert profile.ceiling(0, 1) == (10.0, "session.ceiling_mA")
    assert stim.mode.name == "CONTINUOUS"  # the same member names as firmware_protocol


def test_dense_disperse_and_intermittent_stimulation(
    make_profile: ProfileMaker, step_data: DataMaker
) -> None:
    dense = step_data(
        mode="dense_disperse", frequency_hz=None, phase_width_us=None,
        frequency_a_hz=2, phase_width_a_us=600, frequency_b_hz=100, phase_width_b_us=200,
        dwell_a_s=3, dwell_b_s=3,
    )  # fmt: skip
    sparse = step_data(mode="intermittent", on_s=1.5, off_s=1.5)
    profile = make_profile(steps=[dense, sparse])
    a = profile.stimulation(0, 1)
    assert (a.mode, a.frequency_b_hz, a.phase_width_b_us, a.dwell_a_s, a.dwell_b_s) == (
        StimulationMode.DENSE_DISPERSE, 100.0, 200.0, 3.0, 3.0,
    )  # fmt: skip
    assert (a.on_s, a.off_s) == (None, None)
    b = profile.stimulation(1, 1)
    assert (b.mode, b.on_s, b.off_s, b.dwell_a_s, b.frequency_b_hz) == (
        StimulationMode.INTERMITTENT, 1.5, 1.5, None, None,
    )  # fmt: skip


def test_ceiling_comes_from_the_step_then_the_channel_then_the_session(
    make_profile: ProfileMaker, step_data: DataMaker
) -> None:
    profile = make_profile(
        channels=[
            {"channel": 1, "electrodes": ["BL23-L", "BL25-L"], "ceiling_mA": 7},
            {"channel": 2, "electrodes": ["BL23-R", "BL25-R"]},
        ],
        steps=[step_data(channels=[1, 2]), step_data(channels=[1, 2], ceiling_mA=5)],
        session={"ceiling_mA": 9},
    )
    assert profile.ceiling(0, 1) == (7.0, "channels[0].ceiling_mA")
    assert profile.ceiling(0, 2) == (9.0, "session.ceiling_mA")
    assert profile.ceiling(1, 1) == (5.0, "steps[1].ceiling_mA")


def test_default_session_limits(make_profile: ProfileMaker) -> None:
    profile = make_profile()
    assert profile.session.max_duration_s == 1800.0  # 30 min (Wang SM, Anesth Analg 2009)
    assert profile.session.ceiling_mA == 10.0  # a design value (docs/clinical-sources.md)
    assert profile.total_duration_s == 600.0


def test_stimulation_only_for_driven_channels(make_profile: ProfileMaker) -> None:
    profile = make_profile()
    with pytest.raises(KeyError):
        profile.stimulation(0, 2)
    with pytest.raises(KeyError):
        profile.channel(3)
    assert str(profile.channel(1).electrodes[0]) == "BL23-L"


def test_needle_sites_are_parsed_and_written_back(make_profile: ProfileMaker) -> None:
    profile = make_profile(channels=[{"channel": 1, "electrodes": ["ub23-l", "GV4"]}])
    first, second = profile.channels[0].electrodes
    assert first.point.code == "BL23"
    assert second.side is None
    dumped = profile.model_dump(mode="json")
    assert dumped["channels"][0]["electrodes"] == ["BL23-L", "GV4"]
