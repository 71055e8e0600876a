"""The host killed with SIGKILL mid-session, over a real pty: the device's lease stops the outputs,
the database keeps every event up to the kill and marks the session aborted on the next open.

Three processes: the simulator behind a pty (real time), a host running a session against it
with ``serial.Serial`` on the pty, and this test, which kills the host. Timing is judged on the
device's own clock (its uptime in the EVENT log) against the session's record, never on this
test's wall clock.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.device import connect
from eacontrol.errors import RecordError
from eacontrol.records import Outcome, RecordStore

from .conftest import CHECK_PERIOD_S, PtySimulator, two_channel_toml

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pty"),
    pytest.mark.pty,
    pytest.mark.slow,
]

LEASE_MS = 1000  # the longest lease: a busy test machine must not starve the host of its lease
SAMPLE_S = LEASE_MS / 1000 / 5  # one heartbeat period: the shortest sample period
HOST = """
import json, sys
from eacontrol.device import connect
from eacontrol.profiles import load_profile
from eacontrol.records import RecordStore
from eacontrol.session import Session

pty, db, profile = sys.argv[1:4]
with connect(pty, lease_ms={lease_ms}) as stim, RecordStore.open(db) as store:
    session = Session(
        stim, load_profile(profile), store=store,
        sample_period_s={sample_s}, flush_period_s={sample_s},
    )
    # Subscribers hear of an event after the store committed it.
    session.subscribe(lambda e: print(json.dumps([e.t_s, e.kind, e.message]), flush=True))
    session.run()
"""
EXPIRED = re.compile(r"device EVENT LEASE_EXPIRED .*\(t=([0-9.]+) s\)")


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it holds (a guard against a hung test, not a timing assert)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_mid_session(pty_simulator: Callable[..., PtySimulator], tmp_path: Path) -> None:
    simulator = pty_simulator("--seed", "41", "--serial", "KILL-01")
    pty, log = simulator.path, simulator.log
    db = tmp_path / "sessions.sqlite3"
    profile = tmp_path / "profile.toml"
    profile.write_text(two_channel_toml(duration_s=120))
    script = tmp_path / "host.py"
    script.write_text(HOST.format(lease_ms=LEASE_MS, sample_s=SAMPLE_S))
    host = subprocess.Popen(
        [sys.executable, str(script), pty, str(db), str(profile)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def stimulating() -> bool:
            if host.poll() is not None or not db.exists():
                return False
            try:
                with RecordStore.open(db, read_only=True) as store:
                    sessions = store.sessions()
                    return bool(sessions) and any(
                        s.t_s > 4 and s.measured_mA > 0 for s in store.samples(sessions[0].id)
                    )
            except RecordError:  # the host is still creating the file
                return False

        wait_for(stimulating, "the host to stimulate for 4 s")
    finally:
        os.kill(host.pid, signal.SIGKILL)
        out, err = host.communicate(timeout=30)
    assert host.returncode == -signal.SIGKILL, err

    # The device's lease ended the stimulation: no STOP came from the host.
    wait_for(lambda: EXPIRED.search(log.read_text()) is not None, "LEASE_EXPIRED in the log")
    match = EXPIRED.search(log.read_text())
    assert match is not None
    expired_uptime_s = float(match.group(1))
    with connect(pty, device_serial="KILL-01") as second:  # HELLO works: no output is active
        status = second.status()
        assert status.outputs_off()
        assert all("LEASE" in status.channels[n - 1].faults for n in (1, 2))

    with RecordStore.open(db) as store:  # the next open marks the session aborted
        (summary,) = store.sessions()
        assert summary.outcome is Outcome.ABORTED
        assert f"process {host.pid}" in summary.detail
        events = store.events(summary.id)
        samples = store.samples(summary.id)
    told = [json.loads(line) for line in out.splitlines()]
    recorded = [[e.t_s, e.kind, e.message] for e in events]
    assert told and told == recorded[: len(told)]  # every event published before the kill

    # Within the lease, on the device's clock: the host's last recorded sample was at most one
    # sample period before its last heartbeat; RAMP_DONE maps session time to device uptime.
    ramp = next(e for e in events if e.data.get("code") == "RAMP_DONE")
    uptime_at_session_s = ramp.data["device_uptime_s"] - ramp.t_s
    last_sample_uptime_s = samples[-1].t_s + uptime_at_session_s
    lease_s = LEASE_MS / 1000
    link_slack_s = 0.1  # serial latency and the EVENT log's own scheduling
    assert expired_uptime_s > last_sample_uptime_s  # it stopped after the host died, not before
    assert expired_uptime_s <= (
        last_sample_uptime_s + SAMPLE_S + lease_s + CHECK_PERIOD_S + link_slack_s
    )
