"""Device-side conformance: the simulator driven with raw frames against PROTOCOL.md (major 2).

Every frame here is built with ``firmware_protocol`` alone (``encode_frame``, the golden vectors,
a hand-made tag and CRC for malformed payloads) through ``tests/support/peer.py``; no eacontrol
code is involved. Sections follow the spec: receiving and the receive order, counters and the
reply cache, sessions, the lease, STOP, START, programs, reboot, every message, every NAK code.
The attacks on the keys and counters themselves are in ``test_i13_auth.py``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import pytest

from firmware_protocol import (
    HEADER_SIZE,
    MAX_ENCODED_FRAME,
    NO_CHANNEL,
    NO_FIELD,
    PROTO_MAJOR,
    SCHEMA_HASH,
    Ack,
    ChannelState,
    ClearFault,
    DeviceFlag,
    Dose,
    Event,
    EventCode,
    Fault,
    Forget,
    GetDose,
    GetInfo,
    GetProgram,
    GetStatus,
    Heartbeat,
    Hello,
    HelloAck,
    Info,
    InfoFlag,
    KeyKind,
    Message,
    Mode,
    MsgType,
    Nak,
    NakCode,
    Pair,
    PairAck,
    Program,
    SessionClosed,
    SetIntensity,
    Start,
    Status,
    Stop,
    StopMode,
    cobs_decode,
    cobs_encode,
    crc32c,
    program_crc,
    tag,
)
from simulator.firmware.model import DeviceModel
from simulator.firmware.session import SessionIds
from simulator.hardware.device import Device

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000
PERIOD_US = DeviceModel().check_period_us


def raw_frame(host: RawHost, msg_type: int, payload: bytes) -> bytes:
    """A frame of the host's session, tag and CRC correct, around any payload (to reach checks
    9–12 with bad payloads); uses up the next counter."""
    state = host.session
    assert state is not None
    body = bytes([PROTO_MAJOR, 0, 0, msg_type, KeyKind.SESSION])
    body += state.session_id.to_bytes(4, "little") + host.counter.to_bytes(4, "little")
    body += bytes(4) + bytes([len(payload)]) + payload
    host.counter += 1
    body += tag(state.keys.host_to_device, body)
    return cobs_encode(body + crc32c(body).to_bytes(4, "little")) + b"\x00"


def damaged(frame: bytes, edit: Any) -> bytes:
    """Decode a frame, let ``edit`` change the decoded bytes, re-encode (CRC left as it was)."""
    raw = bytearray(cobs_decode(frame[:-1]))
    edit(raw)
    return cobs_encode(bytes(raw)) + b"\x00"


def running(host: RawHost, make_program: ProgramFactory, **fields: Any) -> int:
    """Open a session, program channel 0, start it; return the program CRC."""
    host.hello()
    return host.run_program(make_program(**fields))


def status(host: RawHost) -> Status:
    """STATUS: asked in the session when one is open, else read off the device."""
    if host.session is None:
        return host.device.status()
    reply = host.call(GetStatus())
    assert isinstance(reply, Status)
    return reply


# --- receiving -------------------------------------------------------------------------------


def _invalid_vectors() -> list[dict[str, Any]]:
    text = (resources.files("firmware_protocol.vectors") / "invalid.json").read_text()
    vectors: list[dict[str, Any]] = json.loads(text)["invalid"]
    return vectors


class _Scripted:
    """A random source that gives the listed u32 values in order (the vectors' nonce)."""

    def __init__(self, values: list[int]) -> None:
        self._values = list(values)

    def random_u32(self) -> int:
        return self._values.pop(0)


def _vector_host(raw_host: type[RawHost], device: Device, state: str) -> RawHost:
    """A raw host on ``device`` in the receiver state of ``invalid.json``'s ``receiver_states``:
    ``no_session`` (the test pairing key held, no session open, pairing window closed) or
    ``session_open`` (its session opened with the vectors' id and nonces, host counters 1..40
    executed as GET_STATUS frames)."""
    text = (resources.files("firmware_protocol.vectors") / "invalid.json").read_text()
    inputs = json.loads(text)["test_inputs"]
    key = bytes.fromhex(inputs["pairing_key"])
    device.keys.install(inputs["key_id"], key)
    host = raw_host(device, pair=False)
    host.key_id, host.pairing_key = inputs["key_id"], key
    if state == "session_open":
        # The device draws the session id from its boot's base and then its nonce (§3.3):
        # scripted, so the session is the vectors' one.
        nonce = bytes.fromhex(inputs["device_nonce"])
        device._session_ids = SessionIds(inputs["session_id"] - 1)
        device._rng = _Scripted(
            [int.from_bytes(nonce[i : i + 4], "little") for i in range(0, 16, 4)]
        )
        host.nonce = lambda size: bytes.fromhex(inputs["host_nonce"])
        ack = host.hello()
        assert (ack.session_id, ack.device_nonce) == (inputs["session_id"], nonce)
        for _ in range(40):
            assert isinstance(host.call(GetStatus()), Status)
    return host


@pytest.mark.parametrize("vector", _invalid_vectors(), ids=lambda v: v["name"])
def test_golden_invalid_frames_are_counted_or_nakked_as_the_vectors_say(
    raw_host_type: type[RawHost], device: Device, vector: dict[str, Any]
) -> None:
    host = _vector_host(raw_host_type, device, vector["receiver_state"])
    before = device.status()  # read off the device: a request would change its state
    replies = host.send(bytes.fromhex(vector["hex"]))
    after = device.status()
    if vector["outcome"] == "session_closed":
        assert device.session is None
    elif vector["nak"] is None:
        assert replies == []
        counter = vector["counter"]
        assert getattr(after, counter) == getattr(before, counter) + 1, counter
    else:
        assert len(replies) == 1
        nak = replies[0].message
        assert isinstance(nak, Nak)
        assert nak.code == NakCode[vector["nak"]]
        if vector["nak_field"] is not None:
            assert nak.field == vector["nak_field"]
        assert after.rx_err_count == before.rx_err_count  # answered frames are not counted
    assert after.channels == before.channels


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("oversize", b"\x01" * (MAX_ENCODED_FRAME + 1) + b"\x00"),
        ("cobs overrun", b"\x05\x01\x00"),
        ("truncated", cobs_encode(b"\x01\x02\x03") + b"\x00"),
    ],
)
def test_untrusted_garbage_is_counted_and_never_answered(
    host: RawHost, name: str, data: bytes
) -> None:
    assert host.send(data) == []
    assert host.device.rx_err_count == 1
    assert status(host).rx_err_count == 1


def test_damaged_headers_are_counted_and_never_answered(host: RawHost) -> None:
    host.hello()
    good = host.frame(GetStatus())

    def longer(raw: bytearray) -> None:
        raw[HEADER_SIZE - 1] += 1

    def unknown_key(raw: bytearray) -> None:
        raw[4] = 7

    def flipped_bit(raw: bytearray) -> None:
        raw[10] ^= 0x01

    for edit in (longer, unknown_key, flipped_bit):
        assert host.send(damaged(good, edit)) == []
    assert host.device.rx_err_count == 3
    assert host.device.auth_fail_count == 0  # the CRC catches noise first


def test_a_sound_frame_with_an_unknown_key_kind_is_counted(host: RawHost) -> None:
    host.hello()
    body = bytearray(cobs_decode(host.frame(GetStatus())[:-1])[:-4])
    body[4] = 3  # key kind 3 does not exist: the tag's size is unknown
    assert host.send(cobs_encode(bytes(body) + crc32c(body).to_bytes(4, "little")) + b"\x00") == []
    assert host.device.rx_err_count == 1


def test_resync_after_garbage_answers_the_next_frame(host: RawHost) -> None:
    host.hello()
    garbage = b"\x13\x37\xff" * 200  # more than one maximal frame without a delimiter
    replies = host.send(garbage + b"\x00" + host.command(GetStatus()))
    assert [r.header.msg_type for r in replies] == [MsgType.STATUS]
    assert host.device.rx_err_count == 1


def test_any_chunking_gives_the_same_answer(host: RawHost) -> None:
    frame = host.plain_frame(GetInfo())
    replies = []
    for byte in frame:
        replies += host.send(bytes([byte]))
    assert len(replies) == 1
    assert isinstance(replies[0].message, Info)


@pytest.mark.parametrize("major", [1, 3, 0xFF])
def test_another_major_is_nakked_untagged_with_the_device_s_major(
    host: RawHost, major: int
) -> None:
    host.hello()
    replies = host.send(host.frame(GetStatus(), proto_major=major))
    assert len(replies) == 1
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (NakCode.BAD_VERSION, NO_FIELD, PROTO_MAJOR)
    assert (replies[0].header.key, replies[0].header.session_id) == (KeyKind.NONE, 0)


def test_incompat_flags_are_nakked_and_compat_flags_ignored(host: RawHost) -> None:
    host.hello()
    nak = host.nak(GetStatus(), NakCode.UNSUPPORTED_FEATURE, incompat_flags=0x01)
    assert (nak.field, nak.limit) == (NO_FIELD, 0)
    assert isinstance(host.call(GetStatus(), compat_flags=0x80), Status)


def test_bad_payloads_are_nakked_with_the_field(host: RawHost) -> None:
    host.hello()
    counter = host.counter
    replies = host.send(raw_frame(host, MsgType.STOP, b"\x01\x07"))  # mode 7 is undefined
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.nak_type, nak.code, nak.field) == (MsgType.STOP, NakCode.BAD_PAYLOAD, 1)
    assert replies[0].header.ref_counter == counter
    assert replies[0].authenticated  # refused in the session's key: the counter is used up
    replies = host.send(raw_frame(host, MsgType.STOP, b"\x01"))  # one byte short
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field) == (NakCode.BAD_PAYLOAD, NO_FIELD)


def test_an_unknown_message_type_in_a_session_is_unexpected(host: RawHost) -> None:
    host.hello()
    replies = host.send(raw_frame(host, 0x7F, b""))
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.nak_type, nak.code, nak.field) == (0x7F, NakCode.UNEXPECTED_MESSAGE, NO_FIELD)


def test_every_device_to_host_message_is_unexpected(
    host: RawHost, make_program: ProgramFactory
) -> None:
    program = make_program()
    model = host.device.model
    samples: list[Message] = [
        Ack(acked_type=1, value=2),
        model.hello_ack(boot_id=1, session_id=1, lease_ms=500, device_nonce=bytes(16)),
        model.info(),
        Program(**{f: getattr(program, f) for f in program.__dataclass_fields__}, program_crc=1),
        host.device.status(),
        Dose(0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
        PairAck(key_id=1, pairing_key=bytes(32), serial="x"),
        Nak(nak_type=1, code=NakCode.BAD_STATE, field=0, limit=0),
        Event(code=EventCode.REBOOT, channel=NO_CHANNEL, detail=1, uptime_ms=0),
    ]
    assert {m.MSG_TYPE for m in samples} == {t for t in MsgType if t.from_device}
    host.hello()
    for message in samples:
        assert host.nak(message, NakCode.UNEXPECTED_MESSAGE).field == NO_FIELD
    assert host.device.outputs_off


# --- counters and the reply cache ------------------------------------------------------------


def test_replies_carry_ref_counter_and_the_device_counts_its_frames(host: RawHost) -> None:
    ack = host.hello_replies()[0]
    assert ack.header.counter == 1  # HELLO_ACK is the device's first frame of the session
    first = host.exchange(GetStatus())
    second = host.exchange(GetStatus(), counter=host.counter + 40)  # gaps are allowed
    assert (first.header.ref_counter, second.header.ref_counter) == (1, 42)
    assert (first.header.counter, second.header.counter) == (2, 3)
    assert first.header.session_id == second.header.session_id == host.session_id


def test_a_retransmission_is_answered_again_and_not_executed_again(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    set_program = host.command(make_program())
    first = host.send(set_program)
    crc = program_crc(make_program())
    assert isinstance(host.start(ch0=crc), Ack)
    host.run_with_heartbeats(1 * S, period_us=200 * MS)
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    delivered = host.dose(0)
    assert delivered.pulses_a > 0
    applied = host.heartbeat().last_applied_counter
    again = host.send(set_program)
    assert [r.message for r in again] == [r.message for r in first]
    assert again[0].header.ref_counter == first[0].header.ref_counter
    assert again[0].header.counter > first[0].header.counter  # re-encoded, a new counter
    assert host.dose(0) == delivered  # a second SET_PROGRAM would have reset the totals
    assert host.heartbeat().last_applied_counter == applied  # reads and heartbeats: not counted


def test_a_retransmitted_start_does_not_restart_a_stopped_channel(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    start = host.start_frame(make_program())
    assert isinstance(host.send(start)[0].message, Ack)
    host.wait(200 * MS)
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    assert host.device.outputs_off
    assert isinstance(host.send(start)[0].message, Ack)  # the cached ACK
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert host.device.outputs_off


def test_a_retransmission_of_a_refused_start_stays_refused(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello(lease_ms=200)
    crc = host.program(make_program())
    host.wait(300 * MS)  # the lease lapsed (nothing runs: the session stays): START is refused
    start = host.command(Start(channel_mask=1, program_crc=host.crcs(ch0=crc)))
    refused = host.send(start)
    assert isinstance(refused[0].message, Nak)
    assert refused[0].message.code == NakCode.NO_LEASE
    host.heartbeat()
    # A late retransmission must not start what the host was told had been refused.
    assert [r.message for r in host.send(start)] == [refused[0].message]
    assert host.device.outputs_off


def test_a_used_counter_with_another_command_is_dropped_as_a_replay(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    counter = host.counter
    assert isinstance(host.call(make_program(target_uA=1000)), Ack)
    assert host.send(host.frame(make_program(target_uA=2000), counter=counter)) == []
    assert host.device.replay_count == 1
    program = host.call(GetProgram(channel=0))
    assert isinstance(program, Program)
    assert program.target_uA == 1000


def test_reads_are_cached_too(host: RawHost) -> None:
    host.hello()
    frame = host.command(GetStatus())
    first = host.send(frame)[0].message
    host.wait(5 * MS)
    second = host.send(frame)[0].message
    assert isinstance(first, Status)
    assert second == first  # the same answer: a read is not executed twice either


def test_the_cache_keeps_the_last_sixteen_commands(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    oldest = host.command(make_program())
    first = host.send(oldest)
    for _ in range(15):  # 15 more: the oldest is still cached
        host.ok(Stop(channel_mask=0, mode=StopMode.IMMEDIATE))
    assert [r.message for r in host.send(oldest)] == [first[0].message]
    host.ok(Stop(channel_mask=0, mode=StopMode.IMMEDIATE))
    assert host.send(oldest) == []  # out of the cache: refused as a replay, never executed
    assert host.device.replay_count == 1
    assert host.heartbeat().last_applied_counter == host.counter - 2


def test_last_applied_counter_counts_commands_executed_and_not_refused(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    assert status(host).last_applied_counter == 0  # the STATUS is made before it is applied
    host.program(make_program())
    applied = host.counter - 1
    host.nak(make_program(phase_a_us=5), NakCode.OUT_OF_RANGE)
    assert host.heartbeat().last_applied_counter == applied


# --- sessions --------------------------------------------------------------------------------


COMMANDS: list[Message] = [
    GetStatus(),
    Stop(channel_mask=0x3F, mode=StopMode.RAMP_DOWN),
    GetProgram(channel=0),
    Start(channel_mask=1, program_crc=(1, 0, 0, 0, 0, 0, 0, 0)),
    SetIntensity(channel=0, target_uA=100, slew_uA_per_s=100),
    Heartbeat(),
    ClearFault(channel_mask=1),
    GetDose(channel=0),
    Forget(key_id=1),
    Hello(key_id=1, host_nonce=bytes(16), lease_ms=500, schema_hash=SCHEMA_HASH),
]


@pytest.mark.parametrize("message", COMMANDS, ids=lambda m: type(m).__name__)
def test_untagged_commands_need_a_session_key(host: RawHost, message: Message) -> None:
    nak = host.plain_call(message).message
    assert isinstance(nak, Nak)
    assert (nak.nak_type, nak.code, nak.field) == (message.MSG_TYPE, NakCode.AUTH_REQUIRED, 0xFF)


@pytest.mark.parametrize("message", COMMANDS, ids=lambda m: type(m).__name__)
def test_commands_of_any_other_session_get_no_session_and_reveal_nothing(
    host: RawHost, message: Message
) -> None:
    host.hello()
    open_id = host.session_id
    for other in (0, open_id ^ 1, open_id + 1):
        counter = host.counter
        replies = host.send(host.frame(message, session_id=other))
        assert len(replies) == 1
        nak = replies[0].message
        assert isinstance(nak, Nak)
        assert (nak.code, nak.field, nak.limit) == (NakCode.NO_SESSION, NO_FIELD, 0)
        header = replies[0].header
        assert (header.key, header.session_id, header.ref_counter) == (KeyKind.NONE, other, counter)
    assert host.device.auth_fail_count == 0  # not even looked at: no key to check it with


def test_hello_opens_a_session_and_reports_the_device_s_own_limits(host: RawHost) -> None:
    model = host.device.model
    reply = host.hello_replies(lease_ms=300)[0]
    ack = reply.message
    assert isinstance(ack, HelloAck)
    assert reply.authenticated
    assert (reply.header.key, reply.header.session_id) == (KeyKind.SESSION, ack.session_id)
    assert ack.session_id != 0
    assert ack == model.hello_ack(
        boot_id=host.device.boot_id,
        session_id=ack.session_id,
        lease_ms=300,
        device_nonce=ack.device_nonce,
    )
    assert (ack.channel_count, ack.max_intensity_uA, ack.compliance_mV) == (6, 20_000, 60_000)
    assert ack.schema_hash == SCHEMA_HASH
    assert status(host).flags & DeviceFlag.SESSION_OPEN
    in_session = host.exchange(GetInfo())  # GET_INFO is key 0 only: refused, no counter used
    assert in_session.message == Nak(MsgType.GET_INFO, NakCode.AUTH_REQUIRED, NO_FIELD, 0)
    assert in_session.header.key == KeyKind.NONE
    assert host.get_info() == model.info()  # identity only: no session, no state


def test_get_info_is_identity_only_and_shows_the_pairing_window(
    raw_host_type: type[RawHost], device: Device
) -> None:
    host = raw_host_type(device, pair=False)
    assert host.get_info() == device.model.info()
    device.open_pairing_window(host.now_us, 30)
    assert host.get_info() == device.model.info(InfoFlag.PAIRING_WINDOW)
    host.wait(30 * S)
    assert host.get_info().flags == InfoFlag.NONE


def test_hello_with_another_schema_is_refused_and_opens_nothing(host: RawHost) -> None:
    replies = host.hello_replies(schema_hash=SCHEMA_HASH ^ 1)
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (
        NakCode.SCHEMA_MISMATCH,
        Hello.field_index("schema_hash"),
        SCHEMA_HASH,
    )
    assert replies[0].header.key == KeyKind.NONE
    assert not status(host).flags & DeviceFlag.SESSION_OPEN


@pytest.mark.parametrize(("lease_ms", "limit"), [(199, 200), (1001, 1000)])
def test_hello_out_of_range(host: RawHost, lease_ms: int, limit: int) -> None:
    nak = host.hello_replies(lease_ms=lease_ms)[0].message
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (
        NakCode.OUT_OF_RANGE,
        Hello.field_index("lease_ms"),
        limit,
    )


def test_a_second_host_cannot_take_over_a_running_stimulation(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program)
    opened = host.session
    replies = host.hello_replies()
    nak = replies[0].message
    assert isinstance(nak, Nak)
    assert (nak.code, nak.limit) == (NakCode.BAD_STATE, ChannelState.RAMPING)
    assert host.session is opened
    assert status(host).flags & DeviceFlag.OUTPUT_ACTIVE


def test_a_new_session_replaces_an_idle_one_and_keeps_programs_and_faults(
    host: RawHost, make_program: ProgramFactory
) -> None:
    crc = running(host, make_program)
    host.device.press_stop_button(host.now_us)
    old = host.session
    assert old is not None
    old_stop = host.frame(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    host.wait(0)
    host.take_events()
    host.hello()
    closed = host.take_events()
    assert [(e.code, e.detail) for e in closed] == [
        (EventCode.SESSION_CLOSED, SessionClosed.REPLACED)
    ]
    assert host.events == [] and host.last_closed is old
    program = host.call(GetProgram(channel=0))
    assert isinstance(program, Program)
    assert program.program_crc == crc
    assert status(host).channels[0].faults == Fault.BUTTON_STOP
    # A frame of the old session is refused: its session is gone.
    nak = host.send(old_stop)[0].message
    assert isinstance(nak, Nak) and nak.code == NakCode.NO_SESSION


# --- §3.5 lease --------------------------------------------------------------------------


@pytest.mark.parametrize("offset_us", [0, 1, 4_321, PERIOD_US - 1])
@pytest.mark.parametrize("lease_ms", [200, 500, 1000])
def test_lease_expiry_stops_outputs_within_lease_plus_one_check_period(
    host: RawHost, make_program: ProgramFactory, offset_us: int, lease_ms: int
) -> None:
    host.hello(lease_ms=lease_ms)
    crc = host.program(make_program(channel=2))
    host.wait(offset_us)
    assert isinstance(host.start(ch2=crc), Ack)
    host.run_with_heartbeats(host.now_us + 2 * S)
    last_heartbeat_us = host.now_us
    deadline_us = host.device.next_deadline_us()
    assert deadline_us is not None
    assert last_heartbeat_us + lease_ms * MS <= deadline_us
    assert deadline_us < last_heartbeat_us + lease_ms * MS + PERIOD_US
    host.wait_until(deadline_us - 1)
    assert host.device.channel_state(2) == ChannelState.RUNNING
    assert host.device.output_uA(2) == 5000
    host.wait_until(deadline_us)
    assert host.device.outputs_off
    assert host.device.channel_state(2) == ChannelState.FAULT
    events = host.take_events()
    lease_events = [e for e in events if e.code == EventCode.LEASE_EXPIRED]
    assert [(e.channel, e.detail) for e in lease_events] == [(NO_CHANNEL, 0b100)]
    stopped = [e for e in events if e.code == EventCode.STOPPED]
    assert [(e.channel, e.detail) for e in stopped] == [(2, 2)]
    assert [(e.code, e.detail) for e in events][-1] == (
        EventCode.SESSION_CLOSED,
        SessionClosed.LEASE,
    )
    closing = host.unasked[-1].message  # the closing STATUS, authenticated in that session
    assert isinstance(closing, Status)
    assert not closing.flags & (DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID)
    assert closing.outputs_off
    assert host.session is None  # closed for good
    host.hello()  # the device never resumes by itself, even with a new lease
    report = host.heartbeat()
    assert report.channels[2].faults == Fault.LEASE
    assert report.channels[2].measured_uA == 0
    host.wait(3 * S)
    assert host.device.outputs_off


def test_a_lease_lapses_quietly_when_nothing_runs(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello(lease_ms=200)
    crc = host.program(make_program())
    report = status(host)
    assert report.flags & DeviceFlag.LEASE_VALID
    assert report.lease_remaining_ms == 200
    host.wait(150 * MS + 1)
    assert status(host).lease_remaining_ms == 50  # rounded up: 0 only when expired
    host.wait(50 * MS)
    report = status(host)
    assert not report.flags & DeviceFlag.LEASE_VALID
    assert report.lease_remaining_ms == 0
    assert not report.flags & DeviceFlag.FAULT_LATCHED
    assert host.take_events()[-1].code == EventCode.REBOOT  # no LEASE_EXPIRED
    nak = host.start(ch0=crc)
    assert isinstance(nak, Nak)
    assert nak.code == NakCode.NO_LEASE
    host.heartbeat()
    assert isinstance(host.start(ch0=crc), Ack)


def test_only_heartbeat_renews_the_lease(host: RawHost, make_program: ProgramFactory) -> None:
    running(host, make_program)
    for _ in range(5):
        host.wait(100 * MS)
        if host.session is None:
            break
        host.call(GetStatus())
        host.call(GetInfo())
        host.call(SetIntensity(channel=0, target_uA=5000, slew_uA_per_s=5000))
    assert host.session is None  # the lease expired with an output active: closed for good
    assert host.device.outputs_off
    assert host.device.status().channels[0].faults == Fault.LEASE


def test_no_deadline_while_idle(host: RawHost, device: Device) -> None:
    assert device.next_deadline_us() is None
    host.hello()
    assert device.next_deadline_us() is None  # a lease with nothing running needs no check


# --- §3.7 STOP -----------------------------------------------------------------------------


def test_stop_ramp_down_falls_over_the_program_s_ramp_down_time(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program, ramp_down_ms=2000)
    host.run_with_heartbeats(2 * S)
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    assert host.device.channel_state(0) == ChannelState.STOPPING
    host.run_with_heartbeats(host.now_us + 500 * MS)
    assert host.device.output_uA(0) == pytest.approx(3750)
    assert status(host).channels[0].target_uA == 0
    host.run_with_heartbeats(host.now_us + 1500 * MS - 1)
    assert host.device.channel_state(0) == ChannelState.STOPPING
    host.wait(1)
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert host.device.outputs_off
    assert [(e.code, e.detail) for e in host.take_events()][-1] == (EventCode.STOPPED, 0)


def test_stop_ramp_down_during_the_ramp_up_is_scaled(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program, ramp_up_ms=2000, ramp_down_ms=1000)
    host.run_with_heartbeats(500 * MS)  # a quarter of the way up
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    assert host.device.next_deadline_us() == host.now_us + 250 * MS


def test_stop_immediate_and_stop_is_idempotent(host: RawHost, make_program: ProgramFactory) -> None:
    running(host, make_program)
    host.wait(300 * MS)
    for _ in range(3):
        host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
        assert host.device.outputs_off
    events = [(e.code, e.detail) for e in host.take_events()]
    assert events.count((EventCode.STOPPED, 1)) == 1
    report = status(host)
    assert report.outputs_off
    assert report.channels[0].state == ChannelState.PROGRAMMED


def test_stop_works_without_a_lease_but_only_in_the_open_session(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program)
    host.wait(100 * MS)
    stop = Stop(channel_mask=0x3F, mode=StopMode.IMMEDIATE)
    assert host.plain_call(stop).message == Nak(MsgType.STOP, NakCode.AUTH_REQUIRED, NO_FIELD, 0)
    nak = host.nak(stop, NakCode.NO_SESSION, session_id=host.session_id + 1)
    assert nak.limit == 0
    assert host.device.channel_state(0) == ChannelState.RAMPING
    host.ok(stop)
    assert host.device.outputs_off
    host.wait(1 * S)  # the lease lapses with nothing running: the session stays
    host.ok(stop)


def test_stop_never_leaves_fault(host: RawHost, make_program: ProgramFactory) -> None:
    running(host, make_program)
    host.device.press_stop_button(host.now_us)
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    assert host.device.channel_state(0) == ChannelState.FAULT


def test_stop_with_a_mask_beyond_the_channels_stops_those_that_exist(
    host: RawHost, make_program: ProgramFactory
) -> None:
    """STOP is never refused for its mask: 0xFF means "everything" on any device (§3.7)."""
    running(host, make_program)
    host.ok(Stop(channel_mask=0xFF, mode=StopMode.IMMEDIATE))
    assert host.device.outputs_off
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED


# --- §3.8 START -----------------------------------------------------------------------------


def test_start_ramps_from_zero_to_target_then_runs(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program, ramp_up_ms=1000, target_uA=4000)
    assert host.device.channel_state(0) == ChannelState.RAMPING
    assert host.device.output_uA(0) == 0
    host.run_with_heartbeats(250 * MS)
    assert host.device.output_uA(0) == pytest.approx(1000)
    host.run_with_heartbeats(1000 * MS - 1)
    assert host.device.channel_state(0) == ChannelState.RAMPING
    host.wait(1)
    assert host.device.channel_state(0) == ChannelState.RUNNING
    assert host.take_events()[-1].code == EventCode.RAMP_DONE
    channel = host.heartbeat().channels[0]
    assert (channel.set_uA, channel.measured_uA, channel.target_uA) == (4000, 4000, 4000)
    assert (channel.impedance_ohm, channel.freq_cHz) == (500, 200)


def test_start_refuses_a_program_crc_mismatch(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    crc = host.program(make_program(channel=1))
    nak = host.start(ch1=crc ^ 0x1)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (NakCode.PROGRAM_MISMATCH, 2, crc)
    assert host.device.outputs_off


def test_start_refuses_a_non_zero_start(host: RawHost, make_program: ProgramFactory) -> None:
    crc = running(host, make_program, ramp_down_ms=1000)
    host.run_with_heartbeats(2 * S)
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    host.wait(400 * MS)
    nak = host.start(ch0=crc)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (NakCode.NONZERO_START, 1, 3000)
    assert host.device.channel_state(0) == ChannelState.STOPPING


def test_start_refuses_a_stuck_output(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    crc = host.program(make_program())
    host.device.stick_output(0, host.now_us, 700)
    nak = host.start(ch0=crc)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.limit) == (NakCode.NONZERO_START, 700)


def test_start_is_all_or_nothing(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    crc0 = host.program(make_program(channel=0))
    crc1 = host.program(make_program(channel=1, target_uA=1000))
    nak = host.start(ch0=crc0, ch1=crc0)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field) == (NakCode.PROGRAM_MISMATCH, 2)
    assert host.device.outputs_off
    assert isinstance(host.start(ch0=crc0, ch1=crc1), Ack)
    assert host.device.channel_state(1) == ChannelState.RAMPING


def test_start_of_a_running_channel_is_bad_state(
    host: RawHost, make_program: ProgramFactory
) -> None:
    crc = running(host, make_program)
    nak = host.start(ch0=crc)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (NakCode.BAD_STATE, 1, ChannelState.RAMPING)


@pytest.mark.parametrize(
    ("mask", "entries", "code", "field"),
    [
        (0x01, (0, 5, 0, 0, 0, 0, 0, 0), NakCode.BAD_PAYLOAD, 2),
        (0x00, (0,) * 8, NakCode.BAD_PAYLOAD, 0),
        (0x40, (0, 0, 0, 0, 0, 0, 1, 0), NakCode.BAD_CHANNEL, 0),
        (0x02, (0, 1, 0, 0, 0, 0, 0, 0), NakCode.NO_PROGRAM, 2),
    ],
)
def test_start_payload_channel_and_program_checks(
    host: RawHost, mask: int, entries: tuple[int, ...], code: NakCode, field: int
) -> None:
    host.hello()
    nak = host.nak(Start(channel_mask=mask, program_crc=entries), code)
    assert nak.field == field


def test_start_with_a_latched_fault_is_refused(host: RawHost, make_program: ProgramFactory) -> None:
    crc = running(host, make_program)
    host.device.press_stop_button(host.now_us)
    nak = host.start(ch0=crc)
    assert isinstance(nak, Nak)
    assert (nak.code, nak.field, nak.limit) == (NakCode.FAULT_LATCHED, 1, Fault.BUTTON_STOP)
    host.ok(ClearFault(channel_mask=1))
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert isinstance(host.start(ch0=crc), Ack)


# --- §3.9 programs, §5 every message ------------------------------------------------------


def test_program_read_back_is_exact(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    sent = make_program(Mode.DENSE_DISPERSE, channel=3)
    crc = host.program(sent)
    assert crc == program_crc(sent)
    back = host.call(GetProgram(channel=3))
    assert isinstance(back, Program)
    assert back.as_set_program() == sent
    assert back.program_crc == crc
    assert host.nak(GetProgram(channel=2), NakCode.NO_PROGRAM).field == 0
    assert host.nak(GetProgram(channel=6), NakCode.BAD_CHANNEL).limit == 6


def test_equal_programs_on_two_channels_have_equal_crcs(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    assert host.program(make_program(channel=0)) == host.program(make_program(channel=5))


def test_set_program_is_refused_while_active_or_faulted(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program)
    nak = host.nak(make_program(), NakCode.BAD_STATE)
    assert (nak.field, nak.limit) == (0, ChannelState.RAMPING)
    host.device.press_stop_button(host.now_us)
    nak = host.nak(make_program(), NakCode.FAULT_LATCHED)
    assert nak.limit == Fault.BUTTON_STOP
    assert host.nak(make_program(channel=6), NakCode.BAD_CHANNEL).limit == 6


def test_set_intensity_slews_at_the_asked_rate(host: RawHost, make_program: ProgramFactory) -> None:
    running(host, make_program, target_uA=2000, ramp_up_ms=1000)
    host.run_with_heartbeats(1 * S)
    host.ok(SetIntensity(channel=0, target_uA=3000, slew_uA_per_s=500))
    assert host.device.channel_state(0) == ChannelState.RAMPING
    host.run_with_heartbeats(host.now_us + 1 * S)
    assert host.device.output_uA(0) == pytest.approx(2500)
    host.run_with_heartbeats(host.now_us + 1 * S)
    assert host.device.channel_state(0) == ChannelState.RUNNING
    assert host.heartbeat().channels[0].target_uA == 3000
    ramp_done = [e for e in host.take_events() if e.code == EventCode.RAMP_DONE]
    assert [e.detail for e in ramp_done] == [2000, 3000]


@pytest.mark.parametrize(
    ("target_uA", "slew", "field", "limit"),
    [
        (20_001, 100, 1, 20_000),
        (16_000, 100, 1, 15_015),  # the 10 µC phase-charge bound at 666 µs
        (1000, 0, 2, 1),
        (1000, 5001, 2, 5000),
    ],
)
def test_set_intensity_is_checked_against_the_device_s_limits(
    host: RawHost,
    make_program: ProgramFactory,
    target_uA: int,
    slew: int,
    field: int,
    limit: int,
) -> None:
    running(host, make_program, phase_a_us=666, ramp_up_ms=1000)
    nak = host.nak(
        SetIntensity(channel=0, target_uA=target_uA, slew_uA_per_s=slew), NakCode.OUT_OF_RANGE
    )
    assert (nak.field, nak.limit) == (field, limit)


def test_set_intensity_needs_a_running_channel(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    command = SetIntensity(channel=0, target_uA=100, slew_uA_per_s=100)
    assert host.nak(command, NakCode.BAD_STATE).limit == ChannelState.IDLE
    host.program(make_program())
    assert host.nak(command, NakCode.BAD_STATE).limit == ChannelState.PROGRAMMED
    bad = SetIntensity(channel=7, target_uA=100, slew_uA_per_s=100)
    assert host.nak(bad, NakCode.BAD_CHANNEL).field == 0


def test_clear_fault_needs_a_session_and_a_valid_mask(
    host: RawHost, make_program: ProgramFactory
) -> None:
    nak = host.plain_call(ClearFault(channel_mask=1)).message
    assert isinstance(nak, Nak) and nak.code == NakCode.AUTH_REQUIRED
    host.hello()
    host.nak(ClearFault(channel_mask=0x40), NakCode.BAD_CHANNEL)
    host.device.stick_output(4, host.now_us, 100)
    host.wait(PERIOD_US)
    assert host.device.channel_state(4) == ChannelState.FAULT
    host.device.stick_output(4, host.now_us, 0)  # repaired
    host.ok(ClearFault(channel_mask=0x10))
    assert host.device.channel_state(4) == ChannelState.IDLE  # no program: back to IDLE


def test_every_host_message_gets_its_reply_type(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.device.open_pairing_window(host.now_us, 10)
    pair_ack = host.plain_call(Pair(host_label="second")).message
    assert isinstance(pair_ack, PairAck) and pair_ack.serial == host.device.model.serial
    assert isinstance(host.hello(), HelloAck)
    assert isinstance(host.get_info(), Info)
    expected: list[tuple[Message, type[Message]]] = [
        (make_program(), Ack),
        (GetProgram(channel=0), Program),
        (Start(channel_mask=1, program_crc=host.crcs(ch0=program_crc(make_program()))), Ack),
        (SetIntensity(channel=0, target_uA=1000, slew_uA_per_s=1000), Ack),
        (Heartbeat(), Status),
        (GetStatus(), Status),
        (GetDose(channel=0), Dose),
        (Stop(channel_mask=1, mode=StopMode.IMMEDIATE), Ack),
        (ClearFault(channel_mask=1), Ack),
        (Forget(key_id=pair_ack.key_id), Ack),
    ]
    for message, reply_type in expected:
        reply = host.ok(message)
        assert type(reply) is reply_type, message
        if isinstance(reply, Ack):
            assert reply.acked_type == message.MSG_TYPE
    assert pair_ack.key_id not in host.device.keys
    sent = {type(m).MSG_TYPE for m, _ in expected} | {MsgType.HELLO, MsgType.PAIR, MsgType.GET_INFO}
    assert sent == {t for t in MsgType if not t.from_device}


def test_forget_erases_the_key_and_ends_its_session(host: RawHost) -> None:
    host.hello()
    assert host.nak(Forget(key_id=host.key_id ^ 1), NakCode.NOT_PAIRED).field == 0
    host.ok(Forget(key_id=host.key_id))
    assert [(e.code, e.detail) for e in host.take_events()][-1] == (
        EventCode.SESSION_CLOSED,
        SessionClosed.FORGOTTEN,
    )
    assert host.session is None and host.device.session is None
    assert host.key_id not in host.device.keys
    nak = host.hello_replies()[0].message
    assert isinstance(nak, Nak) and nak.code == NakCode.NOT_PAIRED


def test_forget_is_refused_while_an_output_is_active(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program)
    assert host.nak(Forget(key_id=host.key_id), NakCode.BAD_STATE).limit == ChannelState.RAMPING
    assert host.key_id in host.device.keys


# --- §3.11 reboot --------------------------------------------------------------------------


def test_a_reboot_is_visible_and_leaves_every_output_off(
    host: RawHost, make_program: ProgramFactory
) -> None:
    running(host, make_program)
    host.run_with_heartbeats(2 * S)
    old_boot = host.device.boot_id
    host.send(b"\x01\x02")  # a partial frame is lost in the reboot
    host.device.reboot(host.now_us)
    assert host.device.outputs_off
    assert host.collect() == []
    assert host.device.boot_id != old_boot
    events = host.events[-1:]
    assert (events[0].header.session_id, events[0].header.key) == (0, KeyKind.NONE)
    event = host.event(events[0])
    assert (event.code, event.channel, event.detail) == (
        EventCode.REBOOT,
        NO_CHANNEL,
        host.device.boot_id,
    )
    assert event.uptime_ms == 0
    assert host.nak(Heartbeat(), NakCode.NO_SESSION).limit == 0
    report = host.device.status()
    assert report.boot_id == host.device.boot_id
    assert report.flags == DeviceFlag.NONE
    assert all(c.state == ChannelState.IDLE for c in report.channels)
    assert (report.rx_err_count, report.last_applied_counter) == (0, 0)
    host.hello()  # the pairing key survives the reboot (flash)
    assert host.nak(GetProgram(channel=0), NakCode.NO_PROGRAM)
    host.wait(10 * S)
    assert host.device.outputs_off


# --- §7 every NAK code ---------------------------------------------------------------------


def test_every_nak_code_is_produced_somewhere(
    raw_host_type: type[RawHost], device: Device, make_program: ProgramFactory
) -> None:
    seen: set[NakCode] = set()
    host = raw_host_type(device, pair=False)

    def saw(reply: Message) -> None:
        assert isinstance(reply, Nak), reply
        seen.add(reply.code)

    def refused(message: Message, **header: Any) -> None:
        saw(host.call(message, **header))

    saw(host.plain_call(Pair(host_label="early")).message)  # PAIRING_CLOSED
    saw(host.plain_call(Heartbeat()).message)  # AUTH_REQUIRED
    saw(host.hello_replies(key_id=5, key=bytes(32))[0].message)  # NOT_PAIRED
    for label in range(8):  # fill the key store
        device.open_pairing_window(host.now_us, 10)
        host.pair(f"host {label}")
    device.open_pairing_window(host.now_us, 10)
    saw(host.plain_call(Pair(host_label="ninth")).message)  # KEY_STORE_FULL
    saw(host.hello_replies(schema_hash=0)[0].message)  # SCHEMA_MISMATCH
    saw(host.hello_replies(lease_ms=100)[0].message)  # OUT_OF_RANGE
    host.hello(lease_ms=200)
    saw(host.send(host.frame(GetStatus(), proto_major=3))[0].message)  # BAD_VERSION
    refused(GetStatus(), incompat_flags=0x80)
    refused(Start(channel_mask=0, program_crc=(0,) * 8))
    refused(Ack(acked_type=1, value=0))
    refused(Heartbeat(), session_id=host.session_id + 1)
    refused(make_program(target_uA=30_000))
    refused(SetIntensity(channel=0, target_uA=1, slew_uA_per_s=1))
    crc = host.program(make_program())
    refused(Start(channel_mask=1, program_crc=host.crcs(ch0=crc + 1)))
    refused(Start(channel_mask=2, program_crc=host.crcs(ch1=crc)))
    refused(GetDose(channel=6))
    host.start(ch0=crc)
    host.run_with_heartbeats(2 * S)
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    host.wait(100 * MS)
    refused(Start(channel_mask=1, program_crc=host.crcs(ch0=crc)))  # NONZERO_START
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    host.wait(1 * S)  # the lease lapses with nothing running: the session stays
    refused(Start(channel_mask=1, program_crc=host.crcs(ch0=crc)))  # NO_LEASE
    host.heartbeat()
    assert isinstance(host.start(ch0=crc), Ack)
    host.device.press_stop_button(host.now_us)
    refused(Start(channel_mask=1, program_crc=host.crcs(ch0=crc)))  # FAULT_LATCHED
    host.device.stick_output(0, host.now_us, 500)  # the output stage conducts: the self-test
    refused(ClearFault(channel_mask=1))
    assert seen == set(NakCode)


# --- §3.12 EVENT, duplicates of HELLO --------------------------------------------------------


def test_events_are_unsolicited_in_the_open_session_with_the_uptime(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    host.wait(123 * MS)
    crc = host.program(make_program(ramp_up_ms=1000))
    host.start(ch0=crc)
    host.run_with_heartbeats(2 * S)
    frames = [f for f in host.events if host.event(f).code == EventCode.RAMP_DONE]
    assert len(frames) == 1
    header, event = frames[0].header, host.event(frames[0])
    assert (header.session_id, header.ref_counter) == (host.session_id, 0)
    assert frames[0].authenticated
    assert (event.channel, event.detail, event.uptime_ms) == (0, 5000, 1123)


def test_a_retransmitted_hello_while_running_gets_its_hello_ack_again(
    host: RawHost, make_program: ProgramFactory
) -> None:
    hello, frame = host.hello_frame()
    first = host.send_hello(hello, frame)
    crc = host.program(make_program())
    host.start(ch0=crc)
    again = host.send_hello(hello, frame)  # not refused with BAD_STATE, no new session
    assert [r.message for r in again] == [r.message for r in first]
    assert again[0].header.ref_counter == first[0].header.ref_counter
    assert host.device.channel_state(0) == ChannelState.RAMPING
    assert host.device.session_id == host.session_id


def test_intermittent_delivers_only_in_on_windows(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    crc = host.program(make_program(Mode.INTERMITTENT, freq_a_cHz=1000, on_ms=1500, off_ms=1500))
    host.start(ch0=crc)
    host.run_with_heartbeats(1 * S)
    assert host.heartbeat().channels[0].freq_cHz == 1000
    host.run_with_heartbeats(2 * S)
    assert host.heartbeat().channels[0].freq_cHz == 0  # an off window
    host.run_with_heartbeats(6 * S)
    host.dose(0)
    onsets = host.device.recorder[0].pulse_table(0, 6 * S)["t_us"]
    assert len(onsets) == 2 * 15
    assert all((t % (3 * S)) < 1500 * MS for t in onsets)
