"""Turn the behavioural transcripts (firmware_protocol/vectors/transcripts/*.json) into a C
header of test tables for firmware/tests/test_transcripts.c (PROTOCOL.md §9.2).

Like gen_vectors.py it writes into the build directory at build time; nothing it makes is
committed, so the C driver always replays the JSON files as they are. Each transcript becomes
its device (model, load, keys, random draws), its timeline (time, input, the device's bytes at
that instant, concatenated) and its end time.

Usage::

    python firmware/tools/gen_transcripts.py OUT.h
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gen_codec import ROOT

TRANSCRIPTS = ROOT / "firmware_protocol" / "vectors" / "transcripts"

FORMAT = "eacontrol-transcript/1"

# ea_model's numeric fields, in the order the C struct initializer names them.
_MODEL_FIELDS = (
    "channel_count",
    "max_intensity_uA",
    "min_phase_us",
    "max_phase_us",
    "min_freq_cHz",
    "max_freq_cHz",
    "max_phase_charge_nC",
    "max_slew_uA_per_s",
    "compliance_mV",
    "min_lease_ms",
    "max_lease_ms",
    "max_run_s",
    "max_interphase_us",
    "max_asym_ratio",
    "check_period_us",
    "reply_cache_size",
)

_INPUTS = ("IN_NONE", "IN_FRAME", "IN_WINDOW", "IN_CONTACT", "IN_STUCK")


def c_bytes(data: bytes) -> str:
    """A C initializer list for ``data`` (``{0}`` when empty: C forbids an empty list)."""
    if not data:
        return "{0}"
    return "{" + ", ".join(f"0x{b:02X}" for b in data) + "}"


def c_text(text: str) -> str:
    """A C string literal of ASCII ``text``."""
    if not text.isascii() or any(c in text for c in '"\\\n'):
        raise ValueError(f"unexpected text {text!r}")
    return f'"{text}"'


def _input(given: dict[str, Any] | None) -> tuple[str, int, int, bytes]:
    """(kind, channel, value, bytes) of a timeline entry's input."""
    if given is None:
        return "IN_NONE", 0, 0, b""
    if "host_frame" in given:
        return "IN_FRAME", 0, 0, bytes.fromhex(given["host_frame"])
    if "pairing_window_s" in given:
        return "IN_WINDOW", 0, int(given["pairing_window_s"]), b""
    if "contact_lost" in given:
        return "IN_CONTACT", int(given["channel"]), int(bool(given["contact_lost"])), b""
    if "stuck_output_uA" in given:
        return "IN_STUCK", int(given["channel"]), int(given["stuck_output_uA"]), b""
    raise ValueError(f"unknown transcript input {given!r}")


def render_one(index: int, data: dict[str, Any]) -> list[str]:
    """The tables of one transcript, named by ``index``."""
    if data["format"] != FORMAT:
        raise ValueError(f"{data['name']}: format {data['format']!r}, expected {FORMAT!r}")
    device = data["device"]
    model = device["model"]
    p = f"T{index}"
    lines: list[str] = []
    draws = [int(v, 16) for v in device["random_u32"]]
    lines.append(
        f"static const uint32_t {p}_RANDOM[] = {{"
        + (", ".join(f"0x{v:08X}u" for v in draws) or "0")
        + "};"
    )
    keys = device["keys"]
    for k, key in enumerate(keys):
        lines.append(
            f"static const uint8_t {p}_KEY{k}[32] = {c_bytes(bytes.fromhex(key['pairing_key']))};"
        )
    lines.append(f"static const transcript_key {p}_KEYS[] = {{")
    lines += [f"    {{{int(key['key_id'])}u, {p}_KEY{k}}}," for k, key in enumerate(keys)]
    if not keys:
        lines.append("    {0u, NULL},")
    lines.append("};")
    for e, entry in enumerate(data["timeline"]):
        _, _, _, given = _input(entry.get("in"))
        out = b"".join(bytes.fromhex(frame) for frame in entry["out"])
        lines.append(f"static const uint8_t {p}_IN{e}[] = {c_bytes(given)};")
        lines.append(f"static const uint8_t {p}_OUT{e}[] = {c_bytes(out)};")
    lines.append(f"static const transcript_entry {p}_TIMELINE[] = {{")
    for e, entry in enumerate(data["timeline"]):
        kind, channel, value, given = _input(entry.get("in"))
        out = b"".join(bytes.fromhex(frame) for frame in entry["out"])
        lines.append(
            f"    {{{int(entry['t_us'])}u, {kind}, {channel}u, {value}u, {p}_IN{e}, {len(given)}u,"
            f" {p}_OUT{e}, {len(out)}u, {len(entry['out'])}u}},"
        )
    lines.append("};")
    fw = model["fw_version"]
    numbers = ", ".join(f".{name} = {int(model[name])}u" for name in _MODEL_FIELDS)
    lines.append(f"static const transcript {p} = {{")
    lines.append(f"    {c_text(data['name'])},")
    lines.append(f"    {c_text(model['model'])}, {c_text(model['serial'])},")
    lines.append(f"    {{{int(fw[0])}u, {int(fw[1])}u, {int(fw[2])}u}},")
    lines.append(f"    {{{numbers}}},")
    lines.append(f"    {int(device['load_ohm'])}u,")
    lines.append(f"    {p}_KEYS, {len(keys)}u,")
    lines.append(f"    {p}_RANDOM, {len(draws)}u,")
    lines.append(f"    {p}_TIMELINE, {len(data['timeline'])}u,")
    lines.append(f"    {int(data['end_us'])}u")
    lines.append("};")
    return lines


def render() -> str:
    """The whole header."""
    files = sorted(TRANSCRIPTS.glob("*.json"))
    if not files:
        raise ValueError(f"no transcripts in {TRANSCRIPTS}")
    lines = [
        "/* Generated by firmware/tools/gen_transcripts.py from",
        " * the JSON files of firmware_protocol/vectors/transcripts at build time. Do not edit. */",
        "#ifndef EA_TRANSCRIPTS_H",
        "#define EA_TRANSCRIPTS_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        "enum { " + ", ".join(_INPUTS) + " };",
        "",
        "typedef struct {",
        "    uint32_t key_id;",
        "    const uint8_t *key;",
        "} transcript_key;",
        "",
        "typedef struct {",
        "    uint64_t t_us;",
        "    int input;        /* IN_*: IN_NONE when the device acted on its own */",
        "    uint8_t channel;  /* IN_CONTACT, IN_STUCK */",
        "    uint32_t value;   /* seconds, contact lost (0/1) or stuck µA */",
        "    const uint8_t *frame; /* IN_FRAME: the host's bytes */",
        "    size_t frame_len;",
        "    const uint8_t *out; /* the device's frames at this instant, concatenated */",
        "    size_t out_len;",
        "    size_t out_frames;",
        "} transcript_entry;",
        "",
        "typedef struct {",
        "    uint32_t channel_count, max_intensity_uA, min_phase_us, max_phase_us,",
        "        min_freq_cHz, max_freq_cHz, max_phase_charge_nC, max_slew_uA_per_s,",
        "        compliance_mV, min_lease_ms, max_lease_ms, max_run_s, max_interphase_us,",
        "        max_asym_ratio, check_period_us, reply_cache_size;",
        "} transcript_limits;",
        "",
        "typedef struct {",
        "    const char *name;",
        "    const char *model;",
        "    const char *serial;",
        "    uint8_t fw[3];",
        "    transcript_limits limits;",
        "    uint32_t load_ohm;",
        "    const transcript_key *keys;",
        "    size_t key_count;",
        "    const uint32_t *random;",
        "    size_t random_count;",
        "    const transcript_entry *timeline;",
        "    size_t entries;",
        "    uint64_t end_us;",
        "} transcript;",
        "",
    ]
    names = []
    for index, path in enumerate(files):
        data = json.loads(path.read_text(encoding="utf-8"))
        lines += render_one(index, data)
        lines.append("")
        names.append(f"&T{index}")
    lines.append("static const transcript *const TRANSCRIPTS[] = {" + ", ".join(names) + "};")
    lines.append(f"#define TRANSCRIPT_COUNT {len(files)}u")
    lines.append("")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the header to the path given."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: gen_transcripts.py OUT.h", file=sys.stderr)
        return 2
    Path(args[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
