"""Issue 13: the device side of protocol major 2 — pairing, keys, tags, counters, sessions.

Each test attacks one claim of PROTO2 / PROTOCOL.md major 2 with raw frames from
``tests/support/peer.py`` against the in-process device in virtual time: a forged frame (any
single bit flipped, CRC made good) is dropped, counted and unanswered; a used counter is never
executed again whatever the reply cache holds; a closed session never comes back; an
unauthenticated client learns nothing that lets it join a session; pairing happens only in the
device's pairing window, once per window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from device_checks import snapshot
from hypothesis import given, settings
from hypothesis import strategies as st
from peer import tamper
from tiers import examples

import firmware_protocol as fp
from simulator.firmware.keys import MAX_KEYS
from simulator.firmware.model import DeviceModel
from simulator.firmware.session import LAST_COUNTER, TX_RESERVE
from simulator.hardware.device import Device

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000
HIGH = fp.SetIntensity(channel=0, target_uA=12_000, slew_uA_per_s=5000)
"""The attacker's command: raise channel 1 to 12 mA (issue 13, attack 1)."""


def running_host(
    raw_host_type: type[RawHost], make_program: ProgramFactory, seed: int = 11
) -> RawHost:
    """A paired host 1.5 s into a 5 mA run on channel 0, its session open."""
    host = raw_host_type(Device(DeviceModel(), rng=np.random.default_rng(seed)))
    host.hello()
    host.run_program(make_program(channel=0, phase_a_us=200))
    host.run_with_heartbeats(1500 * MS)
    host.take_events()
    return host


def _nak(reply: fp.Message) -> fp.Nak:
    assert isinstance(reply, fp.Nak), reply
    return reply


# --- forged frames ----------------------------------------------------------------------------

# Header bytes whose flip is caught before the tag: byte 0 (another major: NAK BAD_VERSION),
# byte 4 (the key kind: no such kind, or a tag the kind does not have: a length error),
# bytes 5-8 (another session: NAK NO_SESSION, no key to check the tag with), byte 17
# (payload_len: a length error). Every other bit reaches the tag check.
_VERSION = range(0, 8)
_KEY_KIND = range(4 * 8, 5 * 8)
_SESSION = range(5 * 8, 9 * 8)
_LENGTH = range(17 * 8, 18 * 8)


@settings(max_examples=examples(200), deadline=None, derandomize=True)
@given(bit=st.integers(0, (fp.HEADER_SIZE + 5 + fp.TAG_SIZE) * 8 - 1))
def test_i13_01_a_frame_with_any_single_bit_flipped_is_dropped_counted_and_unanswered(
    raw_host_type: type[RawHost], make_program: ProgramFactory, bit: int
) -> None:
    host = running_host(raw_host_type, make_program)
    genuine = host.frame(HIGH)  # SET_INTENSITY's payload is 5 bytes
    before = snapshot(host.device)
    counts = (host.device.rx_err_count, host.device.auth_fail_count, host.device.replay_count)
    replies = host.send(tamper(genuine, bit))
    assert snapshot(host.device) == before  # nothing executed, no lease renewed
    assert host.device.output_uA(0) == 5000
    rx_err, auth_fail, replay = (
        host.device.rx_err_count - counts[0],
        host.device.auth_fail_count - counts[1],
        host.device.replay_count - counts[2],
    )
    if bit in _VERSION or bit in _SESSION:
        assert len(replies) == 1
        nak = _nak(replies[0].message)
        code = fp.NakCode.BAD_VERSION if bit in _VERSION else fp.NakCode.NO_SESSION
        assert nak.code == code and nak.limit in (0, fp.PROTO_MAJOR)
        assert replies[0].header.key == fp.KeyKind.NONE  # nothing in the session's key
        assert (rx_err, auth_fail, replay) == (0, 0, 0)
    else:
        assert replies == []  # no answer that could help a forger
        expected = (1, 0, 0) if bit in _KEY_KIND or bit in _LENGTH else (0, 1, 0)
        assert (rx_err, auth_fail, replay) == expected
    # The genuine frame's counter was not used up by the forgery: it still executes.
    assert isinstance(host.send(genuine)[0].message, fp.Ack)
    assert host.device.status().auth_fail_count == host.device.auth_fail_count


def test_i13_01_a_frame_tagged_with_the_wrong_direction_s_key_is_a_forgery(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    assert host.session is not None
    mirrored = host.frame(HIGH, key=host.session.keys.device_to_host)
    assert host.send(mirrored) == []
    assert host.device.auth_fail_count == 1
    assert host.device.output_uA(0) == 5000


def test_i13_01_a_hello_with_a_bad_tag_is_dropped_and_counted(host: RawHost) -> None:
    assert host.hello_replies(key=bytes(32)) == []
    assert host.device.auth_fail_count == 1
    assert host.device.session is None


# --- counters ---------------------------------------------------------------------------------


def test_i13_01_an_old_start_is_refused_after_twenty_newer_commands(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    """Issue 13, attack 3: an old START executed again once out of the 16-entry cache."""
    host = raw_host_type(Device(DeviceModel(), rng=np.random.default_rng(3)))
    host.hello()
    start = host.start_frame(make_program())
    assert isinstance(host.send(start)[0].message, fp.Ack)
    host.wait(100 * MS)
    host.ok(fp.Stop(channel_mask=1, mode=fp.StopMode.IMMEDIATE))
    for _ in range(20):
        host.heartbeat()
    assert host.send(start) == []  # the captured START: dropped, counted
    assert host.device.replay_count == 1
    assert host.device.outputs_off
    assert host.heartbeat().replay_count == 1


def test_i13_01_an_exact_retransmission_is_answered_from_the_cache_without_executing(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    raise_it = host.command(HIGH)
    first = host.send(raise_it)
    assert isinstance(first[0].message, fp.Ack)
    host.run_with_heartbeats(host.now_us + 600 * MS, period_us=200 * MS)
    host.ok(fp.SetIntensity(channel=0, target_uA=2000, slew_uA_per_s=5000))
    host.run_with_heartbeats(host.now_us + 2 * S, period_us=200 * MS)
    assert host.device.output_uA(0) == 2000
    heartbeats = host.counter
    again = host.send(raise_it)  # the host's late retransmission, 14 commands later
    assert [r.message for r in again] == [r.message for r in first]
    assert again[0].header.ref_counter == first[0].header.ref_counter
    assert again[0].header.counter > first[0].header.counter  # a new device counter
    assert host.device.output_uA(0) == 2000  # not executed again
    assert host.counter == heartbeats
    assert host.device.replay_count == 0


def test_i13_01_a_replayed_heartbeat_never_renews_the_lease(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    heartbeat = host.command(fp.Heartbeat())
    host.send(heartbeat)
    for _ in range(6):  # an attacker replays the last heartbeat every 100 ms
        host.now_us += 100 * MS
        host.device.advance(host.now_us)
        host.send(heartbeat)
    assert host.device.outputs_off  # the lease ran out 500 ms after the real one
    assert host.device.channel_state(0) == fp.ChannelState.FAULT


def test_i13_01_reply_cache_overflow(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    """The last ``reply_cache_size`` commands are answered again; the one before is refused."""
    host = raw_host_type(Device(DeviceModel(reply_cache_size=4), rng=np.random.default_rng(5)))
    host.hello()
    frames = [host.command(fp.GetDose(channel=0)) for _ in range(5)]
    answers = [host.send(frame)[0].message for frame in frames]
    for frame, answer in zip(frames[1:], answers[1:], strict=True):
        assert [r.message for r in host.send(frame)] == [answer]
    assert host.send(frames[0]) == []
    assert host.device.replay_count == 1


def test_i13_01_counter_exhaustion_ends_the_session_with_outputs_cut(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    last = host.frame(HIGH, counter=LAST_COUNTER)
    assert host.send(last) == []  # not executed: the session ends instead of wrapping
    assert host.device.outputs_off
    assert host.device.session is None and host.session is None
    events = host.take_events()
    assert [(e.code, e.detail) for e in events][-1] == (
        fp.EventCode.SESSION_CLOSED,
        fp.SessionClosed.COUNTER_EXHAUSTED,
    )
    assert (fp.EventCode.STOPPED, 0, 2) in [(e.code, e.channel, e.detail) for e in events]
    closing = host.unasked[-1].message
    assert isinstance(closing, fp.Status) and closing.outputs_off
    assert not closing.flags & fp.DeviceFlag.SESSION_OPEN
    nak = _nak(host.send(host.frame(fp.Heartbeat(), counter=2**31))[0].message)
    assert nak.code == fp.NakCode.NO_SESSION


def test_i13_01_the_device_s_own_counter_never_wraps(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    session = host.device.session
    assert session is not None and host.session is not None
    session.tx_counter = LAST_COUNTER - TX_RESERVE - 1  # as if it had sent four billion frames
    host.session.device_counter = session.tx_counter
    host.call(fp.GetStatus())  # its reply takes the last counter but the reserve: the end
    assert host.device.session is None
    assert host.device.outputs_off
    assert session.tx_counter < LAST_COUNTER
    assert host.take_events()[-1].detail == fp.SessionClosed.COUNTER_EXHAUSTED


# --- sessions ---------------------------------------------------------------------------------


class _Fixed:
    """A random source that gives ``values`` first, then counts up."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.next = 1

    def random_u32(self) -> int:
        if self.values:
            return self.values.pop(0)
        self.next += 1
        return self.next


def test_i13_01_session_ids_are_never_0_and_never_reused_in_a_boot(
    raw_host_type: type[RawHost],
) -> None:
    device = Device(DeviceModel(), rng=np.random.default_rng(1))
    host = raw_host_type(device)
    device._session_ids = type(device._session_ids)(0xFFFF_FFFE)  # a base about to wrap
    seen = [host.hello().session_id for _ in range(5)]
    assert seen == [0xFFFF_FFFF, 1, 2, 3, 4]  # base + 1, base + 2 (0 skipped), …
    more = {host.hello().session_id for _ in range(50)}
    assert 0 not in more and not more & set(seen) and len(more) == 50


def test_i13_01_session_ids_are_unpredictable_across_boots(raw_host_type: type[RawHost]) -> None:
    device = Device(DeviceModel(), rng=np.random.default_rng(2))
    host = raw_host_type(device)
    first = host.hello().session_id
    device.reboot(host.now_us)
    second = host.hello().session_id
    assert second not in (first, first + 1)


def test_i13_01_a_session_whose_lease_expired_is_closed_for_good(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    """Issue 13, attack 1: after the host died, HEARTBEAT/SET_INTENSITY in its session must not
    keep or raise the output."""
    host = running_host(raw_host_type, make_program)
    dead = host.session
    host.wait(600 * MS)  # the host died: no heartbeat
    assert host.device.outputs_off
    assert host.device.session is None
    assert host.session is None and host.last_closed is dead
    codes = host.event_codes()
    assert codes[-3:] == [
        fp.EventCode.LEASE_EXPIRED,
        fp.EventCode.STOPPED,
        fp.EventCode.SESSION_CLOSED,
    ]
    assert all(frame.authenticated for frame in host.events[-3:])
    closing = host.unasked[-1]
    assert closing.authenticated and closing.header.ref_counter == 0
    # Whoever holds the session's keys (the host's own frames, replayed) gets nowhere now.
    for message in (fp.Heartbeat(), HIGH, fp.GetStatus()):
        nak = _nak(host.call(message))
        assert (nak.code, nak.limit) == (fp.NakCode.NO_SESSION, 0)
    host.wait(2 * S)
    assert host.device.outputs_off
    assert host.device.channel_state(0) == fp.ChannelState.FAULT


def test_i13_01_an_idle_lease_lapse_keeps_the_session(host: RawHost) -> None:
    host.hello(lease_ms=200)
    host.wait(1 * S)
    assert host.device.session is not None
    assert host.heartbeat().flags & fp.DeviceFlag.LEASE_VALID  # renewed by its key holder


def test_i13_01_frames_of_an_earlier_session_are_refused(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = raw_host_type(Device(DeviceModel(), rng=np.random.default_rng(9)))
    host.hello()
    captured = host.start_frame(make_program())
    host.send(captured)
    host.ok(fp.Stop(channel_mask=1, mode=fp.StopMode.IMMEDIATE))
    host.hello()  # a new session (the old one replaced)
    nak = _nak(host.send(captured)[0].message)
    assert nak.code == fp.NakCode.NO_SESSION
    assert host.device.outputs_off


def test_i13_01_get_info_reveals_no_session_id(
    raw_host_type: type[RawHost], make_program: ProgramFactory
) -> None:
    host = running_host(raw_host_type, make_program)
    stranger = raw_host_type(host.device, pair=False)
    stranger.now_us = host.now_us
    reply = stranger.plain_call(fp.GetInfo())
    assert reply.message == host.device.model.info()
    assert reply.header.session_id == 0 and reply.header.key == fp.KeyKind.NONE
    payload = reply.message.encode()
    assert host.session_id.to_bytes(4, "little") not in payload


@pytest.mark.parametrize(
    "message",
    [
        fp.Start(channel_mask=1, program_crc=(1, 0, 0, 0, 0, 0, 0, 0)),
        HIGH,
        fp.Heartbeat(),
        fp.GetStatus(),
        fp.Stop(channel_mask=0xFF, mode=fp.StopMode.IMMEDIATE),
    ],
    ids=lambda m: type(m).__name__,
)
def test_i13_01_a_key_0_command_is_refused_auth_required(
    raw_host_type: type[RawHost], make_program: ProgramFactory, message: fp.Message
) -> None:
    host = running_host(raw_host_type, make_program)
    before = snapshot(host.device)
    nak = _nak(host.plain_call(message).message)
    assert (nak.code, nak.nak_type) == (fp.NakCode.AUTH_REQUIRED, message.MSG_TYPE)
    assert snapshot(host.device) == before


def test_i13_01_a_hello_naming_an_unknown_key_id_is_not_paired(host: RawHost) -> None:
    replies = host.hello_replies(key_id=host.key_id ^ 0x5A5A, key=bytes(32))
    nak = _nak(replies[0].message)
    assert (nak.code, nak.field) == (fp.NakCode.NOT_PAIRED, fp.Hello.field_index("key_id"))
    assert replies[0].header.key == fp.KeyKind.NONE
    assert host.device.session is None
    assert host.device.auth_fail_count == 0


# --- pairing ----------------------------------------------------------------------------------


def test_i13_02_pair_outside_the_window_is_pairing_closed(
    raw_host_type: type[RawHost], device: Device
) -> None:
    host = raw_host_type(device, pair=False)
    nak = _nak(host.plain_call(fp.Pair(host_label="early")).message)
    assert nak.code == fp.NakCode.PAIRING_CLOSED
    device.open_pairing_window(host.now_us, 5)
    host.wait(5 * S)  # the window closes on its own, in device time
    nak = _nak(host.plain_call(fp.Pair(host_label="late")).message)
    assert nak.code == fp.NakCode.PAIRING_CLOSED
    assert len(device.keys) == 0


def test_i13_02_one_pairing_per_window(raw_host_type: type[RawHost], device: Device) -> None:
    host = raw_host_type(device, pair=False)
    device.open_pairing_window(host.now_us, 60)
    first = host.pair("first")
    assert first.key_id != 0 and len(first.pairing_key) == fp.KEY_SIZE
    assert first.serial == device.model.serial
    assert host.get_info().flags == fp.InfoFlag.NONE  # closed by the pairing
    second = raw_host_type(device, pair=False)
    second.now_us = host.now_us
    nak = _nak(second.plain_call(fp.Pair(host_label="second")).message)
    assert nak.code == fp.NakCode.PAIRING_CLOSED
    assert len(device.keys) == 1


def test_i13_02_a_pair_ack_is_sent_once_never_again_for_a_replayed_pair(
    raw_host_type: type[RawHost], device: Device
) -> None:
    host = raw_host_type(device, pair=False)
    device.open_pairing_window(host.now_us, 10)
    pair = host.plain_frame(fp.Pair(host_label="lossy"))
    first = host.send(pair)[0].message
    assert isinstance(first, fp.PairAck)
    nak = _nak(host.send(pair)[0].message)  # repeated (or captured and replayed): no key
    assert nak.code == fp.NakCode.PAIRING_CLOSED
    device.open_pairing_window(host.now_us, 10)  # a lost PAIR_ACK: press the button again
    again = host.send(pair)[0].message
    assert isinstance(again, fp.PairAck) and again.key_id != first.key_id
    assert len(device.keys) == 2


def test_i13_02_the_key_store_holds_eight_keys(
    raw_host_type: type[RawHost], device: Device
) -> None:
    host = raw_host_type(device, pair=False)
    ids = set()
    for n in range(MAX_KEYS):
        device.open_pairing_window(host.now_us, 10)
        ids.add(host.pair(f"host {n}").key_id)
    assert len(ids) == MAX_KEYS and 0 not in ids
    device.open_pairing_window(host.now_us, 10)
    nak = _nak(host.plain_call(fp.Pair(host_label="ninth")).message)
    assert (nak.code, nak.limit) == (fp.NakCode.KEY_STORE_FULL, MAX_KEYS)
    host.hello()
    host.ok(fp.Forget(key_id=next(iter(ids - {host.key_id}))))
    assert host.session is not None  # another host's key: this session goes on
    assert host.pair("ninth").key_id not in ids


def test_i13_02_keys_survive_a_reboot_and_the_window_does_not(
    raw_host_type: type[RawHost], device: Device
) -> None:
    host = raw_host_type(device)  # paired
    device.open_pairing_window(host.now_us, 60)
    device.reboot(host.now_us)
    assert host.get_info().flags == fp.InfoFlag.NONE
    assert host.hello().boot_id == device.boot_id


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_i13_02_the_window_is_whole_seconds_up_to_an_hour(device: Device, seconds: int) -> None:
    with pytest.raises(ValueError, match="pairing window"):
        device.open_pairing_window(0, seconds)


def test_i13_01_a_device_boots_with_the_key_store_it_is_given(
    raw_host_type: type[RawHost],
) -> None:
    """A transcript starts the device with its key store (PROTOCOL.md §9): a fixed test key."""
    rng = np.random.default_rng(4)
    device = Device(DeviceModel(), rng=rng)
    device.keys.install(0x0102_0304, bytes(range(32)))
    host = raw_host_type(device, pair=False)
    host.key_id, host.pairing_key = 0x0102_0304, bytes(range(32))
    assert host.hello().session_id != 0
    with pytest.raises(ValueError, match="32 bytes"):
        device.keys.install(5, b"short")
    with pytest.raises(ValueError, match="key_id"):
        device.keys.install(0, bytes(32))
