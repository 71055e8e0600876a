"""Issue 17: titration as a first-class step. A ``threshold`` step finds each channel's sensory
and motor thresholds (marked by the practitioner, recorded at once and in the step's record);
a ``relative`` step sets each channel to a multiple of its threshold, never above the level the
limits checked (``intensity_mA``) and never from a threshold that was not found: such a channel
starts at 0 mA with a warning. A session of threshold steps only is a titration, not a
treatment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import profile_text
import pytest

from eacontrol.errors import ParameterError, SessionError
from eacontrol.profiles import loads_profile, validate_text
from eacontrol.records import Outcome

from .conftest import Run, Script

BASE = profile_text.CONTINUOUS_2_HZ | {"ramp_up_s": 2, "ramp_down_s": 1}
THRESHOLD = BASE | {"label": "thresholds", "intensity_mA": 6, "intensity": "threshold"}
THRESHOLD |= {"duration_s": 20}
RELATIVE = BASE | {"label": "treatment", "intensity_mA": 4, "duration_s": 20}
RELATIVE |= {"intensity": "relative", "relative_to": "sensory", "threshold_factor": 2}


def _profile(*steps: dict[str, object]) -> Any:
    return loads_profile(profile_text.profile_toml("Thresholds", *steps))


def _levels(run: Run) -> tuple[float, float]:
    return (run.device.output_uA(0) / 1000, run.device.output_uA(1) / 1000)


def _raise_to(channel: int, mA: float, start_s: float) -> list[tuple[float, Any]]:
    """Presses of +0.5 mA on ``channel`` once a second from ``start_s`` up to ``mA``."""
    steps = round(mA / 0.5)
    return [(start_s + i * 1.1, lambda s, c=channel: s.adjust(c, 0.5)) for i in range(steps)]


def test_i17_thresholds_are_marked_recorded_and_set_the_relative_step(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(_profile(THRESHOLD, RELATIVE), "seed=51")
    seen: dict[str, object] = {}
    script = Script(
        *_raise_to(1, 1.0, 3.0),  # channel 1 felt at 1 mA
        (5.5, lambda s: s.mark_threshold(1)),  # the next: sensory
        *_raise_to(2, 1.5, 3.05),  # channel 2 felt at 1.5 mA
        (6.5, lambda s: s.mark_threshold(2, "sensory")),
        *_raise_to(1, 1.5, 7.0),  # channel 1 twitches at 2.5 mA
        (10.0, lambda s: s.mark_threshold(1)),  # the next: motor
        (26.0, lambda s: seen.setdefault("treatment", _levels(run))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert script.results[5.5] == 1.0 and script.results[10.0] == 2.5
    marks = [e for e in run.store.events(result.session_id) if e.kind == "threshold"]
    assert [(e.channel, e.data["threshold"], e.data["intensity_mA"]) for e in marks] == [
        (1, "sensory", 1.0),
        (2, "sensory", 1.5),
        (1, "motor", 2.5),
    ]
    first, second = run.store.steps(result.session_id)
    channels = first.parameters["channels"]
    assert (channels["1"]["sensory_threshold_mA"], channels["1"]["motor_threshold_mA"]) == (
        1.0,
        2.5,
    )
    assert channels["2"]["sensory_threshold_mA"] == 1.5
    assert "motor_threshold_mA" not in channels["2"]  # not found: not recorded as anything
    # 2 × the sensory threshold, on each channel its own: what the device delivered
    assert seen["treatment"] == (2.0, 3.0)
    relative = second.parameters["channels"]
    assert (relative["1"]["intensity_mA"], relative["2"]["intensity_mA"]) == (2.0, 3.0)
    assert relative["1"]["relative_to"] == "sensory" and relative["1"]["threshold_factor"] == 2
    treated = {e.channel for e in run.store.events(result.session_id) if e.kind == "treatment"}
    assert treated == {1, 2}  # the relative step's; the threshold step gave none


def test_i17_a_relative_channel_without_its_threshold_or_above_the_cap_starts_at_zero(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(_profile(THRESHOLD, RELATIVE), "seed=52")
    seen: dict[str, object] = {}
    script = Script(
        *_raise_to(1, 2.5, 3.0),  # 2 × 2.5 mA = 5 mA: above the step's 4 mA
        (8.0, lambda s: s.mark_threshold(1)),
        (26.0, lambda s: seen.setdefault("treatment", _levels(run))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen["treatment"] == (0.0, 0.0)  # never more than the limits checked, no guess
    warnings = {
        e.channel: e.data["relative_refused"]
        for e in run.store.events(result.session_id)
        if "relative_refused" in e.data
    }
    assert "above the step's intensity_mA 4 mA" in warnings[1]
    assert "no sensory threshold was marked on channel 2" in warnings[2]


def test_i17_a_threshold_is_marked_only_in_a_threshold_step_and_above_zero(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(_profile(THRESHOLD, RELATIVE), "seed=53")
    script = Script(
        (3.0, lambda s: s.mark_threshold(1)),  # at zero
        (3.5, lambda s: s.mark_threshold(1, "pain")),
        *_raise_to(1, 1.5, 4.0),
        (7.5, lambda s: s.mark_threshold(1, "motor")),
        (8.0, lambda s: s.adjust(1, -1.0)),
        (8.5, lambda s: s.mark_threshold(1, "sensory")),  # 0.5 mA: below the motor one
        (9.0, lambda s: s.mark_threshold(2, "motor")),  # channel 2 at zero
        (24.0, lambda s: s.mark_threshold(1)),  # the relative step
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert isinstance(script.results[3.0], SessionError)
    assert "at zero" in str(script.results[3.0])
    refused = script.results[3.5]
    assert isinstance(refused, ParameterError) and refused.allowed == "sensory or motor"
    assert script.results[7.5] == 1.5
    assert script.results[8.5] == 0.5  # a sensory threshold below the motor one is fine
    assert isinstance(script.results[24.0], SessionError)
    assert "not a threshold step" in str(script.results[24.0])


def test_i17_a_motor_threshold_below_the_sensory_one_is_refused(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(_profile(THRESHOLD), "seed=54")
    script = Script(
        *_raise_to(1, 1.5, 3.0),
        (6.0, lambda s: s.mark_threshold(1, "sensory")),
        (6.5, lambda s: s.adjust(1, -1.0)),
        (7.0, lambda s: s.mark_threshold(1, "motor")),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    refused = script.results[7.0]
    assert isinstance(refused, SessionError) and "below its sensory threshold" in str(refused)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"intensity": "relative"}, "needs relative_to"),
        ({"intensity": "relative", "relative_to": "sensory"}, "needs relative_to"),
        ({"relative_to": "motor"}, 'belongs to intensity = "relative"'),
        ({"threshold_factor": 1.5}, 'belongs to intensity = "relative"'),
        ({"intensity": "threshold", "sensation": "x"}, 'belongs to intensity = "titrate"'),
        ({"intensity": "relative", "relative_to": "pain", "threshold_factor": 1}, "relative_to"),
        ({"intensity": "relative", "relative_to": "motor", "threshold_factor": 5}, "4"),
    ],
)
def test_i17_threshold_and_relative_keys_are_refused_where_they_cannot_apply(
    keys: dict[str, Any], message: str
) -> None:
    text = profile_text.profile_toml("Keys", BASE | {"intensity_mA": 3} | keys)
    refusals = validate_text(text).refusals
    assert refusals, "refused"
    assert any(message in f.message or message in f.path for f in refusals), [
        (f.path, f.message) for f in refusals
    ]


def test_i17_a_titration_session_is_reported_as_such_and_not_counted_as_a_treatment(
    session_on_sim: Callable[..., Run],
) -> None:
    from datetime import UTC, datetime

    from eacontrol.records import build_report, render_markdown

    titration = session_on_sim(_profile(THRESHOLD), "seed=55", patient_id="P-9")
    raised = Script(*_raise_to(1, 1.0, 3.0), (5.5, lambda s: s.mark_threshold(1)))
    first = titration.run(on_tick=raised)
    later = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
    treatment = session_on_sim(
        _profile(THRESHOLD, RELATIVE), "seed=56", patient_id="P-9", store=titration.store,
        utc_now=lambda: later,
    )  # fmt: skip
    second = treatment.run(
        on_tick=Script(*_raise_to(1, 1.0, 3.0), (5.5, lambda s: s.mark_threshold(1)))
    )
    store = titration.store
    report = build_report(store, first.session_id, include_simulated=True)
    assert report["patient_sessions"] is not None
    assert report["patient_sessions"]["titration"] is True
    assert report["patient_sessions"]["number"] is None
    md = render_markdown(report)
    assert "(a titration: not one of the patient's 1 treatment sessions)" in md
    assert "thresholds: sensory 1 mA, motor not found on channel 1" in md
    assert "thresholds found from 0 mA (guidance 6 mA)" in md
    treated = build_report(store, second.session_id, include_simulated=True)
    assert treated["patient_sessions"] is not None
    assert treated["patient_sessions"]["number"] == 1  # the titration is not counted
    assert treated["patient_sessions"]["titrations_left_out"] == 1
    md = render_markdown(treated)
    assert "2 × the sensory threshold (at most 4 mA): 2 mA on channel 1" in md
    assert "2 × the sensory threshold (at most 4 mA): 0 mA on channel 2" in md
