"""The commands a session would send, for ``eactl plan``: built, not sent.

The messages are made by the code the session uses: SET_PROGRAM by the Stimulator's
``ProgramChecker`` (every field checked against the standard and device layers and converted to
wire units in the one place that does it), START with the program CRCs the device would have to
match. They follow the session runner's order per step (``eacontrol.session.steps``): program and
read back each channel, START, heartbeats every lease/5 while the step holds, the device's
delivered totals every ``totals_period_s``, a ramp-down STOP of every channel confirmed by
STATUS, then the step's totals.

Frames are encoded untagged (key 0, session 0) with host counters in listing order: on the wire
each carries key 2, the live session's id, its counter and a 16-byte tag that only the session's
key can compute; the heartbeats take counters in between and a STOP is repeated until
confirmed, so the header, tag and CRC bytes of a live session differ; the payloads do not.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from eacontrol.device.program import ProgramChecker
from eacontrol.device.wire import channel_mask
from eacontrol.session import PlannedStep, SessionPlan
from firmware_protocol import (
    MAX_CHANNELS,
    GetDose,
    GetProgram,
    GetStatus,
    Heartbeat,
    Message,
    Start,
    Stop,
    StopMode,
    encode_frame,
    program_crc,
)

__all__ = ["PlannedCommand", "message_text", "session_commands"]

_HEARTBEATS_PER_LEASE = 5  # PROTOCOL.md §3.5: a heartbeat every lease/5


@dataclass(frozen=True)
class PlannedCommand:
    """One command of the plan (or a periodic one, counted).

    Attributes:
        step: the step's index.
        at_s: nominal session time it is first sent.
        until_s: for a periodic command, when the last one is sent; else None.
        message: the message (for a periodic one, the first).
        count: how many times it is sent.
        note: what it does, in words.
    """

    step: int
    at_s: float
    until_s: float | None
    message: Message
    count: int
    note: str

    @property
    def name(self) -> str:
        """The message type's name (``SET_PROGRAM``)."""
        return self.message.MSG_TYPE.name

    def frame(self, counter: int) -> bytes:
        """The complete encoded frame (COBS, CRC-32C, delimiter), untagged, with ``counter``."""
        return encode_frame(self.message, counter=counter)


def message_text(message: Message) -> str:
    """The wire fields of a message, ``name=value`` (enums by name, CRCs in hex)."""
    parts = []
    for field in message.LAYOUT:
        value = getattr(message, field.name)
        if isinstance(value, enum.Enum):
            text = value.name
        elif field.name == "program_crc":
            text = "(" + ", ".join(f"0x{v:08X}" for v in value if v) + ")"
        elif field.name == "channel_mask":
            text = f"0b{value:08b}"
        else:
            text = str(value)
        parts.append(f"{field.name}={text}")
    return " ".join(parts)


def _periodic(
    step: PlannedStep, message: Message, period_s: float, note: str, offset_s: float
) -> PlannedCommand | None:
    """Commands sent every ``period_s`` from ``offset_s`` while the step holds (before STOP)."""
    count = math.ceil(max(step.hold_s - offset_s, 0.0) / period_s)
    if count == 0:
        return None
    first = step.start_s + offset_s
    return PlannedCommand(step.index, first, first + (count - 1) * period_s, message, count, note)


def _once(step: PlannedStep, at_s: float, message: Message, note: str) -> PlannedCommand:
    return PlannedCommand(step.index, at_s, None, message, 1, note)


def _step_commands(
    step: PlannedStep,
    checker: ProgramChecker,
    lease_s: float,
    totals_period_s: float,
) -> list[PlannedCommand]:
    t0, end_s, stop_s = step.start_s, step.end_s, step.start_s + step.hold_s
    out: list[PlannedCommand] = []
    crcs = [0] * MAX_CHANNELS
    for planned in step.channels:
        n = planned.channel
        wire = checker.program(n, planned.stimulation)
        crcs[wire.channel] = crc = program_crc(wire)
        note = f"channel {n}: store the program (the ACK must carry CRC 0x{crc:08X})"
        out.append(_once(step, t0, wire, note))
        note = f"channel {n}: read it back, compared field by field"
        out.append(_once(step, t0, GetProgram(channel=wire.channel), note))
    mask = channel_mask(step.numbers)
    numbers = ", ".join(str(n) for n in step.numbers)
    note = f"start channel(s) {numbers}: each ramps from 0 over {step.ramp_up_s:g} s"
    out.append(_once(step, t0, Start(channel_mask=mask, program_crc=tuple(crcs)), note))
    beat_s = lease_s / _HEARTBEATS_PER_LEASE
    note = f"every {beat_s:g} s: renews the {lease_s:g} s lease (answered by STATUS)"
    periodic = [_periodic(step, Heartbeat(), beat_s, note, 0.0)]
    for n in step.numbers:
        note = f"channel {n}: delivered totals, every {totals_period_s:g} s"
        dose = GetDose(channel=checker.channel(n))
        periodic.append(_periodic(step, dose, totals_period_s, note, totals_period_s))
    out += [command for command in periodic if command is not None]
    every = channel_mask(range(1, checker.limits.channel_count + 1))
    note = f"ramp every output down over {step.ramp_down_s:g} s"
    out.append(_once(step, stop_s, Stop(channel_mask=every, mode=StopMode.RAMP_DOWN), note))
    note = "polled (and STOP resent) until STATUS shows every output off at zero"
    out.append(PlannedCommand(step.index, stop_s, end_s, GetStatus(), 1, note))
    for n in step.numbers:
        note = f"channel {n}: the step's delivered totals, for the record"
        out.append(_once(step, end_s, GetDose(channel=checker.channel(n)), note))
    return out


def session_commands(
    plan: SessionPlan, checker: ProgramChecker, lease_s: float, totals_period_s: float = 60.0
) -> list[PlannedCommand]:
    """Every command the session would send, step by step, in order.

    Args:
        plan: the session plan (with the device's layer).
        checker: the device's program checker (its limits).
        lease_s: the lease the device granted.
        totals_period_s: the session's period of delivered-totals readings.

    Raises:
        ParameterError: a program value outside the standard ∩ device limits.
    """
    commands: list[PlannedCommand] = []
    for step in plan.steps:
        commands += _step_commands(step, checker, lease_s, totals_period_s)
    return commands
