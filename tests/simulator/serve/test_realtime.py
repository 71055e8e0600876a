"""``python -m simulator --pty`` and ``--tcp`` as real processes, in real time.

These are the few tests that use wall time. They never assert on durations: every wait is for a
condition, bounded by a generous timeout so a slow CI machine passes and a hang fails.
"""

from __future__ import annotations

import logging
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import serial
from children import spawn
from peer import HostPeer, SerialEnd

from firmware_protocol import HelloAck, InfoFlag, Nak, NakCode, Pair
from simulator.clock import RealClock, VirtualClock
from simulator.hardware.loads import DEFAULT_LOAD, Resistive
from simulator.serve import cli
from simulator.serve.bench import Bench
from simulator.serve.scenario import Scenario

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX ptys and signals")

PATIENCE_S = 30.0
"""Upper bound for anything to happen; far above what it takes, so only a hang hits it."""


class Server:
    """A ``python -m simulator`` subprocess and the first line it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = spawn(
            [sys.executable, "-m", "simulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], PATIENCE_S)
        assert ready, "the server printed nothing"
        self.url = self.proc.stdout.readline().strip()

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        """Send ``sig``; return the exit status and everything logged on stderr."""
        self.proc.send_signal(sig)
        _, stderr = self.proc.communicate(timeout=PATIENCE_S)
        return self.proc.returncode, stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=PATIENCE_S)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def peer_on(port: serial.SerialBase, paired: HostPeer | None = None) -> HostPeer:
    """A ``HostPeer`` on ``port`` in real time, paired in the server's pairing window (PAIR)
    or holding the key of ``paired``. Reads wait up to ``PATIENCE_S`` for each frame."""
    port.timeout = PATIENCE_S  # read_until returns at the first delimiter: no time is lost
    peer = HostPeer(SerialEnd(port, RealClock()), collect_at_start=False, skip_damaged=True)
    if paired is None:
        peer.pair("realtime test")
    else:
        peer.key_id, peer.pairing_key = paired.key_id, paired.pairing_key
    return peer


def hello(port: serial.SerialBase, paired: HostPeer | None = None) -> tuple[HelloAck, HostPeer]:
    """Pair (unless ``paired`` holds the key) and complete a HELLO over ``port``."""
    peer = peer_on(port, paired)
    return peer.hello(), peer


def read_until_it_fails(url: str) -> None:
    """Open ``url`` and read until the port fails (opening may already fail)."""
    give_up = time.monotonic() + PATIENCE_S
    with serial.serial_for_url(url, timeout=0.2) as port:
        while time.monotonic() < give_up:
            port.read(256)


@pytest.mark.pty
def test_pty_server_completes_a_hello_and_stops_cleanly(servers: list[Server]) -> None:
    server = Server(
        "--pty", "--channels", "3", "--serial", "PTY-1", "--seed", "4", "--pairing-window", "30"
    )
    servers.append(server)
    assert server.url.startswith("/dev/")
    with serial.Serial(server.url, timeout=0.2) as port:
        ack, peer = hello(port)
    assert (ack.channel_count, ack.serial, ack.session_id) == (3, "PTY-1", peer.session_id)
    status, log = server.stop()
    assert status == 0
    assert "device EVENT REBOOT" in log
    assert f"on {server.url}" in log


@pytest.mark.tcp
def test_tcp_server_completes_a_hello_through_socket_url(servers: list[Server]) -> None:
    server = Server(
        "--tcp",
        "127.0.0.1:0",
        "--load",
        "1=10k",
        "-o",
        "max_lease_ms=900",
        "-o",
        "pairing_window=30",
    )
    servers.append(server)
    assert server.url.startswith("socket://127.0.0.1:")
    assert not server.url.endswith(":0")
    with serial.serial_for_url(server.url, timeout=0.2) as port:
        ack, peer = hello(port)
    assert ack.max_lease_ms == 900
    # a host may disconnect and come back to the same device, with the key it paired
    with serial.serial_for_url(server.url, timeout=0.2) as port:
        again, _ = hello(port, paired=peer)
    assert again.boot_id == ack.boot_id
    assert again.session_id != ack.session_id
    status, log = server.stop(signal.SIGINT)
    assert status == 0
    assert "host disconnected" in log
    assert "pairing window open for 30 s" in log


@pytest.mark.pty
def test_i13_02_the_pairing_window_is_closed_unless_asked_for(servers: list[Server]) -> None:
    """``--pairing-window`` opens it at start-up; without it, a pty simulator refuses PAIR."""
    server = Server("--pty")
    servers.append(server)
    with serial.Serial(server.url, timeout=PATIENCE_S) as port:
        peer = HostPeer(SerialEnd(port, RealClock()), collect_at_start=False, skip_damaged=True)
        assert peer.get_info().flags == InfoFlag.NONE
        nak = peer.plain_call(Pair(host_label="too early")).message
    assert isinstance(nak, Nak) and nak.code == NakCode.PAIRING_CLOSED
    assert server.stop()[0] == 0


@pytest.mark.pty
def test_unplug_makes_the_pty_vanish(servers: list[Server]) -> None:
    server = Server("--pty", "-o", "unplug_at=1")
    servers.append(server)
    with pytest.raises(serial.SerialException):
        read_until_it_fails(server.url)
    status, log = server.stop()
    assert status == 0
    assert "unplug at 1 s" in log


@pytest.mark.tcp
def test_unplug_closes_the_tcp_connection(servers: list[Server]) -> None:
    server = Server("--tcp", "0", "-o", "unplug_at=1")
    servers.append(server)
    with pytest.raises(serial.SerialException):
        read_until_it_fails(server.url)
    assert server.stop()[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pty", "-o", "colour=red"], "unknown option 'colour'"),
        (["--pty", "--load", "ten=1k"], "expected CH=LOAD"),
        (["--pty", "--load", "0=10k"], "no channel 0: channels are 1..6"),
        (["--pty", "--channels", "2", "--load", "3=10k"], "no channel 3: channels are 1..2"),
        (["--pty", "-o", "electrode_off=0@1"], "no channel 0: channels are 1..6"),
        (["--tcp", "localhost:port"], "expected [HOST:]PORT"),
        (["--pty", "--tcp", "0"], "not allowed with"),
        ([], "one of the arguments --pty --tcp is required"),
    ],
)
def test_bad_command_lines_exit_with_status_2(args: list[str], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def _scenarios_served(monkeypatch: pytest.MonkeyPatch) -> list[Scenario]:
    """Patch the CLI to serve nothing (no pty, no logging setup); the list it collects the
    scenario of each ``cli.main`` into."""
    served: list[Scenario] = []

    class NoPty:
        """Stands in for the pty: these tests only look at the scenario the CLI builds."""

    monkeypatch.setattr(cli, "PtyEndpoint", NoPty)
    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    monkeypatch.setattr(cli, "serve", lambda scenario, endpoint: served.append(scenario))
    return served


def test_cli_load_1_acts_on_wire_index_0(monkeypatch: pytest.MonkeyPatch) -> None:
    served = _scenarios_served(monkeypatch)
    assert cli.main(["--pty", "--channels", "2", "--load", "1=10k"]) == 0
    [scenario] = served
    assert scenario.loads == ("10k",)
    device = Bench(scenario, VirtualClock()).device
    assert device.load(0) == Resistive(10_000.0)
    assert device.load(1) == DEFAULT_LOAD


def test_i13_02_the_command_line_opens_the_pairing_window(monkeypatch: pytest.MonkeyPatch) -> None:
    served = _scenarios_served(monkeypatch)
    assert cli.main(["--pty", "--pairing-window", "45"]) == 0
    assert cli.main(["--pty"]) == 0
    assert [s.pairing_window_s for s in served] == [45, 0]
    device = Bench(served[0], VirtualClock()).device
    assert device.info_flags() == InfoFlag.PAIRING_WINDOW
