"""eactl simulate: the simulator as a child process, for another program (real time)."""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from eacontrol.cli import main
from eacontrol.cli.simulate_cmd import register, simulator_command
from eacontrol.device import connect
from eacontrol.device.pair_port import pair_port

Run = Callable[..., Any]

pytestmark = pytest.mark.skipif(os.name == "nt", reason="pty and SIGTERM are POSIX")


def test_arguments_pass_through_unchanged_to_python_m_simulator() -> None:
    # The simulator's parser is the only one: eactl hands over whatever follows "simulate".
    parser = argparse.ArgumentParser(prog="eactl")
    register(parser.add_subparsers())
    argv = [
        "--tcp", "127.0.0.1:0", "--scenario", "flaky.toml", "--channels", "4", "--seed", "7",
        "--serial", "SIM-9", "--load", "1=10k", "--load", "2=open", "-o", "drop=0.1", "-v",
    ]  # fmt: skip
    args = parser.parse_args(["simulate", *argv])
    assert simulator_command(args.simulator_arguments) == [
        sys.executable, "-m", "simulator", *argv,
    ]  # fmt: skip
    assert parser.parse_args(["simulate"]).simulator_arguments == []


def test_help_is_the_simulators(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--help"]) == 0
    out = capfd.readouterr().out
    for option in ("--pty", "--tcp [HOST:]PORT", "--load CH=LOAD", "-o KEY=VALUE", "--quiet"):
        assert option in out


def test_simulator_usage_error_is_exit_2(capfd: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--tcp", "127.0.0.1:0", "-o", "bogus=1"])
    assert code == 2
    assert "unknown option 'bogus'" in capfd.readouterr().err


def test_pty_or_tcp_is_required(eactl: Run) -> None:
    assert eactl("simulate").code == 2
    assert eactl("simulate", "--pty", "--tcp", "127.0.0.1:0").code == 2


def _start(console_script: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(console_script), "simulate", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def served(console_script: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """Start ``eactl simulate ARGS``; yields (process, first line); stops it at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(*argv: str) -> tuple[subprocess.Popen[str], str]:
        process = _start(console_script, *argv)
        started.append(process)
        stdout: IO[str] | None = process.stdout
        assert stdout is not None
        return process, stdout.readline().strip()

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.tcp
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux prctl and /proc")
def test_i16_12_kill_9_of_eactl_simulate_stops_the_simulator_too(
    served: Callable[..., tuple[subprocess.Popen[str], str]],
) -> None:
    """Before: the simulator child kept serving after ``kill -9`` of the PID eactl printed."""
    process, url = served("--tcp", "127.0.0.1:0", "--seed", "3")
    assert url.startswith("socket://")
    (child,) = _children(process.pid)
    exited = os.pidfd_open(child)  # readable once the child has exited
    try:
        process.kill()
        process.wait(timeout=10)
        ready, _, _ = select.select([exited], [], [], 10.0)
    finally:
        os.close(exited)
    assert ready, "the simulator outlived eactl simulate"


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(("--tcp", "127.0.0.1:0"), marks=pytest.mark.tcp),
        pytest.param(("--pty",), marks=pytest.mark.pty),
    ],
)
def test_another_program_connects_then_sigterm_stops_it(
    served: Callable[..., tuple[subprocess.Popen[str], str]], where: tuple[str, ...]
) -> None:
    process, url = served(
        *where, "--seed", "3", "--channels", "2", "--serial", "SIM-CLI", "--pairing-window", "60"
    )
    assert url.startswith("socket://127.0.0.1:" if where[0] == "--tcp" else "/dev/")
    pair_port(url)  # the other program pairs first, as docs/cli.md says (eactl pair URL)
    with connect(url) as stim:
        assert stim.info.serial == "SIM-CLI"
        assert stim.limits.channel_count == 2
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped by signal" in err
