"""A session whose process dies is marked aborted on the next open, with every record intact.

The crash is real: a child process records through the public API and is killed with SIGKILL
(no cleanup, no atexit, no close).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from eacontrol.errors import RecordError
from eacontrol.records import EventRecord, Outcome, ProcessOwner, RecordStore, SessionMeta

MakeMeta = Callable[..., SessionMeta]

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

# The child begins a session, prints its id, then records events (and a sample every 5th),
# printing each index after its record is committed. With a count it stops there and waits.
CHILD = """
import json, sys
from datetime import datetime
from eacontrol.records import EventRecord, RecordStore, Sample, SessionMeta, StepRecord

path, meta_json, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
fields = json.loads(meta_json)
fields["started_at"] = datetime.fromisoformat(fields["started_at"])
store = RecordStore.open(path)
session_id = store.begin_session(SessionMeta(**fields))
store.record_step(session_id, StepRecord(0, "2/100 Hz", "dense_disperse", 0.0))
print(session_id, flush=True)
i = 0
while count < 0 or i < count:
    store.record_event(session_id, EventRecord(i / 10, "progress", None, f"event {i}", {"i": i}))
    if i % 5 == 0:
        store.record_samples(session_id, [Sample(i / 10, 1, 2.0, 1.98, 850.0)])
    print(i, flush=True)
    i += 1
sys.stdin.read()  # wait to be killed
"""


@pytest.fixture
def child(db_path: Path, make_meta: MakeMeta) -> Iterator[Callable[[int], subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    fields = dataclasses.asdict(make_meta())
    fields["started_at"] = fields["started_at"].isoformat()
    del fields["clinical"], fields["study"]  # none given: the child's SessionMeta's defaults

    def start(count: int) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db_path), json.dumps(fields), str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def _read_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, "the child ended before recording"
    return line.strip()


def test_killed_session_is_aborted_with_every_event_intact(
    db_path: Path, child: Callable[[int], subprocess.Popen[str]], make_meta: MakeMeta
) -> None:
    proc = child(40)
    session_id = int(_read_line(proc))
    acknowledged = [int(_read_line(proc)) for _ in range(40)]
    _kill(proc)

    with RecordStore.open(db_path) as store:
        summary = store.session(session_id)
        events = store.events(session_id)
        samples = store.samples(session_id)
        steps = store.steps(session_id)

    assert summary.outcome is Outcome.ABORTED
    assert [e.data["i"] for e in events] == acknowledged == list(range(40))
    assert events[-1] == EventRecord(3.9, "progress", None, "event 39", {"i": 39})
    assert [s.t_s for s in samples] == pytest.approx([i / 10 for i in range(0, 40, 5)])
    assert steps[0].ended_s is None
    # It ended at its last record, and says why.
    assert summary.ended_at == make_meta().started_at + timedelta(seconds=3.9)
    assert f"process {proc.pid}" in summary.detail
    assert "last record at t = 3.9 s" in summary.detail
    assert summary.meta == make_meta()


def test_killed_mid_write_keeps_every_committed_event(
    db_path: Path, child: Callable[[int], subprocess.Popen[str]]
) -> None:
    proc = child(-1)  # records until killed
    session_id = int(_read_line(proc))
    acknowledged = [int(_read_line(proc)) for _ in range(150)]
    _kill(proc)  # most likely in the middle of a transaction

    with RecordStore.open(db_path) as store:
        assert store.session(session_id).outcome is Outcome.ABORTED
        recorded = [e.data["i"] for e in store.events(session_id)]
    # Every acknowledged event, then at most the few committed after the last print: no gaps.
    assert recorded == list(range(len(recorded)))
    assert len(recorded) >= len(acknowledged) == 150


def test_a_session_of_a_live_process_is_left_running(
    db_path: Path, child: Callable[[int], subprocess.Popen[str]]
) -> None:
    proc = child(3)
    session_id = int(_read_line(proc))
    for _ in range(3):
        _read_line(proc)
    with RecordStore.open(db_path, busy_timeout_s=2.0) as store:
        assert store.session(session_id).outcome is Outcome.RUNNING
        with pytest.raises(RecordError, match="still running in process"):
            store.mark_aborted(session_id, "operator says it is gone")
    _kill(proc)
    with RecordStore.open(db_path) as store:
        assert store.session(session_id).outcome is Outcome.ABORTED


def _set_owner(db_path: Path, session_id: int, **columns: object) -> None:
    conn = sqlite3.connect(db_path)
    sets = ", ".join(f"{name} = ?" for name in columns)
    conn.execute(f"UPDATE sessions SET {sets} WHERE id = ?", (*columns.values(), session_id))
    conn.commit()
    conn.close()


def test_a_reused_pid_does_not_keep_a_dead_session_running(
    db_path: Path, make_meta: MakeMeta
) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
        store.record_event(session_id, EventRecord(12.5, "progress", None, "x"))
    if ProcessOwner.current().start_marker is None:
        pytest.skip("this platform gives no process start marker")
    # Our pid, but another process's start: the pid was reused after the owner died.
    _set_owner(db_path, session_id, owner_start="linux:another-boot:1")
    with RecordStore.open(db_path) as store:
        summary = store.session(session_id)
    assert summary.outcome is Outcome.ABORTED
    assert summary.duration_s == 12.5


def test_a_session_on_another_host_is_left_until_marked_by_hand(
    db_path: Path, make_meta: MakeMeta
) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
    assert socket.gethostname() != "clinic-pc-2"
    _set_owner(db_path, session_id, owner_host="clinic-pc-2", owner_pid=1)
    with RecordStore.open(db_path) as store:
        assert store.session(session_id).outcome is Outcome.RUNNING
        store.mark_aborted(session_id, "clinic-pc-2 crashed; checked by OP-2")
        summary = store.session(session_id)
    assert summary.outcome is Outcome.ABORTED
    assert summary.detail.startswith("clinic-pc-2 crashed; checked by OP-2")
    assert summary.duration_s == 0.0  # no records: it ends at its start


def test_owner_checks() -> None:
    me = ProcessOwner.current()
    assert me.pid == os.getpid() and me.on_this_host and not me.is_gone()
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=30)
    assert dataclasses.replace(me, pid=proc.pid, start_marker=None).is_gone()
    assert not dataclasses.replace(me, host="elsewhere.example").is_gone()
