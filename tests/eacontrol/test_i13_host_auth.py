"""Issue 13, host side: every device frame authenticated, the counter's end, pairing and keys.

Item numbers: 01 the link machine checks each device frame (tag, counter, session) and a
failure is a link fault ending the session as a lost link does; 02 the handshake (GET_INFO,
HELLO with a nonce under the hello key, NotPaired naming ``eactl pair PORT``); 03 the key store
(owner-only files, refusals naming the ``chmod``) and pairing; 04 the ``eactl pair`` command.
Everything here runs against ``tests/support/devicepeer.py`` or the scripted fake device, in
virtual time.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import firmware_protocol as fp
from eacontrol.cli.exitcodes import ExitCode, exit_code_for
from eacontrol.device.pairing import (
    FileKeyStore,
    MemoryKeyStore,
    PairingKey,
    default_key_directory,
)
from eacontrol.errors import (
    CounterExhausted,
    DeviceFault,
    KeyStoreError,
    LinkFault,
    LinkLost,
    NotPaired,
    PairingClosed,
)
from eacontrol.link import (
    COUNTER_MAX,
    COUNTER_RESERVE,
    AuthenticationFailed,
    EventReceived,
    ReplyReceived,
    StatusReceived,
)
from eacontrol.records import Outcome
from eacontrol.session.ending import StopKind, ending_for
from tests.support.devicepeer import flip_bit, signed_bits

from .conftest import Scripted, Sim
from .test_link_machine import from_device, opened, status

_TRUSTING = (StatusReceived, ReplyReceived, EventReceived)


# --- 01: the host checks every device frame ----------------------------------------------------


def _status_frame() -> bytes:
    return from_device(status(), counter=2)


@settings(max_examples=300, deadline=None)
@given(bit=st.integers(min_value=0, max_value=signed_bits(_status_frame()) - 1))
def test_i13_01_any_flipped_bit_of_a_device_frame_is_never_believed(bit: int) -> None:
    """A frame whose CRC verifies but one bit of its header, payload or tag differs: never a
    STATUS heard; a SESSION-key frame that fails is a link fault."""
    machine = opened()
    events = machine.receive(flip_bit(_status_frame(), bit), 0.25)
    assert not any(isinstance(e, _TRUSTING) for e in events)
    assert machine.latest_status is None
    if any(isinstance(e, AuthenticationFailed) for e in events):
        assert machine.fault is not None


def test_i13_01_a_flipped_tag_bit_is_a_link_fault_and_nothing_more_is_believed() -> None:
    machine = opened()
    frame = _status_frame()
    tag_bit = signed_bits(frame) - 1  # the tag's last bit
    events = machine.receive(flip_bit(frame, tag_bit) + from_device(status(), counter=3), 0.25)
    assert [type(e) for e in events] == [AuthenticationFailed]
    assert isinstance(events[0], AuthenticationFailed)
    assert isinstance(events[0].error, fp.BadTag)
    assert machine.latest_status is None  # the genuine frame after it is not taken either
    machine.keep_alive(1.0)
    assert machine.data_to_send() == b""  # no more heartbeats on a faulted link


def test_i13_01_a_replayed_device_counter_is_a_link_fault() -> None:
    machine = opened()
    first = from_device(status(uptime_ms=1000), counter=5)
    second = from_device(status(uptime_ms=1250), counter=6)
    assert [type(e) for e in machine.receive(first, 0.25)] == [StatusReceived]
    assert [type(e) for e in machine.receive(second, 0.5)] == [StatusReceived]
    events = machine.receive(first, 0.75)  # genuine tag, a counter already passed: a replay
    assert [type(e) for e in events] == [AuthenticationFailed]
    assert isinstance(events[0], AuthenticationFailed)
    assert isinstance(events[0].error, fp.ReplayedFrame)
    older = from_device(status(uptime_ms=2000), counter=4)  # genuine tag, older counter
    machine2 = opened()
    machine2.receive(first, 0.25)
    assert [type(e) for e in machine2.receive(older, 0.5)] == [AuthenticationFailed]


def test_i13_01_the_lines_copy_of_the_last_device_frame_is_ignored_not_believed_twice() -> None:
    machine = opened()
    first = from_device(status(uptime_ms=1000), counter=5)
    assert [type(e) for e in machine.receive(first, 0.25)] == [StatusReceived]
    assert machine.receive(first, 0.5) == []  # byte-identical: the line sent it twice
    same_counter = from_device(status(uptime_ms=1100), counter=5)  # not a copy: a replay
    assert [type(e) for e in machine.receive(same_counter, 0.6)] == [AuthenticationFailed]


def test_i13_01_a_frame_of_another_session_is_a_link_fault() -> None:
    machine = opened()
    other = from_device(status(), counter=2)
    peer_frame = fp.encode_frame(
        status(),
        key=bytes(32),
        kind=fp.KeyKind.SESSION,
        session_id=0x0BAD,
        counter=2,
    )
    events = machine.receive(peer_frame, 0.25)
    assert [type(e) for e in events] == [AuthenticationFailed]
    assert "session 2989" in str(events[0].error)  # type: ignore[union-attr]
    assert machine.receive(other, 0.5) == []  # faulted: nothing more


def test_i13_01_link_fault_ends_the_stimulator_as_a_lost_link(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.wait(0.2)
    forged = flip_bit(scripted.device.frame(scripted.device.status()), 8 * 40)
    scripted.port.inject(forged, 0.001)
    with pytest.raises(LinkFault, match="link fault: authentication failed") as info:
        stim.wait(1.0)
    assert isinstance(info.value, LinkLost)
    stop = scripted.port.sent(fp.MsgType.STOP)[-1]  # the best-effort STOP, authenticated
    assert stop.header.key == fp.KeyKind.SESSION
    assert stop.message == fp.Stop(channel_mask=0b11, mode=fp.StopMode.IMMEDIATE)
    assert scripted.port.closed
    with pytest.raises(LinkFault):
        stim.service()
    ending = ending_for(info.value)
    assert ending.outcome is Outcome.LINK_LOST and ending.stop is StopKind.NONE
    assert "authentication failed" in ending.detail  # the record says the true cause
    assert exit_code_for(info.value) is ExitCode.DEVICE


def test_i13_01_a_replayed_device_frame_on_the_port_is_a_link_fault(scripted: Scripted) -> None:
    stim = scripted.connect()
    old = scripted.device.frame(scripted.device.status())
    new = scripted.device.frame(scripted.device.status())
    scripted.port.inject(old + new + new + old, 0.001)  # a copy of the last is only ignored
    with pytest.raises(LinkFault, match="not above the last accepted"):
        stim.wait(0.5)


def test_i13_01_key0_refusals_end_but_never_confirm(scripted: Scripted) -> None:
    stim = scripted.connect()
    reboot = fp.Event(code=fp.EventCode.REBOOT, channel=0xFF, detail=0x1234, uptime_ms=0)
    scripted.port.inject(scripted.device.peer.untagged(reboot), 0.001)
    with pytest.raises(DeviceFault, match="rebooted"):
        stim.wait(0.5)
    assert stim.last_status is not None and stim.last_status.boot_id == scripted.device.boot_id


def test_i13_01_counter_near_its_end_refuses_commands_and_ends_with_a_confirmed_stop(
    scripted: Scripted,
) -> None:
    # GET_INFO, HELLO, GET_STATUS and two heartbeats take the counters up to the reserve.
    stim = scripted.connect(initial_counter=COUNTER_MAX - COUNTER_RESERVE - 4)
    with pytest.raises(CounterExhausted, match="must end"):
        for _ in range(8):
            stim.clear_fault()
    with pytest.raises(CounterExhausted):
        stim.service()  # the session must end: every later call says so
    stim.stop(None, immediate=True)  # the stop path has its reserve: sent and confirmed
    assert scripted.port.sent(fp.MsgType.STOP)
    highest = max(f.header.counter for f in scripted.port.frames_written)
    assert highest < COUNTER_MAX
    ending = ending_for(CounterExhausted("x"))
    assert ending.stop is StopKind.IMMEDIATE  # the runner cuts and confirms the outputs


# --- 02: the handshake -------------------------------------------------------------------------


def test_i13_02_handshake_is_get_info_then_a_hello_under_the_hello_key(scripted: Scripted) -> None:
    stim = scripted.connect()
    first, second = scripted.port.frames_written[:2]
    assert (first.header.msg_type, first.header.key) == (fp.MsgType.GET_INFO, fp.KeyKind.NONE)
    assert (second.header.msg_type, second.header.key) == (fp.MsgType.HELLO, fp.KeyKind.PAIRING)
    assert isinstance(second.message, fp.Hello)
    nonce = second.message.host_nonce
    assert len(nonce) == fp.NONCE_SIZE and nonce != bytes(fp.NONCE_SIZE)
    assert stim.info.session_id == scripted.device.peer.session_id
    stim.close()
    scripted2 = _fresh_scripted()
    scripted2.connect().close()
    assert scripted2.port.sent(fp.MsgType.HELLO)[0].message.host_nonce != nonce  # type: ignore[attr-defined]


def _fresh_scripted() -> Scripted:
    from eacontrol.link import Transport

    from .conftest import FakeClock, FakeDevice, ScriptedPort

    clock = FakeClock()
    device = FakeDevice(clock)
    port = ScriptedPort(clock, device)
    return Scripted(clock, device, port, Transport(port, "scripted://fake"))


def test_i13_02_no_key_held_is_not_paired_naming_the_command(scripted: Scripted) -> None:
    with pytest.raises(NotPaired) as info:
        scripted.connect(keys=MemoryKeyStore())
    text = str(info.value)
    assert "FAKE-0001 on scripted://fake is not paired with this host" in text
    assert text.endswith("then run: eactl pair scripted://fake")
    assert exit_code_for(info.value) is ExitCode.PAIRING
    assert scripted.port.sent(fp.MsgType.HELLO) == []  # nothing beyond GET_INFO
    assert scripted.port.closed


def test_i13_02_device_that_does_not_know_the_key_is_not_paired(scripted: Scripted) -> None:
    scripted.device.paired = False
    with pytest.raises(NotPaired, match=r"does not know this host's key id 7.*eactl pair"):
        scripted.connect()


def test_i13_02_hello_ack_that_does_not_verify_is_refused(scripted: Scripted) -> None:
    peer = scripted.device.peer

    def forged_ack(ack: fp.HelloAck, ref_counter: int) -> bytes:
        # Tagged with a key not derived from the pairing key (another party answering).
        return fp.encode_frame(
            ack, key=bytes(32), session_id=peer.session_id, counter=1, ref_counter=ref_counter
        )

    peer.hello_ack = forged_ack  # type: ignore[method-assign]
    with pytest.raises(LinkFault, match=r"HELLO_ACK does not verify.*eactl pair scripted://fake"):
        scripted.connect()
    assert scripted.port.closed


# --- 03: the key store and pairing ---------------------------------------------------------------


def _key() -> PairingKey:
    return PairingKey("EA6-000123", 42, bytes(range(32)), "ana@host", "/dev/ttyACM0")


def test_i13_03_key_files_are_owner_only_and_written_atomically(tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "eacontrol" / "keys")
    path = Path(store.put(_key()))
    assert stat.S_IMODE(os.stat(store.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in store.directory.iterdir()] == ["EA6-000123.json"]  # no temp left
    assert store.get("EA6-000123") == _key()
    assert "pairing_key" in path.read_text() and "key=" not in repr(_key())
    assert store.serials_paired_on("/dev/ttyACM0") == ["EA6-000123"]
    assert store.remove("EA6-000123") and store.get("EA6-000123") is None


@pytest.mark.parametrize(("target", "mode", "fix"), [("file", 0o644, "600"), ("dir", 0o750, "700")])
def test_i13_03_a_key_others_can_read_is_refused_naming_the_chmod(
    tmp_path: Path, target: str, mode: int, fix: str
) -> None:
    store = FileKeyStore(tmp_path / "keys")
    path = Path(store.put(_key()))
    unsafe = path if target == "file" else store.directory
    os.chmod(unsafe, mode)
    with pytest.raises(KeyStoreError) as info:
        store.get("EA6-000123")
    assert f"chmod {fix} {unsafe}" in str(info.value)
    assert info.value.path == str(unsafe)
    assert exit_code_for(info.value) is ExitCode.PAIRING


def test_i13_03_connect_refuses_an_unsafe_key_file(scripted: Scripted, tmp_path: Path) -> None:
    store = FileKeyStore(tmp_path / "keys")
    os.chmod(store.put(scripted.device.host_key()), 0o640)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        scripted.connect(keys=store)
    assert scripted.port.sent(fp.MsgType.HELLO) == []


def test_i13_03_default_key_directory_follows_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_key_directory() == tmp_path / "eacontrol" / "keys"
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_key_directory() == tmp_path / "home" / ".config" / "eacontrol" / "keys"


def test_i13_03_an_auto_pairing_store_pairs_in_memory_only(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    scripted.device.paired = False
    scripted.device.pairing_window = True
    keys = MemoryKeyStore(auto_pair=True)
    stim = scripted.connect(keys=keys)
    assert [f.header.msg_type for f in scripted.port.frames_written[:3]] == [
        fp.MsgType.GET_INFO,
        fp.MsgType.PAIR,
        fp.MsgType.HELLO,
    ]
    assert keys.get("FAKE-0001") is not None
    assert not any(tmp_path.iterdir())  # nothing written
    stim.close()


def test_i13_03_a_closed_window_says_how_to_open_it(scripted: Scripted) -> None:
    from eacontrol.device.pairing import pair
    from eacontrol.link import Link

    link = Link(scripted.transport, scripted.clock)
    with pytest.raises(PairingClosed, match=r"pairing window is closed.*--pairing-window") as info:
        pair(link, "test")
    assert exit_code_for(info.value) is ExitCode.PAIRING


def test_i13_01_a_forged_frame_mid_session_ends_it_recorded_as_a_link_fault(
    sim: Callable[..., Sim], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over sim://: a device frame whose tag is altered 5 s into a session ends it as a lost link
    does (outputs to zero by the device's lease), and the record says why."""
    from eacontrol.profiles import load_profile
    from eacontrol.records import RecordStore
    from eacontrol.session import Session

    s = sim("seed=3")
    transport = s.stim._link._transport
    real_read = transport.read
    forged: list[bytes] = []

    def read(timeout_s: float) -> bytes:
        data = real_read(timeout_s)
        *frames, rest = data.split(b"\x00")
        if forged or s.stim.clock.now() < 5.0 or not frames or rest:
            return data
        last = frames[-1] + b"\x00"
        forged.append(flip_bit(last, signed_bits(last) - 1))  # the tag's last bit
        return data[: -len(last)] + forged[0]

    monkeypatch.setattr(transport, "read", read)
    with RecordStore.open(tmp_path / "s.sqlite3") as store:
        session = Session(s.stim, load_profile("lbp_2hz"), store=store)
        with pytest.raises(LinkFault, match="authentication failed"):
            session.run()
        assert forged
        assert session.session_id is not None
        record = store.session(session.session_id)
        assert record.outcome is Outcome.LINK_LOST
        assert "link fault: authentication failed" in record.detail
    s.port.clock.sleep(2.0)  # the device's lease (at most 1 s) has switched every output off
    assert s.device.outputs_off


def test_i13_01_the_devices_auth_fail_and_replay_counts_reach_the_status(
    scripted: Scripted,
) -> None:
    stim = scripted.connect()
    device = scripted.device
    device.handlers[fp.MsgType.GET_STATUS] = lambda frame: [
        device.status(auth_fail_count=3, replay_count=2)
    ]
    status = stim.status()
    assert (status.auth_fail_count, status.replay_count) == (3, 2)
