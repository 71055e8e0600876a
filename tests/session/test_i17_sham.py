"""Issue 17: sham conditions recorded as such. ``intensity = "sham_zero"``: every channel runs
at 0 mA (the device on, no current); ``"sham_ramp_off"``: the prescribed ramp up, then down to
0 mA after ``sham_on_s`` for the rest of the step. The operator cannot raise a sham channel, no
treatment intensity is reported, and the record and report call it a sham."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import profile_text
import pytest

from eacontrol.errors import ParameterError
from eacontrol.profiles import loads_profile, validate_text
from eacontrol.records import Outcome, build_report, render_markdown

from .conftest import Run, Script

STEP = profile_text.CONTINUOUS_2_HZ | {"intensity_mA": 2, "ramp_up_s": 2, "duration_s": 20}


def _sham(**keys: Any) -> str:
    return profile_text.profile_toml("Sham 2 Hz", STEP | keys)


def _levels(run: Run) -> tuple[float, float]:
    return (run.device.output_uA(0) / 1000, run.device.output_uA(1) / 1000)


def test_i17_sham_zero_runs_every_channel_at_zero_and_refuses_a_raise(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(loads_profile(_sham(intensity="sham_zero")), "seed=41")
    seen: dict[float, object] = {}
    script = Script(
        (5.0, lambda s: seen.setdefault(5.0, _levels(run))),
        (6.0, lambda s: s.set_intensity(1, 0.5)),
        (15.0, lambda s: seen.setdefault(15.0, _levels(run))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen == {5.0: (0.0, 0.0), 15.0: (0.0, 0.0)}
    refused = script.results[6.0]
    assert isinstance(refused, ParameterError) and "<= 0 mA" in refused.allowed
    assert "sham_zero" in str(refused.source)
    assert "treatment" not in run.kinds()  # a sham has no treatment intensity
    (step,) = run.store.steps(result.session_id)
    assert {c["intensity"] for c in step.parameters["channels"].values()} == {"sham_zero"}
    report = render_markdown(build_report(run.store, result.session_id))
    assert "| sham: 0 mA (the device on, no current) on channels 1 and 2 | none (sham) on" in (
        report
    )
    assert "a sham condition: sham: 0 mA" in report.split("## Methods")[1].split("##")[0]


def test_i17_sham_ramp_off_ramps_up_then_down_to_zero_and_holds_there(
    session_on_sim: Callable[..., Run],
) -> None:
    run = session_on_sim(loads_profile(_sham(intensity="sham_ramp_off", sham_on_s=8)), "seed=42")
    seen: dict[float, tuple[float, float]] = {}
    script = Script(
        (6.0, lambda s: seen.setdefault(6.0, _levels(run))),
        (10.5, lambda s: seen.setdefault(10.5, _levels(run))),
        (12.0, lambda s: s.set_intensity(2, 0.5)),
        (16.0, lambda s: seen.setdefault(16.0, _levels(run))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen[6.0] == (2.0, 2.0)  # the prescription until sham_on_s
    assert seen[10.5] == seen[16.0] == (0.0, 0.0)  # down over the 2 s ramp-down, and held
    refused = script.results[12.0]
    assert isinstance(refused, ParameterError) and "<= 0 mA" in refused.allowed
    off = [e for e in run.store.events(result.session_id) if "sham_off" in e.data]
    assert len(off) == 1 and off[0].data["sham_off"] == [1, 2]
    assert 8.0 <= off[0].data["at_step_s"] < 8.0 + 0.1 + 1e-9  # within one heartbeat period
    report = render_markdown(build_report(run.store, result.session_id))
    assert "sham: 2 mA for 8 s, then 0 mA on channels 1 and 2" in report


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"intensity": "sham_ramp_off"}, "needs sham_on_s"),
        ({"sham_on_s": 8}, 'sham_on_s belongs to intensity = "sham_ramp_off"'),
        ({"intensity": "sham_ramp_off", "sham_on_s": 1}, "must fall between"),
        ({"intensity": "sham_ramp_off", "sham_on_s": 19}, "must fall between"),
        ({"intensity": "sham_zero", "sensation": "x"}, 'belongs to intensity = "titrate"'),
    ],
)
def test_i17_sham_keys_are_refused_where_they_cannot_apply(
    keys: dict[str, Any], message: str
) -> None:
    refusals = validate_text(_sham(**keys)).refusals
    assert any(message in f.message for f in refusals), [f.message for f in refusals]


def test_i17_a_sham_channel_held_by_a_loose_lead_stays_held_through_the_switch_off(
    session_on_sim: Callable[..., Run],
) -> None:
    profile = loads_profile(_sham(intensity="sham_ramp_off", sham_on_s=8))
    run = session_on_sim(profile, "seed=43&electrode_off=2@5")
    seen: dict[float, object] = {}
    script = Script(
        (6.0, lambda s: seen.setdefault(6.0, dict(s.progress().held))),
        (12.0, lambda s: seen.setdefault(12.0, _levels(run))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED  # channel 1 went on, and was switched off
    assert list(seen[6.0]) == [2]  # type: ignore[call-overload]
    assert seen[12.0] == (0.0, 0.0)
    off = [e for e in run.store.events(result.session_id) if "sham_off" in e.data]
    assert len(off) == 1 and off[0].data["sham_off"] == [1, 2]  # 2 capped too, still held


def test_i17_a_sham_ramp_off_whose_ramp_is_no_whole_number_of_uA_per_s_switches_off(
    session_on_sim: Callable[..., Run],
) -> None:
    """2 mA over a 3 s ramp-down is 0.666… mA/s: sent at the wire's 1 µA/s resolution (a bug
    once ended such a session with a ParameterError at the switch-off)."""
    sham = _sham(intensity="sham_ramp_off", sham_on_s=8, ramp_down_s=3)
    run = session_on_sim(loads_profile(sham), "seed=44")
    seen: dict[float, tuple[float, float]] = {}
    script = Script((12.5, lambda s: seen.setdefault(12.5, _levels(run))))
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen[12.5] == (0.0, 0.0)  # down from 2 mA within the 3 s ramp, and held
