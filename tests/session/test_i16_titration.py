"""Issue 16 item 1: titration. A titrated step starts each channel at its start level (zero by
default, running), the practitioner raises each channel, and the intensity reached is recorded
per channel as the treatment intensity (``eacontrol/session/treatment.py``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eacontrol.errors import SessionError
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import Outcome
from eacontrol.session import Session, SessionState
from eacontrol.session.treatment import HOLD_s, TreatmentHow, TreatmentLog

from .conftest import Run, Script, two_channel_toml

Factory = Callable[..., Run]

TITRATE = 'intensity = "titrate"\nsensation = "strong but comfortable tingling"\n'


def titrated(start: str = "", duration_s: float = 40, intensity_mA: float = 4) -> Profile:
    """The two-channel test profile, titrated (target 4 mA as guidance, ceiling 6 mA)."""
    text = two_channel_toml(duration_s=duration_s, intensity_mA=intensity_mA) + TITRATE + start
    return loads_profile(text)


def set_mA(run: Run, channel: int) -> float:
    return float(run.device.output_uA(channel - 1)) / 1000


def raise_to(channel: int, target_mA: float, start_s: float) -> list[tuple[float, object]]:
    """Script actions raising ``channel`` by 0.5 mA a press, 1.1 s apart, from ``start_s``."""
    steps = round(target_mA / 0.5)
    return [(start_s + 1.1 * i, lambda s, c=channel: s.adjust(c, 0.5)) for i in range(steps)]


def treatment(run: Run) -> dict[int, dict[str, object]]:
    """The recorded treatment intensity events by channel (the step's end)."""
    assert run.session.session_id is not None
    events = run.store.events(run.session.session_id)
    return {
        e.channel: e.data
        for e in events
        if e.kind == "treatment" and e.channel is not None and "how" in e.data
    }


def test_i16_01_titrated_channels_start_at_zero_running(session_on_sim: Factory) -> None:
    run = session_on_sim(titrated())
    seen: dict[str, object] = {}

    def look(session: Session) -> None:
        seen["state"] = session.state
        seen["set"] = (set_mA(run, 1), set_mA(run, 2))
        seen["targets"] = session.progress().targets

    result = run.run(on_tick=Script((6.0, look)))
    assert result.outcome is Outcome.COMPLETED
    # Before: both channels ramped to the profile's 4 mA in 2 s; now they stay at zero, running.
    assert seen["state"] is SessionState.RUNNING
    assert seen["set"] == (0.0, 0.0)
    assert seen["targets"] == {1: 0.0, 2: 0.0}
    steps = run.store.steps(result.session_id)
    params = steps[0].parameters["channels"]["1"]
    assert params["intensity"] == "titrate" and params["intensity_mA"] == 0.0
    assert params["guidance_target_mA"] == 4.0
    assert params["sensation"] == "strong but comfortable tingling"


def test_i16_01_start_level_then_raise_to_the_sensation(session_on_sim: Factory) -> None:
    run = session_on_sim(titrated("start_intensity_mA = 1\n"))
    levels: list[float] = []
    script = Script(
        (5.0, lambda s: levels.append(set_mA(run, 1))),
        *raise_to(1, 2.0, 6.0),  # 1 → 3 mA by 10.4 s
        (14.0, lambda s: levels.append(set_mA(run, 1))),
        (15.0, lambda s: s.mark_treatment(1)),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert levels == [1.0, 3.0]
    reached = treatment(run)
    assert reached[1]["treatment_intensity_mA"] == 3.0 and reached[1]["how"] == "marked"
    # Channel 2 stayed at its start level, held all step long: that is what it reached.
    assert reached[2]["treatment_intensity_mA"] == 1.0 and reached[2]["how"] == "held"
    step = run.store.steps(result.session_id)[0].parameters["channels"]
    assert step["1"]["treatment_intensity_mA"] == 3.0
    assert step["2"]["treatment_intensity_how"] == "held"


def test_i16_01_highest_level_held_long_enough_without_a_mark(session_on_sim: Factory) -> None:
    run = session_on_sim(titrated(duration_s=60))
    script = Script(
        *raise_to(1, 4.0, 3.0),  # 4 mA at 10.7 s, held to 12 s only
        (12.0, lambda s: s.set_intensity(1, 3.5)),  # too strong: 3.5 mA held to the end
        (5.0, lambda s: s.adjust(2, 0.5)),
    )
    assert run.run(on_tick=script).outcome is Outcome.COMPLETED
    reached = treatment(run)
    assert reached[1]["treatment_intensity_mA"] == 3.5 and reached[1]["how"] == "held"
    assert reached[2]["treatment_intensity_mA"] == 0.5


def test_i16_01_marking_refused_at_zero(session_on_sim: Factory) -> None:
    run = session_on_sim(titrated(duration_s=20))
    script = Script((5.0, lambda s: s.mark_treatment(1)))
    run.run(on_tick=script)
    refused = script.results[5.0]
    assert isinstance(refused, SessionError) and "at zero" in str(refused)
    assert treatment(run)[1]["how"] == "not_reached"


def test_i16_01_treatment_log_rule() -> None:
    log = TreatmentLog([(1, 0.0), (2, 2.0)])
    log.level(1, 4.0, 5.0)
    log.level(1, 3.0, 5.0 + HOLD_s - 0.1)  # 4 mA not held long enough
    log.level(1, 0.0, 30.0)  # 3 mA held ~15 s, then zero to the end
    log.mark(2, 2.0, 8.0)
    result = {r.channel: r for r in log.result(60.0)}
    assert result[1].intensity_mA == 3.0 and result[1].how is TreatmentHow.HELD
    assert result[2].intensity_mA == 2.0 and result[2].how is TreatmentHow.MARKED
    assert TreatmentLog([(1, 0.0)]).result(100.0)[0].how is TreatmentHow.NOT_REACHED


def test_i16_01_fixed_profiles_still_ramp_to_their_target(session_on_sim: Factory) -> None:
    run = session_on_sim(loads_profile(two_channel_toml(intensity_mA=2)))
    levels: list[float] = []
    run.run(on_tick=Script((5.0, lambda s: levels.append(set_mA(run, 1)))))
    assert levels == [2.0]
    assert treatment(run)[1]["treatment_intensity_mA"] == 2.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('intensity = "titrate"\n', "needs sensation"),
        ('sensation = "twitch"\n', 'sensation belongs to intensity = "titrate"'),
        (TITRATE + "start_intensity_mA = 3\n", "above the step's target"),
        (TITRATE + "start_intensity_mA = 1e-6\n", "0 (start at zero) or at least 0.001 mA"),
        ('intensity = "slow"\n', "'sham_ramp_off', 'threshold' or 'relative'"),
    ],
)
def test_i16_01_titration_keys_are_checked(extra: str, message: str) -> None:
    from eacontrol.profiles import validate_text

    validation = validate_text(two_channel_toml() + extra)
    assert any(message in str(f) for f in validation.findings), validation.findings
