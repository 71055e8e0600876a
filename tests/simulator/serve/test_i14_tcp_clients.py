"""Issue 14 item 13: the TCP simulator finishes with one host before it accepts the next.

Before the fix the server accepted a new connection as soon as it arrived and, if the previous
host's EOF had not been read yet, closed the newcomer as a "second host": a quick connect and
close (a probe, a health check) followed by the real host gave that host a reset connection,
flakily. Now a new connection waits in the listen backlog until the previous host's end has been
seen, then is served. Real processes and sockets, in real time (marker ``tcp``); every wait is for
a condition, bounded by ``PATIENCE_S``.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator

import pytest
import serial

from .test_realtime import Server, hello

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"),
    pytest.mark.tcp,
]


@pytest.fixture
def server() -> Iterator[Server]:
    started = Server("--tcp", "127.0.0.1:0", "--pairing-window", "60")
    yield started
    started.kill()


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("socket://").rsplit(":", 1)
    return host, int(port)


def test_i14_13_a_host_that_connects_while_another_is_connected_is_served_after_it(
    server: Server,
) -> None:
    """Deterministic: the second host connects while the first is still connected (before, it
    was closed at once: its HELLO got "socket disconnected" or a reset); it is served as soon as
    the first one leaves."""
    first = serial.serial_for_url(server.url, timeout=0.2)
    ack, peer = hello(first)  # the server has accepted the first host
    with serial.serial_for_url(server.url, timeout=0.2) as second:
        first.close()  # only now may the server take the second host
        assert hello(second, paired=peer)[0].boot_id == ack.boot_id  # the same device
    status, log = server.stop()
    assert status == 0
    assert "refusing" not in log


def test_i14_13_quick_connect_and_close_then_a_real_host(server: Server) -> None:
    """The case users' pipelines hit: a probe connects and closes at once, the real host
    follows immediately. Every round completes its HELLO."""
    paired = None
    for _ in range(10):
        socket.create_connection(_address(server.url)).close()
        with serial.serial_for_url(server.url, timeout=0.2) as port:
            paired = hello(port, paired)[1]
    assert server.stop()[0] == 0
