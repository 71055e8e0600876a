"""Link logic against a scripted device: counter/ack/retry, NAKs, lease keeping, health, reboots.

Every byte the fake device sends is built with ``firmware_protocol``; time is a fake virtual clock.
"""

from __future__ import annotations

import pytest
import serial

from eacontrol.errors import (
    DeviceFault,
    DeviceNak,
    IdentityMismatch,
    IncompatibleDevice,
    LinkLost,
    LinkTimeout,
    ParameterError,
    ReadbackMismatch,
)
from eacontrol.link import LEASE_PERIODS_TO_LOSS
from eacontrol.stimulation import Stimulation
from firmware_protocol import (
    SCHEMA_HASH,
    Ack,
    ChannelState,
    ChannelStatus,
    Event,
    EventCode,
    Fault,
    Frame,
    KeyKind,
    Message,
    MsgType,
    Nak,
    NakCode,
    Program,
    SetProgram,
    Status,
    encode_frame,
    program_crc,
)

from .conftest import LOST, SESSION, Scripted

PROGRAM = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.5)


def drop_first(n: int, answer: list[Message] | None = None) -> object:
    """A handler that loses the first ``n`` transmissions, then answers by default."""
    seen = {"count": 0}

    def handler(frame: Frame) -> list[Message] | None:
        seen["count"] += 1
        return LOST if seen["count"] <= n else answer

    return handler


def test_hello_opens_session_and_reports_identity(scripted: Scripted) -> None:
    stim = scripted.connect(lease_ms=400)
    assert scripted.port.frames_written[0].header.msg_type == MsgType.GET_INFO
    hello = scripted.port.sent(MsgType.HELLO)[0]
    assert hello.header.key == KeyKind.PAIRING
    assert hello.message.key_id == scripted.device.peer.key_id  # type: ignore[attr-defined]
    assert len(hello.message.host_nonce) == 16  # type: ignore[attr-defined]
    assert hello.message.lease_ms == 400  # type: ignore[attr-defined]
    assert hello.message.schema_hash == SCHEMA_HASH  # type: ignore[attr-defined]
    assert stim.info.serial == "FAKE-0001"
    assert stim.info.firmware == "1.2.3"
    assert stim.info.session_id == SESSION
    assert stim.lease_s == 0.4
    assert stim.limits.max_intensity_mA == 20.0
    assert stim.limits.max_frequency_hz == 200.0
    assert stim.limits.max_phase_charge_uC == 10.0
    # every command after HELLO carries the session, tagged with its key
    after_hello = scripted.port.frames_written[2:]
    assert after_hello
    assert all(f.header.session_id == SESSION for f in after_hello)
    assert all(f.header.key == KeyKind.SESSION for f in after_hello)


def test_retransmission_reuses_counter_and_bytes(scripted: Scripted) -> None:
    stim = scripted.connect()
    scripted.device.handlers[MsgType.SET_PROGRAM] = drop_first(2)  # type: ignore[assignment]
    crc = stim.program(1, PROGRAM)  # channel 1 is wire index 0
    sent = scripted.port.sent(MsgType.SET_PROGRAM)
    assert len(sent) == 3
    assert len({f.header.counter for f in sent}) == 1
    assert {f.message.channel for f in sent} == {0}  # type: ignore[attr-defined]
    assert crc == program_crc(scripted.device.programs[0])
    counters = [f.header.counter for f in scripted.port.frames_written]
    new_counters = list(dict.fromkeys(counters))
    assert new_counters == sorted(new_counters)  # a new command: a new, larger counter


def test_reply_of_wrong_type_or_stale_counter_is_ignored(scripted: Scripted) -> None:
    stim = scripted.connect()
    device = scripted.device

    def answer_badly(frame: Frame) -> list[Message]:
        # An ACK naming another command type, and an ACK for a counter nobody waits for.
        start_ack = Ack(acked_type=MsgType.START, value=1)
        scripted.port.inject(device.frame(start_ack, frame.header.counter))
        scripted.port.inject(device.frame(Ack(acked_type=MsgType.CLEAR_FAULT, value=0), 999))
        device.handlers.pop(MsgType.CLEAR_FAULT)
        return LOST  # as if the command had not arrived: its retransmission is executed

    device.handlers[MsgType.CLEAR_FAULT] = answer_badly
    stim.clear_fault(1)
    assert len(scripted.port.sent(MsgType.CLEAR_FAULT)) == 2  # the bad answers were not taken


def test_no_answer_is_link_timeout_after_bounded_attempts(scripted: Scripted) -> None:
    stim = scripted.connect(max_attempts=5, reply_timeout_s=0.03)
    scripted.device.handlers[MsgType.CLEAR_FAULT] = lambda frame: []
    start = scripted.clock.now()
    with pytest.raises(LinkTimeout, match=r"no reply to CLEAR_FAULT .* after 5 transmissions"):
        stim.clear_fault()
    assert len(scripted.port.sent(MsgType.CLEAR_FAULT)) == 5
    assert scripted.clock.now() - start == pytest.approx(0.15, abs=0.01)
    assert isinstance(stim.frame_log.records()[-1].frame, Frame)


def test_garbage_answer_to_hello_is_a_clear_timeout(scripted: Scripted) -> None:
    def garbage(frame: Frame) -> list[Message]:
        scripted.port.inject(b"HELLO? AT OK\r\n\x00" + bytes(range(1, 40)) + b"\x00", 0.001)
        return []

    scripted.device.handlers[MsgType.HELLO] = garbage
    with pytest.raises(LinkTimeout, match=r"undecodable frame.*not an eacontrol device"):
        scripted.connect(max_attempts=3)
    assert scripted.port.closed


def test_other_protocol_major_is_incompatible(scripted: Scripted) -> None:
    def major_three(frame: Frame) -> list[Message]:
        nak = Nak(nak_type=MsgType.GET_INFO, code=NakCode.BAD_VERSION, field=0xFF, limit=3)
        data = encode_frame(nak, ref_counter=frame.header.counter, proto_major=3)
        scripted.port.inject(data, 0.001)
        return []

    scripted.device.handlers[MsgType.GET_INFO] = major_three
    with pytest.raises(IncompatibleDevice, match="protocol major 3, this host speaks major 2"):
        scripted.connect()


def test_bad_version_nak_names_both_majors(scripted: Scripted) -> None:
    scripted.device.handlers[MsgType.GET_INFO] = lambda frame: [
        Nak(nak_type=MsgType.GET_INFO, code=NakCode.BAD_VERSION, field=0xFF, limit=3)
    ]
    with pytest.raises(IncompatibleDevice, match="major 3, this host speaks major 2"):
        scripted.connect()


def test_schema_mismatch_names_both_hashes(scripted: Scripted) -> None:
    scripted.device.handlers[MsgType.HELLO] = lambda frame: [
        Nak(nak_type=MsgType.HELLO, code=NakCode.SCHEMA_MISMATCH, field=2, limit=0xDEADBEEF)
    ]
    with pytest.raises(IncompatibleDevice) as info:
        scripted.connect()
    assert "0xDEADBEEF" in str(info.value)
    assert f"0x{SCHEMA_HASH:08X}" in str(info.value)


def test_pinned_serial_number(scripted: Scripted) -> None:
    with pytest.raises(IdentityMismatch, match="'FAKE-0001', expected serial 'EA6-000123'"):
        scripted.connect(device_serial="EA6-000123")
    assert scripted.port.closed


def test_pinned_serial_number_matches(scripted: Scripted) -> None:
    assert scripted.connect(device_serial="FAKE-0001").info.serial == "FAKE-0001"


def test_bad_lease_is_refused_before_anything_is_sent(scripted: Scripted) -> None:
    with pytest.raises(ParameterError, match=r"lease_ms=100 .* 200\.\.1000 ms") as info:
        scripted.connect(lease_ms=100)
    assert info.value.layer == "standard"
    assert scripted.port.frames_written == []


def test_nak_names_field_code_and_limit_in_api_units(scripted: Scripted) -> None:
    stim = scripted.connect()
    field = SetProgram.field_index("target_uA")
    scripted.device.handlers[MsgType.SET_PROGRAM] = lambda frame: [
        Nak(nak_type=MsgType.SET_PROGRAM, code=NakCode.OUT_OF_RANGE, field=field, limit=2000)
    ]
    with pytest.raises(DeviceNak) as info:
        stim.program(1, PROGRAM)
    err = info.value
    assert (err.command, err.code, err.field, err.limit) == (
        "SET_PROGRAM",
        "OUT_OF_RANGE",
        "target_uA",
        2000,
    )
    assert "2 mA" in err.hint  # the limit in API units
    assert err.hint in str(err)


def test_start_refused_for_latched_fault_is_device_fault(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.program(2, PROGRAM)
    bits = Fault.ELECTRODE | Fault.LEASE
    # field 2 is program_crc[1]: the CRC of wire index 1, i.e. channel number 2
    scripted.device.handlers[MsgType.START] = lambda frame: [
        Nak(nak_type=MsgType.START, code=NakCode.FAULT_LATCHED, field=2, limit=int(bits))
    ]
    with pytest.raises(DeviceFault) as info:
        stim.start(2)
    assert info.value.channel == 2
    assert info.value.faults == ("ELECTRODE", "LEASE")


def test_readback_mismatch_names_the_field(scripted: Scripted) -> None:
    stim = scripted.connect()

    def swapped(frame: Frame) -> list[Message]:
        stored = scripted.device.programs[0]
        bad = stored.replace(freq_a_cHz=10_000)  # a 2 Hz program read back as 100 Hz
        fields = {f.name: getattr(bad, f.name) for f in SetProgram.LAYOUT}
        return [Program(**fields, program_crc=program_crc(stored))]

    scripted.device.handlers[MsgType.GET_PROGRAM] = swapped
    with pytest.raises(ReadbackMismatch) as info:
        stim.program(1, PROGRAM)
    assert (info.value.field, info.value.sent, info.value.read) == ("freq_a_cHz", 200, 10_000)
    assert info.value.channel == 1


def test_wrong_program_crc_in_ack_is_readback_mismatch(scripted: Scripted) -> None:
    stim = scripted.connect()
    scripted.device.handlers[MsgType.SET_PROGRAM] = lambda frame: [
        Ack(acked_type=MsgType.SET_PROGRAM, value=0x12345678)
    ]
    with pytest.raises(ReadbackMismatch, match="program_crc") as info:
        stim.program(1, PROGRAM)
    assert info.value.channel == 1


def test_heartbeats_only_while_the_caller_services(scripted: Scripted) -> None:
    stim = scripted.connect(lease_ms=500)
    before = len(scripted.port.sent(MsgType.HEARTBEAT))
    stim.wait(2.0)
    during = len(scripted.port.sent(MsgType.HEARTBEAT)) - before
    assert 19 <= during <= 21  # lease/5 = 100 ms
    quiet = len(scripted.port.frames_written)
    scripted.clock.sleep(5.0)  # the application is busy elsewhere: nothing renews the lease
    assert len(scripted.port.frames_written) == quiet


def test_unanswered_heartbeat_is_repeated_within_the_interval(scripted: Scripted) -> None:
    stim = scripted.connect(lease_ms=500, reply_timeout_s=0.03)
    stim.wait(0.05)
    scripted.device.handlers[MsgType.HEARTBEAT] = drop_first(3)  # type: ignore[assignment]
    stim.wait(0.2)
    heartbeats = scripted.port.sent(MsgType.HEARTBEAT)
    repeats = [
        f for f in scripted.port.frames_written[-20:] if f.header.msg_type == MsgType.HEARTBEAT
    ]
    assert len({f.header.counter for f in repeats}) < len(repeats)  # same counter sent again
    assert len(heartbeats) >= 5


def test_silent_device_raises_link_lost_after_three_leases(scripted: Scripted) -> None:
    stim = scripted.connect(lease_ms=500)
    stim.wait(0.3)
    scripted.device.silent = True
    with pytest.raises(LinkLost, match="no STATUS") as info:
        stim.wait(10)
    last_status_at = max(
        r.time_s for r in stim.frame_log if r.frame and isinstance(r.frame.message, Status)
    )
    silent_for = scripted.clock.now() - last_status_at
    assert LEASE_PERIODS_TO_LOSS * 0.5 <= silent_for < LEASE_PERIODS_TO_LOSS * 0.5 + 0.01
    assert "last frames:" in info.value.__notes__[0]
    stop = scripted.port.sent(MsgType.STOP)[-1]
    assert stop.message.mode == 1 and stop.message.channel_mask == 0b11  # type: ignore[attr-defined]
    assert scripted.port.closed
    with pytest.raises(LinkLost):
        stim.service()
    stim.close()  # safe after loss


def test_blocked_application_is_not_mistaken_for_a_lost_link(scripted: Scripted) -> None:
    stim = scripted.connect(lease_ms=500)
    stim.wait(0.3)
    scripted.clock.sleep(4.0)  # far beyond three leases without servicing
    stim.wait(0.5)  # the device answers again: no LinkLost
    assert stim.last_status is not None
    assert stim.last_status.time_s > 4.0


def test_port_failure_is_link_lost_with_cause(scripted: Scripted) -> None:
    stim = scripted.connect()
    failure = serial.SerialException("device reports readiness to read but returned no data")
    scripted.port.fail = failure
    with pytest.raises(LinkLost) as info:
        stim.wait(1)
    assert info.value.__cause__ is not None
    assert info.value.__cause__.__cause__ is failure


def test_reboot_seen_in_status_ends_the_session(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.wait(0.2)
    scripted.device.boot_id = 0x0BADB007
    with pytest.raises(DeviceFault, match="rebooted") as info:
        stim.wait(0.5)
    assert info.value.faults == ("REBOOT",)
    assert [e.name for e in stim.events()] == ["REBOOT"]
    with pytest.raises(DeviceFault):
        stim.service()


def test_events_are_delivered_to_callbacks(scripted: Scripted) -> None:
    stim = scripted.connect()
    seen: list[str] = []
    unsubscribe = stim.on_event(lambda event: seen.append(event.name))
    event = scripted.device.frame(
        Event(code=EventCode.RAMP_DONE, channel=0, detail=2500, uptime_ms=9)
    )
    scripted.port.inject(event, 0.01)  # (a repeated frame is a link fault: test_i13)
    stim.wait(0.1)
    assert seen == ["RAMP_DONE"]
    drained = stim.events()
    assert [str(e) for e in drained] == ["RAMP_DONE on channel 1: ramp done at 2.5 mA"]
    assert stim.events() == []
    unsubscribe()
    scripted.port.inject(scripted.device.frame(event_msg(EventCode.STOPPED)), 0.01)
    stim.wait(0.1)
    assert seen == ["RAMP_DONE"]


def event_msg(code: EventCode) -> Event:
    return Event(code=code, channel=0, detail=0, uptime_ms=10)


def test_callback_error_propagates_to_the_caller(scripted: Scripted) -> None:
    stim = scripted.connect()

    def broken(event: object) -> None:
        raise RuntimeError("callback bug")

    stim.on_event(broken)
    scripted.port.inject(scripted.device.frame(event_msg(EventCode.RAMP_DONE)), 0.01)
    with pytest.raises(RuntimeError, match="callback bug"):
        stim.wait(0.1)


def test_fault_seen_only_in_status_becomes_an_event(scripted: Scripted) -> None:
    stim = scripted.connect()
    scripted.device.channel_states[1] = ChannelStatus(
        ChannelState.FAULT, Fault.ELECTRODE, 0, 0, 0, 0xFFFF, 0
    )
    stim.wait(0.2)
    events = stim.events()
    assert [(e.name, e.channel, e.source) for e in events] == [("ELECTRODE_FAULT", 2, "status")]


def test_stale_status_does_not_overwrite_a_newer_one(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.wait(1.0)
    newest = stim.status()
    old = scripted.device.frame(scripted.device.status(uptime_ms=5), 0)
    scripted.port.inject(old, 0.001)
    stim.wait(0.001)
    assert stim._link.latest_status is not None
    assert stim._link.latest_status.uptime_ms >= int(newest.uptime_s * 1000)


def test_frame_log_is_bounded_and_has_both_directions(scripted: Scripted) -> None:
    stim = scripted.connect(history=10)
    stim.wait(3)
    records = stim.frame_log.records()
    assert len(records) == 10
    assert {r.direction for r in records} == {"tx", "rx"}
    assert "counter=" in stim.frame_log.format(2)


def test_no_session_nak_to_a_heartbeat_ends_the_session(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.wait(0.2)
    scripted.device.handlers[MsgType.HEARTBEAT] = lambda frame: [
        Nak(nak_type=MsgType.HEARTBEAT, code=NakCode.NO_SESSION, field=0xFF, limit=0)
    ]
    with pytest.raises(DeviceFault, match="no longer knows session") as info:
        stim.wait(1)
    assert info.value.faults == ("NO_SESSION",)
    stim.close()  # confirmed in a new session (Link.rejoin) or in the old one
    assert scripted.port.sent(MsgType.STOP)


def test_no_session_nak_to_a_command_is_the_end_of_the_session_not_a_refusal(
    scripted: Scripted,
) -> None:
    """Found by the fault matrix: after a reboot whose EVENT was lost, the first command is
    answered NO_SESSION; that is the session's end (a DeviceFault), never a plain DeviceNak.
    Major 2: that NAK is unauthenticated (key 0): it ends the session, it answers nothing."""
    stim = scripted.connect()
    scripted.device.handlers[MsgType.SET_PROGRAM] = lambda frame: [
        Nak(nak_type=MsgType.SET_PROGRAM, code=NakCode.NO_SESSION, field=0xFF, limit=0)
    ]
    with pytest.raises(DeviceFault, match="no longer knows session") as info:
        stim.program(1, PROGRAM)
    assert info.value.faults == ("NO_SESSION",)
    assert not isinstance(info.value, DeviceNak)
    stim.close()
