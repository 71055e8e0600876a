"""Issue 13 item 4: a second TCP client can connect to the simulator but can do nothing without
keys (the takeover after host death of issue 13, attack 1, over TCP).

The TCP server keeps its one-host-at-a-time policy (``TcpEndpoint``): a second connection waits
in the listen backlog until the first host's end has been seen, then is served. Being served is
not being trusted: the newcomer learns the device's identity and nothing else, cannot join the
dead host's session (GET_INFO names none, commands without its keys are refused), cannot pair
(the window was used), and the device's lease stops the output and closes that session for good.
Real processes and sockets, in real time (marker ``tcp``); every wait is for a condition,
bounded by ``PATIENCE_S``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import serial
from peer import HostPeer, SerialEnd

import firmware_protocol as fp
from simulator.clock import RealClock

from .test_realtime import PATIENCE_S, Server, peer_on

if TYPE_CHECKING:
    from conftest import ProgramFactory

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"),
    pytest.mark.tcp,
]


@pytest.fixture
def server() -> Iterator[Server]:
    started = Server("--tcp", "127.0.0.1:0", "--pairing-window", "60", "-o", "max_lease_ms=1000")
    yield started
    started.kill()


def test_i13_04_a_second_tcp_client_cannot_take_over_a_dead_host_s_stimulation(
    server: Server, make_program: ProgramFactory
) -> None:
    first = serial.serial_for_url(server.url, timeout=0.2)
    owner = peer_on(first)
    ack = owner.hello(lease_ms=1000)
    program = make_program()
    assert isinstance(owner.call(program), fp.Ack)
    start = fp.Start(channel_mask=1, program_crc=(program.crc, 0, 0, 0, 0, 0, 0, 0))
    assert isinstance(owner.call(start), fp.Ack)
    first.close()  # the host dies while stimulating (no STOP, no more heartbeats)

    with serial.serial_for_url(server.url, timeout=PATIENCE_S) as port:
        intruder = HostPeer(SerialEnd(port, RealClock()), collect_at_start=False, skip_damaged=True)
        info = intruder.get_info()
        assert info.serial == ack.serial  # identity only: no session id, no state
        assert ack.session_id.to_bytes(4, "little") not in info.encode()
        for message in (fp.Heartbeat(), fp.SetIntensity(0, 12_000, 5000)):
            nak = intruder.plain_call(message).message
            assert isinstance(nak, fp.Nak) and nak.code == fp.NakCode.AUTH_REQUIRED
            guessed = intruder.frame(message, session_id=ack.session_id, key=bytes(32))
            port.timeout = 0.5  # a forgery gets no answer: wait only a little for none
            replies = intruder.send(guessed)
            port.timeout = PATIENCE_S
            # Even with the right id: dropped as a forgery while the session is open, refused
            # once the lease has closed it; never executed.
            assert all(
                isinstance(r.message, fp.Nak) and r.message.code == fp.NakCode.NO_SESSION
                for r in replies
            )
        nak = intruder.plain_call(fp.Pair(host_label="intruder")).message
        assert isinstance(nak, fp.Nak) and nak.code == fp.NakCode.PAIRING_CLOSED

        # The dead host's session ends by its lease: its closing frames reach the connected
        # client, which cannot check them (not its session) and sets them aside.
        def lease_closed_it() -> bool:
            return any(
                isinstance(event := raw.decode().message, fp.Event)
                and event.code == fp.EventCode.SESSION_CLOSED
                and event.detail == fp.SessionClosed.LEASE
                for raw in intruder.foreign
            )

        give_up = time.monotonic() + PATIENCE_S
        while not (closed := lease_closed_it()) and time.monotonic() < give_up:
            intruder.collect()
        assert closed, "the dead host's session was not closed by its lease"
    status, log = server.stop()
    assert status == 0
    assert "device EVENT LEASE_EXPIRED device stopped channel 1" in log
