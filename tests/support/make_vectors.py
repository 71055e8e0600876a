"""Build the golden vectors of PROTOCOL.md §9 (run this file to rewrite firmware_protocol/vectors).

Deterministic: the same protocol always gives byte-identical files, so a test compares the
stored vectors with a fresh build and any protocol change shows up as a reviewed diff. Every
authenticated frame is tagged with keys derived from the fixed test inputs below (never a real
device's): the pairing key, its key_id, both HELLO nonces and the session id.
"""

from __future__ import annotations

import dataclasses
import enum
import hmac
import json
import sys
from pathlib import Path
from typing import Any

from invalid_vectors import invalid_cases
from sim_programs import dense_disperse, program
from vector_keys import (
    DEVICE_NONCE,
    DEVICE_TO_HOST,
    HELLO_KEY,
    HOST_NONCE,
    HOST_TO_DEVICE,
    KEY_ID,
    PAIRING_KEY,
    SESSION_ID,
    SESSION_KEYS,
    key_name,
)

import firmware_protocol as fp
from firmware_protocol.cobs import cobs_encode
from firmware_protocol.schema import render_schema

VECTOR_DIR = Path(__file__).resolve().parents[2] / "firmware_protocol" / "vectors"


def fields_of(message: Any) -> dict[str, Any]:
    """A message's fields as JSON-ready values (enums as ints, bytes as hex, records as objects)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if isinstance(value, enum.Enum):
            value = int(value)
        elif isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, tuple):
            value = [fields_of(v) if dataclasses.is_dataclass(v) else v for v in value]
        out[f.name] = value
    return out


# The continuous program of the vectors, and their 2/100 Hz dense-disperse one (sim_programs's
# programs with this file's intensities and ramps).
CONTINUOUS = program(target_uA=2500, ramp_up_ms=3000, ramp_down_ms=2000)
DENSE_DISPERSE = dense_disperse(channel=1, target_uA=4000, ramp_up_ms=4000, ramp_down_ms=2000)

INFO = fp.Info(
    proto_minor=fp.PROTO_MINOR,
    schema_hash=fp.SCHEMA_HASH,
    fw_major=2,
    fw_minor=0,
    fw_patch=0,
    model="EA-SIM-6",
    serial="SIM-000001",
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
    flags=fp.InfoFlag.PAIRING_WINDOW,
)
BOOT_ID = 0x5EED1234


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


@dataclasses.dataclass(frozen=True)
class Case:
    """One valid frame: its message and header values, and the key that tags it (None: key 0)."""

    name: str
    message: fp.Message
    key: bytes | None = None
    kind: fp.KeyKind | None = None
    session_id: int = SESSION_ID
    counter: int = 0
    ref_counter: int = 0


def _session_messages() -> list[tuple[str, fp.Message, int, int]]:
    """(name, message, counter, ref_counter) of the frames in the open session, in both
    directions (host counters and device counters are separate)."""
    running = _channel(fp.ChannelState.RUNNING, 4000, freq_cHz=10000)
    faulted = _channel(fp.ChannelState.FAULT, faults=fp.Fault.ELECTRODE, impedance_ohm=0xFFFF)
    idle = _channel(fp.ChannelState.IDLE)
    status = fp.Status(
        boot_id=BOOT_ID,
        uptime_ms=123456,
        lease_remaining_ms=480,
        last_applied_counter=9,
        rx_err_count=2,
        auth_fail_count=1,
        replay_count=3,
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
    out_of_range = fp.Nak(
        nak_type=fp.MsgType.SET_INTENSITY,
        code=fp.NakCode.OUT_OF_RANGE,
        field=fp.SetIntensity.field_index("target_uA"),
        limit=20000,
    )
    self_test_failed = fp.Nak(
        nak_type=fp.MsgType.CLEAR_FAULT,
        code=fp.NakCode.SELF_TEST_FAILED,
        field=fp.ClearFault.field_index("channel_mask"),
        limit=5000,
    )
    lease = fp.Event(fp.EventCode.LEASE_EXPIRED, fp.NO_CHANNEL, 0b10, 130000)
    closed = fp.Event(fp.EventCode.SESSION_CLOSED, fp.NO_CHANNEL, fp.SessionClosed.LEASE, 130000)
    ack = fp.Ack(acked_type=fp.MsgType.SET_PROGRAM, value=DENSE_DISPERSE.crc)
    read_back = fp.Program(**fields_of(DENSE_DISPERSE), program_crc=DENSE_DISPERSE.crc)
    host = [
        ("set_program_continuous", CONTINUOUS),
        ("set_program_dense_disperse", DENSE_DISPERSE),
        ("set_program_intermittent_asymmetric", intermittent),
        ("get_program", fp.GetProgram(channel=1)),
        ("start", fp.Start(channel_mask=0b10, program_crc=tuple(crcs))),
        ("set_intensity", fp.SetIntensity(channel=1, target_uA=4500, slew_uA_per_s=500)),
        ("heartbeat", fp.Heartbeat()),
        ("get_status", fp.GetStatus()),
        ("get_dose", fp.GetDose(channel=1)),
        ("stop_ramp_down", fp.Stop(channel_mask=0x3F, mode=fp.StopMode.RAMP_DOWN)),
        ("stop_immediate", fp.Stop(channel_mask=0xFF, mode=fp.StopMode.IMMEDIATE)),
        ("clear_fault", fp.ClearFault(channel_mask=0b100)),
        ("forget", fp.Forget(key_id=KEY_ID)),
    ]
    # host counter n is host[n - 1]; the device's counter 1 was HELLO_ACK
    device = [
        ("ack_set_program", ack, 2),
        ("program", read_back, 4),
        ("nak_out_of_range", out_of_range, 6),
        ("status", status, 7),
        ("dose", dose, 9),
        ("ack_clear_fault", fp.Ack(acked_type=fp.MsgType.CLEAR_FAULT, value=0b100), 12),
        ("nak_self_test_failed", self_test_failed, 12),
        ("event_lease_expired", lease, 0),
        ("event_session_closed", closed, 0),
    ]
    return [(n, m, i + 1, 0) for i, (n, m) in enumerate(host)] + [
        (n, m, i + 2, ref) for i, (n, m, ref) in enumerate(device)
    ]


def valid_cases() -> list[Case]:
    """Every message type, each with the key kind PROTOCOL.md §2.4 gives it."""
    hello = fp.Hello(key_id=KEY_ID, host_nonce=HOST_NONCE, lease_ms=500, schema_hash=fp.SCHEMA_HASH)
    hello_ack = fp.HelloAck(
        **fields_of(INFO) | {"flags": fp.InfoFlag.NONE},
        boot_id=BOOT_ID,
        session_id=SESSION_ID,
        lease_ms=500,
        device_nonce=DEVICE_NONCE,
    )
    pair_ack = fp.PairAck(key_id=KEY_ID, pairing_key=PAIRING_KEY, serial=INFO.serial)
    T, N = fp.MsgType, fp.NakCode
    bad_version = fp.Nak(nak_type=T.HELLO, code=N.BAD_VERSION, field=fp.NO_FIELD, limit=2)
    no_session = fp.Nak(nak_type=T.START, code=N.NO_SESSION, field=fp.NO_FIELD, limit=0)
    not_paired = fp.Nak(nak_type=T.HELLO, code=N.NOT_PAIRED, field=0, limit=0)
    reboot = fp.Event(fp.EventCode.REBOOT, fp.NO_CHANNEL, BOOT_ID, 12)
    untagged = [
        Case("get_info", fp.GetInfo(), session_id=0, counter=1),
        Case("info", INFO, session_id=0, counter=1, ref_counter=1),
        Case("pair", fp.Pair(host_label="eactl test host"), session_id=0, counter=2),
        Case("pair_ack", pair_ack, session_id=0, counter=2, ref_counter=2),
        Case("nak_bad_version", bad_version, session_id=0, counter=3, ref_counter=7),
        Case("nak_no_session", no_session, session_id=0, counter=4, ref_counter=5),
        Case("nak_not_paired", not_paired, session_id=0, counter=5, ref_counter=6),
        Case("event_reboot", reboot, session_id=0, counter=6),
    ]
    handshake = [
        Case("hello", hello, HELLO_KEY, fp.KeyKind.PAIRING, session_id=0, counter=3),
        Case("hello_ack", hello_ack, DEVICE_TO_HOST, counter=1, ref_counter=3),
    ]
    session = [
        Case(
            name,
            msg,
            HOST_TO_DEVICE if not msg.MSG_TYPE.from_device else DEVICE_TO_HOST,
            counter=counter,
            ref_counter=ref,
        )
        for name, msg, counter, ref in _session_messages()
    ]
    return untagged + handshake + session


def encode(case: Case) -> bytes:
    """The case's wire frame."""
    return fp.encode_frame(
        case.message,
        key=case.key,
        kind=case.kind,
        session_id=case.session_id,
        counter=case.counter,
        ref_counter=case.ref_counter,
    )


def describe_frame(wire: bytes) -> dict[str, Any]:
    """The parts of a wire frame, for a reader checking an implementation step by step."""
    raw = fp.parse_frame(wire[:-1])
    decoded = fp.cobs_decode(wire[:-1])
    return {
        "header": dataclasses.asdict(raw.header),
        "header_hex": decoded[: fp.HEADER_SIZE].hex(),
        "payload_hex": raw.payload.hex(),
        "tag_hex": raw.tag.hex(),
        "crc": f"0x{int.from_bytes(decoded[-4:], 'little'):08X}",
    }


def _valid_entry(case: Case) -> dict[str, Any]:
    wire = encode(case)
    kind = case.kind or (fp.KeyKind.SESSION if case.key else fp.KeyKind.NONE)
    return {
        "name": case.name,
        "hex": wire.hex(),
        "msg_type": case.message.MSG_TYPE.name,
        "key_kind": kind.name,
        "key": key_name(case.key),
        **describe_frame(wire),
        "fields": fields_of(case.message),
    }


def test_inputs() -> dict[str, Any]:
    """The fixed inputs every tagged vector is built from."""
    return {
        "pairing_key": PAIRING_KEY.hex(),
        "key_id": KEY_ID,
        "host_nonce": HOST_NONCE.hex(),
        "device_nonce": DEVICE_NONCE.hex(),
        "session_id": SESSION_ID,
    }


def auth_content() -> dict[str, Any]:
    """auth.json: the RFC test vectors the primitives pass, and the keys of the test inputs."""
    info = b"eacontrol-proto 2 session" + SESSION_ID.to_bytes(4, "little")
    return {
        "description": "HKDF-SHA-256 (RFC 5869 §A.1–A.3) and HMAC-SHA-256 (RFC 4231 §4.2–4.8) "
        "test vectors, then the keys derived from this file's fixed test inputs (the inputs "
        "of every tagged frame in messages.json and invalid.json).",
        "hkdf_sha256_rfc5869": [dict(c, okm=_okm(c)) for c in RFC5869],
        "hmac_sha256_rfc4231": [dict(c, mac=_mac(c)) for c in RFC4231],
        "test_inputs": test_inputs(),
        "derived": {
            "hello_key": {
                "salt": "",
                "info_hex": b"eacontrol-proto 2 hello".hex(),
                "length": fp.KEY_SIZE,
                "okm": HELLO_KEY.hex(),
            },
            "session_keys": {
                "salt_hex": (HOST_NONCE + DEVICE_NONCE).hex(),
                "info_hex": info.hex(),
                "length": 2 * fp.KEY_SIZE,
                "okm": (SESSION_KEYS.host_to_device + SESSION_KEYS.device_to_host).hex(),
                "host_to_device": SESSION_KEYS.host_to_device.hex(),
                "device_to_host": SESSION_KEYS.device_to_host.hex(),
            },
        },
    }


# RFC 5869 Appendix A, test cases 1–3 (SHA-256), as printed there (prk and okm checked by
# auth_content against the code, so the file can only hold values the code reproduces).
RFC5869: list[dict[str, Any]] = [
    {
        "case": 1,
        "ikm": "0b" * 22,
        "salt": "000102030405060708090a0b0c",
        "info": "f0f1f2f3f4f5f6f7f8f9",
        "length": 42,
        "prk": "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "okm": "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865",
    },
    {
        "case": 2,
        "ikm": bytes(range(0x00, 0x50)).hex(),
        "salt": bytes(range(0x60, 0xB0)).hex(),
        "info": bytes(range(0xB0, 0x100)).hex(),
        "length": 82,
        "prk": "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "okm": "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    },
    {
        "case": 3,
        "ikm": "0b" * 22,
        "salt": "",
        "info": "",
        "length": 42,
        "prk": "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "okm": "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        "9d201395faa4b61a96c8",
    },
]

_LONG = (
    b"This is a test using a larger than block-size key and a larger than block-size data."
    b" The key needs to be hashed before being used by the HMAC algorithm."
)
# RFC 4231 §4.2–4.8, test cases 1–7, HMAC-SHA-256 (case 5 is truncated to 128 bits)
RFC4231: list[dict[str, Any]] = [
    {"case": 1, "key": "0b" * 20, "data": b"Hi There".hex(), "truncate_bytes": None,
     "mac": "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"case": 2, "key": b"Jefe".hex(), "data": b"what do ya want for nothing?".hex(),
     "truncate_bytes": None,
     "mac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"case": 3, "key": "aa" * 20, "data": "dd" * 50, "truncate_bytes": None,
     "mac": "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"case": 4, "key": bytes(range(1, 26)).hex(), "data": "cd" * 50, "truncate_bytes": None,
     "mac": "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
    {"case": 5, "key": "0c" * 20, "data": b"Test With Truncation".hex(), "truncate_bytes": 16,
     "mac": "a3b6167473100ee06e0c796c2955552b"},
    {"case": 6, "key": "aa" * 131,
     "data": b"Test Using Larger Than Block-Size Key - Hash Key First".hex(),
     "truncate_bytes": None,
     "mac": "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
    {"case": 7, "key": "aa" * 131,
     "data": _LONG.hex(),
     "truncate_bytes": None,
     "mac": "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
]  # fmt: skip


def _okm(case: dict[str, Any]) -> str:
    salt, ikm = bytes.fromhex(case["salt"]), bytes.fromhex(case["ikm"])
    prk = hmac.digest(salt or bytes(32), ikm, "sha256").hex()
    okm = fp.hkdf_sha256(
        ikm, salt=salt, info=bytes.fromhex(case["info"]), length=case["length"]
    ).hex()
    if (prk, okm) != (case["prk"], case["okm"]):
        raise AssertionError(f"HKDF-SHA-256 fails RFC 5869 case {case['case']}")
    return okm


def _mac(case: dict[str, Any]) -> str:
    mac = hmac.digest(bytes.fromhex(case["key"]), bytes.fromhex(case["data"]), "sha256")
    mac = mac[: case["truncate_bytes"]]
    if mac.hex() != case["mac"]:
        raise AssertionError(f"HMAC-SHA-256 fails RFC 4231 case {case['case']}")
    if case["truncate_bytes"] == fp.TAG_SIZE:  # the protocol's own truncation, through fp.tag
        tag = fp.tag(bytes.fromhex(case["key"]), bytes.fromhex(case["data"]))
        if tag != mac:
            raise AssertionError("firmware_protocol.tag is not HMAC-SHA-256 truncated to 16")
    return mac.hex()


def crc_content() -> dict[str, Any]:
    """crc.json: CRC-32C values and COBS encodings."""
    cobs_cases = [
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x11\x22\x00\x33",
        b"\x11\x22\x33\x44",
        bytes(range(1, 255)),
        bytes(range(0, 256)),
    ]
    return {
        "description": "CRC-32C (Castagnoli, reflected 0x82F63B78) and COBS examples.",
        "crc32c": [
            {"data": b"123456789".hex(), "crc": f"0x{fp.crc32c(b'123456789'):08X}"},
            {"data": "", "crc": f"0x{fp.crc32c(b''):08X}"},
            {"data": bytes(32).hex(), "crc": f"0x{fp.crc32c(bytes(32)):08X}"},
        ],
        "cobs": [{"decoded": c.hex(), "encoded": cobs_encode(c).hex()} for c in cobs_cases],
    }


def build() -> dict[str, str]:
    """Every vector file's exact text, by file name."""
    common = {"proto_major": fp.PROTO_MAJOR, "schema_hash": f"0x{fp.SCHEMA_HASH:08X}"}
    inputs = {"test_inputs": test_inputs()}
    messages = {
        "description": "One or more valid frames of every message type, each with the key kind "
        "its type uses (PROTOCOL.md §2.4) and tagged with the keys derived from test_inputs "
        "(auth.json lists them). 'key' names the key that made the tag.",
        **common,
        **inputs,
        "valid": [_valid_entry(c) for c in valid_cases()],
    }
    invalid = {
        "description": "Frames a receiver must refuse, with the outcome. 'receiver_state' names "
        "the state assumed (receiver_states below); 'counter' is the STATUS counter that grows "
        "by one; 'nak' is the NAK code answered (null: never answered), sent with 'nak_key'.",
        **common,
        **inputs,
        **invalid_cases(),
    }
    return {
        "messages.json": render(messages),
        "invalid.json": render(invalid),
        "auth.json": render(auth_content()),
        "crc.json": render(crc_content()),
        "schema.json": render_schema(),
    }


def render(content: dict[str, Any]) -> str:
    """Serialise one vector file exactly as stored."""
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    for name, text in build().items():
        (VECTOR_DIR / name).write_text(text)
        print(f"wrote {VECTOR_DIR / name}", file=sys.stderr)
