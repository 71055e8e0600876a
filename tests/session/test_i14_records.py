"""Issue 14, records: a record that never lies under faults (items 8, 9 and 10).

8: the record writer is off the control loop: a real SQLite lock held by another connection
   (``BEGIN EXCLUSIVE``) in virtual time neither blocks the loop nor lets the lease expire; a
   short lock passes, a long one stops the session safely as ``records_unavailable``, and the
   record keeps every sample either way. A record refused mid-session ends it the same way.
9: after a link blackout the record shows missing samples, never the last current again; each
   sample carries the device time it was measured at.
10: a session killed 9 s into 3 mA reports what is known ("at least 9 s", the current reached,
   totals unknown), and the device's totals are added when the device is next connected.

Tests that must see the writer's thread reach a state (written, stalled) wait for it from
``on_tick``: virtual time does not pass while they wait, so the run is the same every time.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from eacontrol.device import connect
from eacontrol.errors import LinkLost, RecordError, SessionError, SessionStopped
from eacontrol.link import Transport
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import Outcome, RecordStore, build_report, render_markdown
from eacontrol.session import Session

from .conftest import START, Run, Script, two_channel_toml

if TYPE_CHECKING:  # the module is new with issue 14: import it only for types
    from eacontrol.records.writer import RecordWriter

Factory = Callable[..., Run]


@pytest.fixture
def three_mA() -> Profile:
    """Two channels, 20 s at 3 mA (ramps of 2 s)."""
    return loads_profile(two_channel_toml(intensity_mA=3))


def _writer(session: Session) -> RecordWriter:
    recorder = session._recorder
    assert recorder is not None
    return recorder.writer


def _sample_seconds(run: Run, channel: int) -> list[int]:
    assert run.session.session_id is not None
    samples = run.store.samples(run.session.session_id)
    return sorted({round(s.t_s) for s in samples if s.channel == channel})


def _no_lease_expiry(run: Run) -> bool:
    return not any("LEASE" in e.message for e in run.events) and all(
        "LEASE" not in c.faults for c in run.stim.status().channels
    )


def test_i14_08_short_db_lock_neither_blocks_the_loop_nor_loses_a_sample(
    session_on_sim: Factory, three_mA: Profile, db_path: Path
) -> None:
    run = session_on_sim(three_mA, "seed=20")
    other = sqlite3.connect(db_path, isolation_level=None)
    waited: list[int] = []

    def lock(session: Session) -> None:
        other.execute("BEGIN EXCLUSIVE")  # another program takes the file for 1.5 s

    def release(session: Session) -> None:
        writer = _writer(session)
        waited.append(writer.pending)  # records queued behind the lock; the loop went on
        other.execute("COMMIT")
        assert writer.drain(30.0)

    try:
        result = run.run(on_tick=Script((8.0, lock), (9.5, release)))
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert result.outcome is Outcome.COMPLETED
    assert waited and waited[0] > 0
    assert _no_lease_expiry(run)
    seconds = _sample_seconds(run, 1)
    assert seconds == _sample_seconds(run, 2) == list(range(len(seconds)))  # none missing
    assert len(seconds) >= 18  # up to the ramp-down at 18 s


def test_i14_08_long_db_lock_stops_safely_as_records_unavailable_with_every_sample(
    session_on_sim: Factory, three_mA: Profile, db_path: Path
) -> None:
    run = session_on_sim(three_mA, "seed=20")
    other = sqlite3.connect(db_path, isolation_level=None)

    def lock(session: Session) -> None:
        other.execute("BEGIN EXCLUSIVE")

    def stall(session: Session) -> None:
        writer = _writer(session)
        assert writer.wait(lambda: writer.problem() is not None, 60.0)  # > STALL_BOUND_s
        other.execute("COMMIT")  # the other program lets go later: what was kept is written

    try:
        with pytest.raises(RecordError, match="records unavailable") as info:
            run.run(on_tick=Script((8.0, lock), (9.0, stall)))
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
    assert "locked" in str(info.value)
    assert run.device.outputs_off
    stops = [e for e in run.events if e.kind == "stop" and e.channel is not None]
    assert stops and all("immediate" in e.message for e in stops)
    assert _no_lease_expiry(run)
    result = run.session.result
    assert result is not None and 9.0 <= result.duration_s < 10.5
    summary = run.store.session(result.session_id)
    assert summary.outcome is Outcome.RECORDS_UNAVAILABLE
    assert "records unavailable" in summary.detail
    seconds = _sample_seconds(run, 1)
    assert seconds == _sample_seconds(run, 2) == list(range(len(seconds)))  # none missing
    assert len(seconds) >= 10 and seconds[-1] <= result.duration_s
    recorded = [e.message for e in run.store.events(result.session_id)]
    assert recorded == [e.message for e in run.events]  # every event, the end among them


def test_i14_08_record_error_mid_session_closes_the_record_with_its_cause(
    session_on_sim: Factory, three_mA: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = RecordStore.record_samples

    def refuse(store: RecordStore, session_id: int, samples: list[object]) -> None:
        if any(getattr(s, "t_s", 0) >= 8 for s in samples):
            raise RecordError("samples refused (simulated: quota exceeded)")
        original(store, session_id, samples)  # type: ignore[arg-type]

    monkeypatch.setattr(RecordStore, "record_samples", refuse)
    run = session_on_sim(three_mA, "seed=20")

    def written(session: Session) -> None:
        assert _writer(session).drain(30.0)

    with pytest.raises(RecordError, match="quota exceeded"):
        run.run(on_tick=Script((9.0, written)))
    assert run.device.outputs_off
    result = run.session.result
    assert result is not None and result.duration_s < 10.5
    summary = run.store.session(result.session_id)
    assert summary.outcome is Outcome.RECORDS_UNAVAILABLE  # closed, not left running
    assert "quota exceeded" in summary.detail


def _blackout(tmp_path: Path, start_s: float, stop_s: float) -> str:
    scenario = tmp_path / "blackout.toml"
    scenario.write_text(
        'schema_version = 1\n[[fault]]\nkind = "drop"\ndirection = "both"\n'
        f"rate = 1.0\nstart_s = {start_s}\nstop_s = {stop_s}\n"
    )
    return f"scenario={scenario}"


def test_i14_09_link_blackout_records_missing_samples_never_stale_current(
    session_on_sim: Factory, three_mA: Profile, tmp_path: Path
) -> None:
    run = session_on_sim(three_mA, f"seed=5&{_blackout(tmp_path, 8.0, 9.3)}")
    with pytest.raises((SessionStopped, LinkLost)):  # the device's lease ran out meanwhile
        run.run()
    assert run.device.outputs_off
    sid = run.session.session_id
    assert sid is not None
    samples = run.store.samples(sid)
    gaps = run.store.gaps(sid)
    lease_s = run.stim.lease_s
    # Nothing measured reached the host from 8.0 s: no sample after half a lease of silence.
    assert not [s for s in samples if 8.0 + lease_s / 2 < s.t_s < 9.3]
    assert [round(g.t_s) for g in gaps] == [9]
    assert all(g.status_age_s is not None and g.status_age_s > lease_s / 2 for g in gaps)
    # Every sample says when the device measured it, within half a lease of its session time.
    offset = samples[0].device_uptime_s
    assert offset is not None
    for s in samples:
        assert s.device_uptime_s is not None
        assert 0 <= s.t_s - (s.device_uptime_s - offset) <= lease_s / 2 + 0.01


class Killed(BaseException):
    """The host process dies here: nothing after it runs (no stop, no end of the record)."""


def _die_without_cleaning_up(session: Session, exc: BaseException) -> None:
    raise exc


def test_i14_10_killed_session_reports_what_is_known_then_the_devices_totals(
    session_on_sim: Factory, three_mA: Profile, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = session_on_sim(loads_profile(two_channel_toml(duration_s=60, intensity_mA=3)), "seed=7")

    def kill(session: Session) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(Session, "_fail", _die_without_cleaning_up)
        with pytest.raises(Killed):
            run.run(on_tick=Script((9.0, kill)))
    sid = run.session.session_id
    assert sid is not None
    # What a kill leaves: the records the writer had taken (at most the last flush is lost).
    assert _writer(run.session).close() == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    with sqlite3.connect(db_path) as conn:  # the session's process is gone
        conn.execute("UPDATE sessions SET owner_pid = ?, owner_start = NULL", (dead.pid,))
    run.port.clock.sleep(2.0)  # the device's lease stops the outputs

    with RecordStore.open(db_path) as store:  # the next open marks it aborted
        report = build_report(store, sid)
        markdown = render_markdown(report)
    assert report["session"]["outcome"] == "aborted"
    duration = report["session"]["duration_s"]
    assert duration is not None and 8.9 <= duration <= 9.1  # samples flushed every second
    assert report["session"]["duration_at_least"]
    assert report["stricta"]["stimulation_time_at_least"]
    assert re.search(r"Stimulation lasted at least (8\.9\d*|9) s", markdown)
    assert "(duration at least 9 s)" in markdown
    for d in report["delivered"]:
        assert d["measured_max_mA"] is not None and d["measured_max_mA"] >= 2.9
        assert d["pulses"] is None and not d["totals_read_after"]
    assert "The device's delivered totals are unknown" in markdown

    # The same device, connected again: its totals of the killed step are read and added.
    run.port.close()
    run.port.open()
    stim = connect(transport=Transport(run.port, run.stim.url), lease_ms=500)
    with stim, RecordStore.open(db_path) as store:
        expected = {n: stim.dose(n) for n in (1, 2)}
        # The lease fault the kill left is latched: the session is refused, after the read.
        with pytest.raises(SessionError, match="LEASE"):
            Session(stim, three_mA, store=store, utc_now=lambda: START).run()
        report = build_report(store, sid)
        markdown = render_markdown(report)
        totals = store.totals(sid)
        detail = store.session(sid).detail
    assert [t.channel for t in totals] == [1, 2]
    assert all(t.read_after and t.step_index == 0 for t in totals)
    for t in totals:
        dose = expected[t.channel]
        assert t.pulses_a == dose.pulses_a > 0 and t.on_time_s == dose.on_time_s >= 9.0
    assert all(d["totals_read_after"] and d["pulses"] for d in report["delivered"])
    assert "read from the device when it was next connected" in markdown
    assert "read from the device" in detail
