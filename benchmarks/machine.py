"""Where and when a run happened: CPU, cores, Python, date and the git commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figure import Json

__all__ = ["OUTSIDE_CHECKOUT", "REPO_ROOT", "git_state", "load_average", "machine", "utc_date"]

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The checkout the benchmarks live in (``benchmarks/`` is a top-level folder)."""

OUTSIDE_CHECKOUT = tempfile.gettempdir()
"""Working folder of child processes: ``python -m simulator`` or ``python -c …`` started in the
checkout would import its source folders instead of the installed packages."""


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in {"model name", "Model", "cpu model"}:
            return value.strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Json]:
    """The machine: CPU model, logical cores (and those this process may use), OS, Python."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "cores_usable": usable,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "load_average_at_start": load_average(),
    }


def load_average() -> list[float] | None:
    """The 1, 5 and 15-minute load averages (None where the OS has none): other work on the
    machine slows the real-time figures, and this says how much there was."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def git_state() -> dict[str, Json]:
    """The commit benchmarked and whether the tree had uncommitted changes (None: not git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    porcelain = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "dirty": None if commit is None or porcelain is None else bool(porcelain),
    }


def utc_date() -> str:
    """Now, in UTC, to the second (ISO 8601)."""
    return datetime.now(UTC).isoformat(timespec="seconds")
