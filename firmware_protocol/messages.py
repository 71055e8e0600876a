"""Every message of the wire protocol as a frozen dataclass, with its exact payload layout.

Field names carry their wire unit (``_uA``, ``_us``, ``_cHz``, ``_ms``, ``_s``, ``_nC``, ``_mV``,
``_ohm``); each field's annotation is its wire type (``U8`` … ``U64``, or ``Wire`` for enums,
text, arrays and groups), in payload order, and the layout is derived from those annotations
(firmware_protocol.layout). The byte layouts are normative and tabulated in PROTOCOL.md §5;
``SCHEMA_HASH`` is derived from these definitions (``descriptor``), so any layout change
changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from firmware_protocol.auth import KEY_SIZE, NONCE_SIZE
from firmware_protocol.codes import (
    ChannelState,
    DeviceFlag,
    EventCode,
    Fault,
    InfoFlag,
    Mode,
    MsgType,
    NakCode,
    Shape,
    StopMode,
)
from firmware_protocol.crc import crc32c
from firmware_protocol.layout import U8, U16, U32, U64, Wire, WireStruct

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
    "Forget",
    "GetDose",
    "GetInfo",
    "GetProgram",
    "GetStatus",
    "Heartbeat",
    "Hello",
    "HelloAck",
    "Info",
    "Message",
    "Nak",
    "Pair",
    "PairAck",
    "Program",
    "SetIntensity",
    "SetProgram",
    "Start",
    "Status",
    "Stop",
    "descriptor",
    "program_crc",
]

PROTO_MAJOR = 2
"""Protocol major version, byte 0 of every header; another major is refused (NAK BAD_VERSION).
Major 2: paired hosts, authenticated frames, per-direction counters (PROTOCOL.md §2, §3)."""

PROTO_MINOR = 0
"""Protocol minor version, reported in INFO and HELLO_ACK; minors only add compat features,
message types and codes (PROTOCOL.md §3.6)."""

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
    """Open a session under the pairing key ``key_id`` (key 1: tagged with its hello key)."""

    MSG_TYPE = MsgType.HELLO
    key_id: U32
    host_nonce: Annotated[bytes, Wire("o", NONCE_SIZE)]
    lease_ms: U16
    schema_hash: U32


@dataclass(frozen=True)
class GetInfo(Message):
    """Ask for the device's identity, limits and capabilities (key 0, answered with INFO)."""

    MSG_TYPE = MsgType.GET_INFO


@dataclass(frozen=True)
class Pair(Message):
    """Ask for a pairing key (key 0); accepted only while the pairing window is open."""

    MSG_TYPE = MsgType.PAIR
    host_label: Annotated[str, Wire("s", 16)]


@dataclass(frozen=True)
class Forget(Message):
    """Erase the pairing key ``key_id`` (in a session); the session closes after the ACK."""

    MSG_TYPE = MsgType.FORGET
    key_id: U32


@dataclass(frozen=True)
class SetProgram(Message):
    """Store a channel's program (answered with ACK whose value is the program CRC)."""

    MSG_TYPE = MsgType.SET_PROGRAM
    channel: U8
    mode: Annotated[Mode, Wire("B")]
    shape: Annotated[Shape, Wire("B")]
    freq_a_cHz: U16
    phase_a_us: U16
    freq_b_cHz: U16
    phase_b_us: U16
    dwell_a_ms: U16
    dwell_b_ms: U16
    on_ms: U16
    off_ms: U16
    interphase_us: U16
    asym_ratio: U8
    target_uA: U16
    ramp_up_ms: U16
    ramp_down_ms: U16
    max_run_s: U16

    @property
    def crc(self) -> int:
        """The program CRC: CRC-32C of this payload without its channel byte (PROTOCOL.md §3.9)."""
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
    channel: U8


@dataclass(frozen=True)
class Start(Message):
    """Start the masked channels; each one's stored program CRC must equal its entry."""

    MSG_TYPE = MsgType.START
    channel_mask: U8
    program_crc: Annotated[tuple[int, ...], Wire("I", MAX_CHANNELS)]


@dataclass(frozen=True)
class SetIntensity(Message):
    """Set a running channel's live target; the device slews toward it."""

    MSG_TYPE = MsgType.SET_INTENSITY
    channel: U8
    target_uA: U16
    slew_uA_per_s: U16


@dataclass(frozen=True)
class Stop(Message):
    """Bring the masked channels to zero. Accepted in every state and every session."""

    MSG_TYPE = MsgType.STOP
    channel_mask: U8
    mode: Annotated[StopMode, Wire("B")]


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
    """Clear latched faults of the masked channels once each one's output stage passes its
    self-test (PROTOCOL.md §3.10); ACK ``value`` is the mask of the channels tested and cleared."""

    MSG_TYPE = MsgType.CLEAR_FAULT
    channel_mask: U8


@dataclass(frozen=True)
class GetDose(Message):
    """Ask for a channel's delivered totals since its last SET_PROGRAM (answered with DOSE)."""

    MSG_TYPE = MsgType.GET_DOSE
    channel: U8


# --- device → host -------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack(Message):
    """Positive answer. ``value`` is the program CRC for SET_PROGRAM, the mask of the channels
    self-tested and cleared for CLEAR_FAULT, else 0."""

    MSG_TYPE = MsgType.ACK
    acked_type: U8
    value: U32


@dataclass(frozen=True)
class Info(Message):
    """Device identity, limits and capabilities (key 0): never a session id or any state."""

    MSG_TYPE = MsgType.INFO
    proto_minor: U8
    schema_hash: U32
    fw_major: U8
    fw_minor: U8
    fw_patch: U8
    model: Annotated[str, Wire("s", 16)]
    serial: Annotated[str, Wire("s", 16)]
    channel_count: U8
    max_intensity_uA: U16
    min_phase_us: U16
    max_phase_us: U16
    min_freq_cHz: U16
    max_freq_cHz: U16
    max_phase_charge_nC: U16
    max_slew_uA_per_s: U16
    compliance_mV: U32
    min_lease_ms: U16
    max_lease_ms: U16
    max_run_s: U16
    max_interphase_us: U16
    max_asym_ratio: U8
    flags: Annotated[InfoFlag, Wire("B")]


@dataclass(frozen=True)
class HelloAck(Info):
    """INFO's fields and the session HELLO opened (key 2: the first frame of the session)."""

    MSG_TYPE = MsgType.HELLO_ACK
    boot_id: U32
    session_id: U32
    lease_ms: U16
    device_nonce: Annotated[bytes, Wire("o", NONCE_SIZE)]

    def as_info(self) -> Info:
        """The identity and limits part of this HELLO_ACK."""
        names = [f.name for f in Info.LAYOUT]
        return Info(**{n: getattr(self, n) for n in names})


@dataclass(frozen=True)
class PairAck(Message):
    """The new pairing key (key 0, sent once, inside the pairing window only)."""

    MSG_TYPE = MsgType.PAIR_ACK
    key_id: U32
    pairing_key: Annotated[bytes, Wire("o", KEY_SIZE)]
    serial: Annotated[str, Wire("s", 16)]


@dataclass(frozen=True)
class Program(SetProgram):
    """Exact read-back of a stored program, with its CRC."""

    MSG_TYPE = MsgType.PROGRAM
    program_crc: U32

    def as_set_program(self) -> SetProgram:
        """Return the SET_PROGRAM this read-back describes (for field-by-field comparison)."""
        names = [f.name for f in SetProgram.LAYOUT]
        return SetProgram(**{n: getattr(self, n) for n in names})


@dataclass(frozen=True)
class ChannelStatus(WireStruct):
    """One channel's entry in STATUS."""

    state: Annotated[ChannelState, Wire("B")]
    faults: Annotated[Fault, Wire("B")]
    target_uA: U16
    set_uA: U16
    measured_uA: U16
    impedance_ohm: U16
    freq_cHz: U16


@dataclass(frozen=True)
class Status(Message):
    """Device and per-channel state. Answers HEARTBEAT and GET_STATUS."""

    MSG_TYPE = MsgType.STATUS
    boot_id: U32
    uptime_ms: U32
    lease_remaining_ms: U16
    last_applied_counter: U32
    rx_err_count: U32
    auth_fail_count: U32
    replay_count: U32
    flags: Annotated[DeviceFlag, Wire("B")]
    channels: Annotated[tuple[ChannelStatus, ...], Wire(count=MAX_CHANNELS)]

    @property
    def outputs_off(self) -> bool:
        """True when no channel can deliver current and every measured current is zero."""
        return all(not c.state.output_active and c.measured_uA == 0 for c in self.channels)


@dataclass(frozen=True)
class Dose(Message):
    """A channel's delivered totals since its last SET_PROGRAM, as the device measured them."""

    MSG_TYPE = MsgType.DOSE
    channel: U8
    pulses_a: U32
    pulses_b: U32
    time_a_ms: U32
    time_b_ms: U32
    charge_pos_nC: U64
    charge_neg_nC: U64
    peak_uA: U16
    rms_uA: U16
    on_time_ms: U32


@dataclass(frozen=True)
class Nak(Message):
    """Negative answer: error code, offending field index and the limit it broke.

    For BAD_VERSION ``limit`` is the device's major (a host of another major reads byte 0 of
    the frame, PROTOCOL.md §3.6), for
    SCHEMA_MISMATCH the device's schema hash, for OUT_OF_RANGE the bound that was crossed.
    """

    MSG_TYPE = MsgType.NAK
    nak_type: U8
    code: Annotated[NakCode, Wire("B")]
    field: U8
    limit: U32


@dataclass(frozen=True)
class Event(Message):
    """Unsolicited report of something the device did on its own."""

    MSG_TYPE = MsgType.EVENT
    code: Annotated[EventCode, Wire("B")]
    channel: U8
    detail: U32
    uptime_ms: U32


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
        Pair,
        Forget,
        Ack,
        HelloAck,
        Info,
        Program,
        Status,
        Dose,
        PairAck,
        Nak,
        Event,
    )
}
"""msg_type → message class, for every type this schema defines."""


def descriptor(cls: type[Message]) -> str:
    """The layout descriptor of a message: ``"{msg_type:02X} {Name}({field}:{type},…)"``.

    The grammar is PROTOCOL.md §3.6; the schema hash is computed from these strings.
    """
    return f"{int(cls.MSG_TYPE):02X} {cls.__name__}({cls.descriptor()})"


SCHEMA_HASH: int = crc32c(
    f"eacontrol-proto {PROTO_MAJOR}\n".encode()
    + "\n".join(descriptor(MESSAGE_TYPES[t]) for t in sorted(MESSAGE_TYPES)).encode()
)
"""Hash of every message layout, exchanged in HELLO; any layout change changes it."""
