"""What several benchmarks share: the 6-channel profile, a record store, and child processes
behind a pty (``python -m simulator --pty`` and the bare echo of ``benchmarks/echo.py``)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.machine import OUTSIDE_CHECKOUT
from eacontrol.device.pair_port import pair_port
from eacontrol.device.pairing import FileKeyStore
from eacontrol.profiles import Profile, dumps_json, load_profile, loads_profile
from eacontrol.records import RecordStore

__all__ = [
    "BASE_PROFILE",
    "EXTRA_CHANNELS",
    "Child",
    "echo_pty",
    "record_store",
    "simulator_pty",
    "six_channel_profile",
]

BASE_PROFILE = "lbp_2_100hz_han"
"""The stored profile the benchmarks run: Han's 2/100 Hz dense-disperse, 3 s dwells, 30 min."""

EXTRA_CHANNELS = (
    ("BL24-L", "BL26-L"),
    ("BL24-R", "BL26-R"),
    ("BL40-L", "BL57-L"),
    ("BL40-R", "BL57-R"),
)
"""Channels 3-6 added to the stored profile's two paravertebral pairs: each pair on one side of
the body (the placement rules refuse a pair across the spine)."""

ECHO_SCRIPT = Path(__file__).with_name("echo.py")


def six_channel_profile(duration_s: float = 1800.0) -> Profile:
    """The stored ``lbp_2_100hz_han`` profile on all six channels, its step ``duration_s`` long.

    The stored profile drives channels 1 and 2 for 30 min; this adds four more same-side pairs
    and runs its single 2/100 Hz step on all six, through the loader's checks like any profile.
    """
    document = json.loads(dumps_json(load_profile(BASE_PROFILE)))
    channels = document["channels"]
    for electrodes in EXTRA_CHANNELS:
        channels.append({"channel": len(channels) + 1, "electrodes": list(electrodes)})
    (step,) = document["steps"]
    step["channels"] = [c["channel"] for c in channels]
    step["duration_s"] = duration_s
    document["name"] += ", six channels (benchmark)"
    return loads_profile(json.dumps(document), fmt="json", file="benchmark profile")


@contextmanager
def record_store() -> Iterator[RecordStore]:
    """A fresh session database in a temporary folder, removed afterwards."""
    with (
        tempfile.TemporaryDirectory(prefix="eacontrol-bench-") as folder,
        RecordStore.open(Path(folder) / "sessions.db") as store,
    ):
        yield store


@dataclass(frozen=True)
class Child:
    """A child process serving a pty.

    Attributes:
        path: the pty's path, to open as a serial port.
        pid: the child's process id.
        keys: the key store the simulator was paired into (``simulator_pty``), else None.
    """

    path: str
    pid: int
    keys: FileKeyStore | None = None

    def cpu_s(self) -> float | None:
        """CPU seconds (user + system) the child has used so far (None: not on Linux)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        # Fields 14 and 15 of proc(5) (utime, stime); the split drops the first two.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _pty_child(command: list[str]) -> Iterator[Child]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=OUTSIDE_CHECKOUT,
    )
    assert process.stdout is not None
    try:
        path = process.stdout.readline().strip()
        if not path.startswith("/dev/"):
            raise RuntimeError(f"{command[1:]} printed {path!r}, not a pty path")
        yield Child(path, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


@contextmanager
def simulator_pty(*options: str) -> Iterator[Child]:
    """Run ``python -m simulator --pty -q OPTIONS…`` with its pairing window open, pair it into
    a temporary key store (never the user's own keys) and yield its pty and that store."""
    command = [sys.executable, "-m", "simulator", "--pty", "-q", "--pairing-window", "60"]
    with (
        tempfile.TemporaryDirectory(prefix="eacontrol-bench-keys-") as folder,
        _pty_child([*command, *options]) as child,
    ):
        keys = FileKeyStore(Path(folder))
        pair_port(child.path, keys=keys)
        yield dataclasses.replace(child, keys=keys)


def echo_pty() -> AbstractContextManager[Child]:
    """Run the bare echo (``benchmarks/echo.py``) and yield its pty (a context manager)."""
    return _pty_child([sys.executable, str(ECHO_SCRIPT)])
