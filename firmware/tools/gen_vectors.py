"""Turn the golden vectors of firmware_protocol/vectors/ into a C header of test tables.

The C test driver (firmware/tests/test_vectors.c) includes the header this writes; it is made
at build time into firmware/build/ and never committed, so the tables are always the JSON files
as they are now. Comparators for every message struct are generated here too, from schema.json
(the same model as gen_codec.py), so a decoded message is compared field by field.

Usage::

    python firmware/tools/gen_vectors.py OUT.h
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gen_codec import ROOT, Json, field_kind, load_schema, snake

VECTORS = ROOT / "firmware_protocol" / "vectors"

_KEYS = {None: "KEY_NONE", "hello_key": "KEY_HELLO", "host_to_device": "KEY_H2D"}
_KEYS["device_to_host"] = "KEY_D2H"
_STATES = {"any": "STATE_ANY", "no_session": "STATE_NO_SESSION", "session_open": "STATE_OPEN"}
_OUTCOMES = {
    ("counted", "rx_err_count"): "EA_RX_COUNTED",
    ("dropped", "auth_fail_count"): "EA_RX_DROPPED_AUTH",
    ("dropped", "replay_count"): "EA_RX_DROPPED_REPLAY",
    ("nak", None): "EA_RX_NAK",
    ("session_closed", None): "EA_RX_COUNTER_EXHAUSTED",
}


def load(name: str) -> Json:
    """One vector file as parsed JSON."""
    data: Json = json.loads((VECTORS / name).read_text(encoding="utf-8"))
    return data


def c_bytes(data: bytes) -> str:
    """A C initializer list for ``data`` (``{0}`` when empty: C forbids an empty list)."""
    if not data:
        return "{0}"
    return "{" + ", ".join(f"0x{b:02X}" for b in data) + "}"


def c_hex(text: str) -> str:
    """A C initializer list for the bytes of a hex string."""
    return c_bytes(bytes.fromhex(text))


class Values:
    """C designated initializers and comparators for the schema's message structs."""

    def __init__(self, schema: Json) -> None:
        self.messages = {int(m["value"]): m for m in schema["messages"]}
        self.records = {r["struct"]: r for r in schema["records"]}

    def initializer(self, fields: list[Json], values: dict[str, Any]) -> str:
        """``{.a = 1u, …}`` for the struct of ``fields`` holding ``values``."""
        parts: list[str] = []
        for f in fields:
            kind, size = field_kind(f)
            name = f["name"]
            value = values[name]
            if kind == "int":
                parts.append(f".{name} = {int(value)}u")
            elif kind == "text":
                padded = str(value).encode("ascii").ljust(size, b"\x00")
                parts.append(f".{name} = {c_bytes(padded)}")
            elif kind == "bytes":
                parts.append(f".{name} = {c_hex(str(value))}")
            elif kind == "array":
                parts.append(f".{name} = {{{', '.join(f'{int(v)}u' for v in value)}}}")
            else:
                rec = self.records[f["record"]]["fields"]
                records = ", ".join(self.initializer(rec, r) for r in value)
                parts.append(f".{name}_count = {len(value)}u")
                if value:
                    parts.append(f".{name} = {{{records}}}")
        return "{" + ", ".join(parts) + "}"

    def message(self, msg_type: int, values: dict[str, Any]) -> str:
        """The ea_message initializer of one vector's fields."""
        m = self.messages[msg_type]
        if not m["fields"]:
            return f"{{.msg_type = {msg_type}u}}"
        init = self.initializer(m["fields"], values)
        return f"{{.msg_type = {msg_type}u, .u.{snake(m['name'])} = {init}}}"

    def comparator(self, cname: str, fields: list[Json]) -> list[str]:
        """``static int eq_NAME(a, b)``: 1 when every field is equal."""
        out = [f"static int eq_{cname}(const ea_{cname} *a, const ea_{cname} *b)", "{"]
        if any(field_kind(f)[0] == "group" for f in fields):
            out.append("    size_t i;")
        for f in fields:
            kind, _size = field_kind(f)
            n = f["name"]
            if kind == "int":
                out.append(f"    if (a->{n} != b->{n}) return 0;")
            elif kind == "group":
                rec = snake(f["record"])
                out += [
                    f"    if (a->{n}_count != b->{n}_count) return 0;",
                    f"    for (i = 0; i < a->{n}_count; i++) {{",
                    f"        if (!eq_{rec}(&a->{n}[i], &b->{n}[i])) return 0;",
                    "    }",
                ]
            else:
                out.append(f"    if (memcmp(a->{n}, b->{n}, sizeof a->{n}) != 0) return 0;")
        out += ["    return 1;", "}", ""]
        return out

    def comparators(self) -> list[str]:
        """Every comparator and ``message_equal``, which dispatches on msg_type."""
        out: list[str] = []
        for r in self.records.values():
            out += self.comparator(snake(r["struct"]), r["fields"])
        body = [
            "static int message_equal(const ea_message *a, const ea_message *b)",
            "{",
            "    if (a->msg_type != b->msg_type) return 0;",
            "    switch (a->msg_type) {",
        ]
        for value, m in sorted(self.messages.items()):
            n = snake(m["name"])
            if m["fields"]:
                out += self.comparator(n, m["fields"])
                body.append(f"    case {value}u: return eq_{n}(&a->u.{n}, &b->u.{n});")
            else:
                body.append(f"    case {value}u: return 1;")
        body += ["    default: return 0;", "    }", "}", ""]
        return out + body


def render() -> str:
    """The text of the test-table header."""
    schema = load_schema()
    values = Values(schema)
    crc, auth = load("crc.json"), load("auth.json")
    messages, invalid = load("messages.json"), load("invalid.json")
    out = [
        "/* GENERATED by firmware/tools/gen_vectors.py from the JSON files in",
        " * firmware_protocol/vectors/ at build time; not committed. */",
        "#ifndef EA_VECTORS_H",
        "#define EA_VECTORS_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "ea_codec.h"',
        '#include "ea_rx.h"',
        "",
        "typedef struct { const char *name; const uint8_t *data; size_t len; } blob;",
        "#define BLOB(n, ...) static const uint8_t n[] = __VA_ARGS__",
        "",
        "enum { KEY_NONE, KEY_HELLO, KEY_H2D, KEY_D2H };",
        "enum { STATE_ANY, STATE_NO_SESSION, STATE_OPEN };",
        "",
    ]
    # CRC-32C and COBS.
    rows = []
    for i, c in enumerate(crc["crc32c"]):
        out.append(f"BLOB(crc_{i}, {c_hex(c['data'])});")
        rows.append(f"    {{crc_{i}, {len(bytes.fromhex(c['data']))}u, {c['crc']}u}},")
    out += ["typedef struct { const uint8_t *data; size_t len; uint32_t crc; } crc_case;"]
    out += ["static const crc_case CRC_CASES[] = {", *rows, "};"]
    rows = []
    for i, c in enumerate(crc["cobs"]):
        dec, enc = bytes.fromhex(c["decoded"]), bytes.fromhex(c["encoded"])
        out.append(f"BLOB(cobs_dec_{i}, {c_bytes(dec)});")
        out.append(f"BLOB(cobs_enc_{i}, {c_bytes(enc)});")
        rows.append(f"    {{cobs_dec_{i}, {len(dec)}u, cobs_enc_{i}, {len(enc)}u}},")
    out += [
        "typedef struct { const uint8_t *dec; size_t dec_len; const uint8_t *enc; size_t enc_len; }"
        " cobs_case;",
        "static const cobs_case COBS_CASES[] = {",
        *rows,
        "};",
        "",
    ]
    # RFC 5869 and RFC 4231.
    rows = []
    for c in auth["hkdf_sha256_rfc5869"]:
        k = c["case"]
        for part in ("ikm", "salt", "info", "prk", "okm"):
            out.append(f"BLOB(hkdf{k}_{part}, {c_hex(c[part])});")
        sizes = ", ".join(f"{len(bytes.fromhex(c[p]))}u" for p in ("ikm", "salt", "info"))
        rows.append(
            f"    {{{k}, hkdf{k}_ikm, hkdf{k}_salt, hkdf{k}_info, {sizes}, hkdf{k}_prk, "
            f"hkdf{k}_okm, {c['length']}u}},"
        )
    out += [
        "typedef struct { int rfc_case; const uint8_t *ikm, *salt, *info; size_t ikm_len, "
        "salt_len, info_len; const uint8_t *prk, *okm; size_t okm_len; } hkdf_case;",
        "static const hkdf_case HKDF_CASES[] = {",
        *rows,
        "};",
    ]
    rows = []
    for c in auth["hmac_sha256_rfc4231"]:
        k = c["case"]
        for part in ("key", "data", "mac"):
            out.append(f"BLOB(hmac{k}_{part}, {c_hex(c[part])});")
        sizes = ", ".join(f"{len(bytes.fromhex(c[p]))}u" for p in ("key", "data", "mac"))
        rows.append(f"    {{{k}, hmac{k}_key, hmac{k}_data, hmac{k}_mac, {sizes}}},")
    out += [
        "typedef struct { int rfc_case; const uint8_t *key, *data, *mac; size_t key_len, "
        "data_len, mac_len; } hmac_case;",
        "static const hmac_case HMAC_CASES[] = {",
        *rows,
        "};",
        "",
    ]
    ti, derived = auth["test_inputs"], auth["derived"]
    out += [
        f"BLOB(TEST_PAIRING_KEY, {c_hex(ti['pairing_key'])});",
        f"#define TEST_KEY_ID {ti['key_id']}u",
        f"BLOB(TEST_HOST_NONCE, {c_hex(ti['host_nonce'])});",
        f"BLOB(TEST_DEVICE_NONCE, {c_hex(ti['device_nonce'])});",
        f"#define TEST_SESSION_ID {ti['session_id']}u",
        f"BLOB(TEST_HELLO_KEY, {c_hex(derived['hello_key']['okm'])});",
        f"BLOB(TEST_H2D_KEY, {c_hex(derived['session_keys']['host_to_device'])});",
        f"BLOB(TEST_D2H_KEY, {c_hex(derived['session_keys']['device_to_host'])});",
        "",
    ]
    # Golden frames.
    rows = []
    for i, v in enumerate(messages["valid"]):
        h = v["header"]
        wire = bytes.fromhex(v["hex"])
        out.append(f"BLOB(msg{i}_wire, {c_bytes(wire)});")
        out.append(f"BLOB(msg{i}_payload, {c_hex(v['payload_hex'])});")
        out.append(f"BLOB(msg{i}_tag, {c_hex(v['tag_hex'])});")
        header = ", ".join(
            f"{int(h[k])}u"
            for k in (
                "proto_major",
                "incompat_flags",
                "compat_flags",
                "msg_type",
                "key",
                "session_id",
                "counter",
                "ref_counter",
                "payload_len",
            )
        )
        rows.append(
            f'    {{"{v["name"]}", msg{i}_wire, {len(wire)}u, {{{header}}}, {_KEYS[v["key"]]}, '
            f"msg{i}_payload, {len(bytes.fromhex(v['payload_hex']))}u, msg{i}_tag, "
            f"{len(bytes.fromhex(v['tag_hex']))}u, {v['crc']}u,\n"
            f"     {values.message(int(h['msg_type']), v['fields'])}}},"
        )
    out += [
        "typedef struct { const char *name; const uint8_t *wire; size_t wire_len; ea_header "
        "header; int key; const uint8_t *payload; size_t payload_len; const uint8_t *tag; "
        "size_t tag_len; uint32_t crc; ea_message message; } message_case;",
        "static const message_case MESSAGE_CASES[] = {",
        *rows,
        "};",
        "",
    ]
    # Frames to refuse.
    naks = {e["name"]: e for e in schema["enums"]}["NakCode"]["values"]
    nak_codes = {n["name"]: n["value"] for n in naks}
    rows = []
    for i, v in enumerate(invalid["invalid"]):
        wire = bytes.fromhex(v["hex"])
        out.append(f"BLOB(bad{i}_wire, {c_bytes(wire)});")
        verdict = _OUTCOMES[(v["outcome"], v["counter"])]
        code = nak_codes.get(v["nak"], 0)
        field = v["nak_field"] if v["nak_field"] is not None else 0
        key = {None: 0, "NONE": 0, "SESSION": 2}[v["nak_key"]]
        rows.append(
            f'    {{"{v["name"]}", bad{i}_wire, {len(wire)}u, {_STATES[v["receiver_state"]]}, '
            f"{verdict}, {code}u, {field}u, {key}u}},"
        )
    out += [
        "typedef struct { const char *name; const uint8_t *wire; size_t wire_len; int state; "
        "ea_rx_verdict verdict; uint8_t nak_code, nak_field, nak_key; } invalid_case;",
        "static const invalid_case INVALID_CASES[] = {",
        *rows,
        "};",
        "",
    ]
    out += values.comparators()
    out += ["#define COUNT(a) (sizeof(a) / sizeof((a)[0]))", "", "#endif", ""]
    return "\n".join(out)


def write_header(tool: str, render: Callable[[], str], argv: list[str] | None) -> int:
    """The command line of a test-table generator (this one, gen_transcripts.py): ``tool
    OUT.h`` writes ``render()`` to OUT.h; 2 and its usage for any other arguments."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: {tool} OUT.h", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render(), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Write the header to the path given."""
    return write_header("gen_vectors.py", render, argv)


if __name__ == "__main__":
    sys.exit(main())
