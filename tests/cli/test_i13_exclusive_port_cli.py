"""Issue 13, exclusive port: ``eactl run`` on a port another process holds is refused before
anything is sent (exit 3), and the message names the holding process (Linux /proc)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from port_holder import port_held_by_child
from pty_simulator import simulator_on_a_pty

from eacontrol.cli.exitcodes import ExitCode

from .conftest import Result

pytestmark = [
    pytest.mark.pty,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="names holders from /proc"),
]


def test_i13_exclusive_eactl_run_on_a_busy_port_names_the_holder(
    eactl: Callable[..., Result], tmp_path: Path
) -> None:
    with simulator_on_a_pty("--seed", "1") as path, port_held_by_child(path) as holder:
        result = eactl("run", "lbp_2hz", "--yes", "--port", path, "--db", str(tmp_path / "s.db"))
    assert result.code == ExitCode.DEVICE, result.err
    assert f"{path!r} is in use by another program" in result.err
    # The simulator holds its own side of the pty too, and is named with it; the lock is ours.
    assert f"pid {holder} (" in result.err
    assert "[holds its lock]" in result.err.split(f"pid {holder} (")[1]
    assert "Traceback" not in result.err
