"""Issue 14 item 5: SIGTERM and SIGHUP to ``eactl run`` end in a confirmed stop and a closed
record that names the signal, like Ctrl-C; eactl exits 128 + the signal's number.

The installed console script runs in a child process on the built-in simulator (``sim://``,
paced to real time), its signals at their defaults (``children.spawn``). Before the fix either
signal ended the process at once: no STOP reached the device, the record stayed ``running``
(marked ``aborted`` on the next open) and the exit status was the signal's."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from children import spawn_run

from eacontrol.records import Outcome, RecordStore

pytestmark = [pytest.mark.skipif(os.name != "posix", reason="POSIX signals")]

TIMEOUT_s = 30.0


@pytest.fixture
def short(two_channel_file: Callable[..., Path]) -> Path:
    """One 60 s step at 3 mA on channels 1 and 2 (2 s ramps)."""
    return two_channel_file("short.toml", "signal test", {"duration_s": 60})


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_i14_05_signal_ends_eactl_run_in_a_confirmed_stop_and_a_closed_record(
    console_script: Path, short: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    db = tmp_path / "s.sqlite3"
    process = spawn_run(str(console_script), str(short), str(db))
    assert process.stdout is not None
    try:
        ramped = 0
        for line in process.stdout:  # both channels stimulating at 3 mA
            ramped += "RAMP_DONE" in line
            if ramped == 2:
                break
        assert ramped == 2
        os.kill(process.pid, sig)
        out, err = process.communicate(timeout=TIMEOUT_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(TIMEOUT_s)
    assert process.returncode == 128 + sig, err
    assert err.endswith(f"eactl: ended by {sig.name}: every output was cut and confirmed off\n")
    assert f"session 1 ended: stopped: ended by {sig.name}: every output cut at once" in out
    with RecordStore.open(db) as store:
        (summary,) = store.sessions()
        events = store.events(summary.id)
    assert summary.outcome is Outcome.STOPPED
    assert summary.detail == f"ended by {sig.name}: every output cut at once"
    # The device's own STOPPED events: it saw the immediate STOP on each channel.
    device_stops = {e.channel for e in events if e.kind == "stop" and "(immediate)" in e.message}
    assert device_stops == {1, 2}
    assert events[-1].message.startswith(f"session ended (stopped): ended by {sig.name}")
