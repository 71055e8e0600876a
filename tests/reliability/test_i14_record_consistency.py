"""What the soak and the matrix's DB rows found in the record (issue 14), one test each.

They need the issue-14 branches and three small fixes made with them (``Session._emit``,
``Session._fail``, ``records.INTERRUPTED``).

1. An event that meets the records problem (the writer's stall bound passed) was queued, so it
   is in the record, but it was never shown: the session's subscribers — the practitioner's
   screen — missed it, and the record and the screen differed.
2. A session that lost its link never got its last step's totals, though the device keeps them
   until the next SET_PROGRAM: the record held the last periodic reading (up to a minute old).
   Item 10 reads them at the next connect for an aborted session; a lost link is the same case.
3. A session whose stop could not be confirmed after an error (a command lost in a blackout)
   left its running step without an end in the record, where a lost link records the end.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import scenario_file
import serial

from eacontrol.device import ChannelDose, Stimulator, connect
from eacontrol.errors import EAError, RecordError
from eacontrol.link import Transport
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import ChannelTotals, Outcome, RecordStore
from eacontrol.session import Session, SessionEvent, Tick
from simulator import SimSerial

from .injections import blackout
from .test_fault_matrix import PROFILE_TOML

START = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return loads_profile(PROFILE_TOML)


@contextlib.contextmanager
def device(tmp_path: Path, scenario: str = "") -> Iterator[tuple[SimSerial, str]]:
    query = f"&{scenario_file.scenario(tmp_path, scenario)}" if scenario else ""
    url = f"sim://?channels=2&seed=8{query}"
    port = serial.serial_for_url(url)
    assert isinstance(port, SimSerial)
    try:
        yield port, url
    finally:
        port.close()


def session_on(stim: Stimulator, profile: Profile, store: RecordStore) -> Session:
    return Session(stim, profile, store=store, utc_now=lambda: START)


def run_to_its_error(
    stim: Stimulator, session: Session, error: type[Exception], on_tick: Tick | None = None
) -> None:
    """``session.run(on_tick)`` raises ``error``; then the immediate close an interrupted run
    ends with (it may itself fail on the lost link)."""
    with pytest.raises(error):
        session.run(on_tick=on_tick)
    with contextlib.suppress(EAError):
        stim.close(immediate=True)


def normalised(event: Any) -> tuple[Any, ...]:
    data = json.dumps(event.data, sort_keys=True)
    return (event.t_s, str(event.kind), event.channel, event.message, data)


def test_i14_08_an_event_met_by_the_records_problem_is_shown_as_recorded(
    profile: Profile, tmp_path: Path
) -> None:
    """The writer reports a problem (as after its stall bound) from the moment channel 1's
    RAMP_DONE is shown: the next record, channel 2's RAMP_DONE 2 ms later, raises it. That
    event is in the record (it was queued); the subscribers must have it too."""
    db = tmp_path / "s.sqlite3"
    with device(tmp_path) as (port, url), RecordStore.open(db) as store:
        stim = connect(transport=Transport(port, url), lease_ms=500)
        session = session_on(stim, profile, store)
        published: list[SessionEvent] = []
        session.subscribe(published.append)
        problem = RecordError("records unavailable: the test's stall")

        def stall(event: SessionEvent) -> None:
            if event.message.startswith("RAMP_DONE on channel 1"):
                writer = session._recorder.writer  # type: ignore[union-attr]
                writer.problem = lambda: problem  # type: ignore[method-assign]

        session.subscribe(stall)
        run_to_its_error(stim, session, RecordError)
    with RecordStore.open(db, read_only=True) as store:
        sid = session.session_id
        assert sid is not None
        assert store.session(sid).outcome is Outcome.RECORDS_UNAVAILABLE
        stored = [normalised(e) for e in store.events(sid)]
    assert stored == [normalised(e) for e in published]


def test_i14_10_totals_of_a_link_lost_session_are_read_at_the_next_connect(
    profile: Profile, tmp_path: Path
) -> None:
    """A 3 s blackout in the first step's hold: the link is lost (three leases). When the host
    connects again, the next session reads the device's totals of that step first: the record
    then holds the device's own counters, marked as read afterwards."""
    db = tmp_path / "s.sqlite3"
    with device(tmp_path, blackout(3.5, 6.5)) as (port, url), RecordStore.open(db) as store:
        stim = connect(transport=Transport(port, url), lease_ms=500)
        lost = session_on(stim, profile, store)
        run_to_its_error(stim, lost, EAError)
        port.clock.sleep(7.0 - port.clock.now())
        counters = [port.device.channels[i].dose for i in (0, 1)]
        for i in (0, 1):
            port.device.channels[i].flush(port.clock.now_us)
        device_totals = [
            ChannelTotals.from_dose(
                ChannelDose.from_wire(c.message(i)), channel=i + 1, step_index=0, read_after=True
            )
            for i, c in enumerate(counters)
        ]
        port.open()
        stim = connect(transport=Transport(port, url), lease_ms=500)
        stim.clear_fault()  # the lease that expired in the blackout
        session_on(stim, profile, store).run()
        stim.close()
    with RecordStore.open(db, read_only=True) as store:
        assert lost.session_id is not None
        assert store.session(lost.session_id).outcome is Outcome.LINK_LOST
        assert sorted(store.totals(lost.session_id), key=lambda t: t.channel) == device_totals


def test_i14_08_a_stop_not_confirmed_after_an_error_still_ends_the_step_in_the_record(
    profile: Profile, tmp_path: Path
) -> None:
    """The operator lowers channel 1 during a 1.2 s blackout in the hold: SET_INTENSITY loses
    its twelve transmissions (an error), the immediate stop waits one lease for a STATUS the
    blackout withholds (stop not confirmed). The step that was running has its end recorded,
    as after a lost link."""
    db = tmp_path / "s.sqlite3"
    with device(tmp_path, blackout(3.5, 4.7)) as (port, url), RecordStore.open(db) as store:
        stim = connect(transport=Transport(port, url), lease_ms=500)
        session = session_on(stim, profile, store)
        asked: list[float] = []

        def tick(s: Session) -> None:
            if not asked and port.clock.now() >= 3.6:
                asked.append(port.clock.now())
                s.set_intensity(1, 1.5)

        run_to_its_error(stim, session, EAError, on_tick=tick)
    with RecordStore.open(db, read_only=True) as store:
        sid = session.session_id
        assert sid is not None
        assert store.session(sid).outcome is Outcome.STOP_NOT_CONFIRMED
        steps = store.steps(sid)
        assert steps and all(step.ended_s is not None for step in steps), steps
