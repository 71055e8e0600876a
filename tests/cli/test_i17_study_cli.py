"""Issue 17: ``eactl run --condition --arm --tag`` records the session's place in a study."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eacontrol.records import RecordStore, Study

Run = Callable[..., Any]


def test_i17_run_records_condition_arm_and_tags(
    eactl: Run,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    profile = two_channel_file("p.toml", "study test", {"duration_s": 10})
    db = str(tmp_path / "s.sqlite3")
    ran = eactl(
        "run", str(profile), "--fast", "--db", db,
        "--condition", "verum", "--arm", "A", "--tag", "pilot", "--tag", "visit-1",
    )  # fmt: skip
    assert ran.code == 0, ran.err
    with RecordStore.open(db, read_only=True) as store:
        (session,) = store.sessions()
    assert session.meta.study == Study("verum", "A", ("pilot", "visit-1"))
    assert "| Condition | verum |" in eactl("report", "1", "--db", db).out
    refused = eactl("run", str(profile), "--fast", "--db", db, "--tag", "a,b")
    assert refused.code == 1 and "Study.tags" in refused.err and "no comma" in refused.err
    assert "Traceback" not in refused.err
    with RecordStore.open(db, read_only=True) as store:
        assert len(store.sessions()) == 1  # refused before anything was recorded


def test_i17_run_samples_at_the_period_asked_and_refuses_one_below_a_heartbeat(
    eactl: Run,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    profile = two_channel_file("p.toml", "rate test", {"duration_s": 10})
    db = str(tmp_path / "s.sqlite3")
    ran = eactl("run", str(profile), "--fast", "--db", db, "--sample-period", "0.2")
    assert ran.code == 0, ran.err
    with RecordStore.open(db, read_only=True) as store:
        times = [s.t_s for s in store.samples(1) if s.channel == 1]
    assert len(times) >= 35 and max(b - a for a, b in itertools.pairwise(times)) < 0.25
    refused = eactl("run", str(profile), "--fast", "--db", db, "--sample-period", "0.01")
    assert refused.code == 1 and "sample_period_s" in refused.err and "heartbeat" in refused.err


def test_i17_run_blind_prints_neither_profile_nor_delivered_and_records_the_blinding(
    eactl: Run,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    profile = two_channel_file("p.toml", "sham arm X", {"duration_s": 10})
    db = str(tmp_path / "s.sqlite3")
    ran = eactl("run", str(profile), "--fast", "--blind", "--condition", "sham", "--db", db)
    assert ran.code == 0, ran.err
    assert "session 1 ended: completed" in ran.out and "blinded" in ran.out
    for hidden in ("sham arm X", "sham", "PEAK mA", "µC", "treatment intensity"):
        assert hidden not in ran.out, hidden
    with RecordStore.open(db, read_only=True) as store:
        (session,) = store.sessions()
    assert session.meta.study == Study(condition="sham", blinded=True)
    assert "blinded: the live view hid" in eactl("report", "1", "--db", db).out
