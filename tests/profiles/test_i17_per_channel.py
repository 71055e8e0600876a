"""Issue 17: per-channel intensity within a step. A step's ``channel_intensity_mA`` and
``channel_ceiling_mA`` give listed channels their own target and ceiling; each goes through
every limit layer on its own, and the session programs each channel with its own target."""

from __future__ import annotations

from typing import Any

import pytest
from profile_text import CONTINUOUS_2_HZ, profile_toml

from eacontrol.errors import Severity
from eacontrol.profiles import Profile, check_profile, loads_profile, validate_text
from eacontrol.profiles.writer import dumps_json, dumps_toml
from eacontrol.session import SessionPlan


def _text(**keys: Any) -> str:
    return profile_toml("Per-channel", CONTINUOUS_2_HZ | keys)


def test_i17_a_listed_channel_gets_its_own_target_and_ceiling() -> None:
    profile = loads_profile(
        _text(intensity_mA=3, channel_intensity_mA={2: 2.5}, channel_ceiling_mA={2: 4})
    )
    assert profile.stimulation(0, 1).intensity_mA == 3
    assert profile.stimulation(0, 2).intensity_mA == 2.5
    assert profile.ceiling(0, 1) == (10, "session.ceiling_mA")
    assert profile.ceiling(0, 2) == (4, "steps[0].channel_ceiling_mA.2")
    plan = SessionPlan.build(profile)
    assert [(c.channel, c.start_mA, c.ceiling.value_mA) for c in plan.steps[0].channels] == [
        (1, 3, 10),
        (2, 2.5, 4),
    ]


def test_i17_each_channels_target_is_checked_on_its_own_with_file_field_and_line() -> None:
    text = _text(intensity_mA=3, channel_intensity_mA={2: 9}, ceiling_mA=8)
    refusals = validate_text(text, file="p.toml").refusals
    assert [f.path for f in refusals] == ["steps[0].channel_intensity_mA.2"]
    (refusal,) = refusals
    assert refusal.file == "p.toml" and refusal.line is not None
    assert "channel_intensity_mA" in text.splitlines()[refusal.line - 1]
    assert refusal.value == 9


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"channel_intensity_mA": {3: 2}}, "channel(s) [3] that this step does not drive"),
        ({"channel_ceiling_mA": {0: 2}}, "channel_ceiling_mA"),
        (
            {
                "intensity": "titrate",
                "sensation": "tingling",
                "start_intensity_mA": 2,
                "channel_intensity_mA": {2: 1.5},
            },
            "above channel 2's target channel_intensity_mA.2 (1.5 mA)",
        ),
    ],
)
def test_i17_per_channel_keys_are_refused_where_they_cannot_apply(
    keys: dict[str, Any], message: str
) -> None:
    refusals = validate_text(_text(**keys)).refusals
    assert refusals and any(message in f.message or message in f.path for f in refusals), [
        (f.path, f.message) for f in refusals
    ]


def test_i17_a_titrated_channel_has_its_own_guidance() -> None:
    profile = loads_profile(
        _text(intensity="titrate", sensation="tingling", channel_intensity_mA={2: 2})
    )
    step = profile.steps[0]
    one, two = step.titration(1), step.titration(2)
    assert one is not None and two is not None
    assert (one.target_mA, two.target_mA) == (3, 2) and one.start_mA == two.start_mA == 0


def test_i17_per_channel_steps_built_in_python_pass_the_same_engine_and_round_trip() -> None:
    written = loads_profile(_text(channel_intensity_mA={2: 2.5}, channel_ceiling_mA={1: 6}))
    built = Profile.model_validate(written.model_dump())
    assert built == written
    for dump in (dumps_toml, dumps_json):
        fmt = "toml" if dump is dumps_toml else "json"
        assert loads_profile(dump(built), fmt=fmt) == built
    assert "channel_intensity_mA = { 2 = 2.5 }" in dumps_toml(built)
    too_high = built.model_copy(
        update={"steps": (built.steps[0].model_copy(update={"channel_intensity_mA": {2: 50}}),)}
    )
    refused = [f for f in check_profile(too_high) if f.severity is Severity.REFUSE]
    assert {f.path for f in refused} >= {"steps[0].channel_intensity_mA.2"}
