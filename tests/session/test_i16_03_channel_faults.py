"""Issue 16 item 3: a loose lead stops one channel, not the treatment. A channel-local fault
(ELECTRODE, COMPLIANCE) holds that channel at zero with an alarm while the others go on; the
practitioner re-clips and resumes it (CLEAR_FAULT, the device's self-test, START from zero).
Faults that concern the device still end everything (``session/ending.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import DeviceFault, SessionError, SessionStopped
from eacontrol.profiles import Profile
from eacontrol.records import Outcome
from eacontrol.session import is_channel_local
from firmware_protocol import ChannelState

from .conftest import Run, Script

Factory = Callable[..., Run]


def set_mA(run: Run, channel: int) -> float:
    return float(run.device.output_uA(channel - 1)) / 1000


def test_i16_03_electrode_off_holds_that_channel_the_other_goes_on(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=11&electrode_off=2@8")
    seen: dict[str, object] = {}

    def look(session: object) -> None:
        seen["ch1"], seen["ch2"] = set_mA(run, 1), set_mA(run, 2)
        seen["held"] = run.session.progress().held

    script = Script((12.0, look), (13.0, lambda s: s.adjust(2, 0.5)))
    # Before: SessionStopped "channel 2 stopped by a latched fault (ELECTRODE)", channel 1
    # ramped down, outcome fault.
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen["ch1"] == 2.0 and seen["ch2"] == 0.0
    held = seen["held"]
    assert isinstance(held, dict) and list(held) == [2] and "ELECTRODE" in held[2]
    refused = script.results[13.0]
    assert isinstance(refused, SessionError) and "held at zero" in str(refused)
    assert run.device.outputs_off
    events = run.store.events(result.session_id)
    alarm = [e for e in events if e.kind == "fault" and e.data.get("held")]
    assert len(alarm) == 1 and alarm[0].channel == 2
    assert "re-clip the lead" in alarm[0].message
    assert {t.channel for t in run.store.totals(result.session_id)} == {1, 2}


def test_i16_03_reclipped_channel_resumes_from_zero_with_its_ramp(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=11&electrode_off=2@5&electrode_on=2@8")
    levels: list[float] = []
    script = Script(
        (6.0, lambda s: s.resume_channel(1)),  # not held: refused
        (9.0, lambda s: s.resume_channel(2)),
        (9.5, lambda s: levels.append(set_mA(run, 2))),  # ramping: 2 mA over 2 s
        (12.0, lambda s: levels.append(set_mA(run, 2))),
        (12.0, lambda s: s.adjust(2, -0.5)),  # the channel is the operator's again
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert isinstance(script.results[6.0], SessionError)
    assert 0 < levels[0] < 2.0 and levels[1] == 2.0
    events = run.store.events(result.session_id)
    restarted = [e for e in events if e.data.get("restarted")]
    assert len(restarted) == 1 and restarted[0].channel == 2
    assert "self-test passed" in restarted[0].message
    assert run.device.channel_state(1) != ChannelState.FAULT


def test_i16_03_compliance_on_one_channel_holds_it(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    # 2 mA into 10 kOhm needs 20 V; this device's current source reaches only 15 V.
    run = session_on_sim(short_profile, "seed=12&load1=10k&compliance_mV=15000")
    seen: list[float] = []
    result = run.run(on_tick=Script((10.0, lambda s: seen.append(set_mA(run, 2)))))
    assert result.outcome is Outcome.COMPLETED
    assert seen == [2.0]
    events = run.store.events(result.session_id)
    held = [e for e in events if e.data.get("held")]
    assert held and held[0].channel == 1 and "COMPLIANCE" in held[0].message


def test_i16_03_device_wide_faults_still_stop_everything(
    session_on_sim: Factory, short_profile: Profile, tmp_path: Path
) -> None:
    scenario = tmp_path / "stuck.toml"
    scenario.write_text(
        'schema_version = 1\n[[event]]\nat_s = 8\nkind = "stuck_output"\nchannel = 2\n'
        "current_uA = 1500\n"
    )
    run = session_on_sim(short_profile, f"seed=3&scenario={scenario}")
    with pytest.raises(SessionStopped):
        run.run()
    assert run.session.result is not None
    assert run.session.result.outcome in (Outcome.FAULT, Outcome.DEVICE_MISMATCH)


def test_i16_03_which_faults_are_channel_local() -> None:
    assert is_channel_local(DeviceFault("x", 1, ("ELECTRODE",)))
    assert is_channel_local(DeviceFault("x", 2, ("COMPLIANCE",)))
    for faults in (("STUCK_OUTPUT",), ("LEASE",), ("BUTTON_STOP",), ("ELECTRODE", "LEASE")):
        assert not is_channel_local(DeviceFault("x", 1, faults))
    assert not is_channel_local(DeviceFault("x", None, ("ELECTRODE",)))
    assert not is_channel_local(DeviceFault("x", None, ("REBOOT",)))


def test_i16_03_a_channel_held_into_the_next_step_is_programmed_when_resumed(
    session_on_sim: Factory,
) -> None:
    from eacontrol.profiles import loads_profile

    from .conftest import HUNDRED_HZ_STEP, two_channel_toml

    profile = loads_profile(two_channel_toml(HUNDRED_HZ_STEP))  # 20 s, then 15 s ch 1
    run = session_on_sim(profile, "seed=5&electrode_off=1@8&electrode_on=1@12")
    levels: list[float] = []
    script = Script(
        (24.0, lambda s: s.resume_channel(1)),
        (29.0, lambda s: levels.append(set_mA(run, 1))),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED and result.steps_completed == 2
    assert levels == [3.0]  # step 2's prescription, after its 3 s ramp from zero
    second = run.store.steps(result.session_id)[1].parameters["channels"]["1"]
    assert second["program_crc"] is not None


def test_i16_03_a_second_lead_off_while_another_channel_stays_held(
    session_on_sim: Factory,
) -> None:
    from eacontrol.profiles import loads_profile

    from .conftest import two_channel_toml

    three_steps = two_channel_toml(
        {
            "label": "channel 2 alone",
            "channels": [2],
            "mode": "continuous",
            "frequency_hz": 2,
            "phase_width_us": 300,
            "intensity_mA": 2,
            "ramp_up_s": 2,
            "ramp_down_s": 2,
            "duration_s": 20,
        },
        duration_s=20,
    )
    # Channel 1 comes off in step 1 and is never resumed; channel 2 comes off in step 2.
    run = session_on_sim(loads_profile(three_steps), "seed=6&electrode_off=1@8&electrode_off=2@30")
    result = run.run()
    assert result.outcome is Outcome.COMPLETED and result.steps_completed == 2
    held = [e.channel for e in run.store.events(result.session_id) if e.data.get("held")]
    assert held == [1, 2]
