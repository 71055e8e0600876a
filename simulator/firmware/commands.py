"""The device's command handlers: one function per host → device message (PROTOCOL.md §3, §4).

Each handler checks the command in the order the spec gives, raises ``Refused`` (answered with
NAK) on the first failed check, and otherwise executes it and returns the reply. A refused
command changes nothing. The receive order (``simulator.firmware.receive``) has already
checked the frame's key, tag and counter (a duplicate never reaches a handler) and its payload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from firmware_protocol import (
    MAX_CHANNELS,
    NO_FIELD,
    SCHEMA_HASH,
    Ack,
    ChannelState,
    ClearFault,
    Dose,
    Forget,
    GetDose,
    GetProgram,
    Header,
    Hello,
    Message,
    MsgType,
    NakCode,
    Program,
    SetIntensity,
    SetProgram,
    Start,
    Status,
    Stop,
    program_crc,
)
from simulator.firmware.channel import Channel
from simulator.firmware.checks import Refused, check_intensity, check_program
from simulator.firmware.session import Reply, WireReply
from simulator.firmware.units import U32

if TYPE_CHECKING:
    from simulator.firmware.device import Firmware

__all__ = ["HANDLERS", "Handler", "check_hello"]

Handler = Callable[["Firmware", Header, Any], Reply]
"""A handler: (device, verified header, decoded message) → reply. Raises ``Refused``."""

_RUNNING = (ChannelState.RAMPING, ChannelState.RUNNING)


def _channel(device: Firmware, index: int, field: int = 0) -> Channel:
    if index >= device.model.channel_count:
        raise Refused(NakCode.BAD_CHANNEL, field, device.model.channel_count)
    return device.channels[index]


def _masked(device: Firmware, mask: int, field: int = 0) -> list[Channel]:
    if mask & ~device.model.all_channels_mask:
        raise Refused(NakCode.BAD_CHANNEL, field, device.model.channel_count)
    return [channel for channel in device.channels if mask >> channel.index & 1]


def _ack(msg_type: MsgType, value: int = 0) -> Ack:
    return Ack(acked_type=msg_type, value=value)


def check_hello(device: Firmware, hello: Hello) -> None:
    """The checks of an authentic HELLO, in order: schema hash (SCHEMA_MISMATCH), lease range
    (OUT_OF_RANGE), no output active (BAD_STATE: a second host cannot take over a running
    stimulation)."""
    model = device.model
    if hello.schema_hash != SCHEMA_HASH:
        raise Refused(NakCode.SCHEMA_MISMATCH, Hello.field_index("schema_hash"), SCHEMA_HASH)
    lease_field = Hello.field_index("lease_ms")
    if hello.lease_ms < model.min_lease_ms:
        raise Refused(NakCode.OUT_OF_RANGE, lease_field, model.min_lease_ms)
    if hello.lease_ms > model.max_lease_ms:
        raise Refused(NakCode.OUT_OF_RANGE, lease_field, model.max_lease_ms)
    _refuse_if_active(device)


def _refuse_if_active(device: Firmware) -> None:
    for channel in device.channels:
        if channel.active:
            raise Refused(NakCode.BAD_STATE, NO_FIELD, channel.state)


def _forget(device: Firmware, header: Header, forget: Forget) -> Ack:
    # Erases the key; the receive order closes the session after the ACK if it was its key.
    _refuse_if_active(device)
    if not device.keys.forget(forget.key_id):
        raise Refused(NakCode.NOT_PAIRED, Forget.field_index("key_id"), 0)
    return _ack(MsgType.FORGET)


def _refuse_unless_idle(channel: Channel, field: int) -> None:
    if channel.state == ChannelState.FAULT:
        raise Refused(NakCode.FAULT_LATCHED, field, channel.faults)
    if channel.active:
        raise Refused(NakCode.BAD_STATE, field, channel.state)


def _set_program(device: Firmware, header: Header, program: SetProgram) -> Ack:
    channel = _channel(device, program.channel)
    _refuse_unless_idle(channel, SetProgram.field_index("channel"))
    check_program(device.model, program)
    crc = program_crc(program)
    channel.store_program(program, crc, device.now_us)
    return _ack(MsgType.SET_PROGRAM, crc)


def _get_program(device: Firmware, header: Header, request: GetProgram) -> Program:
    channel = _channel(device, request.channel)
    stored = channel.program
    if stored is None:
        raise Refused(NakCode.NO_PROGRAM, GetProgram.field_index("channel"), 0)
    values = {f.name: getattr(stored, f.name) for f in fields(SetProgram)}
    return Program(**values, program_crc=channel.program_crc)


def _start_checks(channels: Sequence[Channel], start: Start, now_us: int) -> None:
    """Checks 3–7 of §3.8, each over every masked channel before the next (all-or-nothing)."""

    def field(channel: Channel) -> int:
        return Start.field_index("program_crc", channel.index)

    for channel in channels:
        if channel.faults or channel.state == ChannelState.FAULT:
            raise Refused(NakCode.FAULT_LATCHED, field(channel), channel.faults)
    for channel in channels:
        if channel.program is None:
            raise Refused(NakCode.NO_PROGRAM, field(channel), 0)
    for channel in channels:
        if channel.program_crc != start.program_crc[channel.index]:
            raise Refused(NakCode.PROGRAM_MISMATCH, field(channel), channel.program_crc)
    for channel in channels:
        if channel.state in _RUNNING:
            raise Refused(NakCode.BAD_STATE, field(channel), channel.state)
    for channel in channels:
        output_uA = max(channel.set_uA(now_us), channel.measured_uA(now_us))
        if output_uA != 0:  # every run starts from zero
            raise Refused(NakCode.NONZERO_START, field(channel), min(U32, output_uA))


def _start(device: Firmware, header: Header, start: Start) -> Ack:
    mask = start.channel_mask
    for index in range(MAX_CHANNELS):
        if not mask >> index & 1 and start.program_crc[index] != 0:
            raise Refused(NakCode.BAD_PAYLOAD, Start.field_index("program_crc", index), 0)
    if mask == 0:  # nothing to start is a host error, not a silent success
        raise Refused(NakCode.BAD_PAYLOAD, Start.field_index("channel_mask"), 0)
    if not device.lease_valid:
        raise Refused(NakCode.NO_LEASE, NO_FIELD, 0)
    channels = _masked(device, mask)
    _start_checks(channels, start, device.now_us)
    for channel in channels:
        channel.start(device.now_us)
    return _ack(MsgType.START)


def _set_intensity(device: Firmware, header: Header, command: SetIntensity) -> Ack:
    channel = _channel(device, command.channel)
    if channel.state not in _RUNNING or channel.program is None:
        raise Refused(NakCode.BAD_STATE, SetIntensity.field_index("channel"), channel.state)
    check_intensity(device.model, channel.program, command)
    channel.set_target(command.target_uA, command.slew_uA_per_s, device.now_us)
    return _ack(MsgType.SET_INTENSITY)


def _stop(device: Firmware, header: Header, stop: Stop) -> Ack:
    # Accepted in every state, with or without a lease (in the open session), never refused for its
    # mask: bits beyond channel_count are ignored, so 0xFF always means "stop everything" (§3.7).
    for channel in _masked(device, stop.channel_mask & device.model.all_channels_mask):
        channel.stop(stop.mode, device.now_us)
    return _ack(MsgType.STOP)


def _heartbeat(device: Firmware, header: Header, message: Message) -> WireReply:
    device.grant_lease(device.lease_ms)
    return WireReply(Status, device.status_payload())


def _get_status(device: Firmware, header: Header, message: Message) -> WireReply:
    return WireReply(Status, device.status_payload())


def _clear_fault(device: Firmware, header: Header, clear: ClearFault) -> Ack:
    # Every masked channel in FAULT is self-tested with its relay open first; only if all pass
    # are their faults cleared and relays closed (all-or-nothing, §3.10). The ACK names them.
    now_us = device.now_us
    faulted = [c for c in _masked(device, clear.channel_mask) if c.state == ChannelState.FAULT]
    failed_uA = [measured for measured in (c.self_test(now_us) for c in faulted) if measured]
    if failed_uA:
        for channel in faulted:
            channel.end_refused_test(now_us)
        field = ClearFault.field_index("channel_mask")
        raise Refused(NakCode.SELF_TEST_FAILED, field, min(U32, failed_uA[0]))
    for channel in faulted:
        channel.clear_fault(now_us)
    return _ack(MsgType.CLEAR_FAULT, sum(1 << channel.index for channel in faulted))


def _get_dose(device: Firmware, header: Header, request: GetDose) -> Dose:
    channel = _channel(device, request.channel)
    channel.flush(device.now_us)
    return channel.dose.message(request.channel)


HANDLERS: dict[MsgType, Handler] = {
    MsgType.FORGET: _forget,
    MsgType.SET_PROGRAM: _set_program,
    MsgType.GET_PROGRAM: _get_program,
    MsgType.START: _start,
    MsgType.SET_INTENSITY: _set_intensity,
    MsgType.STOP: _stop,
    MsgType.HEARTBEAT: _heartbeat,
    MsgType.GET_STATUS: _get_status,
    MsgType.CLEAR_FAULT: _clear_fault,
    MsgType.GET_DOSE: _get_dose,
}
"""The handler of every host → device message type executed in a session (HELLO, GET_INFO and
PAIR are answered by ``simulator.firmware.receive``, outside the session's key)."""
