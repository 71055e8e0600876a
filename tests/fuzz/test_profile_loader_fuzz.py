"""Fuzzing the profile loader: at least 100,000 generated or mutated inputs per CI run (the
``ci`` hypothesis profile; a quarter of them on ``dev``).

The seeds are the stored profiles (``profiles/*.toml``, as installed) and, when the checkout has
it, the hand-written corpus of ``tests/profiles/corpus``. Each hypothesis example picks a seed
and a random seed; :data:`BATCH` inputs are mutated from it, one to three mutations each:

- bytes: bit flips, overwrites, inserted and deleted runs, truncation, invalid UTF-8, NUL, BOM;
- lines: deleted, duplicated, swapped, taken from another profile, or a table header inserted
  (``[[steps]]``, ``[session]``, ``[steps.x]``, dotted keys);
- keys: renamed to another field of the format, misspelt, with a unit changed
  (``intensity_mA`` → ``intensity_uA``), re-cased, quoted or dotted;
- values: replaced by another type or an edge value (NaN, ±inf, -0.0, 5e-324, 2**64, 10**30,
  "3 mA", dates, arrays, inline tables), or scaled (×1000: a unit mistake);
- the tree: parsed, a key deleted or added, a value re-typed, wrapped in a list or a table,
  a list emptied or duplicated, sites swapped for other acupoints; then written back as TOML
  (inline tables) or as JSON.

Whatever the input, ``validate_text`` returns a ``Validation`` (it raises nothing),
``raise_for_refusals`` (what ``loads_profile`` does with it) raises only ``ProfileError`` and its
subclasses, ``loads_profile`` itself agrees (checked on every tenth input), an accepted profile
survives ``dumps_toml`` → ``loads_profile`` unchanged, and nothing is printed. Derandomized.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import random
import re
import tomllib
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import pytest
from fuzz_budget import BATCH, MIN_INPUTS, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from eacontrol.errors import ProfileError
from eacontrol.profiles import (
    STORED_PACKAGE,
    Channel,
    ContinuousStep,
    DenseDisperseStep,
    IntermittentStep,
    Needle,
    Profile,
    SessionLimits,
    dumps_toml,
    loads_profile,
    validate_text,
)

CORPUS = Path(__file__).resolve().parents[1] / "profiles" / "corpus"


def _seeds() -> list[str]:
    stored = resources.files(STORED_PACKAGE)
    texts = [
        item.read_text(encoding="utf-8")
        for item in sorted(stored.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".toml")
    ]
    # The corpus holds a file that is not UTF-8 on purpose; byte mutations make such inputs.
    texts += [p.read_bytes().decode("utf-8", "replace") for p in sorted(CORPUS.glob("*.toml"))]
    return texts


SEEDS = _seeds()
LINES = sorted({line for text in SEEDS for line in text.splitlines() if line.strip()})
MODELS = (Profile, SessionLimits, Channel, Needle, ContinuousStep, DenseDisperseStep)
KEYS = sorted({key for model in (*MODELS, IntermittentStep) for key in model.model_fields})
UNIT_SWAPS = (("_mA", "_uA"), ("_us", "_ms"), ("_hz", "_khz"), ("_s", "_ms"), ("_mm", "_cm"))
SITES = ("BL23-L", "GV20", "CV17", "LI4-R", "SP6-L", "ST9-L", "BL23", "XX99-L", "EX-HN3", "")
HEADERS = ("[[steps]]", "[[channels]]", "[session]", "[steps]", "[steps.x]", "[[steps.needle]]")
VALUES: tuple[Any, ...] = (
    0, 1, -1, 2, 3, 100, 255, 256, 65535, 65536, 2**31, 2**63 - 1, -(2**63), 2**64, 10**30,
    0.0, -0.0, 0.5, 1e-9, 5e-324, 1e308, math.nan, math.inf, -math.inf,
    "", "3", "3 mA", "BL23-L", "x" * 300, "é", "\u202e", True, False,
    [], [1], ["BL23-L"], [["BL23-L", "BL25-L"]], [1, "a"], {}, {"a": 1},
    date(1979, 5, 27), datetime(1979, 5, 27, 7, 32), time(7, 32),
)  # fmt: skip
"""Edge values of every TOML type."""

Fmt = Literal["toml", "json"]

_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z0-9_.\"-]+)(\s*=\s*)(.*)$")


# --- text ----------------------------------------------------------------------------------


def mutate_bytes(rng: random.Random, text: str) -> str | bytes:
    data = bytearray(text.encode())
    at = rng.randrange(len(data) + 1)
    kind = rng.randrange(7)
    if kind == 0 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 1:
        data[at:at] = rng.randbytes(rng.randint(1, 6))
    elif kind == 2:
        del data[at : at + rng.randint(1, 40)]
    elif kind == 3:
        del data[at:]
    elif kind == 4:
        data[at:at] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\r", b"\\"])
    elif kind == 5:
        data = bytearray(b"\xef\xbb\xbf") + data
    else:
        data = bytearray(data.replace(b"\n", b"\r\n"))
    return bytes(data)


def mutate_lines(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    if not lines:
        return rng.choice(LINES)
    at = rng.randrange(len(lines))
    kind = rng.randrange(5)
    if kind == 0:
        del lines[at]
    elif kind == 1:
        lines.insert(at, lines[at])
    elif kind == 2:
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    elif kind == 3:
        lines.insert(at, rng.choice(LINES))
    else:
        lines.insert(at, rng.choice(HEADERS))
    return "\n".join(lines) + "\n"


def _renamed(rng: random.Random, key: str) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(KEYS)
    if kind == 1 and len(key) > 1:  # one character lost or doubled
        i = rng.randrange(len(key))
        return key[:i] + key[i + 1 :] if rng.random() < 0.5 else key[:i] + key[i] + key[i:]
    if kind == 2:
        for old, new in rng.sample(UNIT_SWAPS, len(UNIT_SWAPS)):
            if key.endswith(old):
                return key.removesuffix(old) + new
        return key + "_mA"
    if kind == 3:
        return key.upper() if rng.random() < 0.5 else key.capitalize()
    if kind == 4:
        return f'"{key}"'
    return f"{rng.choice(KEYS)}.{key}"


def mutate_assignment(rng: random.Random, text: str) -> str:
    """Rename the key or replace the value of one ``key = value`` line."""
    lines = text.splitlines()
    candidates = [i for i, line in enumerate(lines) if _ASSIGNMENT.match(line)]
    if not candidates:
        return mutate_lines(rng, text)
    i = rng.choice(candidates)
    match = _ASSIGNMENT.match(lines[i])
    assert match is not None
    indent, key, equals, value = match.groups()
    if rng.random() < 0.4:
        key = _renamed(rng, key)
    else:
        value = toml_value(_new_value(rng, _parse_value(value)))
    lines[i] = f"{indent}{key}{equals}{value}"
    return "\n".join(lines) + "\n"


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return None


def _edge_value(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(VALUES))  # a copy: the tree is mutated in place later


def _new_value(rng: random.Random, old: Any) -> Any:
    if isinstance(old, int | float) and not isinstance(old, bool) and rng.random() < 0.4:
        return old * rng.choice([1000, 0.001, -1, 10, 0.1, 1 + 1e-9]) + rng.choice([0, 0, 1])
    return _edge_value(rng)


# --- trees ---------------------------------------------------------------------------------


def _bare(key: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_-]+", key))


def toml_value(value: Any) -> str:
    """A value in TOML's inline syntax (None, which TOML lacks, as an empty table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{k if _bare(k) else json.dumps(k)} = {toml_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return "{}"


def toml_document(tree: dict[str, Any]) -> str:
    """A whole document as top-level ``key = value`` lines, tables inline."""
    return "".join(
        f"{k if _bare(k) else json.dumps(k)} = {toml_value(v)}\n" for k, v in tree.items()
    )


def _containers(node: Any, found: list[dict[str, Any] | list[Any]]) -> None:
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)


def mutate_tree(rng: random.Random, tree: dict[str, Any]) -> None:
    """Change one place of a parsed profile in place."""
    found: list[dict[str, Any] | list[Any]] = []
    _containers(tree, found)
    node = rng.choice(found)
    if isinstance(node, list):
        kind = rng.randrange(4)
        if kind == 0 or not node:
            node.append(_edge_value(rng) if rng.random() < 0.5 else {"channel": 3})
        elif kind == 1:
            node.clear()
        elif kind == 2:
            node.append(json.loads(json.dumps(rng.choice(node), default=str)))
        else:
            node[rng.randrange(len(node))] = rng.choice(SITES)
        return
    keys = list(node)
    kind = rng.randrange(5)
    if kind == 0 and keys:
        del node[rng.choice(keys)]
    elif kind == 1:
        node[rng.choice(KEYS)] = _new_value(rng, None)
    elif kind == 2 and keys:
        key = rng.choice(keys)
        node[key] = _new_value(rng, node[key])
    elif kind == 3 and keys:
        key = rng.choice(keys)
        node[key] = [node[key]] if rng.random() < 0.5 else {"value": node[key]}
    else:
        node[_renamed(rng, rng.choice(keys or KEYS))] = node.pop(keys[0]) if keys else 1


def tree_input(rng: random.Random, text: str) -> tuple[str, Fmt]:
    """(document, format): a mutated tree written as TOML or JSON."""
    try:
        tree = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        tree = {"schema_version": 1}
    for _ in range(rng.randint(1, 3)):
        mutate_tree(rng, tree)
    if rng.random() < 0.5:
        return toml_document(tree), "toml"
    return json.dumps(tree, default=str, ensure_ascii=rng.random() < 0.5), "json"


TEXT_MUTATIONS = (mutate_bytes, mutate_lines, mutate_assignment, mutate_assignment)


def make_input(rng: random.Random, seed: str) -> tuple[str | bytes, Fmt]:
    """One fuzz input and its format."""
    if rng.random() < 0.25:
        return tree_input(rng, seed)
    data: str | bytes = seed
    for _ in range(rng.randint(1, 3)):
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        data = rng.choice(TEXT_MUTATIONS)(rng, text)
    return data, "toml"


# --- the test ------------------------------------------------------------------------------


def check_one(data: str | bytes, fmt: Fmt, also_loads: bool) -> None:
    """Load one input both ways; only ProfileError may come out."""
    validation = validate_text(data, fmt=fmt)
    try:
        profile = validation.raise_for_refusals()
    except ProfileError as err:
        assert validation.refused and err.findings
        refused = True
    else:
        assert isinstance(profile, Profile) and not validation.refused
        assert loads_profile(dumps_toml(profile)) == profile
        refused = False
    if also_loads:
        try:
            loads_profile(data, fmt=fmt)
        except ProfileError:
            assert refused
        else:
            assert not refused


def test_a_channel_number_that_is_a_list_or_table_is_refused_not_raised() -> None:
    """Found by this fuzzer: check_parts once hashed a raw channel number (TypeError)."""
    for text in (
        '{"schema_version": 1, "channels": [{"channel": [1]}], "steps": []}',
        '{"schema_version": 1, "channels": [{"channel": {"value": 1}}]}',
    ):
        assert validate_text(text, fmt="json").refused


@pytest.mark.slow
def test_the_loader_takes_100000_mutated_profiles() -> None:
    fed = [0]

    @fuzz_settings()
    @given(st.sampled_from(SEEDS), st.integers(0, 2**64 - 1))
    def load_one_batch(seed: str, rng_seed: int) -> None:
        rng = random.Random(rng_seed)
        for i in range(BATCH):
            data, fmt = make_input(rng, seed)
            try:
                check_one(data, fmt, also_loads=i % 10 == 0)
            except BaseException as err:
                err.add_note(f"fuzz input ({fmt}): {data!r}")
                raise
        fed[0] += BATCH

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        load_one_batch()
    assert out.getvalue() == "" and err.getvalue() == ""
    assert fed[0] >= MIN_INPUTS
