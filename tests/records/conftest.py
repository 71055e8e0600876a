"""Fixtures for the session records: a realistic prescription, session identity, a store, and a
finished two-step 2/100 Hz session with samples, events and device totals."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eacontrol.records import (
    ChannelTotals,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    StepRecord,
)

DATA = Path(__file__).parent / "data"
START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
PROFILE_SHA256 = "3f" * 32
NOBODY = 65534


def load_prescription() -> dict[str, Any]:
    """Low back pain, 2/100 Hz dense-disperse on BL23/BL25 both sides, then 2 Hz on the left."""
    rx: dict[str, Any] = json.loads((DATA / "lbp_2_100.json").read_text())
    return rx


@pytest.fixture
def prescription() -> dict[str, Any]:
    return load_prescription()


@pytest.fixture
def make_meta() -> Callable[..., SessionMeta]:
    """SessionMeta for the LBP profile on a (real) EA-4; keywords override fields."""

    def make(**fields: Any) -> SessionMeta:
        base = SessionMeta(
            profile_name="Low back pain 2/100 Hz",
            profile_version="3",
            profile_hash=PROFILE_SHA256,
            prescription=load_prescription(),
            device_model="EA-4",
            device_serial="SN0042",
            firmware_version="1.2.0",
            boot_id=0x1234,
            port="/dev/ttyUSB0",
            simulated=False,
            operator_id="OP-2",
            patient_id="P-017",
            started_at=START,
            software_version="0.1.0",
        )
        return replace(base, **fields)

    return make


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "eacontrol" / "sessions.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[RecordStore]:
    with RecordStore.open(db_path) as opened:
        yield opened


# Step 0: 2/100 Hz on both channels for 1200 s; step 1: 2 Hz on channel 1 for 300 s.
STEP_0 = StepRecord(0, "2/100 Hz", "dense_disperse", 0.0, 1200.0, {"crc": "0x1a2b3c4d"})
STEP_1 = StepRecord(1, "2 Hz wind-down", "continuous", 1200.0, 1500.0, {"crc": "0x5e6f7081"})
TOTALS = (
    # 2 Hz half: 600 s -> 1200 pulses; 100 Hz half: 600 s -> 60 000 pulses (3 s dwells).
    ChannelTotals(1, 1200, 60000, 600.0, 600.0, 38160.0, 38159.99, 0.01, 3.5, 0.61, 1195.0, 0),
    ChannelTotals(2, 1200, 60000, 600.0, 600.0, 31800.0, 31799.9, 0.1, 2.5, 0.5, 1195.0, 0),
    ChannelTotals(1, 600, 0, 300.0, 0.0, 720.0, 720.0, 0.0, 2.0, 0.06, 297.0, 1),
)
EVENTS = (
    EventRecord(0.0, "progress", None, "step 1 started", {"step": 0}),
    EventRecord(300.0, "operator", 1, "intensity 3.0 -> 3.5 mA", {"from_mA": 3.0, "to_mA": 3.5}),
    EventRecord(600.0, "warning", 2, "compliance: 2.4 mA delivered of 2.5 mA", {"limit_V": 40}),
    EventRecord(1200.0, "progress", None, "step 2 started", {"step": 1}),
    EventRecord(1500.0, "stop", None, "all outputs confirmed off", {"confirmed": True}),
)


def samples_for(t_s: float) -> list[Sample]:
    """Both channels ramp up 1 mA/s to their plateau; channel 2's impedance is open at 50 s."""
    ch1 = min(3.0, t_s + 0.1) if t_s < 1200 else 2.0
    ch2 = min(2.5, t_s + 0.1) if t_s < 1200 else 0.0
    return [
        Sample(t_s, 1, ch1, round(ch1 * 0.98, 3), 820.0 + t_s / 100),
        Sample(t_s, 2, ch2, min(ch2, 2.4), None if t_s == 50 else 1100.0),
    ]


def record_finished_session(store: RecordStore, meta: SessionMeta) -> int:
    """Record a complete session (the same one every time) and return its id."""
    session_id = store.begin_session(meta)
    store.record_step(session_id, replace(STEP_0, ended_s=None))
    store.record_event(session_id, EVENTS[0])
    for minute in range(0, 1200, 60):  # a batch a minute, a sample every 10 s
        batch = [s for t in range(minute, minute + 60, 10) for s in samples_for(float(t))]
        store.record_samples(session_id, batch)
    store.record_event(session_id, EVENTS[1])
    store.record_event(session_id, EVENTS[2])
    store.record_step(session_id, STEP_0)
    store.record_totals(session_id, TOTALS[:2])
    store.record_step(session_id, replace(STEP_1, ended_s=None))
    store.record_event(session_id, EVENTS[3])
    store.record_samples(session_id, [samples_for(float(t))[0] for t in range(1200, 1500, 10)])
    store.record_step(session_id, STEP_1)
    store.record_totals(session_id, TOTALS[2:])
    store.record_event(session_id, EVENTS[4])
    store.end_session(
        session_id, Outcome.COMPLETED, meta.started_at + timedelta(seconds=1502), "all steps ran"
    )
    return session_id


@dataclass(frozen=True)
class Finished:
    """A finished session in the store, and what was recorded into it."""

    id: int
    meta: SessionMeta
    steps: tuple[StepRecord, ...] = (STEP_0, STEP_1)
    events: tuple[EventRecord, ...] = EVENTS
    totals: tuple[ChannelTotals, ...] = TOTALS


@pytest.fixture
def record_session() -> Callable[[RecordStore, SessionMeta], int]:
    """Records the finished session into a store; returns its id."""
    return record_finished_session


@pytest.fixture
def finished(store: RecordStore, make_meta: Callable[..., SessionMeta]) -> Finished:
    """A completed earlier session of the same patient (7 days before), then the full one."""
    earlier = store.begin_session(make_meta(started_at=START - timedelta(days=7)))
    store.end_session(earlier, Outcome.COMPLETED, START - timedelta(days=7) + timedelta(minutes=25))
    meta = make_meta()
    return Finished(record_finished_session(store, meta), meta)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder outside pytest's private (0700) tree, so another user can reach it."""
    path = Path(tempfile.mkdtemp(prefix="eacontrol-records-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in [path, *path.rglob("*")]:
            with contextlib.suppress(OSError):
                p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _as_unprivileged() -> Iterator[None]:
    """Run the block without root's power to ignore file permissions.

    As root, file modes do not stop writes, so the block runs with the effective user and group
    ``nobody`` (restored after); as any other user, the block runs as is.
    """
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def unprivileged() -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A context manager factory: file permissions apply inside (see ``_as_unprivileged``)."""
    return _as_unprivileged


@dataclass(frozen=True)
class SimRun:
    """A short real session run on ``sim://`` (virtual time), recorded into ``path``."""

    path: Path
    session_id: int


@pytest.fixture
def sim_run(tmp_path: Path) -> SimRun:
    """A real session on the built-in simulator in virtual time: two channels at 2 mA for 6 s
    (2 s ramps), the operator raising channel 1 by 0.5 mA at 3 s and a note added at 4 s."""
    # Imported here: only the tests that run a session need the runner and the simulator.
    import profile_text
    import serial

    from eacontrol.device import connect
    from eacontrol.link import Transport
    from eacontrol.profiles import loads_profile
    from eacontrol.records import new_annotation
    from eacontrol.session import Session
    from simulator import register_url_handler

    register_url_handler()
    step = {
        "label": "2 Hz",
        "mode": "continuous",
        "frequency_hz": 2,
        "phase_width_us": 300,
        "intensity_mA": 2,
        "ceiling_mA": 6,
        "ramp_up_s": 2,
        "ramp_down_s": 2,
        "duration_s": 6,
    }
    profile = loads_profile(profile_text.profile_toml("Test: 2 Hz on two channels", step))
    path = tmp_path / "sim.sqlite3"
    url = "sim://?seed=1"
    stim = connect(transport=Transport(serial.serial_for_url(url), url), lease_ms=500)
    actions = [(3.0, lambda s: s.adjust(1, +0.5))]
    with RecordStore.open(path) as store:
        session = Session(stim, profile, store=store, utc_now=lambda: START)

        def on_tick(s: Session) -> None:
            while actions and s.t_s >= actions[0][0]:
                actions.pop(0)[1](s)

        result = session.run(on_tick=on_tick)
        stim.close(immediate=True)
        assert result.session_id is not None
        note = new_annotation(START + timedelta(seconds=4), note="heaviness at BL23-L")
        store.add_annotation(result.session_id, note)
    return SimRun(path, result.session_id)
