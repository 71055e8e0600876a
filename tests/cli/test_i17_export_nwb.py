"""Issue 17, data out: ``eactl log export ID --format nwb -o FILE`` writes the session as one
NWB file (read back with pynwb, equal to the store); bad input is a message and exit 2, an
unknown session exit 1, neither a traceback nor a file."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynwb
import pytest

from eacontrol.records import RecordStore

Run = Callable[..., Any]


def test_one_session_as_nwb_reads_back_equal(eactl: Run, recorded_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "session-1.nwb"
    result = eactl(
        "log", "export", "1", "--format", "nwb", "-o", str(out), "--db", str(recorded_db)
    )
    assert (result.code, result.err) == (0, "")
    assert result.out == f"exported session 1 to {out}\n"
    with RecordStore.open(recorded_db, read_only=True) as store:
        samples = store.samples(1)
    with pynwb.NWBHDF5IO(str(out), mode="r") as io:
        nwb = io.read()
        current = nwb.stimulus["channel_1_set_current"]
        assert list(current.data[:]) == [s.set_mA for s in samples]
        assert list(current.timestamps[:]) == [s.t_s for s in samples]
        steps = nwb.intervals["steps"].to_dataframe()
        assert steps[["start_time", "stop_time", "ended"]].values.tolist() == [[0.0, 600.0, True]]
        assert nwb.subject.subject_id == "P-1"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--all", "-o", "x.nwb"), "--format nwb writes one session's file: give its ID"),
        (("1",), "--format nwb writes an HDF5 file, not text: give -o FILE.nwb"),
        (("1", "-o", "-"), "--format nwb writes an HDF5 file, not text"),
        (("1", "--out", "dir"), "--format nwb writes one file: give -o FILE.nwb, not --out DIR"),
        (("1", "-o", "x.nwb", "--table", "events"), "an NWB file holds every table"),
    ],
)
def test_usage_errors_are_exit_2_with_a_message(
    eactl: Run, recorded_db: Path, argv: tuple[str, ...], message: str
) -> None:
    result = eactl("log", "export", *argv, "--format", "nwb", "--db", str(recorded_db))
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err


def test_refusals_are_exit_1_and_write_nothing(
    eactl: Run, recorded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "s.nwb"
    db = ("--db", str(recorded_db))
    unknown = eactl("log", "export", "9", "--format", "nwb", "-o", str(out), *db)
    assert unknown.code == 1 and "9" in unknown.err and "Traceback" not in unknown.err
    nowhere = eactl(
        "log", "export", "1", "--format", "nwb", "-o", str(tmp_path / "no" / "s.nwb"), *db
    )
    assert nowhere.code == 1 and "cannot write" in nowhere.err
    monkeypatch.setitem(sys.modules, "pynwb", None)  # the extra not installed
    missing = eactl("log", "export", "1", "--format", "nwb", "-o", str(out), *db)
    assert missing.code == 1 and 'pip install "eacontrol[nwb]"' in missing.err
    assert "Traceback" not in missing.err
    assert not out.exists()
