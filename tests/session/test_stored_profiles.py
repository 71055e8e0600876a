"""Every stored profile, end to end on ``sim://`` in virtual time, and its record compared with the
profile: steps and their durations, the prescription, the device's totals (pulses at each
frequency, peak intensity, delivered charge balanced), the samples, and the report."""

from __future__ import annotations

import statistics
from collections.abc import Callable

import pytest

from eacontrol.profiles import Profile, load_profile, stored_profile_names
from eacontrol.profiles.steps import DenseDisperseStep, IntermittentStep
from eacontrol.profiles.titration import IntensityMode
from eacontrol.records import ChannelTotals, Outcome, build_report, render_markdown

from .conftest import Run

Factory = Callable[..., Run]
CONFIRM_S = 0.2  # a step's end waits for the confirming STATUS and the DOSE readings


def pulse_charge_uC(profile: Profile, step: int) -> float:
    """The primary phase's charge of one pulse at the target intensity, µC (half a)."""
    s = profile.steps[step]
    width_us = s.phase_width_a_us if isinstance(s, DenseDisperseStep) else s.phase_width_us
    return s.intensity_mA * width_us / 1000


def as_fixed(profile: Profile) -> Profile:
    """The profile with every titrated step made fixed at its guidance target: what the record
    is compared with here is the prescription itself (titration: test_i16_titration.py)."""
    fixed = {"intensity": IntensityMode.FIXED, "start_intensity_mA": None, "sensation": None}
    steps = tuple(step.model_copy(update=fixed) for step in profile.steps)
    return profile.model_copy(update={"steps": steps})


def test_i16_01_stored_clinical_profiles_titrate() -> None:
    """Every stored clinical profile starts each channel at zero and names the sensation; the
    research template stays fixed (a protocol's dose must be the same for every participant)."""
    for name in stored_profile_names():
        steps = load_profile(name).steps
        titrations = [step.titration() for step in steps]
        if name == "research_template":
            assert titrations == [None] * len(steps)
            continue
        for titration in titrations:
            assert titration is not None, name
            assert titration.start_mA == 0 and titration.sensation, name


def check_totals(profile: Profile, i: int, t: ChannelTotals) -> None:
    step = profile.steps[i]
    assert t.peak_mA == step.intensity_mA
    assert t.imbalance_pct < 1.0  # docs/architecture.md: balanced within 1 % (here: exactly)
    assert t.on_time_s == pytest.approx(step.duration_s, abs=CONFIRM_S)
    if isinstance(step, DenseDisperseStep):
        share_a = step.dwell_a_s / (step.dwell_a_s + step.dwell_b_s)
        cycle = step.dwell_a_s + step.dwell_b_s
        assert t.time_a_s == pytest.approx(share_a * t.on_time_s, abs=cycle)
        assert t.pulses_a == pytest.approx(step.frequency_a_hz * t.time_a_s, abs=2)
        assert t.pulses_b == pytest.approx(step.frequency_b_hz * t.time_b_s, abs=2)
        return
    assert t.pulses_b == 0
    if isinstance(step, IntermittentStep):
        on_share = step.on_s / (step.on_s + step.off_s)
        expected = step.frequency_hz * step.duration_s * on_share
        assert t.pulses_a == pytest.approx(expected, abs=step.frequency_hz * step.on_s + 1)
    else:
        assert t.pulses_a == pytest.approx(step.frequency_hz * t.time_a_s, abs=2)
        # Every pulse at the target but those of the ramps (3 s up, 2 s down: half lost each).
        ramps_s = step.ramp_up_s + step.ramp_down_s
        full = t.pulses_a - step.frequency_hz * ramps_s / 2
        assert t.charge_pos_uC == pytest.approx(full * pulse_charge_uC(profile, i), rel=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("name", stored_profile_names())
def test_stored_profile_runs_end_to_end_and_the_record_matches_it(
    session_on_sim: Factory, name: str
) -> None:
    profile = as_fixed(load_profile(name))
    # A device with just the channels the profile uses (seed 1 on two channels once met a float
    # rounding in the loop's sample deadline: this run is also its regression test).
    channels = max(ch.channel for ch in profile.channels)
    run = session_on_sim(profile, f"channels={channels}&seed=1", operator_id="OP-1")
    result = run.run()
    assert result.outcome is Outcome.COMPLETED
    assert result.steps_completed == len(profile.steps)
    assert run.device.outputs_off
    sid = result.session_id
    assert run.store.session(sid).outcome is Outcome.COMPLETED

    steps = run.store.steps(sid)
    assert [(s.index, s.name, s.mode) for s in steps] == [
        (i, s.label, s.mode) for i, s in enumerate(profile.steps)
    ]
    for record, step in zip(steps, profile.steps, strict=True):
        assert record.ended_s is not None
        assert step.duration_s <= record.ended_s - record.started_s <= step.duration_s + CONFIRM_S
    assert result.duration_s == pytest.approx(profile.total_duration_s, abs=CONFIRM_S * len(steps))

    rx = run.store.session(sid).meta.prescription
    for prescribed, step in zip(rx["steps"], profile.steps, strict=True):
        assert prescribed["duration_s"] == step.duration_s
        assert prescribed["ramp_up_s"] == step.ramp_up_s
        assert set(prescribed["intensity_mA"].values()) == {step.intensity_mA}
        rate = step.frequency_a_hz if isinstance(step, DenseDisperseStep) else step.frequency_hz
        assert prescribed["frequency_hz"] == rate

    totals = run.store.totals(sid)
    assert {(t.step_index, t.channel) for t in totals} == {
        (i, ch) for i, s in enumerate(profile.steps) for ch in s.channels
    }
    for t in totals:
        assert t.step_index is not None
        check_totals(profile, t.step_index, t)

    samples = run.store.samples(sid)
    for number in (ch.channel for ch in profile.channels):
        mine = [s for s in samples if s.channel == number]
        assert len(mine) >= profile.total_duration_s - 5 * len(profile.steps)  # one a second
        assert max(s.set_mA for s in mine) == max(
            s.intensity_mA for s in profile.steps if number in s.channels
        )
        on = [s.measured_mA for s in mine if s.set_mA > 0]
        assert statistics.median(on) == pytest.approx(profile.steps[0].intensity_mA, rel=0.3)
    kinds = run.kinds()
    assert kinds.count("fault") == 0
    assert kinds[-1] == "stop" and "completed" in run.store.events(sid)[-1].message


def test_the_report_of_a_finished_session_lists_every_methods_parameter(
    session_on_sim: Factory,
) -> None:
    profile = load_profile("research_template")
    run = session_on_sim(profile, "channels=1&seed=4", patient_id="P-7")
    result = run.run()
    report = build_report(run.store, result.session_id)
    text = render_markdown(report)
    methods = text.split("## Methods", 1)[1].split("##", 1)[0]
    for needed in (
        "LI4",  # points
        "LI11",
        "0.25 mm diameter",  # needle
        "inserted 15 mm",
        "continuous 2 Hz",  # per step: mode and frequency
        "continuous 100 Hz",
        "phase width 600 µs",
        "phase width 200 µs",
        "asymmetric charge-balanced biphasic",  # waveform
        "1/4 of the amplitude",
        "interphase gap 50 µs",
        "target intensity 2 mA on channel 1",
        "ramped up over 3 s and down over 2 s",
        "prescribed for 10 min",
        "Stimulation lasted 20 min",
        "EA-SIM-6",  # the device
        "eacontrol",
        "completed",
    ):
        assert needed in methods, needed
    assert "SIMULATOR" in text  # a simulated session says so
    delivered = {d["channel"]: d for d in report["delivered"]}
    assert delivered[1]["pulses"] == pytest.approx(2 * 600 + 100 * 600, abs=10)
    assert delivered[1]["imbalance_pct"] == 0
    assert [s["ran_s"] for s in report["steps"]] == pytest.approx([600, 600], abs=CONFIRM_S)
