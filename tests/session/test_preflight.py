"""Pre-flight: a profile that fails a limit layer, the wrong device, a database that cannot take
the session, an output not at zero or a latched fault each refuse before anything stimulates."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.errors import (
    IdentityMismatch,
    Layer,
    ParameterError,
    ProfileRefused,
    RecordError,
    SessionError,
)
from eacontrol.profiles import PatientContext, Profile, load_profile
from eacontrol.records import RecordStore
from eacontrol.session import Session, SessionState
from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState

from .conftest import CHECK_PERIOD_S, Run

Factory = Callable[..., Run]


def start_by_hand(run: Run, channel: int, *, wait_s: float) -> None:
    """A script that started a channel outside any session (1 mA, 2 s ramp)."""
    program = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=1, ramp_up_s=2)
    run.stim.program(channel, program)
    run.stim.start(channel)
    run.stim.wait(wait_s)


def nothing_sent(run: Run) -> None:
    """No channel was programmed, started or stimulated, and no session was recorded."""
    assert all(run.device.channel_state(i) == ChannelState.IDLE for i in range(2))
    assert run.device.outputs_off
    assert run.store.sessions() == []
    assert run.session.state is SessionState.ENDED


def test_a_profile_refused_by_the_patient_layer_never_starts(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, patient=PatientContext(pacemaker=True))
    with pytest.raises(ProfileRefused) as info:
        run.run()
    assert {f.layer for f in info.value.findings} == {Layer.PATIENT}
    nothing_sent(run)


def test_a_profile_the_connected_device_cannot_run_never_starts(session_on_sim: Factory) -> None:
    run = session_on_sim(load_profile("lbp_2hz"), "seed=1&channels=2")  # four channels
    with pytest.raises(ProfileRefused) as info:
        run.run()
    assert Layer.DEVICE in {f.layer for f in info.value.findings}
    nothing_sent(run)


def test_the_wrong_device_is_refused(session_on_sim: Factory, short_profile: Profile) -> None:
    run = session_on_sim(short_profile, device_serial="EA6-000123")
    with pytest.raises(IdentityMismatch, match="SIM-000001"):
        run.run()
    nothing_sent(run)


def test_an_output_not_at_zero_refuses_the_start(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    start_by_hand(run, 2, wait_s=1)
    with pytest.raises(SessionError, match="channel 2 is RAMPING"):
        run.run()
    assert run.store.sessions() == []
    assert run.device.channel_state(0) == ChannelState.IDLE  # channel 1 untouched


def test_a_latched_fault_on_a_channel_of_the_profile_refuses_the_start(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    hung = session_on_sim(short_profile)
    start_by_hand(hung, 1, wait_s=0)
    hung.port.clock.sleep(hung.stim.lease_s + CHECK_PERIOD_S)  # a script that hung: LEASE
    # The lease's expiry closed that session for good; the next one finds the latched fault.
    run = session_on_sim(short_profile, port=hung.port, store=hung.store)
    with pytest.raises(SessionError, match=r"channel 1 has a latched fault \(LEASE\)"):
        run.run()
    assert run.store.sessions() == []


def test_a_read_only_database_refuses_before_anything_is_sent(
    session_on_sim: Factory, short_profile: Profile, db_path: Path
) -> None:
    RecordStore.open(db_path).close()
    run = session_on_sim(short_profile, store=RecordStore.open(db_path, read_only=True))
    with pytest.raises(RecordError, match="read-only"):
        run.run()
    nothing_sent(run)


def test_a_locked_database_refuses_before_anything_is_sent(
    session_on_sim: Factory, short_profile: Profile, db_path: Path
) -> None:
    run = session_on_sim(short_profile, store=RecordStore.open(db_path, busy_timeout_s=0.05))
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(RecordError, match="locked"):
            run.run()
        assert all(run.device.channel_state(i) == ChannelState.IDLE for i in range(2))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert run.store.sessions() == []


def test_a_damaged_database_is_a_clear_error_before_a_session_exists(db_path: Path) -> None:
    db_path.write_bytes(b"not a database, just bytes" * 100)
    with pytest.raises(RecordError, match=r"damaged|not a valid"):
        RecordStore.open(db_path)


def test_bad_periods_are_refused(session_on_sim: Factory, short_profile: Profile) -> None:
    with pytest.raises(ParameterError, match="sample_period_s"):
        session_on_sim(short_profile, sample_period_s=0)
    with pytest.raises(ParameterError, match="flush_period_s"):
        session_on_sim(short_profile, flush_period_s=float("nan"))


def test_emergency_stop_outside_the_loop_stops_the_device_directly(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    start_by_hand(run, 1, wait_s=3)
    assert not run.device.outputs_off
    session = run.session
    assert isinstance(session, Session) and session.state is SessionState.READY
    session.emergency_stop()
    assert run.device.outputs_off
