"""Seeded fault scenarios over ``sim://`` in virtual time. Each ends with every output of the
simulated device at zero, the right outcome in the record, and the events that explain it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import LinkLost, SessionStopped, StopNotConfirmed
from eacontrol.profiles import Profile
from eacontrol.records import EventRecord, Outcome
from eacontrol.session import Session
from firmware_protocol import ChannelState
from simulator import Direction, FaultKind

from .conftest import CHECK_PERIOD_S, Run, Script

Factory = Callable[..., Run]


def recorded(run: Run) -> tuple[Outcome, list[EventRecord]]:
    """The recorded outcome and events of the run's session."""
    assert run.session.session_id is not None
    sid = run.session.session_id
    return run.store.session(sid).outcome, run.store.events(sid)


def faults(events: list[EventRecord]) -> list[tuple[int | None, str]]:
    """(channel, device event code) of the recorded fault events that came from the device."""
    return [(e.channel, e.data["code"]) for e in events if e.kind == "fault" and "code" in e.data]


def raise_at(t_s: float, raised: BaseException) -> Callable[[Session], None]:
    """An ``on_tick`` that raises ``raised`` (a crashing display, a Ctrl-C) from ``t_s`` on."""

    def tick(session: Session) -> None:
        if session.t_s >= t_s:
            raise raised

    return tick


def deaf_from(tmp_path: Path, t_s: float) -> str:
    """The URL option of a scenario in which nothing the device sends arrives from ``t_s`` on:
    commands still reach it, no STATUS comes back."""
    scenario = tmp_path / "deaf.toml"
    scenario.write_text(
        'schema_version = 1\n[[fault]]\nkind = "drop"\ndirection = "to_host"\n'
        f"rate = 1.0\nstart_s = {t_s}\n"
    )
    return f"scenario={scenario}"


# A lead coming off (ELECTRODE) or a load too high (COMPLIANCE) holds one channel and the
# session goes on since issue 16 item 3: tests/session/test_i16_03_channel_faults.py.


def test_twenty_percent_frame_loss_each_way_still_completes(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=13&drop=0.2")
    result = run.run(on_tick=Script((5.0, lambda s: s.adjust(1, 0.5))))
    assert result.outcome is Outcome.COMPLETED
    assert run.device.outputs_off
    layers = [run.port.bench.link.fault_layer(d) for d in Direction]
    assert all(layer.counts[FaultKind.DROP] > 20 for layer in layers)  # both ways
    _, events = recorded(run)
    assert not faults(events)
    totals = run.store.totals(result.session_id)
    assert {t.channel: t.peak_mA for t in totals} == {1: 2.5, 2: 2.0}


def test_unplugged_cable_is_link_lost_and_the_device_stops_by_its_lease(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=14&unplug_at=8")
    with pytest.raises(LinkLost):
        run.run()
    outcome, events = recorded(run)
    assert outcome is Outcome.LINK_LOST
    assert [e.kind for e in events if e.kind == "link"] == ["link"]
    lost_at = run.session.t_s
    # Nothing could be sent; the device's lease ends the stimulation by itself.
    run.port.clock.sleep(max(0.0, 8 + run.stim.lease_s + CHECK_PERIOD_S - lost_at))
    assert run.device.outputs_off
    assert run.device.channel_state(0) == ChannelState.FAULT


def test_device_reboot_ends_the_session_as_a_fault(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=15&reboot_at=8")
    with pytest.raises(SessionStopped, match="REBOOT"):
        run.run()
    assert run.device.outputs_off
    assert run.device.channel_state(0) == ChannelState.IDLE  # a reboot forgets programs
    outcome, events = recorded(run)
    assert outcome is Outcome.FAULT
    assert any(code == "REBOOT" for _, code in faults(events))
    assert run.session.result is not None
    (step,) = run.store.steps(run.session.result.session_id)
    assert step.ended_s is not None and step.ended_s < 9


def test_lease_expiry_while_the_loop_is_blocked(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=16")
    blocked = {"done": False}

    def block_once(session: Session) -> None:
        if session.t_s >= 8 and not blocked["done"]:
            blocked["done"] = True
            # The application hangs: virtual time passes with no heartbeat from this loop.
            run.port.clock.sleep(run.stim.lease_s + CHECK_PERIOD_S)
            assert run.device.outputs_off  # the device stopped by itself, within the lease

    with pytest.raises(SessionStopped, match="LEASE"):
        run.run(on_tick=block_once)
    assert run.device.outputs_off
    outcome, events = recorded(run)
    assert outcome is Outcome.FAULT
    assert any(code == "LEASE_EXPIRED" for _, code in faults(events))


@pytest.mark.parametrize(
    ("raised", "outcome", "told"),
    [
        (KeyboardInterrupt(), Outcome.STOPPED, "Ctrl-C"),
        (RuntimeError("display crashed"), Outcome.ERROR, "RuntimeError: display crashed"),
    ],
    ids=["ctrl-c", "other exception"],
)
def test_an_exception_in_the_loop_cuts_every_output_records_and_re_raises(
    session_on_sim: Factory,
    short_profile: Profile,
    raised: BaseException,
    outcome: Outcome,
    told: str,
) -> None:
    run = session_on_sim(short_profile, "seed=17")
    with pytest.raises(type(raised)):
        run.run(on_tick=raise_at(8, raised))
    assert run.device.outputs_off
    recorded_outcome, events = recorded(run)
    assert recorded_outcome is outcome
    assert told in events[-1].message
    assert run.session.result is not None and run.session.result.duration_s < 8.2  # no ramp


def test_a_stop_the_device_never_confirms_is_the_hard_alarm(
    session_on_sim: Factory, short_profile: Profile, tmp_path: Path
) -> None:
    run = session_on_sim(short_profile, f"seed=19&{deaf_from(tmp_path, 8.0)}")
    with pytest.raises(StopNotConfirmed, match="HARDWARE STOP"):
        run.run(on_tick=Script((8.0, lambda s: s.stop())))
    outcome, _ = recorded(run)
    assert outcome is Outcome.STOP_NOT_CONFIRMED
    assert run.device.outputs_off  # the STOP itself reached the device


def test_an_error_whose_stop_is_not_confirmed_raises_the_hard_alarm(
    session_on_sim: Factory, short_profile: Profile, tmp_path: Path
) -> None:
    run = session_on_sim(short_profile, f"seed=21&{deaf_from(tmp_path, 7.9)}")
    with pytest.raises(StopNotConfirmed) as info:
        run.run(on_tick=raise_at(8, RuntimeError("display crashed")))
    assert isinstance(info.value.__cause__, RuntimeError)
    assert any("because of RuntimeError" in note for note in info.value.__notes__)
    outcome, _ = recorded(run)
    assert outcome is Outcome.STOP_NOT_CONFIRMED
    assert run.device.outputs_off  # the immediate STOP reached the device all the same


def test_a_fault_during_the_last_ramp_down_ends_as_a_fault_not_completed(
    session_on_sim: Callable[..., Run], short_profile: Profile, tmp_path: Path
) -> None:
    """Found by the fault matrix: the confirmed stop of the final ramp-down returned, and the
    latched fault was never raised, so the session was recorded as completed. (A fault of the
    device: one of a lead's only holds its channel, issue 16 item 3.)"""
    scenario = tmp_path / "stuck.toml"  # ramp-down: 18..20 s
    scenario.write_text(
        'schema_version = 1\n[[event]]\nat_s = 19\nkind = "stuck_output"\nchannel = 1\n'
        "current_uA = 1500\n"
    )
    run = session_on_sim(short_profile, f"seed=1&scenario={scenario}")
    with pytest.raises(SessionStopped) as info:
        run.run()
    assert "channel 1" in str(info.value) and "STUCK_OUTPUT" in str(info.value)
    assert run.session.result is not None
    assert run.session.result.outcome is Outcome.FAULT
    assert run.device.outputs_off
