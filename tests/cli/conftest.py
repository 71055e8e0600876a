"""Fixtures for eactl: run ``main(argv)`` and capture its output; profile files; a session
database with one finished session."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from children import spawn
from profile_text import BL23_BL25, CONTINUOUS_2_HZ, profile_toml

from eacontrol.cli import main
from eacontrol.device.pair_port import pair_port
from eacontrol.records import (
    ChannelTotals,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    StepRecord,
)

if TYPE_CHECKING:
    from vtscreen import PtyTerminal

START = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)

VALID_TOML = profile_toml(
    "cli test profile",
    {"label": "2 Hz"} | CONTINUOUS_2_HZ,
    electrodes=BL23_BL25[:1],
    indication="testing eactl",
    references=(),
)

# Line 15 holds the refused value: 25 mA is above the standard layer's 20 mA (a design value).
REFUSED_TOML = VALID_TOML.replace("intensity_mA = 3", "intensity_mA = 25")


CONTINUOUS_STEP: dict[str, object] = {
    "mode": "continuous",
    "frequency_hz": 2,
    "phase_width_us": 600,
    "intensity_mA": 3,
    "ramp_up_s": 2,
    "ramp_down_s": 2,
}
"""The step of :func:`two_channel_profile` unless a test changes it: 2 Hz continuous, 600 µs,
3 mA with 2 s ramps."""


def _two_channel_profile(name: str, *steps: dict[str, object]) -> str:
    """A profile with BL23–BL25 on the left (channel 1) and right (channel 2) and these steps;
    each step is :data:`CONTINUOUS_STEP` changed by its keys."""
    changed = [CONTINUOUS_STEP | changes for changes in steps]
    return profile_toml(name, *changed, electrodes=BL23_BL25, indication=None, references=())


@pytest.fixture
def two_channel_profile() -> Callable[..., str]:
    """``two_channel_profile(name, {step changes}, ...)``: the TOML text of a two-channel
    profile whose steps are 2 Hz continuous on both channels unless changed."""
    return _two_channel_profile


@dataclass(frozen=True)
class Result:
    """What one eactl invocation returned and printed."""

    code: int
    out: str
    err: str


@pytest.fixture
def eactl(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``eacontrol.cli.main(argv)`` in-process; return its exit code and output."""

    def run(*argv: str) -> Result:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def console_script() -> Path:
    """The installed ``eactl`` console script of this interpreter's environment."""
    name = "eactl.exe" if os.name == "nt" else "eactl"
    path = Path(sysconfig.get_path("scripts")) / name
    assert path.exists(), f"the console script is not installed at {path}: pip install ."
    return path


@pytest.fixture
def terminal(console_script: Path) -> Iterator[Callable[..., PtyTerminal]]:
    """``terminal((columns, lines), *argv)``: the installed ``eactl`` with ``argv`` on a
    pseudo-terminal of that size, shown by pyte (``vtscreen.PtyTerminal``); every terminal
    started is closed at the test's end. POSIX only."""
    from vtscreen import PtyTerminal  # fcntl and termios: imported where a test asks for it

    started: list[PtyTerminal] = []

    def start(size: tuple[int, int], *argv: str) -> PtyTerminal:
        started.append(PtyTerminal([str(console_script), *argv], *size))
        return started[-1]

    yield start
    for t in started:
        t.close()


@pytest.fixture
def script(console_script: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed ``eactl`` as a real subprocess (the environment of the test)."""

    def run(*argv: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(console_script), *argv],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    return run


@pytest.fixture
def profile_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write profile text to ``tmp_path/NAME`` and return the path."""

    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def two_channel_file(profile_file: Callable[[str, str], Path]) -> Callable[..., Path]:
    """``two_channel_file(file, name, {step changes}, ...)``: :func:`two_channel_profile`'s
    TOML written to ``tmp_path/file``; returns the path."""

    def write(file: str, name: str, *steps: dict[str, object]) -> Path:
        return profile_file(file, _two_channel_profile(name, *steps))

    return write


def prescription() -> dict[str, Any]:
    """The prescription of the recorded session (the shape of docs/records.md)."""
    return {
        "name": "cli test profile",
        "indication": "testing eactl",
        "references": ["Han JS. Trends Neurosci 2003;26:17-22."],
        "channels": [{"channel": 1, "electrodes": ["BL23-L", "BL25-L"], "needle": None}],
        "steps": [
            {
                "index": 0,
                "name": "2 Hz",
                "mode": "continuous",
                "channels": [1],
                "duration_s": 600.0,
                "frequency_hz": 2.0,
                "phase_width_us": 600.0,
                "frequency_b_hz": None,
                "phase_width_b_us": None,
                "dwell_a_s": None,
                "dwell_b_s": None,
                "on_s": None,
                "off_s": None,
                "shape": "symmetric",
                "asym_ratio": 1,
                "interphase_us": 0.0,
                "intensity_mA": {"1": 3.0},
                "ceiling_mA": {"1": 10.0},
                "ramp_up_s": 3.0,
                "ramp_down_s": 2.0,
            }
        ],
        "patient_flags": [],
        "overrides": [],
        "findings": [],
    }


def _record_session(path: Path, patient_id: str = "P-1", simulated: bool = True) -> int:
    """Record one finished 600 s session into the database at ``path``; return its id."""
    meta = SessionMeta(
        profile_name="cli test profile",
        profile_version="1",
        profile_hash="ab" * 32,
        prescription=prescription(),
        device_model="EA-SIM-6" if simulated else "EA-4",  # the simulator's model says so
        device_serial="SIM-000001" if simulated else "SN0042",
        firmware_version="1.0.0",
        boot_id=7,
        port="sim://" if simulated else "/dev/ttyACM0",
        simulated=simulated,
        operator_id="OP-1",
        patient_id=patient_id,
        started_at=START,
        software_version="0.1.0",
    )
    with RecordStore.open(path) as store:
        sid = store.begin_session(meta)
        store.record_step(sid, StepRecord(0, "2 Hz", "continuous", 0.0))
        store.record_event(sid, EventRecord(0.0, "progress", None, "step 0 started"))
        store.record_samples(sid, [Sample(float(t), 1, 3.0, 2.95, 1000.0) for t in (10, 20, 30)])
        store.record_event(sid, EventRecord(300.0, "operator", 1, "intensity 3.0 -> 3.5 mA"))
        store.record_step(sid, StepRecord(0, "2 Hz", "continuous", 0.0, 600.0))
        store.record_totals(
            sid, [ChannelTotals(1, 1200, 0, 600.0, 0.0, 2160.0, 2160.0, 0.0, 3.5, 0.1, 595.0, 0)]
        )
        store.record_event(sid, EventRecord(600.0, "stop", None, "all outputs confirmed off"))
        store.end_session(sid, Outcome.COMPLETED, START + timedelta(seconds=601), "all steps ran")
    return sid


@pytest.fixture
def record_session() -> Callable[..., int]:
    """Records one finished 600 s session into a database: ``record_session(path,
    patient_id="P-1", simulated=True)`` returns its id."""
    return _record_session


@pytest.fixture
def recorded_db(tmp_path: Path) -> Path:
    """A session database holding one finished session (id 1)."""
    path = tmp_path / "sessions.sqlite3"
    _record_session(path)
    return path


@pytest.fixture
def valid_toml() -> str:
    """A valid one-channel, one-step profile as TOML text."""
    return VALID_TOML


@pytest.fixture
def refused_toml() -> str:
    """The same profile at 25 mA (line 15), above the standard layer's 20 mA."""
    return REFUSED_TOML


@pytest.fixture(autouse=True)
def _no_user_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep every test away from the user's own database and local profiles."""
    monkeypatch.delenv("EACONTROL_DB", raising=False)
    monkeypatch.delenv("EACONTROL_PROFILES", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def bench_device() -> Iterator[str]:
    """A simulated device in real time behind a pty (``python -m simulator --pty``): to eactl
    it is a real serial port, paired with this test's key store (``XDG_CONFIG_HOME``, see
    tests/conftest.py) as ``eactl pair`` would. Yields the pty's path."""
    process = spawn(  # SIGTERM at its default, whatever the launcher does with it
        [sys.executable, "-m", "simulator", "--pty", "-q", "--pairing-window", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        path = process.stdout.readline().strip()
        pair_port(path)
        yield path
    finally:
        process.terminate()
        process.communicate(timeout=60)
