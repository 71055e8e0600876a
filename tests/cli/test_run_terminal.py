"""eactl run as the operator sees it: the installed console script in a pseudo-terminal, driven
by keys, in real time on the built-in simulator; Ctrl-C as a real SIGINT; the confirmation asked
before a real device is used.

The console script runs with SIGINT at its default (``children.spawn``), whatever the launcher of
the tests does with it (a worker of ``pytest -n`` or a background job may ignore it), and Ctrl-C
is SIGINT to its process group, as a terminal sends it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from children import interrupt, spawn_run

from eacontrol.records import Outcome, RecordStore

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
    pytest.mark.pty,
]

if os.name == "posix":
    import termios

    from vtscreen import PtyTerminal

TIMEOUT_s = 30.0


@pytest.fixture
def short(two_channel_file: Callable[..., Path]) -> Path:
    """One 60 s step at 3 mA on channels 1 and 2 (2 s ramps)."""
    return two_channel_file("short.toml", "terminal test", {"duration_s": 60})


def _row(screen: list[str], channel: str) -> list[str]:
    """The words of the channel's row of the live view's table ([] while it is not drawn)."""
    return next((line for line in screen if line.lstrip(">").split()[:1] == [channel]), "").split()


@pytest.mark.slow
def test_keys_raise_pause_resume_and_escape_stops_at_zero(
    terminal: Callable[..., PtyTerminal], short: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    t = terminal((120, 40), "run", str(short), "--db", str(db))
    t.wait_in_output("Start? [y/N]")  # the built-in simulator asks too (issue 16 item 8)
    t.press(b"y\n")
    t.wait_in_output("channel 1 reached 3 mA")
    t.wait_in_output("channel 2 reached 3 mA")
    frame = t.wait_until(lambda f: _row(f, "1")[-1:] == ["on"], "channel 1 on")
    assert "*** SIMULATED DEVICE ***" in frame[0]
    assert frame[3].startswith("Stimulating   step 1/1")
    assert "remaining" in frame[4] and "[" in frame[4]
    assert _row(frame, "1")[-5:] == ["3.0", "3.00", "3.00", "500", "on"]

    # Up arrow: channel 1 (selected) up by 0.5 mA; the "+" read with it, less than 1 s later,
    # is refused by the session (operator step interval, Cummings 2011).
    t.press(b"\x1b[A+")
    t.wait_in_output("channel 1: 3 → 3.5 mA (operator)")
    t.wait_in_output("channel 1: wait 1.0 s to raise again")
    t.wait_in_output("channel 1 reached 3.5 mA")
    t.press(b"2")
    t.wait_in_output("channel 2 selected")

    t.press(b"p")
    t.wait_in_output("PAUSED")
    t.wait_in_output("channel 1 paused: output at zero")
    t.press(b"p")
    t.wait_in_output("resumed: re-ramping from zero")
    t.wait_in_output("channel 1 reached 3.5 mA", count=2)

    t.press(b"\x1b")  # Esc: emergency stop
    assert t.exit_code() == 4
    text = t.output()
    assert "session 1 ended: emergency_stop" in text
    frame = t.display()  # the ENDED screen
    assert frame[3].startswith("ENDED")
    for channel in ("1", "2"):
        row = _row(frame, channel)
        assert row[-4:-2] == ["0.00", "0.00"], row  # set and measured: confirmed at zero
        assert row[-1] == "off", row
    assert termios.tcgetattr(t.controller)[3] & termios.ICANON  # the terminal was restored

    with RecordStore.open(db) as store:
        (summary,) = store.sessions()
        assert summary.outcome is Outcome.EMERGENCY_STOP
        events = store.events(summary.id)
    operator = [e.message for e in events if e.kind == "operator"]
    assert operator == [
        "paused: ramping down, the step's timer held",
        "resumed: re-ramping from zero over 2 s",
        "emergency stop: every output cut at once",
    ]
    changes = [e.data for e in events if e.kind == "intensity" and e.data["by"] == "operator"]
    assert changes == [{"by": "operator", "from_mA": 3.0, "to_mA": 3.5}]
    refused = [e.message for e in events if e.kind == "warning"]
    assert any("operator request refused" in m and "1 s" in m for m in refused), refused


def test_ctrl_c_without_a_terminal_stops_confirmed(
    console_script: Path, short: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    process = spawn_run(str(console_script), str(short), str(db))
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "RAMP_DONE" in line:
            break
    assert lines[0].startswith("eactl run: terminal test on device EA-SIM-6")
    assert "SIMULATED DEVICE" in lines[0]
    interrupt(process)  # Ctrl-C
    out, err = process.communicate(timeout=TIMEOUT_s)
    assert process.returncode == 4, err
    assert err.endswith("eactl: interrupted: every output was cut and confirmed off\n")
    assert "session 1 ended: stopped: interrupted (Ctrl-C)" in out
    with RecordStore.open(db) as store:
        assert store.sessions()[0].outcome is Outcome.STOPPED


def test_a_real_device_needs_the_operators_yes(
    terminal: Callable[..., PtyTerminal], short: Path, tmp_path: Path, bench_device: str
) -> None:
    db = tmp_path / "s.sqlite3"
    t = terminal((120, 40), "run", str(short), "--port", bench_device, "--db", str(db))
    t.wait_in_output("Start? [y/N]")
    assert f"on {bench_device}" in t.output()
    t.press(b"n\n")
    assert t.exit_code() == 4
    assert "eactl: not started: the operator did not confirm" in t.output()
    with RecordStore.open(db) as store:
        assert store.sessions() == []
