"""LinkMachine: the link's protocol state with no port, no thread and no clock (STYLE.md 14).

Byte transcripts: every frame fed in is built with ``firmware_protocol``'s encoder, tagged as the
device would (``tests/support/devicepeer.py``: a fixed pairing key and both nonces fixed, so the
session keys and every byte are the same in every run), every byte the machine queues is
compared with the encoder's own frame, and every time is an explicit ``now_s``. Times are binary
fractions where they are compared exactly.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eacontrol.errors import CounterExhausted, LinkTimeout
from eacontrol.link import (
    COUNTER_MAX,
    COUNTER_RESERVE,
    DEFAULT_MAX_ATTEMPTS,
    AuthenticationFailed,
    DEFAULT_REPLY_TIMEOUT_s,
    EventReceived,
    FrameRejected,
    LinkEvent,
    LinkMachine,
    LinkSilent,
    ReplyReceived,
    SessionEnded,
    StatusReceived,
)
from eacontrol.link.machine import OVERTAKEN_REPEATS
from firmware_protocol import (
    SCHEMA_HASH,
    Ack,
    ChannelState,
    ChannelStatus,
    ClearFault,
    DeviceFlag,
    Event,
    EventCode,
    Fault,
    FrameDecoder,
    GetInfo,
    GetStatus,
    Heartbeat,
    Hello,
    HelloAck,
    Info,
    InfoFlag,
    KeyKind,
    Message,
    MsgType,
    Nak,
    NakCode,
    OversizeFrame,
    RawFrame,
    Status,
    Stop,
    StopMode,
    VersionMismatch,
    encode_frame,
    hello_key,
)
from tests.support.devicepeer import (
    TEST_DEVICE_NONCE,
    TEST_KEY,
    TEST_KEY_ID,
    TEST_SESSION,
    DevicePeer,
)

SESSION = TEST_SESSION
BOOT = 0xB0070001
LEASE_s = 0.5
HOST_NONCE = bytes(range(16))
HELLO = Hello(key_id=TEST_KEY_ID, host_nonce=HOST_NONCE, lease_ms=500, schema_hash=SCHEMA_HASH)


def status(uptime_ms: int = 1000, boot_id: int = BOOT) -> Status:
    idle = ChannelStatus(ChannelState.IDLE, Fault.NONE, 0, 0, 0, 0xFFFF, 0)
    return Status(
        boot_id=boot_id,
        uptime_ms=uptime_ms,
        lease_remaining_ms=500,
        last_applied_counter=0,
        rx_err_count=0,
        auth_fail_count=0,
        replay_count=0,
        flags=DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID,
        channels=(idle, idle),
    )


def session_peer() -> DevicePeer:
    """The device side of the session ``opened`` opens (same keys every time)."""
    peer = DevicePeer()
    peer.accept_hello(raw(encode_frame(HELLO, key=hello_key(TEST_KEY), kind=KeyKind.PAIRING)))
    return peer


def raw(data: bytes) -> RawFrame:
    (frame,) = FrameDecoder().feed(data)
    assert isinstance(frame, RawFrame), frame
    return frame


def from_device(message: Message, *, ref_counter: int = 0, counter: int = 2) -> bytes:
    """A device frame of the session ``opened`` opened (HELLO_ACK was device counter 1)."""
    return session_peer().frame(message, ref_counter=ref_counter, counter=counter)


def to_device(message: Message, counter: int) -> bytes:
    """A host frame of that session, as the host must send it."""
    keys = session_peer().keys
    assert keys is not None
    return encode_frame(message, key=keys.host_to_device, session_id=SESSION, counter=counter)


def decoded(data: bytes) -> Message:
    return raw(data).decode().message


def hello_ack() -> HelloAck:
    limits = {f.name: 1 for f in Info.LAYOUT if f.name not in ("model", "serial", "flags")}
    info = Info(**limits, model="FAKE", serial="FAKE-0001", flags=InfoFlag.NONE)  # type: ignore[arg-type]
    fields = {f.name: getattr(info, f.name) for f in Info.LAYOUT}
    return HelloAck(
        **fields, boot_id=BOOT, session_id=SESSION, lease_ms=500, device_nonce=TEST_DEVICE_NONCE
    )


def opened(
    now_s: float = 0.0,
    reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s,
    initial_counter: int = 0,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> LinkMachine:
    """A machine whose HELLO (host counter ``initial_counter + 1``) opened ``SESSION``."""
    machine = LinkMachine(
        reply_timeout_s=reply_timeout_s,
        initial_counter=initial_counter,
        max_attempts=max_attempts,
    )
    counter = machine.send_hello(HELLO, TEST_KEY, now_s)
    peer = DevicePeer()
    peer.accept_hello(raw(machine.data_to_send()))
    events = machine.receive(peer.hello_ack(hello_ack(), counter), now_s)
    assert [type(e) for e in events] == [ReplyReceived]
    machine.forget(counter)
    machine.open_session(SESSION, LEASE_s, BOOT, 2, now_s)
    return machine


# --- sending: exact bytes out --------------------------------------------------------------


def test_a_command_is_queued_as_the_encoders_frame_with_the_next_counter() -> None:
    machine = LinkMachine()
    assert machine.send(GetInfo(), 0.0) == 1
    assert machine.data_to_send() == encode_frame(GetInfo(), counter=1)  # key 0: no session
    assert machine.data_to_send() == b""  # taken once
    machine = opened()  # HELLO was counter 1
    assert machine.send(ClearFault(channel_mask=1), 0.0) == 2
    assert machine.data_to_send() == to_device(ClearFault(channel_mask=1), 2)
    assert machine.send(GetInfo(), 0.0) == 3  # GET_INFO is never tagged
    assert machine.data_to_send() == encode_frame(GetInfo(), counter=3)
    assert [r.direction for r in machine.frame_log] == ["tx", "rx", "tx", "tx"]


def test_a_command_is_encoded_once_for_its_frame_and_its_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine = opened()
    encoded: list[Message] = []
    real = ClearFault.encode

    def counting(self: ClearFault) -> bytes:
        encoded.append(self)
        return real(self)

    monkeypatch.setattr(ClearFault, "encode", counting)
    command = ClearFault(channel_mask=1)
    machine.send(command, 0.0)
    assert encoded == [command]  # issue 18: Link.send no longer encodes each message twice
    assert machine.data_to_send() == to_device(command, 2)
    last = list(machine.frame_log)[-1].frame
    assert last is not None and last.header.payload_len == len(real(command))


def test_hello_is_tagged_with_the_hello_key_and_its_ack_opens_the_session() -> None:
    machine = LinkMachine()
    with pytest.raises(TypeError, match="send_hello"):
        machine.send(HELLO, 0.0)
    counter = machine.send_hello(HELLO, TEST_KEY, 0.0)
    assert machine.data_to_send() == encode_frame(
        HELLO, key=hello_key(TEST_KEY), kind=KeyKind.PAIRING, counter=counter
    )
    with pytest.raises(ValueError, match="not opened by a verified HELLO_ACK"):
        machine.open_session(SESSION, LEASE_s, BOOT, 2, 0.0)
    peer = DevicePeer()
    peer.accept_hello(raw(encode_frame(HELLO, key=hello_key(TEST_KEY), kind=KeyKind.PAIRING)))
    events = machine.receive(peer.hello_ack(hello_ack(), counter), 0.01)
    assert [type(e) for e in events] == [ReplyReceived]
    assert (machine.session_id, machine.device_counter) == (SESSION, 1)


def test_retransmissions_keep_their_counter_and_counters_only_increase() -> None:
    machine = opened()
    previous = 1
    for _ in range(300):
        counter = machine.send(GetStatus(), 0.0)
        assert counter == previous + 1
        machine.retransmit(counter, 0.5)  # takes no new counter
        machine.forget(counter)
        previous = counter
    assert machine.last_counter == 301


# --- receiving: exact bytes in, events out -------------------------------------------------


def test_reply_is_matched_by_ref_counter_and_type_and_taken_once() -> None:
    machine = opened()
    counter = machine.send(ClearFault(channel_mask=1), 0.0)
    wrong_type = from_device(Ack(acked_type=MsgType.START, value=0), ref_counter=counter, counter=2)
    wrong_counter = from_device(
        Ack(acked_type=MsgType.CLEAR_FAULT, value=0), ref_counter=999, counter=3
    )
    assert machine.receive(wrong_type + wrong_counter, 0.25) == []
    assert machine.reply_to(counter) is None
    right = from_device(
        Ack(acked_type=MsgType.CLEAR_FAULT, value=7), ref_counter=counter, counter=4
    )
    events = machine.receive(right, 0.5)
    assert len(events) == 1 and isinstance(events[0], ReplyReceived)
    assert (events[0].counter, events[0].time_s) == (counter, 0.5)
    assert events[0].frame.message == Ack(acked_type=MsgType.CLEAR_FAULT, value=7)
    # resent from the device's cache: a new device counter, the old ref_counter
    late = from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=7), ref_counter=counter, counter=5)
    assert machine.receive(late, 0.75) == []
    reply = machine.reply_to(counter)
    assert reply is not None and reply.message == Ack(acked_type=MsgType.CLEAR_FAULT, value=7)
    machine.forget(counter)
    assert machine.reply_to(counter) is None
    assert machine.sent_at(counter) == float("-inf")


def test_status_reply_is_reported_as_status_and_as_the_reply() -> None:
    machine = opened()
    counter = machine.send(GetStatus(), 0.0)
    events = machine.receive(from_device(status(), ref_counter=counter), 0.125)
    assert [type(e) for e in events] == [StatusReceived, ReplyReceived]
    assert events[0] == StatusReceived(status(), counter, 0.125)
    assert machine.latest_status == status()
    assert machine.status_after(counter - 1) == status()
    assert machine.status_after(counter) is None  # answers counter itself, not a later request
    resent = from_device(status(uptime_ms=1000), ref_counter=counter, counter=3)
    assert machine.receive(resent, 0.25) == []  # a cache resend is no new STATUS


def test_stale_status_is_not_reported_and_does_not_replace_a_newer_one() -> None:
    machine = opened()
    assert len(machine.receive(from_device(status(uptime_ms=2000), counter=2), 0.25)) == 1
    assert machine.receive(from_device(status(uptime_ms=1000), counter=3), 0.5) == []
    assert machine.latest_status == status(uptime_ms=2000)


def test_device_event_is_reported_with_the_devices_counter() -> None:
    machine = opened()
    event = Event(code=EventCode.RAMP_DONE, channel=0, detail=2500, uptime_ms=9)
    assert machine.receive(from_device(event, counter=7), 0.25) == [EventReceived(event, 7, 0.25)]


def test_garbage_is_rejected_counted_and_logged() -> None:
    machine = opened()
    events = machine.receive(b"HELLO? AT OK\r\n\x00", 0.25)
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert machine.rx_error_count == 1
    assert machine.frame_log.records()[-1].error is events[0].error


def test_reboot_seen_in_status_ends_the_session_and_the_heartbeats() -> None:
    machine = opened()
    events = machine.receive(from_device(status(boot_id=0x0BADB007)), 0.25)
    assert [type(e) for e in events] == [StatusReceived, SessionEnded]
    ended = events[1]
    assert isinstance(ended, SessionEnded) and ended.fault.faults == ("REBOOT",)
    assert machine.ended is ended.fault
    assert machine.next_deadline_s() == float("inf")
    machine.keep_alive(1.0)
    assert machine.data_to_send() == b""


def test_unauthenticated_no_session_nak_ends_the_session_and_answers_nothing() -> None:
    machine = opened()
    counter = machine.send(GetStatus(), 0.0)
    machine.data_to_send()
    nak = Nak(nak_type=MsgType.GET_STATUS, code=NakCode.NO_SESSION, field=0xFF, limit=0)
    events = machine.receive(encode_frame(nak, ref_counter=counter), 0.25)
    assert [type(e) for e in events] == [SessionEnded]
    assert machine.ended is not None and machine.ended.faults == ("NO_SESSION",)
    assert machine.reply_to(counter) is None  # a key-0 frame confirms nothing


def test_unauthenticated_frames_never_count_as_status_nor_confirm() -> None:
    machine = opened()
    counter = machine.send(Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), 0.0)
    ack = Ack(acked_type=MsgType.STOP, value=0)
    unauthenticated = encode_frame(status(), ref_counter=counter) + encode_frame(
        ack, ref_counter=counter
    )
    assert machine.receive(unauthenticated, 0.25) == []
    assert machine.latest_status is None and machine.reply_to(counter) is None
    for now_s in (0.5, 1.0):
        assert machine.check_silence(now_s) is None
    assert machine.check_silence(1.5) is not None  # no STATUS was heard


def test_session_closed_event_ends_the_session() -> None:
    machine = opened()
    closed = Event(code=EventCode.SESSION_CLOSED, channel=0xFF, detail=1, uptime_ms=9)
    events = machine.receive(from_device(closed), 0.25)
    assert [type(e) for e in events] == [EventReceived, SessionEnded]
    assert machine.ended is not None and "LEASE" in str(machine.ended)


# --- retry and timeout ----------------------------------------------------------------------


def test_retry_repeats_the_same_bytes_until_attempts_run_out() -> None:
    machine = LinkMachine(reply_timeout_s=0.03125, max_attempts=3)
    counter = machine.send(GetInfo(), 1.0)
    first = machine.data_to_send()
    assert machine.retry_if_due(counter, 1.0) == 1.03125
    assert machine.retry_if_due(counter, 1.03124) == 1.03125
    assert machine.data_to_send() == b""  # not due yet
    assert machine.retry_if_due(counter, 1.03125) == 1.0625
    assert machine.data_to_send() == first  # same counter, byte for byte
    assert machine.sent_at(counter) == 1.03125
    assert machine.retry_if_due(counter, 1.0625) == 1.09375
    assert machine.data_to_send() == first
    machine.receive(b"\x05ab\x00", 1.07)  # garbage meanwhile is named in the timeout
    with pytest.raises(LinkTimeout) as info:
        machine.retry_if_due(counter, 1.09375)
    assert str(info.value).startswith(
        "no reply to GET_INFO (counter 1) after 3 transmissions over 0.094 s; "
        "1 undecodable frame(s) arrived meanwhile"
    )
    assert machine.data_to_send() == b""
    flags = [r.retransmission for r in machine.frame_log if r.direction == "tx"]
    assert flags == [False, True, True]


def test_an_overtaken_command_is_sent_again_under_a_new_counter() -> None:
    """The device answered a later counter, so a lost command's repeats would be dropped as
    replays: after OVERTAKEN_REPEATS repeats it goes out under a new counter."""
    machine = opened(reply_timeout_s=0.03125)
    lost = machine.send(ClearFault(channel_mask=1), 0.0)
    first = machine.data_to_send()
    later = machine.send(GetStatus(), 0.0)
    machine.data_to_send()
    machine.receive(from_device(status(), ref_counter=later), 0.01)
    for k in range(OVERTAKEN_REPEATS):
        machine.retry_if_due(lost, 0.03125 * (k + 1))
        assert machine.data_to_send() == first
    machine.retry_if_due(lost, 0.03125 * (OVERTAKEN_REPEATS + 1))
    assert machine.data_to_send() == to_device(ClearFault(channel_mask=1), later + 1)
    ack = Ack(acked_type=MsgType.CLEAR_FAULT, value=0)
    events = machine.receive(from_device(ack, ref_counter=later + 1, counter=3), 0.2)
    assert [e.counter for e in events if isinstance(e, ReplyReceived)] == [lost]
    assert machine.reply_to(lost) is not None  # the caller's name for it is unchanged


def test_verified_but_unacceptable_reply_is_raised_by_retry() -> None:
    machine = LinkMachine()
    counter = machine.send(GetInfo(), 0.0)
    nak = Nak(nak_type=MsgType.GET_INFO, code=NakCode.BAD_VERSION, field=0xFF, limit=3)
    other_major = encode_frame(nak, ref_counter=counter, proto_major=3)
    events = machine.receive(other_major, 0.01)
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, VersionMismatch)
    with pytest.raises(VersionMismatch):
        machine.retry_if_due(counter, 0.02)


# --- the end of the counter ---------------------------------------------------------------------


def test_counter_in_its_reserve_refuses_new_commands_but_lets_the_stop_through() -> None:
    start = COUNTER_MAX - COUNTER_RESERVE - 2
    machine = opened(initial_counter=start)  # HELLO took start + 1
    assert machine.send(ClearFault(channel_mask=1), 0.0) == start + 2  # the last one outside
    assert machine.exhausted is None
    with pytest.raises(CounterExhausted, match="must end"):
        machine.send(ClearFault(channel_mask=1), 0.0)
    assert machine.exhausted is not None
    stop = machine.send(Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), 0.0)
    assert stop == start + 3 and machine.send(GetStatus(), 0.0) == start + 4


def test_counter_never_reaches_its_last_value() -> None:
    machine = opened(initial_counter=COUNTER_MAX - COUNTER_RESERVE - 1)
    while machine.last_counter < COUNTER_MAX - 1:
        machine.forget(machine.send(GetStatus(), 0.0))
    assert machine.send(Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), 0.0) == COUNTER_MAX
    with pytest.raises(CounterExhausted, match="used up"):
        machine.send(Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), 0.0)
    assert machine.abandon() == b""  # not even the best-effort STOP: 0xFFFFFFFF is never sent


# --- the heartbeat lease ----------------------------------------------------------------------


def test_heartbeats_every_fifth_of_the_lease_with_deadlines() -> None:
    machine = opened(0.0)
    assert machine.heartbeat_interval_s == 0.1
    assert machine.next_deadline_s() == 0.0  # the first heartbeat is due at once
    machine.keep_alive(0.0)
    assert machine.data_to_send() == to_device(Heartbeat(), 2)
    assert machine.next_deadline_s() == DEFAULT_REPLY_TIMEOUT_s  # its STATUS is due
    machine.receive(from_device(status(), ref_counter=2), 0.002)
    assert machine.next_deadline_s() == 0.1  # answered: the next heartbeat
    machine.keep_alive(0.099)
    assert machine.data_to_send() == b""
    machine.keep_alive(0.1)
    assert machine.data_to_send() == to_device(Heartbeat(), 3)


def test_unanswered_heartbeat_is_repeated_with_its_counter() -> None:
    machine = opened(0.0, reply_timeout_s=0.03125)
    machine.keep_alive(0.0)
    first = machine.data_to_send()
    machine.keep_alive(0.03)
    assert machine.data_to_send() == b""
    assert machine.next_deadline_s() == 0.03125
    machine.keep_alive(0.03125)
    assert machine.data_to_send() == first


def test_no_heartbeat_before_hello_or_after_close() -> None:
    machine = LinkMachine()
    machine.keep_alive(5.0)
    assert machine.data_to_send() == b""
    assert machine.next_deadline_s() == float("inf")
    assert machine.check_silence(100.0) is None
    machine = opened(0.0)
    machine.close()
    machine.keep_alive(1.0)
    assert machine.data_to_send() == b""


def test_silence_for_three_leases_is_reported() -> None:
    machine = opened(0.0)
    machine.receive(from_device(status()), 0.25)
    for now_s in (0.5, 0.75, 1.0, 1.25, 1.5):
        assert machine.check_silence(now_s) is None
    silent = machine.check_silence(1.75)
    assert silent == LinkSilent(1.5, LEASE_s, 3)
    assert silent.reason == "no STATUS from the device for 1.500 s (3 lease periods of 0.5 s)"


def test_a_blocked_caller_counts_silence_from_its_return() -> None:
    machine = opened(0.0)
    assert machine.check_silence(0.25) is None
    assert machine.check_silence(4.0) is None  # away far beyond three leases: not a loss
    assert machine.next_deadline_s() == 0.0  # the heartbeat is overdue, so due at once
    machine.keep_alive(4.0)
    assert machine.next_deadline_s() == 4.0 + DEFAULT_REPLY_TIMEOUT_s
    for now_s in (4.5, 5.0):
        assert machine.check_silence(now_s) is None
    assert machine.check_silence(5.5) == LinkSilent(1.5, LEASE_s, 3)


def test_abandon_returns_an_immediate_stop_of_every_channel() -> None:
    machine = opened(0.0)
    machine.keep_alive(0.0)  # counter 2, never written
    stop = machine.abandon()
    assert stop == to_device(Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), 3)
    assert machine.data_to_send() == b""  # what was queued is dropped
    machine.keep_alive(1.0)
    assert machine.data_to_send() == b""
    assert LinkMachine().abandon() == b""  # no session, nothing to stop


# --- chunking ---------------------------------------------------------------------------------

_FRAMES = [
    from_device(status(uptime_ms=1000), ref_counter=2, counter=2),
    from_device(status(uptime_ms=3000), counter=3),
    from_device(status(uptime_ms=2000), counter=4),  # stale once 3000 was seen
    from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=0), ref_counter=3, counter=5),
    from_device(Event(code=EventCode.STOPPED, channel=1, detail=0, uptime_ms=5), counter=6),
    from_device(status(boot_id=0x0BADB007), counter=7),
]
_GARBAGE = [
    b"\x05ab\x00",  # a broken COBS code
    bytes(range(1, 40)) + b"\x00",  # decodes, fails its length and CRC
    bytes([1]) * 300 + b"\x00",  # longer than any frame (MAX_ENCODED_FRAME)
]
_STREAM_PIECES = [*_FRAMES, *_GARBAGE, b"\x00\x00"]  # empty frames are skipped


def _comparable(events: list[LinkEvent]) -> list[object]:
    # Errors are exceptions, which compare by identity: compare their type and text instead.
    out: list[object] = []
    for e in events:
        if isinstance(e, FrameRejected):
            # An oversize piece is named by the decoder's buffer cap or by decode_frame,
            # depending on whether its delimiter came in the same chunk: same type, other text.
            text = "" if isinstance(e.error, OversizeFrame) else str(e.error)
            out.append((type(e.error), text, e.time_s))
        elif isinstance(e, SessionEnded):
            out.append((str(e.fault), e.fault.faults, e.time_s))
        elif isinstance(e, AuthenticationFailed):
            out.append((type(e.error), str(e.error), e.time_s))
        else:
            out.append(e)
    return out


@given(
    pieces=st.lists(st.sampled_from(_STREAM_PIECES), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=20),
)
def test_any_chunking_of_the_stream_gives_the_same_events(
    pieces: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(pieces)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    chunks = [stream[a:b] for a, b in itertools.pairwise(bounds)]

    def fresh() -> LinkMachine:
        machine = opened(0.0)
        machine.send(GetStatus(), 0.0)  # counter 2
        machine.send(ClearFault(channel_mask=1), 0.0)  # counter 3
        return machine

    whole, split = fresh(), fresh()
    expected = whole.receive(stream, 0.5)
    got = [event for chunk in chunks for event in split.receive(chunk, 0.5)]
    assert _comparable(got) == _comparable(expected)
    # The model: a copy of the last device frame accepted is ignored (the line sent it twice);
    # any other frame whose counter is not above the last one accepted is a link fault, and
    # nothing after it is taken.
    accepted: list[bytes] = []
    garbage = 0
    faulted = False
    for piece in pieces:
        if piece in _FRAMES:
            if accepted and piece == accepted[-1]:
                continue
            if accepted and _FRAMES.index(piece) <= _FRAMES.index(accepted[-1]):
                faulted = True
                break
            accepted.append(piece)
        else:
            garbage += piece in _GARBAGE
    faults = [e for e in expected if isinstance(e, AuthenticationFailed)]
    assert len(faults) == faulted
    assert sum(isinstance(e, FrameRejected) for e in expected) == garbage
    assert sum(isinstance(e, EventReceived) for e in expected) == accepted.count(_FRAMES[4])
    assert (split.latest_status, split.rx_error_count) == (
        whole.latest_status,
        whole.rx_error_count,
    )
    assert split.reply_to(1) == whole.reply_to(1) and split.reply_to(2) == whole.reply_to(2)
    assert (split.ended is None) == (whole.ended is None)


# --- the sans-I/O claim ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [
        "machine.py",
        "receiving.py",
        "lease.py",
        "auth.py",
        "counter.py",
        "events.py",
        "pending.py",
        "watch.py",
        "framelog.py",
    ],
)
def test_the_machine_does_no_io_and_reads_no_clock(module: str) -> None:
    path = Path(__file__).resolve().parents[2] / "eacontrol" / "link" / module
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    roots = {n.split(".")[0] for n in names}
    assert not roots & {"serial", "time", "socket", "threading", "select", "os", "asyncio"}
    assert not names & {"eacontrol.link.clock", "eacontrol.link.transport"}
