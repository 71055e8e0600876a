"""Issue 14 item 13: a connection reset by the other end (a TCP server or bridge) is reported as
the link being reset, not as something the device did.

A real loopback TCP server that accepts the host and resets the connection (``SO_LINGER`` 0, so
the close sends RST) or closes it (EOF). Before the fix the host said only "read failed: read
failed: [Errno 104] Connection reset by peer" / "socket disconnected"."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from eacontrol import LinkError, LinkLost, connect
from eacontrol.link import Transport

pytestmark = pytest.mark.tcp


@pytest.fixture(params=["reset", "close"])
def hanging_up_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """``socket://`` URL of a server that accepts one host, waits for its first bytes, then
    resets (RST) or closes (EOF) the connection."""
    listener = socket.create_server(("127.0.0.1", 0))
    host, port = listener.getsockname()[:2]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(64)
            if request.param == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"socket://{host}:{port}"
    thread.join(10)
    listener.close()


def test_i14_13_a_reset_connection_says_the_link_was_reset(hanging_up_server: str) -> None:
    with Transport.open(hanging_up_server) as transport:
        transport.write(b"\x00hello\x00")
        with pytest.raises(LinkLost) as caught:
            for _ in range(100):  # each read waits up to 0.1 s for the reset to arrive
                transport.read(0.1)
    message = str(caught.value)
    assert "the link was reset: the other end closed the connection" in message
    assert "not a device fault" in message


def test_i14_13_connect_over_a_reset_link_is_a_link_error(hanging_up_server: str) -> None:
    with pytest.raises(LinkError) as caught:
        connect(hanging_up_server)
    assert "the link was reset" in str(caught.value)
