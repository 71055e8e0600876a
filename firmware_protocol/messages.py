"""Every message of the wire protocol as a frozen dataclass, with its exact payload layout.

Field names carry their wire unit (``_uA``, ``_us``, ``_cHz``, ``_ms``, ``_s``, ``_nC``, ``_mV``,
``_ohm``). The byte layouts are normative and tabulated in PROTOCOL.md §5; ``SCHEMA_HASH`` and the
per-message schema tags are derived from these definitions, so any layout change changes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from firmware_protocol.codes import (
    ChannelState,
    DeviceFlag,
    EventCode,
    Fault,
    Mode,
    MsgType,
    NakCode,
    Shape,
    StopMode,
)
from firmware_protocol.crc import crc32c
from firmware_protocol.layout import Array, Group, Scalar, Text, WireField, WireStruct

__all__ = [
    "MAX_CHANNELS",
    "MESSAGE_TYPES",
    "NO_CHANNEL",
    "NO_FIELD",
    "PROTO_MAJOR",
    "PROTO_MINOR",
    "SCHEMA_HASH",
    "Ack",
    "ChannelStatus",
    "ClearFault",
    "Dose",
    "Event",
    "GetDose",
    "GetInfo",
    "GetProgram",
    "GetStatus",
    "Heartbeat",
    "Hello",
    "HelloAck",
    "Message",
    "Nak",
    "Program",
    "SetIntensity",
    "SetProgram",
    "Start",
    "Status",
    "Stop",
    "program_crc",
    "schema_tag",
]

PROTO_MAJOR = 1
"""Protocol major version, byte 0 of every header; another major is refused (NAK BAD_VERSION)."""

PROTO_MINOR = 0
"""Protocol minor version, reported in HELLO_ACK; minors only add compat features."""

MAX_CHANNELS = 8
"""Channel masks are one byte: a device has 1 to 8 channels."""

NO_FIELD = 0xFF
"""NAK.field value meaning "no particular field"."""

NO_CHANNEL = 0xFF
"""EVENT.channel value meaning "the whole device"."""


class Message(WireStruct):
    """Base of all messages; ``MSG_TYPE`` is the header's msg_type."""

    MSG_TYPE: ClassVar[MsgType]


# --- host → device -------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello(Message):
    """Open a session. Frozen layout (PROTOCOL.md §3.5): version discovery must always work."""

    MSG_TYPE = MsgType.HELLO
    LAYOUT = (
        Scalar("new_session_id", "H"),
        Scalar("lease_ms", "H"),
        Scalar("schema_hash", "I"),
    )
    new_session_id: int
    lease_ms: int
    schema_hash: int


@dataclass(frozen=True)
class GetInfo(Message):
    """Ask for the device's identity and limits (answered with HELLO_ACK)."""

    MSG_TYPE = MsgType.GET_INFO


_PROGRAM_FIELDS: tuple[WireField, ...] = (
    Scalar("channel", "B"),
    Scalar("mode", "B", Mode),
    Scalar("shape", "B", Shape),
    Scalar("freq_a_cHz", "H"),
    Scalar("phase_a_us", "H"),
    Scalar("freq_b_cHz", "H"),
    Scalar("phase_b_us", "H"),
    Scalar("dwell_a_ms", "H"),
    Scalar("dwell_b_ms", "H"),
    Scalar("on_ms", "H"),
    Scalar("off_ms", "H"),
    Scalar("interphase_us", "H"),
    Scalar("asym_ratio", "B"),
    Scalar("target_uA", "H"),
    Scalar("ramp_up_ms", "H"),
    Scalar("ramp_down_ms", "H"),
    Scalar("max_run_s", "H"),
)


@dataclass(frozen=True)
class SetProgram(Message):
    """Store a channel's program (answered with ACK whose value is the program CRC)."""

    MSG_TYPE = MsgType.SET_PROGRAM
    LAYOUT = _PROGRAM_FIELDS
    channel: int
    mode: Mode
    shape: Shape
    freq_a_cHz: int
    phase_a_us: int
    freq_b_cHz: int
    phase_b_us: int
    dwell_a_ms: int
    dwell_b_ms: int
    on_ms: int
    off_ms: int
    interphase_us: int
    asym_ratio: int
    target_uA: int
    ramp_up_ms: int
    ramp_down_ms: int
    max_run_s: int

    @property
    def crc(self) -> int:
        """The program CRC: CRC-32C of this payload without its channel byte (PROTOCOL.md §5.4)."""
        return program_crc(self)


def program_crc(program: SetProgram) -> int:
    """Return the program CRC that START must name: CRC-32C of the SET_PROGRAM payload
    with the channel byte left out, so identical programs on two channels share a CRC."""
    if isinstance(program, Program):
        program = program.as_set_program()
    return crc32c(program.encode()[1:])


@dataclass(frozen=True)
class GetProgram(Message):
    """Read a channel's stored program back (answered with PROGRAM)."""

    MSG_TYPE = MsgType.GET_PROGRAM
    LAYOUT = (Scalar("channel", "B"),)
    channel: int


@dataclass(frozen=True)
class Start(Message):
    """Start the masked channels; each one's stored program CRC must equal its entry."""

    MSG_TYPE = MsgType.START
    LAYOUT = (Scalar("channel_mask", "B"), Array("program_crc", "I", MAX_CHANNELS))
    channel_mask: int
    program_crc: tuple[int, ...]


@dataclass(frozen=True)
class SetIntensity(Message):
    """Set a running channel's live target; the device slews toward it."""

    MSG_TYPE = MsgType.SET_INTENSITY
    LAYOUT = (
        Scalar("channel", "B"),
        Scalar("target_uA", "H"),
        Scalar("slew_uA_per_s", "H"),
    )
    channel: int
    target_uA: int
    slew_uA_per_s: int


@dataclass(frozen=True)
class Stop(Message):
    """Bring the masked channels to zero. Accepted in every state and every session."""

    MSG_TYPE = MsgType.STOP
    LAYOUT = (Scalar("channel_mask", "B"), Scalar("mode", "B", StopMode))
    channel_mask: int
    mode: StopMode


@dataclass(frozen=True)
class Heartbeat(Message):
    """Renew the lease (answered with STATUS)."""

    MSG_TYPE = MsgType.HEARTBEAT


@dataclass(frozen=True)
class GetStatus(Message):
    """Ask for STATUS without renewing the lease."""

    MSG_TYPE = MsgType.GET_STATUS


@dataclass(frozen=True)
class ClearFault(Message):
    """Clear latched faults of the masked channels (outputs must be off)."""

    MSG_TYPE = MsgType.CLEAR_FAULT
    LAYOUT = (Scalar("channel_mask", "B"),)
    channel_mask: int


@dataclass(frozen=True)
class GetDose(Message):
    """Ask for a channel's delivered totals since its last SET_PROGRAM (answered with DOSE)."""

    MSG_TYPE = MsgType.GET_DOSE
    LAYOUT = (Scalar("channel", "B"),)
    channel: int


# --- device → host -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack(Message):
    """Positive answer. ``value`` is the program CRC for SET_PROGRAM, else 0."""

    MSG_TYPE = MsgType.ACK
    LAYOUT = (Scalar("acked_type", "B"), Scalar("value", "I"))
    acked_type: int
    value: int


@dataclass(frozen=True)
class HelloAck(Message):
    """Device identity, limits and the opened session. Frozen layout (PROTOCOL.md §3.5)."""

    MSG_TYPE = MsgType.HELLO_ACK
    LAYOUT = (
        Scalar("proto_minor", "B"),
        Scalar("schema_hash", "I"),
        Scalar("fw_major", "B"),
        Scalar("fw_minor", "B"),
        Scalar("fw_patch", "B"),
        Text("model", 16),
        Text("serial", 16),
        Scalar("boot_id", "I"),
        Scalar("session_id", "H"),
        Scalar("lease_ms", "H"),
        Scalar("channel_count", "B"),
        Scalar("max_intensity_uA", "H"),
        Scalar("min_phase_us", "H"),
        Scalar("max_phase_us", "H"),
        Scalar("min_freq_cHz", "H"),
        Scalar("max_freq_cHz", "H"),
        Scalar("max_phase_charge_nC", "H"),
        Scalar("max_slew_uA_per_s", "H"),
        Scalar("compliance_mV", "I"),
        Scalar("min_lease_ms", "H"),
        Scalar("max_lease_ms", "H"),
        Scalar("max_run_s", "H"),
        Scalar("max_interphase_us", "H"),
        Scalar("max_asym_ratio", "B"),
    )
    proto_minor: int
    schema_hash: int
    fw_major: int
    fw_minor: int
    fw_patch: int
    model: str
    serial: str
    boot_id: int
    session_id: int
    lease_ms: int
    channel_count: int
    max_intensity_uA: int
    min_phase_us: int
    max_phase_us: int
    min_freq_cHz: int
    max_freq_cHz: int
    max_phase_charge_nC: int
    max_slew_uA_per_s: int
    compliance_mV: int
    min_lease_ms: int
    max_lease_ms: int
    max_run_s: int
    max_interphase_us: int
    max_asym_ratio: int


@dataclass(frozen=True)
class Program(SetProgram):
    """Exact read-back of a stored program, with its CRC."""

    MSG_TYPE = MsgType.PROGRAM
    LAYOUT = (*_PROGRAM_FIELDS, Scalar("program_crc", "I"))
    program_crc: int

    def as_set_program(self) -> SetProgram:
        """Return the SET_PROGRAM this read-back describes (for field-by-field comparison)."""
        names = [f.name for f in _PROGRAM_FIELDS]
        return SetProgram(**{n: getattr(self, n) for n in names})


@dataclass(frozen=True)
class ChannelStatus(WireStruct):
    """One channel's entry in STATUS."""

    LAYOUT = (
        Scalar("state", "B", ChannelState),
        Scalar("faults", "B", Fault),
        Scalar("target_uA", "H"),
        Scalar("set_uA", "H"),
        Scalar("measured_uA", "H"),
        Scalar("impedance_ohm", "H"),
        Scalar("freq_cHz", "H"),
    )
    state: ChannelState
    faults: Fault
    target_uA: int
    set_uA: int
    measured_uA: int
    impedance_ohm: int
    freq_cHz: int


@dataclass(frozen=True)
class Status(Message):
    """Device and per-channel state. Answers HEARTBEAT and GET_STATUS."""

    MSG_TYPE = MsgType.STATUS
    LAYOUT = (
        Scalar("boot_id", "I"),
        Scalar("uptime_ms", "I"),
        Scalar("lease_remaining_ms", "H"),
        Scalar("last_applied_seq", "H"),
        Scalar("rx_err_count", "I"),
        Scalar("flags", "B", DeviceFlag),
        Group("channels", ChannelStatus, MAX_CHANNELS),
    )
    boot_id: int
    uptime_ms: int
    lease_remaining_ms: int
    last_applied_seq: int
    rx_err_count: int
    flags: DeviceFlag
    channels: tuple[ChannelStatus, ...]

    @property
    def outputs_off(self) -> bool:
        """True when no channel can deliver current and every measured current is zero."""
        return all(not c.state.output_active and c.measured_uA == 0 for c in self.channels)


@dataclass(frozen=True)
class Dose(Message):
    """A channel's delivered totals since its last SET_PROGRAM, as the device measured them."""

    MSG_TYPE = MsgType.DOSE
    LAYOUT = (
        Scalar("channel", "B"),
        Scalar("pulses_a", "I"),
        Scalar("pulses_b", "I"),
        Scalar("time_a_ms", "I"),
        Scalar("time_b_ms", "I"),
        Scalar("charge_pos_nC", "Q"),
        Scalar("charge_neg_nC", "Q"),
        Scalar("peak_uA", "H"),
        Scalar("rms_uA", "H"),
        Scalar("on_time_ms", "I"),
    )
    channel: int
    pulses_a: int
    pulses_b: int
    time_a_ms: int
    time_b_ms: int
    charge_pos_nC: int
    charge_neg_nC: int
    peak_uA: int
    rms_uA: int
    on_time_ms: int


@dataclass(frozen=True)
class Nak(Message):
    """Negative answer: error code, offending field index and the limit it broke.

    Frozen layout (PROTOCOL.md §3.5). For BAD_VERSION ``limit`` is the device's major, for
    SCHEMA_MISMATCH the device's schema hash, for OUT_OF_RANGE the bound that was crossed.
    """

    MSG_TYPE = MsgType.NAK
    LAYOUT = (
        Scalar("nak_type", "B"),
        Scalar("code", "B", NakCode),
        Scalar("field", "B"),
        Scalar("limit", "I"),
    )
    nak_type: int
    code: NakCode
    field: int
    limit: int


@dataclass(frozen=True)
class Event(Message):
    """Unsolicited report of something the device did on its own."""

    MSG_TYPE = MsgType.EVENT
    LAYOUT = (
        Scalar("code", "B", EventCode),
        Scalar("channel", "B"),
        Scalar("detail", "I"),
        Scalar("uptime_ms", "I"),
    )
    code: EventCode
    channel: int
    detail: int
    uptime_ms: int


MESSAGE_TYPES: dict[MsgType, type[Message]] = {
    cls.MSG_TYPE: cls
    for cls in (
        Hello,
        GetInfo,
        SetProgram,
        GetProgram,
        Start,
        SetIntensity,
        Stop,
        Heartbeat,
        GetStatus,
        ClearFault,
        GetDose,
        Ack,
        HelloAck,
        Program,
        Status,
        Dose,
        Nak,
        Event,
    )
}
"""msg_type → message class, for every type this schema defines."""


def _descriptor(cls: type[Message]) -> str:
    return f"{int(cls.MSG_TYPE):02X} {cls.__name__}({cls.descriptor()})"


_SCHEMA_TAGS: dict[int, bytes] = {
    int(t): crc32c(_descriptor(cls).encode()).to_bytes(4, "little")
    for t, cls in MESSAGE_TYPES.items()
}


def schema_tag(msg_type: int) -> bytes:
    """Return the 4-byte schema tag of ``msg_type`` that every frame's CRC also covers.

    The tag is CRC-32C of the message's layout descriptor (name, field names and wire types),
    little-endian, so a sender and receiver with different layouts never agree on a frame.
    """
    return _SCHEMA_TAGS[msg_type]


SCHEMA_HASH: int = crc32c(
    f"eacontrol-proto {PROTO_MAJOR}\n".encode()
    + "\n".join(_descriptor(MESSAGE_TYPES[t]) for t in sorted(MESSAGE_TYPES)).encode()
)
"""Hash of every message layout, exchanged in HELLO; any layout change changes it."""
