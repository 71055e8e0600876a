"""Virtual time end to end: a seeded run is recorded identically every time, and the record of a
run in virtual time matches one over a pty in real time (the same events at the same session
times, to the latency of a real serial link)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.device import connect
from eacontrol.link import RealClock
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import EventRecord, Outcome, RecordStore
from eacontrol.session import Session

from .conftest import START, PtySimulator, Run, Script, two_channel_toml

Factory = Callable[..., Run]
REAL_TIME_SLACK_S = 0.3  # a real pty and a busy machine: scheduling and serial latency


def record_of(store: RecordStore, session_id: int) -> dict[str, Any]:
    """Everything recorded of a session but its identity."""
    return {
        "steps": store.steps(session_id),
        "events": store.events(session_id),
        "samples": store.samples(session_id),
        "totals": store.totals(session_id),
    }


def test_a_seeded_run_records_the_same_session_every_time(
    session_on_sim: Factory, tmp_path: Path
) -> None:
    profile = loads_profile(two_channel_toml())
    records = []
    for k in range(2):
        store = RecordStore.open(tmp_path / f"run{k}.sqlite3")
        run = session_on_sim(profile, "seed=31&drop=0.1", store=store)
        script = Script(
            (5.0, lambda s: s.adjust(1, 0.5)),
            (9.0, lambda s: s.pause()),
            (12.0, lambda s: s.resume()),
        )
        result = run.run(on_tick=script)
        assert result.outcome is Outcome.COMPLETED
        records.append(record_of(store, result.session_id))
    assert records[0] == records[1]
    assert len(records[0]["events"]) > 10 and len(records[0]["samples"]) > 40


def outline(events: list[EventRecord]) -> list[tuple[str, int | None, str]]:
    """Events without their wording: kind, channel and the device's event code, in order."""
    return [(e.kind, e.channel, str(e.data.get("code", ""))) for e in events]


@pytest.mark.pty
@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pty")
def test_virtual_time_records_what_real_time_records(
    session_on_sim: Factory, pty_simulator: Callable[..., PtySimulator], tmp_path: Path
) -> None:
    pty_device = pty_simulator("--seed", "32").path
    profile: Profile = loads_profile(two_channel_toml(duration_s=6))  # 2 s up, 2 s on, 2 s down
    virtual = session_on_sim(profile, "seed=32")
    v_id = virtual.run().session_id

    with (
        connect(pty_device) as stim,
        RecordStore.open(tmp_path / "real.sqlite3") as store,
    ):
        assert isinstance(stim.clock, RealClock)
        session = Session(stim, profile, store=store, utc_now=lambda: START)
        result = session.run()
        assert result.outcome is Outcome.COMPLETED
        real = record_of(store, result.session_id)
    expected = record_of(virtual.store, v_id)

    assert outline(real["events"]) == outline(expected["events"])
    for r, v in zip(real["events"], expected["events"], strict=True):
        assert r.t_s == pytest.approx(v.t_s, abs=REAL_TIME_SLACK_S), (r, v)
    for r, v in zip(real["steps"], expected["steps"], strict=True):
        assert r.started_s == pytest.approx(v.started_s, abs=REAL_TIME_SLACK_S)
        assert r.ended_s == pytest.approx(v.ended_s, abs=REAL_TIME_SLACK_S)
    for r, v in zip(real["totals"], expected["totals"], strict=True):
        assert (r.channel, r.peak_mA, r.net_charge_uC) == (v.channel, v.peak_mA, v.net_charge_uC)
        assert r.pulses_a == pytest.approx(v.pulses_a, abs=1)
    assert len(real["samples"]) == pytest.approx(len(expected["samples"]), abs=2 * 2)
