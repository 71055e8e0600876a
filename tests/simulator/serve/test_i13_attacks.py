"""Issue 13: the four attacks of the issue, each over ``sim://``, a pty and TCP.

Each attack is made as someone who can write to the device's port but holds no pairing key
would make it (the worst case: on the same line as the paired host, knowing every session id,
holding every frame the host ever sent). Each must fail with the outputs at zero or unchanged,
and the attempt must show in the device's own counters (``STATUS.auth_fail_count``,
``replay_count``); a session records every rise as an ``intrusion`` event
(tests/session/test_i13_intrusion.py, the fault matrix's foreign-command row). ``sim://`` runs
in virtual time; the pty and TCP simulators are real processes in real time (markers
``pty``/``tcp``); every wait is bounded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import serial
from peer import HostPeer, SerialEnd

import firmware_protocol as fp
from simulator.serve import register_url_handler

from .test_realtime import Server, peer_on

if TYPE_CHECKING:
    from conftest import ProgramFactory

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX ptys and signals")

register_url_handler()

LEASE_MS = 500
TARGET_uA = 1000
FORGED_KEY = bytes(32)
"""What an attacker without the pairing key tags with (any key but the session's)."""
SILENCE_S = 0.3
"""How long a real-time read waits for the answer a forgery must not get."""


@pytest.fixture(
    params=[
        "sim",
        pytest.param("pty", marks=pytest.mark.pty),
        pytest.param("tcp", marks=pytest.mark.tcp),
    ]
)
def owner(request: pytest.FixtureRequest) -> Iterator[HostPeer]:
    """The paired host, on the line the attacker also writes to."""
    if request.param == "sim":
        port = serial.serial_for_url("sim://?seed=13&pairing_window=60", timeout=0.2)
        peer = HostPeer(SerialEnd(port, port.clock), collect_at_start=False)
        peer.pair("owner")
        yield peer
        port.close()
        return
    args = ("--pty",) if request.param == "pty" else ("--tcp", "127.0.0.1:0")
    server = Server(*args, "--pairing-window", "60")
    try:
        with serial.serial_for_url(server.url) as port:
            yield peer_on(port)
    finally:
        server.kill()


def _port(peer: HostPeer) -> serial.SerialBase:
    end = peer.end
    assert isinstance(end, SerialEnd)
    port: serial.SerialBase = end.port
    return port


def _silent(peer: HostPeer, data: bytes) -> list[fp.Message]:
    """Write ``data`` (a forgery or a replay) and return what came back (nothing, if refused
    as the protocol says); a real-time port waits only ``SILENCE_S`` for it."""
    port = _port(peer)
    timeout = port.timeout
    if not hasattr(port, "clock"):
        port.timeout = SILENCE_S
    try:
        return [r.message for r in peer.send(data)]
    finally:
        port.timeout = timeout


def _stimulating(owner: HostPeer, make_program: ProgramFactory) -> fp.SetProgram:
    owner.hello(lease_ms=LEASE_MS)
    program = make_program(target_uA=TARGET_uA)
    assert isinstance(owner.call(program), fp.Ack)
    start = fp.Start(channel_mask=1, program_crc=(program.crc, 0, 0, 0, 0, 0, 0, 0))
    assert isinstance(owner.call(start), fp.Ack)
    return program


def _status(owner: HostPeer) -> fp.Status:
    status = owner.call(fp.GetStatus())
    assert isinstance(status, fp.Status)
    return status


def test_i13_attack_1_no_takeover_after_the_host_died(
    owner: HostPeer, make_program: ProgramFactory
) -> None:
    _stimulating(owner, make_program)
    dead = owner.session
    assert dead is not None
    # The host dies. The attacker asks who is there: identity only, no session to join.
    attacker = HostPeer(owner.end, collect_at_start=False, skip_damaged=True)
    info = attacker.get_info()
    assert dead.session_id.to_bytes(4, "little") not in info.encode()
    # Knowing the session id anyway, it keeps the lease and turns the current up: refused.
    for message in (fp.Heartbeat(), fp.SetIntensity(0, 12_000, 5_000), fp.Heartbeat()):
        forged = attacker.frame(message, session_id=dead.session_id, key=FORGED_KEY, counter=900)
        replies = _silent(attacker, forged)
        # Dropped unanswered while the session is open (counted), NO_SESSION once the lease has
        # closed it (real time runs on while the attacker waits for answers): never executed.
        assert all(isinstance(m, fp.Nak) and m.code == fp.NakCode.NO_SESSION for m in replies)
    owner.session = None  # the host is gone: it sends nothing more
    attacker.wait(3 * LEASE_MS * 1000)
    # The lease closed that session for good: even the dead host's own keys cannot resume it.
    owner.session = dead
    late = _silent(owner, owner.frame(fp.Heartbeat(), counter=owner.counter))
    assert [m.code for m in late if isinstance(m, fp.Nak)] == [fp.NakCode.NO_SESSION]
    owner.session = None
    owner.hello(lease_ms=LEASE_MS)  # a live host opens a new session and reads the result
    status = _status(owner)
    assert status.channels[0].measured_uA == 0 and status.channels[0].set_uA == 0
    assert status.channels[0].faults & fp.Fault.LEASE
    assert status.auth_fail_count >= 1  # the forgeries made while the session was open


def test_i13_attack_2_a_foreign_writer_changes_nothing_and_is_counted(
    owner: HostPeer, make_program: ProgramFactory
) -> None:
    _stimulating(owner, make_program)
    before = _status(owner)
    session = owner.session
    assert session is not None
    attacker = HostPeer(owner.end, collect_at_start=False, skip_damaged=True)
    forged = attacker.frame(
        fp.SetIntensity(0, 16_000, 5_000),
        session_id=session.session_id,
        key=FORGED_KEY,
        counter=owner.counter + 100,
    )
    assert _silent(attacker, forged) == []
    after = _status(owner)
    assert after.channels[0].target_uA == before.channels[0].target_uA == TARGET_uA
    assert after.auth_fail_count == before.auth_fail_count + 1


def test_i13_attack_3_replayed_frames_restart_nothing(
    owner: HostPeer, make_program: ProgramFactory
) -> None:
    program = _stimulating(owner, make_program)
    captured_start = next(
        e.data for e in reversed(owner.log) if e.sender == "host" and _is(e.data, fp.Start)
    )
    assert isinstance(owner.call(fp.Stop(channel_mask=1, mode=fp.StopMode.IMMEDIATE)), fp.Ack)
    for _ in range(20):  # the START falls out of the reply cache
        owner.call(fp.Heartbeat())
    before = _status(owner)
    assert _silent(owner, captured_start) == []  # a replay: dropped, counted
    after = _status(owner)
    assert after.replay_count == before.replay_count + 1
    assert not after.channels[0].state.output_active
    # In a later session the captured frame belongs to a closed session: refused.
    owner.hello(lease_ms=LEASE_MS)
    replies = _silent(owner, captured_start)
    assert [m.code for m in replies if isinstance(m, fp.Nak)] == [fp.NakCode.NO_SESSION]
    status = _status(owner)
    assert not status.channels[0].state.output_active and status.channels[0].measured_uA == 0
    assert program.crc  # the program itself is still stored: only its START was refused


def _is(data: bytes, cls: type[fp.Message]) -> bool:
    try:
        raw = fp.parse_frame(data.rstrip(b"\x00"))
    except fp.FrameError:
        return False
    return raw.header.msg_type == cls.MSG_TYPE


def test_i13_attack_4_the_counter_never_wraps(
    owner: HostPeer, make_program: ProgramFactory
) -> None:
    owner.hello(lease_ms=LEASE_MS)
    owner.counter = 0xFFFF_FFFC  # as if four billion commands had gone by
    program = make_program(target_uA=TARGET_uA)
    assert isinstance(owner.call(program), fp.Ack)
    start = fp.Start(channel_mask=1, program_crc=(program.crc, 0, 0, 0, 0, 0, 0, 0))
    assert isinstance(owner.call(start), fp.Ack)
    assert isinstance(owner.call(fp.Heartbeat()), fp.Status)  # counter 0xFFFFFFFE
    last = owner.frame(fp.SetIntensity(0, 2 * TARGET_uA, 5_000), counter=0xFFFF_FFFF)
    assert [m for m in _silent(owner, last) if not isinstance(m, fp.Status)] == []
    codes = [(e.code, e.detail) for e in owner.take_events()]
    assert (fp.EventCode.SESSION_CLOSED, fp.SessionClosed.COUNTER_EXHAUSTED) in codes
    owner.hello(lease_ms=LEASE_MS)
    status = _status(owner)
    assert status.channels[0].measured_uA == 0 and not status.channels[0].state.output_active


@pytest.mark.pty
def test_i13_attack_2_on_a_pty_a_second_opener_is_refused_unless_privileged() -> None:
    server = Server("--pty", "--pairing-window", "60")
    try:
        with serial.serial_for_url(server.url):
            try:
                fd = os.open(server.url, os.O_RDWR | os.O_NOCTTY)
            except OSError as err:  # TIOCEXCL: anyone but root is refused at open
                assert err.errno == 16  # EBUSY
            else:  # root passes TIOCEXCL; the tags stop it (the parametrised test above)
                os.close(fd)
                assert os.geteuid() == 0
    finally:
        server.kill()
