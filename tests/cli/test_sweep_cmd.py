"""``eactl sweep``: a grid from flags or a TOML file, its table as CSV or JSON, documented exit
codes and messages (never a traceback). Sessions are 8 s of virtual time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from eacontrol.cli.sweep_cmd import axis_values
from eacontrol.sweep import Grid, SerialExecutor, run_sweep

from .conftest import Result

Eactl = Callable[..., Result]


def test_the_csv_is_the_table_run_sweep_gives(eactl: Eactl) -> None:
    result = eactl(
        "sweep", "--axis", "intensity_mA=1,25", "--axis", "load=500,10k", "--axis", "duration_s=8",
        "--serial",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.err.strip() == "4 point(s): 2 completed, 2 refused"
    rows = list(csv.DictReader(io.StringIO(result.out)))
    grid = Grid(intensity_mA=[1, 25], load=[500, "10k"], duration_s=[8])
    expected = run_sweep(grid, executor=SerialExecutor())
    assert list(rows[0]) == list(expected.columns)
    for got, want in zip(rows, expected.rows, strict=True):
        assert got == {k: "" if v is None else str(v) for k, v in want.items()}
    assert "above the standard limit" in rows[2]["error"]


def test_a_grid_file_and_json_output_through_the_process_pool(eactl: Eactl, tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text('[axes]\nfrequency_hz = [2, 100]\nduration_s = [8]\nload = ["1k"]\n')
    out = tmp_path / "table.json"
    result = eactl(
        "sweep", "--grid", str(grid), "--workers", "2", "--format", "json", "-o", str(out)
    )
    assert result.code == 0, result.err
    assert result.out == ""
    rows = json.loads(out.read_text())
    assert [r["frequency_hz"] for r in rows] == [2, 100]
    assert {r["outcome"] for r in rows} == {"completed"}
    assert {r["ch1_impedance_max_ohm"] for r in rows} == {1000.0}


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (("--axis", "intensity_mA"), 2, "expected NAME=V1,V2,..."),
        (("--axis", "a=1", "--axis", "a=2"), 2, "given twice"),
        ((), 2, "no axis"),
        (("--axis", "a=1", "--serial", "--workers", "2"), 2, "not allowed with argument"),
        (("--axis", "intensity_mA=1,1"), 1, "each value once"),
        (("--axis", "bogus=1", "--serial"), 1, "one of frequency_hz"),
        (("--axis", "intensity_mA=1", "--workers", "0"), 1, "a whole number >= 1"),
    ],
)
def test_a_wrong_grid_or_command_line_says_what_is_allowed(
    eactl: Eactl, argv: tuple[str, ...], code: int, says: str
) -> None:
    result = eactl("sweep", *argv)
    assert (result.code, result.out) == (code, "")
    assert says in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[axes]\nintensity_mA = 2\n", "axes.intensity_mA = 2: expected a list"),
        ("axes = 1\n", "expected only an [axes] table"),
        ("[axes]\na = [1]\n[other]\n", "found ['other']"),
        ("[axes\n", "not a TOML file"),
    ],
)
def test_a_malformed_grid_file_is_named(eactl: Eactl, tmp_path: Path, text: str, says: str) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text(text)
    result = eactl("sweep", "--grid", str(grid))
    assert result.code == 1
    assert str(grid) in result.err and says in result.err


def test_a_missing_grid_file_is_named(eactl: Eactl, tmp_path: Path) -> None:
    result = eactl("sweep", "--grid", str(tmp_path / "none.toml"))
    assert result.code == 1
    assert "cannot read the grid file" in result.err


def test_axis_values_are_whole_numbers_numbers_or_texts() -> None:
    assert axis_values("2, 2.5,10k,open") == [2, 2.5, "10k", "open"]
