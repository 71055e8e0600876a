"""eactl starts fast: building the parser and printing help, usage or the version imports none of
the heavy modules (issue 8). Checked by what is imported, never by timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import eacontrol.records
from eacontrol.cli.records_cmd import DB_ENV_VAR

HEAVY = (
    "numpy",
    "pandas",  # the extra "data": only a DataFrame or a Parquet export imports it
    "pyarrow",
    "pydantic",
    "serial",
    "sqlite3",
    "firmware_protocol",
    "eacontrol.profiles",
    "eacontrol.records",
    "eacontrol.session",
    "eacontrol.device",
    "eacontrol.link",
)
"""Modules (with their submodules) that only a command's handler may import."""

_PROBE = """
import json, sys
from eacontrol.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as done:
    code = done.code
heavy = json.loads(sys.argv[2])
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _probe(argv: list[str], cwd: Path) -> tuple[int, str, list[str]]:
    """Run ``eactl argv`` in a fresh interpreter: its exit code, stdout and heavy modules loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=True,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], done.stdout, report["loaded"]


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["--help"], "usage: eactl"),
        (["--version"], "eactl (eacontrol)"),
        (["run", "--help"], "usage: eactl run"),
        (["panel", "--help"], "usage: eactl panel"),
        (["log", "export", "--help"], "usage: eactl log export"),
    ],
)
def test_help_and_version_import_nothing_heavy(argv: list[str], shown: str, tmp_path: Path) -> None:
    code, out, loaded = _probe(argv, tmp_path)
    assert code == 0
    assert shown in out
    assert loaded == []


def test_a_usage_error_imports_nothing_heavy(tmp_path: Path) -> None:
    code, _, loaded = _probe(["run"], tmp_path)  # PROFILE missing: argparse's usage error
    assert code == 2
    assert loaded == []


def test_the_db_variable_in_the_help_is_the_librarys() -> None:
    # records_cmd repeats the name so that building the parser does not import the records.
    assert DB_ENV_VAR == eacontrol.records.DB_ENV_VAR
