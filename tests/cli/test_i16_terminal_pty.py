"""Issue 16 items 6, 7 and 8 on a real pseudo-terminal: the installed console script, its output
shown by a VT100 emulator (pyte) of the pty's size, resized as a terminal window is, keys typed.

Real time (the built-in simulator paced to the wall clock): these tests are about what the
terminal shows while the operator types.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.records import Outcome, RecordStore

pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX"),
    pytest.mark.pty,
    pytest.mark.slow,
]

if os.name == "posix":
    from vtscreen import PtyTerminal


@pytest.fixture
def short(two_channel_file: Callable[..., Path]) -> Path:
    """One 60 s step at 3 mA on channels 1 and 2 (2 s ramps), BL23–BL25 left and right."""
    return two_channel_file("short.toml", "pty test", {"duration_s": 60})


def _has(lines: list[str], needle: str) -> bool:
    return any(needle in line for line in lines)


def test_i16_08_the_simulator_asks_too_naming_patient_points_and_intensities(
    terminal: Callable[..., PtyTerminal], short: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    t = terminal((120, 40), "run", str(short), "--db", str(db), "--patient", "P-7")
    screen = t.wait_for("Start? [y/N]")
    text = "\n".join(screen)
    assert "About to stimulate: pty test on sim://  (SIMULATED DEVICE)" in text
    assert "  patient P-7" in text
    assert "  duration 01:00 in 1 step(s)" in text
    for channel, side in (("1", "L"), ("2", "R")):
        assert (
            f"  channel {channel}  BL23-{side} – BL25-{side}  from 0 mA, rising to 3 mA over 2 s "
            "(step 1: 2 Hz continuous)"
        ) in text
    t.press(b"n\n")
    assert t.exit_code() == 4
    assert _has(t.display(), "eactl: not started: the operator did not confirm")
    with RecordStore.open(db) as store:
        assert store.sessions() == []


def test_i16_08_a_port_that_cannot_be_opened_is_refused_before_the_question(
    terminal: Callable[..., PtyTerminal], short: Path, tmp_path: Path
) -> None:
    missing = str(tmp_path / "no-such-port")
    t = terminal((120, 40), "run", str(short), "--db", str(tmp_path / "s.db"), "--port", missing)
    assert t.exit_code() == 3
    assert "Start?" not in t.text()


def test_i16_06_07_resize_help_unknown_key_zero_all_and_the_ended_screen(
    terminal: Callable[..., PtyTerminal], short: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    t = terminal((120, 40), "run", str(short), "--db", str(db), "--operator", "OP-1")
    t.wait_for("Start? [y/N]")
    t.press(b"y\n")
    full = t.wait_until(
        lambda s: _has(s, "channel 1 reached 3 mA") and _has(s, "channel 2 reached 3 mA"),
        "both channels at 3 mA",
    )
    assert full[0].startswith("*** SIMULATED DEVICE ***   eactl run: pty test")
    assert _has(full, "operator OP-1") and _has(full, "BL23-L – BL25-L")

    t.resize(60, 15)  # the window made small: redrawn to fit, the timer and table kept
    small = t.wait_until(  # the short key line: drawn for 60 columns, not the old frame cut
        lambda s: _has(s, "Esc/space EMERGENCY STOP  s stop") and _has(s, "elapsed"), "60×15 view"
    )
    assert not _has(small, "events:")
    assert small[0].startswith("*** SIMULATED DEVICE ***")
    assert all(len(line) < 60 for line in small)
    assert _has(small, "Esc/space EMERGENCY STOP  s stop")
    assert _has(small, ">1  BL23-L – BL25-L") and _has(small, " 2  BL23-R – BL25-R")

    t.resize(120, 40)
    t.wait_until(lambda s: _has(s, "events:") and _has(s, "MODE"), "the full view again")
    t.press(b"x")
    t.wait_for("> the key x does nothing here: press ? for the keys")
    t.press(b"?")
    helped = t.wait_for("every key:")
    assert _has(helped, "  z             every channel to zero at once")
    t.press(b"z")
    t.wait_for("> every channel: to zero at once")
    t.press(b"\x1b")  # Esc: the emergency stop
    assert t.exit_code() == 4
    ended = t.display()
    assert _has(ended, "> emergency stop: every output cut and confirmed at zero")
    assert not _has(ended, "stopping")
    with RecordStore.open(db) as store:
        (summary,) = store.sessions()
        assert summary.outcome is Outcome.EMERGENCY_STOP
        events = store.events(summary.id)
    zeroed = [e.channel for e in events if e.kind == "intensity" and e.data.get("to_mA") == 0]
    assert zeroed == [1, 2]
