"""LinkMachine: the link's protocol state with no port, no thread and no clock (STYLE.md 14).

Byte transcripts: every frame fed in is built with ``firmware_protocol``'s encoder, every byte
the machine queues is compared with the encoder's own frame, and every time is an explicit
``now_s``. Times are binary fractions where they are compared exactly.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eacontrol.errors import LinkTimeout
from eacontrol.link import (
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
from firmware_protocol import (
    Ack,
    ChannelState,
    ChannelStatus,
    ClearFault,
    DeviceFlag,
    Event,
    EventCode,
    Fault,
    FrameDecoder,
    GetStatus,
    Heartbeat,
    Message,
    MsgType,
    Nak,
    NakCode,
    OversizeFrame,
    Status,
    Stop,
    StopMode,
    VersionMismatch,
    encode_frame,
)

SESSION = 0x5EA1
BOOT = 0xB0070001
LEASE_s = 0.5


def status(uptime_ms: int = 1000, boot_id: int = BOOT) -> Status:
    idle = ChannelStatus(ChannelState.IDLE, Fault.NONE, 0, 0, 0, 0xFFFF, 0)
    return Status(
        boot_id=boot_id,
        uptime_ms=uptime_ms,
        lease_remaining_ms=500,
        last_applied_seq=0,
        rx_err_count=0,
        flags=DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID,
        channels=(idle, idle),
    )


def from_device(message: Message, *, ref_seq: int = 0, seq: int = 1) -> bytes:
    return encode_frame(message, session_id=SESSION, seq=seq, ref_seq=ref_seq)


def decoded(data: bytes) -> Message:
    (frame,) = FrameDecoder().feed(data)
    assert not isinstance(frame, Exception)
    return frame.message


def opened(now_s: float = 0.0, reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s) -> LinkMachine:
    machine = LinkMachine(reply_timeout_s=reply_timeout_s)
    machine.open_session(SESSION, LEASE_s, BOOT, 2, now_s)
    return machine


# --- sending: exact bytes out --------------------------------------------------------------


def test_a_command_is_queued_as_the_encoders_frame_with_the_next_seq() -> None:
    machine = LinkMachine()
    assert machine.send(GetStatus(), 0.0) == 1
    assert machine.data_to_send() == encode_frame(GetStatus(), session_id=0, seq=1)
    assert machine.data_to_send() == b""  # taken once
    machine.open_session(SESSION, LEASE_s, BOOT, 2, 0.0)
    assert machine.send(ClearFault(channel_mask=1), 0.0) == 2
    assert machine.data_to_send() == encode_frame(
        ClearFault(channel_mask=1), session_id=SESSION, seq=2
    )
    assert [r.direction for r in machine.frame_log] == ["tx", "tx"]


def test_retransmissions_keep_their_seq_and_seq_wraps_past_zero() -> None:
    machine = LinkMachine()
    for expected in range(1, 0x10000):
        seq = machine.send(GetStatus(), 0.0)
        assert seq == expected
        if seq == 2:
            machine.retransmit(seq, 0.5)  # takes no new seq
        machine.forget(seq)
    assert machine.send(GetStatus(), 0.0) == 1  # after 65535: 0 never names a command


# --- receiving: exact bytes in, events out -------------------------------------------------


def test_reply_is_matched_by_ref_seq_and_type_and_taken_once() -> None:
    machine = opened()
    seq = machine.send(ClearFault(channel_mask=1), 0.0)
    wrong_type = from_device(Ack(acked_type=MsgType.START, value=0), ref_seq=seq, seq=1)
    wrong_seq = from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=0), ref_seq=999, seq=2)
    assert machine.receive(wrong_type + wrong_seq, 0.25) == []
    assert machine.reply_to(seq) is None
    right = from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=7), ref_seq=seq, seq=3)
    events = machine.receive(right, 0.5)
    assert len(events) == 1 and isinstance(events[0], ReplyReceived)
    assert (events[0].seq, events[0].time_s) == (seq, 0.5)
    assert events[0].frame.message == Ack(acked_type=MsgType.CLEAR_FAULT, value=7)
    late = from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=8), ref_seq=seq, seq=4)
    assert machine.receive(late, 0.75) == []  # a late duplicate is harmless
    reply = machine.reply_to(seq)
    assert reply is not None and reply.message == Ack(acked_type=MsgType.CLEAR_FAULT, value=7)
    machine.forget(seq)
    assert machine.reply_to(seq) is None
    assert machine.sent_at(seq) == float("-inf")


def test_status_reply_is_reported_as_status_and_as_the_reply() -> None:
    machine = opened()
    seq = machine.send(GetStatus(), 0.0)
    events = machine.receive(from_device(status(), ref_seq=seq), 0.125)
    assert [type(e) for e in events] == [StatusReceived, ReplyReceived]
    assert events[0] == StatusReceived(status(), seq, 0.125)
    assert machine.latest_status == status()
    assert machine.status_after(seq - 1) == status()
    assert machine.status_after(seq) is None  # answers seq itself, not a request after it


def test_stale_status_is_not_reported_and_does_not_replace_a_newer_one() -> None:
    machine = opened()
    assert len(machine.receive(from_device(status(uptime_ms=2000), seq=1), 0.25)) == 1
    assert machine.receive(from_device(status(uptime_ms=1000), seq=2), 0.5) == []
    assert machine.latest_status == status(uptime_ms=2000)


def test_device_event_is_reported_with_the_devices_seq() -> None:
    machine = opened()
    event = Event(code=EventCode.RAMP_DONE, channel=0, detail=2500, uptime_ms=9)
    frame = from_device(event, seq=7)
    assert machine.receive(frame + frame, 0.25) == [
        EventReceived(event, 7, 0.25),
        EventReceived(event, 7, 0.25),  # duplicates are the device layer's to drop
    ]


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


def test_no_session_nak_ends_the_session() -> None:
    machine = opened()
    seq = machine.send(GetStatus(), 0.0)
    machine.data_to_send()
    nak = Nak(nak_type=MsgType.GET_STATUS, code=NakCode.NO_SESSION, field=0xFF, limit=0)
    events = machine.receive(from_device(nak, ref_seq=seq), 0.25)
    assert [type(e) for e in events] == [ReplyReceived, SessionEnded]
    assert machine.ended is not None


# --- retry and timeout ----------------------------------------------------------------------


def test_retry_repeats_the_same_bytes_until_attempts_run_out() -> None:
    machine = LinkMachine(reply_timeout_s=0.03125, max_attempts=3)
    seq = machine.send(ClearFault(channel_mask=1), 1.0)
    first = machine.data_to_send()
    assert machine.retry_if_due(seq, 1.0) == 1.03125
    assert machine.retry_if_due(seq, 1.03124) == 1.03125
    assert machine.data_to_send() == b""  # not due yet
    assert machine.retry_if_due(seq, 1.03125) == 1.0625
    assert machine.data_to_send() == first  # same seq, byte for byte
    assert machine.sent_at(seq) == 1.03125
    assert machine.retry_if_due(seq, 1.0625) == 1.09375
    assert machine.data_to_send() == first
    machine.receive(b"\x05ab\x00", 1.07)  # garbage meanwhile is named in the timeout
    with pytest.raises(LinkTimeout) as info:
        machine.retry_if_due(seq, 1.09375)
    assert str(info.value).startswith(
        "no reply to CLEAR_FAULT (seq 1) after 3 transmissions over 0.094 s; "
        "1 undecodable frame(s) arrived meanwhile"
    )
    assert machine.data_to_send() == b""
    flags = [r.retransmission for r in machine.frame_log if r.direction == "tx"]
    assert flags == [False, True, True]


def test_verified_but_unacceptable_reply_is_raised_by_retry() -> None:
    machine = LinkMachine()
    seq = machine.send(GetStatus(), 0.0)
    nak = Nak(nak_type=MsgType.GET_STATUS, code=NakCode.BAD_VERSION, field=0xFF, limit=2)
    other_major = encode_frame(nak, session_id=0, seq=1, ref_seq=seq, proto_major=2)
    events = machine.receive(other_major, 0.01)
    assert len(events) == 1 and isinstance(events[0], FrameRejected)
    assert isinstance(events[0].error, VersionMismatch)
    with pytest.raises(VersionMismatch):
        machine.retry_if_due(seq, 0.02)


# --- the heartbeat lease ----------------------------------------------------------------------


def test_heartbeats_every_fifth_of_the_lease_with_deadlines() -> None:
    machine = opened(0.0)
    assert machine.heartbeat_interval_s == 0.1
    assert machine.next_deadline_s() == 0.0  # the first heartbeat is due at once
    machine.keep_alive(0.0)
    assert machine.data_to_send() == encode_frame(Heartbeat(), session_id=SESSION, seq=1)
    assert machine.next_deadline_s() == DEFAULT_REPLY_TIMEOUT_s  # its STATUS is due
    machine.receive(from_device(status(), ref_seq=1), 0.002)
    assert machine.next_deadline_s() == 0.1  # answered: the next heartbeat
    machine.keep_alive(0.099)
    assert machine.data_to_send() == b""
    machine.keep_alive(0.1)
    assert machine.data_to_send() == encode_frame(Heartbeat(), session_id=SESSION, seq=2)


def test_unanswered_heartbeat_is_repeated_with_its_seq() -> None:
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
    machine.keep_alive(0.0)  # seq 1, never written
    stop = machine.abandon()
    assert stop == encode_frame(
        Stop(channel_mask=0b11, mode=StopMode.IMMEDIATE), session_id=SESSION, seq=2
    )
    assert machine.data_to_send() == b""  # what was queued is dropped
    machine.keep_alive(1.0)
    assert machine.data_to_send() == b""
    assert LinkMachine().abandon() == b""  # no session, nothing to stop


# --- chunking ---------------------------------------------------------------------------------

_FRAMES = [
    from_device(status(uptime_ms=1000), ref_seq=1, seq=1),
    from_device(status(uptime_ms=3000), seq=2),
    from_device(status(uptime_ms=2000), seq=3),  # stale once 3000 was seen
    from_device(Ack(acked_type=MsgType.CLEAR_FAULT, value=0), ref_seq=2, seq=4),
    from_device(Event(code=EventCode.STOPPED, channel=1, detail=0, uptime_ms=5), seq=5),
    from_device(status(boot_id=0x0BADB007), seq=6),
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
        machine.send(GetStatus(), 0.0)  # seq 1
        machine.send(ClearFault(channel_mask=1), 0.0)  # seq 2
        return machine

    whole, split = fresh(), fresh()
    expected = whole.receive(stream, 0.5)
    got = [event for chunk in chunks for event in split.receive(chunk, 0.5)]
    assert _comparable(got) == _comparable(expected)
    garbage = sum(p in _GARBAGE for p in pieces)
    assert sum(isinstance(e, FrameRejected) for e in expected) == garbage
    events = sum(p == _FRAMES[4] for p in pieces)
    assert sum(isinstance(e, EventReceived) for e in expected) == events
    assert (split.latest_status, split.rx_error_count) == (whole.latest_status, garbage)
    assert split.reply_to(1) == whole.reply_to(1) and split.reply_to(2) == whole.reply_to(2)
    assert (split.ended is None) == (whole.ended is None)


# --- the sans-I/O claim ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module", ["machine.py", "events.py", "pending.py", "watch.py", "framelog.py"]
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
