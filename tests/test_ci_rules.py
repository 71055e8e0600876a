"""CI's skip rule (tests/conftest.py): under EACONTROL_CI=1 only a skip naming hardware passes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CASES = """
import pytest

def test_needs_a_device():
    pytest.skip("hardware: no device on --ea-port")

def test_missing_library():
    pytest.skip("matplotlib missing")
"""


def _run(tmp_path: Path, ci: str) -> str:
    shutil.copy(ROOT / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {
        "PATH": "/usr/bin:/bin",
        "EACONTROL_CI": ci,
        "PYTHONPATH": str(ROOT / "tests" / "support"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    return out.stdout


@pytest.mark.parametrize(("ci", "summary"), [("1", "1 failed, 1 skipped"), ("0", "2 skipped")])
def test_a_skip_that_names_no_hardware_fails_only_in_ci(
    tmp_path: Path, ci: str, summary: str
) -> None:
    out = _run(tmp_path, ci)
    assert summary in out
    if ci == "1":
        assert "FAILED test_cases.py::test_missing_library" in out
        assert "names no absent hardware: 'matplotlib missing'" in out
