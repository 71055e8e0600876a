"""Issue 16 item 10: a session on any simulator (built-in, pty or TCP) is recorded as
simulated, is left out of the patient's history and of the report's session count unless
asked for (``--include-simulated``), and its report never calls it treatment delivered."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.records import RecordStore, is_simulator

Run = Callable[..., Any]


@pytest.mark.parametrize(
    ("port", "model", "simulated"),
    [
        ("sim://?seed=1", "EA-SIM-6", True),  # the built-in simulator
        ("SIM://", "ACME-1", True),  # a URL scheme in any case
        ("/dev/pts/4", "EA-SIM-6", True),  # eactl simulate --pty
        ("socket://127.0.0.1:5555", "ea-sim-2", True),  # eactl simulate --tcp
        ("/dev/ttyUSB0", "EA-4", False),  # a real unit
    ],
)
def test_i16_10_the_simulator_is_known_by_its_port_or_its_model(
    port: str, model: str, simulated: bool, tmp_path: Path, record_session: Callable[..., int]
) -> None:
    assert is_simulator(port, model) is simulated
    db = tmp_path / "s.sqlite3"
    sid = record_session(db, simulated=False)  # the caller's flag says a real device
    with RecordStore.open(db) as store:
        meta = dataclasses.replace(store.session(sid).meta, port=port, device_model=model)
        assert meta.simulated is simulated  # derived in one place whatever the caller says
        again = store.session(store.begin_session(meta))
    assert again.meta.simulated is simulated


def test_i16_10_the_report_counts_only_treatment_sessions_unless_asked(
    eactl: Run, tmp_path: Path, record_session: Callable[..., int]
) -> None:
    db = str(tmp_path / "s.sqlite3")
    real = record_session(Path(db), patient_id="P-017", simulated=False)
    sim = record_session(Path(db), patient_id="p-017", simulated=True)
    md = eactl("report", str(real), "--db", db).out
    assert "This was session 1 of 1 recorded for patient P-017 (0 completed before it)." in md
    md = eactl("report", str(sim), "--db", db).out
    methods = md.split("## Methods\n\n")[1].split("\n")[0]
    assert (
        "This session ran on the simulator and is not counted among the 1 treatment session "
        "recorded for patient p-017."
    ) in methods
    assert "This was session" not in methods
    assert not re.search(r"\b(was|were) delivered\b", methods)  # would have delivered
    assert "| Patient id | p-017 (simulated: not one of the patient's 1 treatment sessions) |" in md
    assert (
        "| 3a number of treatment sessions | not a treatment session (ran on the simulator)" in md
    )
    assert md.splitlines()[2].startswith("> **SIMULATOR — this session ran on the eacontrol")
    doc = json.loads(eactl("report", str(sim), "--db", db, "--format", "json").out)
    assert doc["patient_sessions"]["number"] is None
    assert doc["patient_sessions"]["simulated_left_out"] == 1
    both = eactl("report", str(sim), "--db", db, "--include-simulated").out
    assert "This was session 2 of 2 recorded for patient p-017, simulated sessions included" in (
        both
    )


@pytest.mark.pty
@pytest.mark.slow
def test_i16_10_a_session_on_the_pty_simulator_is_recorded_simulated(
    eactl: Run,
    bench_device: str,
    two_channel_file: Callable[..., Path],
    tmp_path: Path,
) -> None:
    profile = two_channel_file("six_s.toml", "six seconds", {"duration_s": 6})
    db = str(tmp_path / "s.sqlite3")
    argv = ("run", str(profile), "--port", bench_device, "--yes", "--db", db, "--patient", "P-2")
    result = eactl(*argv)
    assert result.code == 0, result.err
    with RecordStore.open(db, read_only=True) as store:
        (session,) = store.sessions()
    assert session.meta.port == bench_device and session.meta.simulated
    # The screen says what the record says: a pty device named EA-SIM is a simulator.
    first = result.out.splitlines()[0]
    assert first.startswith("eactl run: six seconds on device EA-SIM") and first.endswith(
        "  SIMULATED DEVICE"
    )
    assert result.out.splitlines()[-1] == (
        "  SIMULATED DEVICE: a device simulator, no patient was stimulated"
    )
    history = eactl("log", "list", "--db", db, "--patient", "p-2").out
    assert history.splitlines() == [
        "no sessions for patient p-2",
        "(1 on a simulator, not shown: --include-simulated lists them)",
    ]
    md = eactl("report", "1", "--db", db).out
    assert "(simulated)" in md.splitlines()[0] and "Electroacupuncture was delivered" not in md
