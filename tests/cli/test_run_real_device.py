"""`eactl run --yes --port PTY` completes a profile in real time on a device behind a pty.

The device is `python -m simulator --pty`: to eactl it is a real serial port (no sim://, no
virtual time), so this is the path a clinic's unit takes. It reports the simulator's model, so
the screen says SIMULATED DEVICE, as the record says simulated (issue 16 item 10).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.records import Outcome, RecordStore

TIMEOUT_s = 60


pytestmark = [pytest.mark.pty, pytest.mark.slow]


def test_run_yes_on_a_real_port_completes_a_short_profile(
    console_script: Path,
    two_channel_file: Callable[..., Path],
    bench_device: str,
    tmp_path: Path,
) -> None:
    profile = two_channel_file("six_s.toml", "six seconds", {"duration_s": 6})
    db = tmp_path / "s.sqlite3"
    done = subprocess.run(
        [
            str(console_script),
            "run",
            str(profile),
            "--port",
            bench_device,
            "--yes",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_s,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    # A real port, but the device says it is the simulator: the screen says so, as the record.
    assert done.stdout.splitlines()[0].endswith("  SIMULATED DEVICE")
    assert "completed" in done.stdout
    with RecordStore.open(db) as store:
        (session,) = store.sessions()
        assert session.outcome is Outcome.COMPLETED
        # The pty simulator reports its model (EA-SIM-6): the record marks it simulated.
        assert session.meta.port == bench_device and session.meta.simulated
        totals = {t.channel: t for t in store.totals(session.id)}
    assert set(totals) == {1, 2}
    for channel in totals.values():
        assert channel.pulses_a >= 8  # 2 Hz for 6 s, minus the ramp's first 0 µA onset
        assert channel.peak_mA == pytest.approx(3.0)
        assert abs(channel.net_charge_uC) <= 0.01 * channel.charge_pos_uC
