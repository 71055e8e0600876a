"""Live control over ``sim://`` in virtual time: operator steps within the limits and refused
beyond them, pause and resume with the step's timer held, stop and emergency stop."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eacontrol.errors import Layer, ParameterError, SessionError
from eacontrol.profiles import PatientContext, Profile, SitePolicy, loads_profile
from eacontrol.records import Outcome
from eacontrol.safety.limits import SOURCES
from eacontrol.session import Session, SessionState
from firmware_protocol import ChannelState

from .conftest import Run, Script, two_channel_toml

Factory = Callable[..., Run]


def device_mA(run: Run, channel: int) -> float:
    """What the simulated device delivers on a channel (numbered from 1), in mA."""
    return float(run.device.output_uA(channel - 1)) / 1000


def sample_at(run: Run, channel: int, t_s: float) -> float:
    """The recorded set value of a channel at the first sample at or after ``t_s``."""
    assert run.session.session_id is not None
    samples = run.store.samples(run.session.session_id)
    return next(s.set_mA for s in samples if s.channel == channel and s.t_s >= t_s)


def channel_stops(run: Run) -> dict[int, str]:
    """How each channel's output stopped (its STOPPED event's wording), by channel."""
    stops = [e for e in run.events if e.kind == "stop" and e.channel is not None]
    return {e.channel: e.message.rsplit("(", 1)[-1].rstrip(")") for e in stops}


def test_operator_steps_within_the_limits_reach_the_device_and_the_record(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    seen: dict[str, float] = {}
    script = Script(
        (5.0, lambda s: s.adjust(1, +0.5)),
        (6.0, lambda s: s.adjust(1, +0.5)),  # 1 s later: allowed
        (6.0, lambda s: s.set_intensity(2, 1.5)),  # another channel: its own interval
        (8.0, lambda s: seen.update(ch1=device_mA(run, 1), ch2=device_mA(run, 2))),
    )
    result = run.run(on_tick=script)
    assert not [r for r in script.results.values() if isinstance(r, Exception)]
    assert result.outcome is Outcome.COMPLETED
    assert seen == {"ch1": 3.0, "ch2": 1.5}  # slewed at 0.5 mA/s, done well before t = 8
    changes = [
        (e.channel, e.data["from_mA"], e.data["to_mA"])
        for e in run.events
        if e.kind == "intensity" and e.data.get("by") == "operator"
    ]
    assert changes == [(1, 2.0, 2.5), (1, 2.5, 3.0), (2, 2.0, 1.5)]
    assert sample_at(run, 1, 9.0) == 3.0
    assert result.session_id is not None
    peaks = {t.channel: t.peak_mA for t in run.store.totals(result.session_id)}
    assert peaks == {1: 3.0, 2: 2.0}
    assert run.device.outputs_off


@pytest.mark.parametrize(
    ("actions", "layer", "source", "allowed"),
    [
        # More than 0.5 mA in one step.
        (
            [(5.0, lambda s: s.set_intensity(1, 2.6))],
            Layer.STANDARD,
            "max_operator_step_mA",
            "0.5 mA",
        ),
        # Two steps less than 1 s apart on one channel.
        (
            [(5.0, lambda s: s.adjust(1, 0.5)), (5.5, lambda s: s.adjust(1, 0.25))],
            Layer.STANDARD,
            "min_operator_step_interval_s",
            "at least 1 s",
        ),
    ],
    ids=["step over 0.5 mA", "faster than 1 s"],
)
def test_operator_step_rule_refuses_and_records_a_warning(
    session_on_sim: Factory,
    short_profile: Profile,
    actions: list[tuple[float, Callable[[Session], object]]],
    layer: Layer,
    source: str,
    allowed: str,
) -> None:
    run = session_on_sim(short_profile)
    before: dict[str, float] = {}
    last = actions[-1][0]
    script = Script(*actions, (last + 2.0, lambda s: before.update(mA=device_mA(run, 1))))
    result = run.run(on_tick=script)
    refusal = script.results[last]
    assert isinstance(refusal, ParameterError)
    assert (refusal.layer, refusal.source) == (layer, SOURCES[source])
    assert allowed in refusal.allowed
    assert result.outcome is Outcome.COMPLETED  # a refusal does not end the session
    expected = 2.5 if len(actions) == 2 else 2.0  # nothing clamped: the refused change is not made
    assert before["mA"] == expected
    warnings = [e for e in run.events if e.kind == "warning"]
    assert len(warnings) == 1 and warnings[0].channel == 1
    assert "operator request refused" in warnings[0].message


@pytest.mark.parametrize(
    ("patient", "site", "ceiling", "layer"),
    [
        (None, None, 2.2, Layer.PROFILE),
        (PatientContext(calibrated_max_mA={1: 2.3}), None, 6, Layer.PATIENT),
        (
            None,
            SitePolicy(
                schema_version=1, name="clinic", source="Policy EA-03", max_intensity_mA=2.4
            ),
            6,
            Layer.SITE,
        ),
    ],
    ids=["profile", "patient", "site"],
)
def test_a_change_above_the_effective_ceiling_names_the_binding_layer(
    session_on_sim: Factory,
    patient: PatientContext | None,
    site: SitePolicy | None,
    ceiling: float,
    layer: Layer,
) -> None:
    profile = loads_profile(two_channel_toml(ceiling_mA=ceiling))
    run = session_on_sim(profile, patient=patient, site=site)
    script = Script((5.0, lambda s: s.adjust(1, 0.5)))
    assert run.run(on_tick=script).outcome is Outcome.COMPLETED
    refusal = script.results[5.0]
    assert isinstance(refusal, ParameterError)
    assert refusal.layer is layer
    assert refusal.parameter == "intensity_mA"
    assert run.session.plan.steps[0].channel(1).ceiling.layer is layer


def test_pause_holds_the_timer_and_resume_re_ramps_to_the_targets_in_force(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    seen: dict[str, object] = {}

    def during_pause(s: Session) -> None:
        seen["paused"] = (s.state, device_mA(run, 1), device_mA(run, 2))
        seen["elapsed"] = s.progress().step_elapsed_s

    script = Script(
        (4.0, lambda s: s.adjust(1, 0.5)),
        (6.0, lambda s: s.pause()),
        (9.0, during_pause),
        (10.0, during_pause),  # the timer does not move while paused
        (13.0, lambda s: s.resume()),
        (13.5, lambda s: seen.update(ramping=device_mA(run, 1))),
        (17.0, lambda s: seen.update(resumed=(device_mA(run, 1), device_mA(run, 2)))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen["paused"] == (SessionState.PAUSED, 0.0, 0.0)
    assert seen["elapsed"] == pytest.approx(6.0, abs=0.11)
    assert 0 < float(seen["ramping"]) < 2.5  # type: ignore[arg-type]  # re-ramping from zero
    assert seen["resumed"] == (2.5, 2.0)  # the operator's 2.5 mA survived the pause
    assert result.session_id is not None
    (step,) = run.store.steps(result.session_id)
    assert step.ended_s is not None
    assert step.ended_s - step.started_s == pytest.approx(20.0 + 7.0, abs=0.2)  # 7 s held
    operator = [e.message for e in run.events if e.kind == "operator"]
    assert [m.split(":")[0] for m in operator] == ["paused", "resumed"]
    assert run.device.outputs_off


@pytest.mark.parametrize(
    ("stop", "outcome", "how", "stop_takes_s"),
    [
        (Session.stop, Outcome.STOPPED, "ramp-down", (1.9, 2.3)),  # the 2 s ramp, confirmed
        (Session.emergency_stop, Outcome.EMERGENCY_STOP, "immediate", (0.0, 0.2)),  # no ramp
    ],
    ids=["stop", "emergency stop"],
)
def test_stops_end_the_session_with_every_output_confirmed_off(
    session_on_sim: Factory,
    short_profile: Profile,
    stop: Callable[[Session], None],
    outcome: Outcome,
    how: str,
    stop_takes_s: tuple[float, float],
) -> None:
    run = session_on_sim(short_profile)
    result = run.run(on_tick=Script((8.0, stop)))
    assert result.outcome is outcome  # returned, not raised: the operator asked for it
    low, high = stop_takes_s
    assert 8.0 + low <= result.duration_s <= 8.0 + high
    assert run.device.outputs_off
    assert all(run.device.channel_state(i) == ChannelState.PROGRAMMED for i in range(2))
    assert run.store.session(result.session_id).outcome is outcome
    assert {t.channel for t in run.store.totals(result.session_id)} == {1, 2}
    assert channel_stops(run) == {1: how, 2: how}


def test_requests_in_the_wrong_state_are_refused(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    with pytest.raises(SessionError, match="ready"):
        run.session.adjust(1, 0.5)
    with pytest.raises(SessionError):
        run.session.resume()
    script = Script(
        (3.0, lambda s: s.resume()),  # not paused
        (4.0, lambda s: s.adjust(3, 0.5)),  # not a channel of the step
        (5.0, lambda s: s.pause()),
        (6.0, lambda s: s.adjust(1, 0.5)),  # paused
        (7.0, lambda s: s.pause()),  # already paused
        (8.0, lambda s: s.resume()),
    )
    assert run.run(on_tick=script).outcome is Outcome.COMPLETED
    assert isinstance(script.results[3.0], SessionError)
    refused = script.results[4.0]
    assert isinstance(refused, ParameterError) and refused.parameter == "channel"
    assert isinstance(script.results[6.0], SessionError)
    assert isinstance(script.results[7.0], SessionError)
    with pytest.raises(SessionError, match="already run"):
        run.session.run()
    with pytest.raises(SessionError, match="ended"):
        run.session.stop()


def test_an_emergency_stop_during_a_ramp_down_cuts_the_outputs_at_once(
    session_on_sim: Factory,
) -> None:
    """The operator's stop button is read while a ramp-down is being confirmed: an emergency
    stop then cuts every output at once instead of after the ramp, and ends the session."""
    slow = loads_profile(two_channel_toml().replace("ramp_down_s = 2", "ramp_down_s = 4"))
    run = session_on_sim(slow)
    script = Script(
        (6.0, lambda s: s.pause()),  # a 4 s ramp-down starts
        (6.5, lambda s: s.emergency_stop()),  # asked for half a second into it
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.EMERGENCY_STOP
    assert channel_stops(run) == {1: "immediate", 2: "immediate"}
    # The device's STOPPED events come within a heartbeat or two of the request, not at 10 s.
    stopped_at = [e.t_s for e in run.events if e.kind == "stop" and e.channel is not None]
    assert stopped_at and max(stopped_at) < 7.0
    assert run.device.outputs_off
    operator = [e.message for e in run.events if e.kind == "operator"]
    assert operator[-1].startswith("emergency stop during a ramp-down")
