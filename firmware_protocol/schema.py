"""The machine-readable schema of the protocol (``vectors/schema.json``), generated from the code.

``protocol_schema()`` walks the same definitions the codec runs on (the message layouts, the
header struct, the enums, the key derivation constants) and returns one JSON-ready dict: enough
to generate a codec in another language without reading Python. ``render_schema()`` is the
exact text stored in ``vectors/schema.json``; ``tests/support/make_vectors.py`` writes it and a
test fails, with a diff, when the code changed and the file was not regenerated. The prose of
each code and rule is in ``schema_words.py``. No I/O here: the caller writes the file.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any

from firmware_protocol import auth, codes
from firmware_protocol.auth import KEY_SIZE, NONCE_SIZE, TAG_SIZE, KeyKind
from firmware_protocol.cobs import max_encoded_len
from firmware_protocol.crc import CHECK_VALUE
from firmware_protocol.fields import _RANGES
from firmware_protocol.frame import (
    _HEADER,
    _TAG_SIZES,
    CRC_SIZE,
    HEADER_SIZE,
    KNOWN_INCOMPAT_FLAGS,
    MAX_ENCODED_FRAME,
    MAX_FRAME,
    MAX_PAYLOAD,
    Header,
)
from firmware_protocol.layout import Array, Group, Opaque, Scalar, Text, WireStruct
from firmware_protocol.messages import (
    MAX_CHANNELS,
    MESSAGE_TYPES,
    NO_CHANNEL,
    NO_FIELD,
    PROTO_MAJOR,
    PROTO_MINOR,
    SCHEMA_HASH,
    descriptor,
)
from firmware_protocol.schema_words import (
    ANSWERS,
    CHECK_ORDER,
    ENUM_MEANINGS,
    HEADER_MEANINGS,
    MESSAGE_KEYS,
    UNITS,
)

__all__ = ["ENUMS", "REPLY_WINDOW", "protocol_schema", "render_schema", "unit_of"]

ENUMS: tuple[type[enum.IntEnum] | type[enum.IntFlag], ...] = (
    KeyKind,
    codes.MsgType,
    codes.Mode,
    codes.Shape,
    codes.StopMode,
    codes.ChannelState,
    codes.Fault,
    codes.DeviceFlag,
    codes.InfoFlag,
    codes.NakCode,
    codes.EventCode,
    codes.SessionClosed,
)
"""Every enum of the wire, in the order schema.json lists them."""

REPLY_WINDOW = 16
"""How many of the last executed counters a device keeps with their tags and replies, so a
retransmission of one of them is answered again (PROTOCOL.md §2.5 check 8, §3.4)."""

_TYPE_NAMES = {"B": "u8", "H": "u16", "I": "u32", "Q": "u64"}
_HASH_PREFIX = f"eacontrol-proto {PROTO_MAJOR}\n"
_HASH_SEPARATOR = "\n"


def unit_of(name: str) -> str | None:
    """The wire unit a field name's suffix names (``target_uA`` → ``µA``), or None."""
    for suffix, (unit, _) in UNITS.items():
        if name.endswith(suffix):
            return unit
    return None


def _hex(value: int, digits: int) -> str:
    return f"0x{value:0{digits}X}"


def _field(f: Scalar | Array | Text | Opaque | Group, offset: int, index: int) -> dict[str, Any]:
    """One field's entry: what a generated codec needs to put it on the wire and check it."""
    out: dict[str, Any] = {"name": f.name, "offset": offset, "nak_field": index}
    if isinstance(f, Scalar):
        lo, hi = _RANGES[f.code]
        out |= {"type": _TYPE_NAMES[f.code], "size": struct.calcsize(f.code)}
        out |= {"unit": unit_of(f.name), "range": [lo, hi]}
        if f.enum is not None:
            kind = "flags" if issubclass(f.enum, enum.IntFlag) else "enum"
            out[kind] = f.enum.__name__
    elif isinstance(f, Array):
        lo, hi = _RANGES[f.code]
        out |= {"type": "array", "element": _TYPE_NAMES[f.code], "count": f.count}
        out |= {"size": struct.calcsize(f"{f.count}{f.code}"), "unit": unit_of(f.name)}
        out |= {"range": [lo, hi], "nak_field_count": f.count}
    elif isinstance(f, Text):
        out |= {"type": f"char[{f.size}]", "size": f.size}
    elif isinstance(f, Opaque):
        out |= {"type": f"bytes[{f.size}]", "size": f.size}
    else:
        out |= {"type": "group", "count_type": "u8", "max_count": f.max_count}
        out |= {"record": f.elem.__name__, "record_size": _fixed_size(f.elem)}
    return out


def _fixed_size(cls: type[WireStruct]) -> int:
    return sum(_size(f) for f in cls.LAYOUT if not isinstance(f, Group))


def _size(f: Scalar | Array | Text | Opaque | Group) -> int:
    if isinstance(f, Scalar):
        return struct.calcsize(f.code)
    if isinstance(f, Array):
        return struct.calcsize(f"{f.count}{f.code}")
    if isinstance(f, Text | Opaque):
        return f.size
    return 1  # the group's count byte; its records follow


def _fields(cls: type[WireStruct], *, record: bool = False) -> list[dict[str, Any]]:
    """The fields of ``cls`` with their payload offsets (a record's: from the record's start;
    records travel device → host only and carry no NAK field index)."""
    out, offset, index = [], 0, 0
    for f in cls.LAYOUT:
        entry = _field(f, offset, index)
        if record:
            del entry["nak_field"]
        out.append(entry)
        offset += _size(f)
        index += f.width
    return out


def _payload(cls: type[WireStruct]) -> dict[str, Any]:
    fixed = _fixed_size(cls)
    groups = [f for f in cls.LAYOUT if isinstance(f, Group)]
    if not groups:
        return {"size": fixed, "rule": "fixed"}
    group = groups[0]
    record = _fixed_size(group.elem)
    return {
        "fixed_size": fixed,
        "min_size": fixed + 1,
        "max_size": fixed + 1 + group.max_count * record,
        "rule": f"{fixed} + 1 + count × {record}, where count is the u8 at offset {fixed} and "
        f"count ≤ {group.max_count}; any other length is BAD_PAYLOAD with field "
        f"{cls.field_index(group.name) + group.width} (the index after the group's own)",
    }


def _message(msg_type: codes.MsgType) -> dict[str, Any]:
    cls = MESSAGE_TYPES[msg_type]
    keys, rule = MESSAGE_KEYS[msg_type.name]
    entry: dict[str, Any] = {
        "msg_type": _hex(msg_type, 2),
        "value": int(msg_type),
        "name": msg_type.name,
        "struct": cls.__name__,
        "direction": "device_to_host" if msg_type.from_device else "host_to_device",
        "meaning": ENUM_MEANINGS["MsgType"][msg_type.name],
        "key": list(keys),
        "key_rule": rule,
    }
    if not msg_type.from_device:
        entry["answered_by"] = ANSWERS[msg_type.name]
    entry |= {"descriptor": descriptor(cls), "payload": _payload(cls), "fields": _fields(cls)}
    return entry


def _enum(kind: type[enum.IntEnum] | type[enum.IntFlag]) -> dict[str, Any]:
    meanings = ENUM_MEANINGS[kind.__name__]
    flags = issubclass(kind, enum.IntFlag)
    members = list(kind.__members__.values())
    values = [{"value": int(m.value), "name": m.name, "meaning": meanings[m.name]} for m in members]
    if set(meanings) != {m.name for m in members}:
        raise KeyError(f"{kind.__name__}: meanings {sorted(meanings)} != members")
    out: dict[str, Any] = {"name": kind.__name__, "kind": "flags" if flags else "enum"}
    out["type"] = "u8"
    if flags:
        known = 0
        for m in members:
            known |= int(m.value)
        out["defined_bits"] = _hex(known, 2)
        out["rule"] = "a bit outside defined_bits is BAD_PAYLOAD naming this field"
    else:
        out["rule"] = "a value not listed is BAD_PAYLOAD naming this field"
    out["values"] = values
    return out


def _header() -> list[dict[str, Any]]:
    out, offset = [], 0
    names = list(Header.__dataclass_fields__)
    for name, code in zip(names, _HEADER.format.lstrip("<"), strict=True):
        size = struct.calcsize(code)
        item = {"offset": offset, "type": _TYPE_NAMES[code], "size": size, "name": name}
        out.append(item | {"meaning": HEADER_MEANINGS[name]})
        offset += size
    if set(HEADER_MEANINGS) != set(names):
        raise KeyError(f"header meanings {sorted(HEADER_MEANINGS)} != {names}")
    return out


def _schema_hash() -> dict[str, Any]:
    ordered = [descriptor(MESSAGE_TYPES[t]) for t in sorted(MESSAGE_TYPES)]
    return {
        "value": _hex(SCHEMA_HASH, 8),
        "algorithm": "CRC-32C of the UTF-8 (here ASCII) text: prefix, then the descriptors in "
        "ascending msg_type order joined by separator (no separator after the last)",
        "prefix": _HASH_PREFIX,
        "separator": _HASH_SEPARATOR,
        "descriptor_grammar": {
            "message": "{msg_type as 2 upper-case hex digits} {struct}({fields joined by ','})",
            "scalar": "{name}:{code}, and /{Enum} when it is an enum or flags (mode:B/Mode)",
            "array": "{name}:{count}{code} (program_crc:8I)",
            "text": "{name}:{size}s (char[size]; model:16s)",
            "bytes": "{name}:{size}o (opaque bytes[size]; host_nonce:16o)",
            "group": "{name}:[{max_count}]{{record fields joined by ','}} "
            "(channels:[8]{state:B/ChannelState,…})",
            "codes": {"B": "u8", "H": "u16", "I": "u32", "Q": "u64"},
        },
        "descriptors": ordered,
        "covers": "layouts (names, types, order, enum names) but not code values: a minor may add "
        "codes without changing it",
    }


def _wire_types() -> dict[str, str]:
    return {
        "u8/u16/u32/u64": "unsigned, little-endian, 1/2/4/8 bytes",
        "char[N]": "N bytes of ASCII (0x01..0x7F), NUL-padded on the right; decoding strips the "
        "trailing NULs, and a NUL before the padding or a byte ≥ 0x80 is BAD_PAYLOAD naming the "
        "field; N characters fill the field with no NUL",
        "bytes[N]": "N opaque bytes, any values (a nonce, a key)",
        "array": "count elements of the element type, back to back; element k has NAK field "
        "nak_field + k",
        "group": "a u8 count, then count records of record_size bytes (the record's layout in "
        "records); only as the last field; device → host only, so never NAKed",
    }


def protocol_schema() -> dict[str, Any]:
    """The whole protocol as one JSON-ready dict (the content of ``vectors/schema.json``)."""
    tags = {kind.name: size for kind, size in _TAG_SIZES.items()}
    return {
        "$schema": "./schema.schema.json",
        "description": "eacontrol wire protocol, generated from firmware_protocol by "
        "firmware_protocol.schema.protocol_schema(); PROTOCOL.md is the normative prose. A "
        "field's range is what its wire type carries; the device's own limits (INFO) and its "
        "handlers' checks are PROTOCOL.md §3. Offsets are in the payload (a record's: in the "
        "record); nak_field is the index a device puts in NAK.field for that field.",
        "proto_major": PROTO_MAJOR,
        "proto_minor": PROTO_MINOR,
        "byte_order": "little-endian",
        "schema_hash": _schema_hash(),
        "frame": {
            "layout": "COBS(header ‖ payload ‖ tag ‖ crc) ‖ 0x00",
            "header_size": HEADER_SIZE,
            "tag_size": tags,
            "crc_size": CRC_SIZE,
            "max_payload": MAX_PAYLOAD,
            "min_frame": HEADER_SIZE + CRC_SIZE,
            "max_frame": MAX_FRAME,
            "max_encoded_frame": MAX_ENCODED_FRAME,
            "max_encoded_frame_rule": f"COBS of {MAX_FRAME} bytes is at most "
            f"{max_encoded_len(MAX_FRAME)} bytes; more before a 0x00 is oversize",
            "delimiter": "0x00",
            "known_incompat_flags": _hex(KNOWN_INCOMPAT_FLAGS, 2),
        },
        "header": _header(),
        "crc": {
            "algorithm": "CRC-32C (Castagnoli)",
            "polynomial_reflected": "0x82F63B78",
            "init": "0xFFFFFFFF",
            "xor_out": "0xFFFFFFFF",
            "reflected": True,
            "check_123456789": _hex(CHECK_VALUE, 8),
            "covers": "header ‖ payload ‖ tag (no schema tag in major 2)",
            "stored": "u32 little-endian, the last 4 bytes before COBS",
        },
        "cobs": "Consistent Overhead Byte Stuffing (Cheshire & Baker 1999); empty frames "
        "(repeated 0x00) are skipped",
        "tag": {
            "algorithm": "HMAC-SHA-256 (RFC 2104), truncated to the first tag_size bytes",
            "size": TAG_SIZE,
            "covers": "header ‖ payload (the 18 header bytes as sent, counter included)",
            "position": "after the payload, before the CRC; absent when key = NONE",
            "compare": "constant-time",
            "forgery_odds_per_attempt": f"2^-{8 * TAG_SIZE}",
        },
        "keys": {
            "pairing_key_size": KEY_SIZE,
            "key_id": "u32 ≠ 0, chosen by the device with the pairing key (PAIR_ACK)",
            "nonce_size": NONCE_SIZE,
            "kdf": "HKDF-SHA-256 (RFC 5869): extract with salt (empty salt = 32 zero bytes), "
            "expand with info to length",
            "hello_key": {
                "ikm": "pairing_key",
                "salt": "",
                "info": auth._HELLO_INFO.decode("ascii"),
                "info_hex": auth._HELLO_INFO.hex(),
                "length": KEY_SIZE,
            },
            "session_keys": {
                "ikm": "pairing_key",
                "salt": "host_nonce ‖ device_nonce (HELLO's, then HELLO_ACK's; 32 bytes)",
                "info": auth._SESSION_INFO.decode("ascii") + " ‖ u32le(session_id)",
                "info_prefix_hex": auth._SESSION_INFO.hex(),
                "length": 2 * KEY_SIZE,
                "split": {
                    "host_to_device": [0, KEY_SIZE],
                    "device_to_host": [KEY_SIZE, 2 * KEY_SIZE],
                },
            },
        },
        "constants": {
            "max_channels": MAX_CHANNELS,
            "no_field": _hex(NO_FIELD, 2),
            "no_channel": _hex(NO_CHANNEL, 2),
            "reply_window": REPLY_WINDOW,
            "counter_exhausted": "0xFFFFFFFF",
        },
        "units": {s: {"unit": u, "step": step} for s, (u, step) in UNITS.items()},
        "wire_types": _wire_types(),
        "receive_checks": [{"step": i + 1, **c} for i, c in enumerate(CHECK_ORDER)],
        "messages": [_message(t) for t in sorted(MESSAGE_TYPES)],
        "records": [
            {"struct": cls.__name__, "size": _fixed_size(cls), "fields": _fields(cls, record=True)}
            for cls in _records()
        ],
        "enums": [_enum(kind) for kind in ENUMS],
    }


def _records() -> list[type[WireStruct]]:
    seen: list[type[WireStruct]] = []
    for cls in MESSAGE_TYPES.values():
        for f in cls.LAYOUT:
            if isinstance(f, Group) and f.elem not in seen:
                seen.append(f.elem)
    return seen


def render_schema() -> str:
    """``protocol_schema()`` exactly as stored in ``vectors/schema.json``."""
    return json.dumps(protocol_schema(), indent=2, ensure_ascii=False) + "\n"
