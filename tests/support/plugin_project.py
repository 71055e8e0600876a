"""The pytest plugin's user project (``tests/plugin/project``), run in its own pytest.

The project has no conftest: its fixtures come from the installed entry point. The plugin's own
tests run it on the simulator and on a device behind a pty (``tests/plugin/test_project.py``),
the C host's tests run it on the C core (``tests/firmware/test_host.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1] / "plugin" / "project"

Outcomes = dict[str, tuple[str, str]]
"""Test name → (passed | failure | error | skipped, message)."""


def run_project(tmp_path: Path, *options: str, timeout_s: float) -> tuple[Outcomes, str]:
    """Run the project, copied into ``tmp_path`` (so no cache lands in the repository), in a
    pytest of its own with ``options`` and none of this run's ``PYTEST_*`` variables.

    Returns:
        Every test's outcome (from its JUnit XML) and what that pytest printed.
    """
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy, dirs_exist_ok=True)
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={junit}", *options],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert junit.exists(), done.stdout + done.stderr
    found: Outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome, message = child.tag, child.get("message", "")
        found[case.get("name", "")] = (outcome, message)
    return found, done.stdout
