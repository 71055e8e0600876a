"""eactl run through main(argv): on the built-in simulator in virtual time (--fast), refusals
before anything is sent, faults, and the exit codes of each ending."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.cli.console import LiveConsole
from eacontrol.records import Outcome, RecordStore

Run = Callable[..., Any]
Write = Callable[[str, str], Path]


@pytest.fixture
def short(two_channel_file: Callable[..., Path]) -> Path:
    """Two steps, 30 s: 2 Hz on channels 1 and 2, then 100 Hz on channel 1."""
    return two_channel_file(
        "short.toml",
        "short test",
        {"label": "2 Hz", "duration_s": 20},
        {"label": "100 Hz", "channels": [1], "frequency_hz": 100, "phase_width_us": 200,
         "intensity_mA": 2, "duration_s": 10},
    )  # fmt: skip


def _session(db: Path) -> Any:
    with RecordStore.open(db) as store:
        (summary,) = store.sessions()
        return summary, store.events(summary.id), store.totals(summary.id)


def test_fast_run_completes_prints_the_summary_and_records(
    eactl: Run, short: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    result = eactl(
        "run", str(short), "--fast", "--db", str(db), "--operator", "OP-7", "--patient", "P-9"
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "session 1 ended: completed: every step ran to its end"
    assert "2/2 step(s) completed" in lines[1]
    assert lines[-2] == f"  record: eactl log show 1 --db {db}"
    assert lines[-1] == "  SIMULATED DEVICE: a device simulator, no patient was stimulated"
    summary, events, totals = _session(db)
    assert summary.outcome is Outcome.COMPLETED
    assert summary.meta.simulated is True
    assert (summary.meta.operator_id, summary.meta.patient_id) == ("OP-7", "P-9")
    assert summary.meta.port == "sim://"
    assert {t.channel for t in totals} == {1, 2}
    assert events[-1].message.startswith("session ended (completed)")
    # The summary's pulse counts are the device's: channel 2 ran one 20 s step at 2 Hz.
    channel_2 = next(line for line in lines if line.startswith("  2 "))
    pulses = sum(t.pulses_a + t.pulses_b for t in totals if t.channel == 2)
    assert channel_2.split()[1] == str(pulses)


def test_fast_run_prints_no_events(eactl: Run, short: Path, tmp_path: Path) -> None:
    result = eactl("run", str(short), "--fast", "--db", str(tmp_path / "s.sqlite3"))
    assert "RAMP_DONE" not in result.out


def test_a_device_fault_is_exit_4_with_the_summary(eactl: Run, short: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    result = eactl(
        "run", str(short), "--fast", "--db", str(db), "--sim-option", "stop_button_at=5"
    )  # a fault of the device (a lead's only holds its channel: issue 16 item 3)
    assert result.code == 4
    fault = r"channel 1 stopped by a latched fault \(BUTTON_STOP\): its output is off"
    assert re.match(f"session 1 ended: fault: {fault}", result.out)
    assert re.match(f"eactl: {fault}", result.err)
    assert "confirmed at zero" in result.err
    summary, _, _ = _session(db)
    assert summary.outcome is Outcome.FAULT


def test_refused_profile_is_exit_1_and_nothing_recorded(
    eactl: Run, profile_file: Write, refused_toml: str, tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    result = eactl("run", str(profile_file("bad.toml", refused_toml)), "--fast", "--db", str(db))
    assert result.code == 1
    assert "steps[0].intensity_mA" in result.err
    assert not db.exists()


def test_pacemaker_refuses(eactl: Run, short: Path, tmp_path: Path) -> None:
    result = eactl(
        "run", str(short), "--fast", "--db", str(tmp_path / "s.db"), "--patient-flags", "pacemaker"
    )
    assert result.code == 1
    assert "pacemaker" in result.err and "layer patient" in result.err


def test_device_layer_refuses_before_stimulating(eactl: Run, short: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    result = eactl("run", str(short), "--fast", "--db", str(db), "--sim-option", "channels=1")
    assert result.code == 1
    assert "layer device" in result.err
    with RecordStore.open(db) as store:
        assert store.sessions() == []


def test_pinned_serial_mismatch_is_a_device_error(eactl: Run, short: Path, tmp_path: Path) -> None:
    result = eactl(
        "run", str(short), "--fast", "--db", str(tmp_path / "s.db"), "--device-serial", "EA6-1"
    )
    assert result.code == 3
    assert "EA6-1" in result.err


def test_damaged_database_stops_before_connecting(eactl: Run, short: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    db.write_bytes(b"not a database" * 200)
    result = eactl("run", str(short), "--fast", "--db", str(db))
    assert result.code == 3
    assert str(db) in result.err


def test_database_from_the_environment(
    eactl: Run, short: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("EACONTROL_DB", str(db))
    assert eactl("run", str(short), "--fast").code == 0
    assert _session(db)[0].outcome is Outcome.COMPLETED


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--fast", "--port", "sim://"), "--fast runs the built-in simulator"),
        (("--port", "/dev/ttyNONE"), "needs the operator's confirmation on a terminal"),
        (("--port", "sim://", "--sim-option", "seed=1"), "--sim-option configures"),
        (("--fast", "--sim-option", "seed"), "--sim-option 'seed': expected KEY=VALUE"),
    ],
)
def test_usage_errors(eactl: Run, short: Path, argv: tuple[str, ...], message: str) -> None:
    result = eactl("run", str(short), *argv)
    assert result.code == 2
    assert message in result.err


def test_missing_port_is_a_link_error(eactl: Run, short: Path, tmp_path: Path) -> None:
    result = eactl(
        "run", str(short), "--yes", "--port", "/dev/ttyNONE", "--db", str(tmp_path / "s.db")
    )
    assert result.code == 3
    assert "/dev/ttyNONE" in result.err
    assert "Traceback" not in result.err


def test_ctrl_c_ends_in_a_confirmed_stop(
    eactl: Run, short: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arriving while the session runs (here: as the first ramp completes)."""
    original = LiveConsole.event
    pressed: list[float] = []

    def interrupted(self: LiveConsole, event: Any) -> None:
        original(self, event)
        if "RAMP_DONE" in event.message and not pressed:
            pressed.append(event.t_s)
            raise KeyboardInterrupt

    monkeypatch.setattr(LiveConsole, "event", interrupted)
    db = tmp_path / "s.sqlite3"
    result = eactl("run", str(short), "--fast", "--db", str(db))
    assert result.code == 4
    assert result.err == "eactl: interrupted: every output was cut and confirmed off\n"
    assert result.out.startswith("session 1 ended: stopped: interrupted (Ctrl-C)")
    summary, _, _ = _session(db)
    assert summary.outcome is Outcome.STOPPED


def test_a_run_without_keys_says_first_that_a_titrated_step_stays_at_its_start(
    eactl: Any,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    titrated = {"intensity": "titrate", "sensation": "tingling", "duration_s": 10}
    path = two_channel_file("t.toml", "titrated", titrated)
    ran = eactl("run", str(path), "--fast", "--db", str(tmp_path / "t.db"))
    assert ran.code == 0, ran.err
    assert ran.out.startswith(
        "note: step 1 is titrated (each channel from 0 mA, raised by the operator): without "
        "keys (--yes, --fast) it stays there\n"
    )
    fixed = two_channel_file("f.toml", "fixed", {"duration_s": 10})
    ran = eactl("run", str(fixed), "--fast", "--db", str(tmp_path / "f.db"))
    assert ran.code == 0 and "note: step" not in ran.out
