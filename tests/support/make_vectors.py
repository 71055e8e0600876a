"""Build the golden vectors of PROTOCOL.md §9 (run this file to rewrite firmware_protocol/vectors).

Deterministic: the same protocol always gives byte-identical files, so a test compares the
stored vectors with a fresh build and any protocol change shows up as a reviewed diff.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from pathlib import Path
from typing import Any

from sim_programs import dense_disperse, program

import firmware_protocol as fp
from firmware_protocol.cobs import cobs_encode
from firmware_protocol.frame import _HEADER
from firmware_protocol.messages import _descriptor

VECTOR_DIR = Path(__file__).resolve().parents[2] / "firmware_protocol" / "vectors"


def fields_of(message: Any) -> dict[str, Any]:
    """Return a message's fields as JSON-ready values (enums as ints, records as objects)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if isinstance(value, enum.Enum):
            value = int(value)
        elif isinstance(value, tuple):
            value = [fields_of(v) if dataclasses.is_dataclass(v) else v for v in value]
        out[f.name] = value
    return out


# The continuous program of the vectors, and their 2/100 Hz dense-disperse one (sim_programs's
# programs with this file's intensities and ramps).
CONTINUOUS = program(target_uA=2500, ramp_up_ms=3000, ramp_down_ms=2000)
DENSE_DISPERSE = dense_disperse(channel=1, target_uA=4000, ramp_up_ms=4000, ramp_down_ms=2000)


def _channel(
    state: fp.ChannelState,
    uA: int = 0,
    *,
    faults: fp.Fault = fp.Fault.NONE,
    impedance_ohm: int = 500,
    freq_cHz: int = 0,
) -> fp.ChannelStatus:
    """A STATUS entry whose target, set and measured currents are all ``uA``."""
    return fp.ChannelStatus(state, faults, uA, uA, uA, impedance_ohm, freq_cHz)


def valid_cases() -> list[tuple[str, fp.Message, int, int, int]]:
    """(name, message, session_id, seq, ref_seq) for every message type."""
    hello_ack = fp.HelloAck(
        proto_minor=fp.PROTO_MINOR,
        schema_hash=fp.SCHEMA_HASH,
        fw_major=1,
        fw_minor=0,
        fw_patch=0,
        model="EA-SIM-6",
        serial="SIM-000001",
        boot_id=0x5EED1234,
        session_id=0x1234,
        lease_ms=500,
        channel_count=6,
        max_intensity_uA=20000,
        min_phase_us=50,
        max_phase_us=1000,
        min_freq_cHz=100,
        max_freq_cHz=20000,
        max_phase_charge_nC=10000,
        max_slew_uA_per_s=5000,
        compliance_mV=60000,
        min_lease_ms=200,
        max_lease_ms=1000,
        max_run_s=3600,
        max_interphase_us=500,
        max_asym_ratio=8,
    )
    running = _channel(fp.ChannelState.RUNNING, 4000, freq_cHz=10000)
    faulted = _channel(fp.ChannelState.FAULT, faults=fp.Fault.ELECTRODE, impedance_ohm=0xFFFF)
    idle = _channel(fp.ChannelState.IDLE)
    status = fp.Status(
        boot_id=0x5EED1234,
        uptime_ms=123456,
        lease_remaining_ms=480,
        last_applied_seq=41,
        rx_err_count=2,
        flags=fp.DeviceFlag.SESSION_OPEN
        | fp.DeviceFlag.LEASE_VALID
        | fp.DeviceFlag.OUTPUT_ACTIVE
        | fp.DeviceFlag.FAULT_LATCHED,
        channels=(idle, running, faulted, idle, idle, idle),
    )
    crcs = [0] * fp.MAX_CHANNELS
    crcs[1] = DENSE_DISPERSE.crc
    intermittent = dataclasses.replace(
        CONTINUOUS,
        channel=2,
        mode=fp.Mode.INTERMITTENT,
        shape=fp.Shape.ASYMMETRIC_BIPHASIC,
        asym_ratio=4,
        on_ms=1500,
        off_ms=1500,
        freq_a_cHz=1000,
    )
    dose = fp.Dose(
        channel=1,
        pulses_a=900,
        pulses_b=90000,
        time_a_ms=900000,
        time_b_ms=900000,
        charge_pos_nC=2_160_000 + 108_000_000,
        charge_neg_nC=2_160_000 + 108_000_000,
        peak_uA=4000,
        rms_uA=660,
        on_time_ms=1800000,
    )
    nak = fp.Nak(
        nak_type=fp.MsgType.SET_PROGRAM,
        code=fp.NakCode.OUT_OF_RANGE,
        field=fp.SetProgram.field_index("target_uA"),
        limit=20000,
    )
    self_test_failed = fp.Nak(
        nak_type=fp.MsgType.CLEAR_FAULT,
        code=fp.NakCode.SELF_TEST_FAILED,
        field=fp.ClearFault.field_index("channel_mask"),
        limit=5000,
    )
    event = fp.Event(
        code=fp.EventCode.LEASE_EXPIRED, channel=fp.NO_CHANNEL, detail=0b10, uptime_ms=130000
    )
    ack = fp.Ack(acked_type=fp.MsgType.SET_PROGRAM, value=DENSE_DISPERSE.crc)
    read_back = fp.Program(**fields_of(DENSE_DISPERSE), program_crc=DENSE_DISPERSE.crc)
    s = 0x1234
    return [
        ("hello", fp.Hello(new_session_id=s, lease_ms=500, schema_hash=fp.SCHEMA_HASH), 0, 1, 0),
        ("get_info", fp.GetInfo(), 0, 2, 0),
        ("hello_ack", hello_ack, s, 7, 1),
        ("set_program_continuous", CONTINUOUS, s, 3, 0),
        ("set_program_dense_disperse", DENSE_DISPERSE, s, 4, 0),
        ("set_program_intermittent_asymmetric", intermittent, s, 5, 0),
        ("ack_set_program", ack, s, 8, 4),
        ("get_program", fp.GetProgram(channel=1), s, 6, 0),
        ("program", read_back, s, 9, 6),
        ("start", fp.Start(channel_mask=0b10, program_crc=tuple(crcs)), s, 10, 0),
        ("set_intensity", fp.SetIntensity(channel=1, target_uA=4500, slew_uA_per_s=500), s, 11, 0),
        ("stop_ramp_down", fp.Stop(channel_mask=0x3F, mode=fp.StopMode.RAMP_DOWN), s, 12, 0),
        ("stop_immediate", fp.Stop(channel_mask=0x3F, mode=fp.StopMode.IMMEDIATE), 0, 13, 0),
        ("heartbeat", fp.Heartbeat(), s, 14, 0),
        ("get_status", fp.GetStatus(), s, 15, 0),
        ("status", status, s, 20, 14),
        ("clear_fault", fp.ClearFault(channel_mask=0b100), s, 16, 0),
        ("get_dose", fp.GetDose(channel=1), s, 17, 0),
        ("dose", dose, s, 21, 17),
        ("nak_out_of_range", nak, s, 22, 3),
        ("event_lease_expired", event, s, 23, 0),
        # protocol 1.1: CLEAR_FAULT answered after the output stage's self-test (§3.9)
        ("ack_clear_fault", fp.Ack(acked_type=fp.MsgType.CLEAR_FAULT, value=0b100), s, 24, 16),
        ("nak_self_test_failed", self_test_failed, s, 25, 16),
    ]


def _raw_frame(
    msg_type: int,
    payload: bytes,
    *,
    major: int = 1,
    incompat: int = 0,
    payload_len: int | None = None,
    tag_type: int | None = None,
) -> bytes:
    """A frame built by hand, to make the invalid vectors."""
    header = _HEADER.pack(
        major,
        incompat,
        0,
        msg_type,
        0x1234,
        99,
        0,
        len(payload) if payload_len is None else payload_len,
    )
    body = header + payload
    tag = fp.schema_tag(tag_type if tag_type is not None else msg_type)
    crc = fp.crc32c(tag, fp.crc32c(body))
    return cobs_encode(body + crc.to_bytes(4, "little")) + b"\x00"


def invalid_cases() -> list[tuple[str, bytes, str, str | None]]:
    """(name, wire bytes, expected error code, NAK code or None) for every rejection."""
    hb = fp.encode_frame(fp.Heartbeat(), session_id=0x1234, seq=99)
    good = fp.encode_frame(
        fp.SetIntensity(channel=0, target_uA=1000, slew_uA_per_s=500), session_id=0x1234, seq=99
    )
    flipped = bytearray(good)
    flipped[5] ^= 0x01  # a payload byte (never a COBS code byte here): COBS fine, CRC fails
    hello_payload = fp.Hello(new_session_id=1, lease_ms=500, schema_hash=fp.SCHEMA_HASH).encode()
    return [
        ("bad_crc", bytes(flipped), "crc", None),
        ("wrong_length", _raw_frame(fp.MsgType.HEARTBEAT, b"", payload_len=3), "length", None),
        (
            "unknown_msg_type",
            _raw_frame(0x42, b"", tag_type=fp.MsgType.HEARTBEAT),
            "unknown_msg_type",
            None,
        ),
        (
            "unknown_incompat_flag",
            _raw_frame(fp.MsgType.HEARTBEAT, b"", incompat=0x80),
            "incompat_flag",
            "UNSUPPORTED_FEATURE",
        ),
        ("oversize", b"\x01" * (fp.MAX_ENCODED_FRAME + 1) + b"\x00", "oversize", None),
        ("truncated", cobs_encode(hb[:-1][:8]) + b"\x00", "truncated", None),
        (
            "wrong_major",
            _raw_frame(fp.MsgType.HELLO, hello_payload, major=2),
            "version",
            "BAD_VERSION",
        ),
        ("cobs_overrun", bytes([0x09, 0x01, 0x02]) + b"\x00", "cobs", None),
        ("bad_enum", _raw_frame(fp.MsgType.STOP, bytes([0x01, 0x07])), "payload", "BAD_PAYLOAD"),
        (
            "bad_payload_length",
            _raw_frame(fp.MsgType.STOP, bytes([0x01])),
            "payload",
            "BAD_PAYLOAD",
        ),
    ]


def build() -> dict[str, Any]:
    """Return every vector file's content by file name."""
    valid = [
        {
            "name": name,
            "hex": fp.encode_frame(msg, session_id=sid, seq=seq, ref_seq=ref).hex(),
            "session_id": sid,
            "seq": seq,
            "ref_seq": ref,
            "msg_type": msg.MSG_TYPE.name,
            "fields": fields_of(msg),
        }
        for name, msg, sid, seq, ref in valid_cases()
    ]
    invalid = [
        {"name": name, "hex": raw.hex(), "error": error, "nak": nak}
        for name, raw, error, nak in invalid_cases()
    ]
    schema = {
        "description": "Schema tags (CRC-32C of each descriptor, little-endian in the frame CRC) "
        "and the schema hash of protocol major 1.",
        "proto_major": fp.PROTO_MAJOR,
        "schema_hash": f"0x{fp.SCHEMA_HASH:08X}",
        "messages": [
            {
                "msg_type": f"0x{int(t):02X}",
                "name": cls.__name__,
                "descriptor": _descriptor(cls),
                "schema_tag": f"0x{int.from_bytes(fp.schema_tag(t), 'little'):08X}",
            }
            for t, cls in sorted(fp.MESSAGE_TYPES.items())
        ],
    }
    cobs_cases = [
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x11\x22\x00\x33",
        b"\x11\x22\x33\x44",
        bytes(range(1, 255)),
        bytes(range(0, 256)),
    ]
    crc = {
        "description": "CRC-32C (Castagnoli, reflected 0x82F63B78) and COBS examples.",
        "crc32c": [
            {"data": b"123456789".hex(), "crc": f"0x{fp.crc32c(b'123456789'):08X}"},
            {"data": "", "crc": f"0x{fp.crc32c(b''):08X}"},
            {"data": bytes(32).hex(), "crc": f"0x{fp.crc32c(bytes(32)):08X}"},
        ],
        "cobs": [{"decoded": c.hex(), "encoded": cobs_encode(c).hex()} for c in cobs_cases],
    }
    header = {"schema_hash": f"0x{fp.SCHEMA_HASH:08X}"}
    return {
        "messages.json": {
            "description": "One or more valid frames of every message type.",
            **header,
            "valid": valid,
            "invalid": [],
        },
        "invalid.json": {
            "description": "Frames every receiver must reject, with the error.",
            **header,
            "valid": [],
            "invalid": invalid,
        },
        "schema.json": schema,
        "crc.json": crc,
    }


def render(content: dict[str, Any]) -> str:
    """Serialise one vector file exactly as stored."""
    return json.dumps(content, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    for name, content in build().items():
        (VECTOR_DIR / name).write_text(render(content))
        print(f"wrote {VECTOR_DIR / name}", file=sys.stderr)
