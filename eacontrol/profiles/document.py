"""Read a TOML or JSON document and turn every problem into a finding, never a traceback.

Shared by profiles and site policies: :func:`parse` gives the raw table (or syntax findings with
their line), :func:`schema_findings` translates a ``pydantic.ValidationError`` into findings
with field paths (``steps[1].intensity_mA``), the value, the allowed range and, for unknown keys,
the name that was probably meant.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from eacontrol.errors import Finding, Layer, Severity
from eacontrol.profiles.sourcemap import SourceMap

__all__ = [
    "Format",
    "Parsed",
    "Vocabulary",
    "microamp_hint",
    "parse",
    "path_of",
    "read",
    "schema_findings",
    "text_of",
]

Format = Literal["toml", "json"]
M = TypeVar("M", bound=BaseModel)

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_UNITS = {
    "_mA": "mA",
    "_us": "µs",
    "_hz": "Hz",
    "_s": "s",
    "_mm": "mm",
    "_uC": "µC",
}
_NUMBER_ERRORS = {"float_type", "int_type", "float_parsing", "int_parsing", "int_from_float"}
_BOM = "\ufeff"
# TOML 1.0: "Arbitrary 64-bit signed integers should be accepted and handled losslessly. If an
# integer cannot be represented losslessly, an error must be thrown."
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT64_TEXT = "a 64-bit integer (-2^63 .. 2^63-1), and far less for every field"
_LONG_DIGITS = re.compile(r"\d{4000,}")


@dataclass(frozen=True)
class Vocabulary:
    """Every key a document may contain, and where, for "did you mean" hints.

    Attributes:
        places: the name of each place in the document (``"[session]"``), by the string parts
            of its pydantic location (``("session",)``; with step modes:
            ``("steps", "intermittent")``).
        owners: for each key, the places it belongs to.
        tags: discriminator values that appear in pydantic locations (step modes); they are
            dropped from field paths.
    """

    places: Mapping[tuple[str, ...], str]
    owners: Mapping[str, tuple[str, ...]]
    tags: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, models: Mapping[tuple[str, ...], tuple[str, type[BaseModel]]], tags: Iterable[str] = ()
    ) -> Vocabulary:
        """Build from the models of a document, each with its location and its place's name."""
        owners: dict[str, list[str]] = {}
        for place, model in models.values():
            for key in model.model_fields:
                owners.setdefault(key, []).append(place)
        places = {loc: place for loc, (place, _) in models.items()}
        return cls(places, {k: tuple(v) for k, v in owners.items()}, frozenset(tags))

    def hint(self, key: str, parent: tuple[str, ...]) -> str:
        """Why ``key`` is unknown under ``parent``, and what was probably meant."""
        place = self.places.get(parent)
        if key in self.owners:
            where = " and ".join(self.owners[key])
            here = f"in {place}" if place else "here"
            return f"{key!r} is not a key {here}; it belongs in {where}"
        folded = {k.casefold(): k for k in self.owners}
        if key.casefold() in folded:
            meant = folded[key.casefold()]
            return f"unknown key {key!r}: names are case-sensitive, did you mean {meant!r}?"
        close = difflib.get_close_matches(key, list(self.owners), n=1, cutoff=0.6)
        if close:
            return f"unknown key {key!r}: did you mean {close[0]!r}?"
        return f"unknown key {key!r}"


def _syntax(message: str, line: int | None, source: str, file: str | None) -> Finding:
    return Finding(Severity.REFUSE, "", message, Layer.SCHEMA, source=source, file=file, line=line)


def text_of(data: bytes | str) -> str:
    """The document's text: bytes decoded as UTF-8 (errors replaced), a leading BOM removed.

    A UTF-8 byte-order mark (Windows Notepad writes one) is not part of the document: TOML 1.0
    and JSON (RFC 8259 §8.1) readers may ignore it, and ``tomllib`` would otherwise refuse the
    first line with an unclear "Invalid statement".
    """
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return text.removeprefix(_BOM)


def _int64_findings(value: object, path: str, source: str) -> list[Finding]:
    """A refusal for every integer in ``value`` outside the 64-bit range, by field path."""
    if isinstance(value, dict):
        return [
            f
            for key, item in value.items()
            for f in _int64_findings(item, f"{path}.{key}" if path else str(key), source)
        ]
    if isinstance(value, list):
        return [
            f for i, item in enumerate(value) for f in _int64_findings(item, f"{path}[{i}]", source)
        ]
    if isinstance(value, bool) or not isinstance(value, int) or _INT64_MIN <= value <= _INT64_MAX:
        return []
    digits = len(str(abs(value)))  # below the interpreter's 4300-digit limit: parsed already
    return [
        Finding(
            Severity.REFUSE,
            path,
            f"an integer of {digits} digits: too large for any field (TOML integers are 64-bit)",
            Layer.SCHEMA,
            allowed=_INT64_TEXT,
            source=source,
        )
    ]


def _huge(
    huge: list[Finding],
    raw: dict[str, Any],
    model: type[BaseModel],
    version: int,
    check: Callable[[dict[str, Any]], list[Finding]],
) -> list[Finding]:
    """Refuse a document holding integers outside the 64-bit range, each with its field's range.

    TOML 1.0 requires readers to reject an integer they cannot hold in 64 bits, and no field
    takes one; JSON is held to the same range. The document gets no further checks (the limit
    checks' float arithmetic, ``float(10**400)``, would fail on them), but the schema is asked
    what each field allows, so that the finding names the field's own range: once as written
    (integer fields), once with each such number as ±1e300 (number fields).

    Args:
        huge: the findings of :func:`_int64_findings`.
        raw: the document's table.
        model: the document's model.
        version: the schema version this eacontrol reads.
        check: the schema findings of a table.
    """
    paths = {f.path for f in huge}
    ranges: dict[str, Finding] = {}
    for table in (raw, _substituted(raw)):
        for finding in check(table):
            known = ranges.get(finding.path)
            if finding.path in paths and (known is None or not _is_range(known.allowed)):
                ranges[finding.path] = finding
    found = []
    for finding in huge:
        field = ranges.get(finding.path)
        digits = finding.message.split(":")[0]
        if finding.path == "schema_version":
            message = f"{digits}: this eacontrol reads schema version {version}"
            finding = replace(finding, message=message, allowed=str(version))
        elif field is not None and _is_range(field.allowed):
            finding = replace(finding, message=f"{digits}: {field.message}", allowed=field.allowed)
        found.append(finding)
    return found


def _is_range(allowed: str | None) -> bool:
    return allowed is not None and allowed[:1] in {"<", ">", "≤", "≥"}


def _substituted(value: Any) -> Any:
    """``value`` with every integer outside the 64-bit range as ±1e300 (a number a float field
    can compare with its bounds)."""
    if isinstance(value, dict):
        return {k: _substituted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_substituted(v) for v in value]
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and not _INT64_MIN <= value <= _INT64_MAX
    ):
        return 1e300 if value > 0 else -1e300
    return value


def _too_long(text: str, err: ValueError, source: str, file: str | None) -> Finding | None:
    """The finding for Python's limit on integer digits (4300), if that is what ``err`` is."""
    if "integer string conversion" not in str(err):
        return None
    run = _LONG_DIGITS.search(text)
    line = text.count("\n", 0, run.start()) + 1 if run else None
    return _syntax(
        f"a number with more than {sys.get_int_max_str_digits()} digits: too large for any "
        f"field [allowed {_INT64_TEXT}]",
        line,
        source,
        file,
    )


def parse(
    data: bytes | str, fmt: Format, file: str | None, source: str
) -> tuple[dict[str, Any] | None, list[Finding]]:
    """Parse a document into its top-level table.

    A leading UTF-8 byte-order mark is ignored (:func:`text_of`); a number longer than Python
    parses (4300 digits) is a finding, not a ``ValueError``.

    Args:
        data: the file's bytes (must be UTF-8) or text.
        fmt: ``"toml"`` or ``"json"``.
        file: the file name for findings.
        source: the authority findings name (the format's documentation).

    Returns:
        (the table, []) or (None, findings with the line of the syntax error).
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            where = data.count(b"\n", 0, err.start) + 1
            return None, [_syntax(f"not UTF-8 text: {err.reason}", where, source, file)]
    else:
        text = data
    return _load(text_of(text), fmt, file, source)


def _load(
    text: str, fmt: Format, file: str | None, source: str
) -> tuple[dict[str, Any] | None, list[Finding]]:
    name = "TOML" if fmt == "toml" else "JSON"
    try:
        table = tomllib.loads(text) if fmt == "toml" else json.loads(text)
    except tomllib.TOMLDecodeError as err:
        position = _TOML_POSITION.search(str(err))
        line = int(position.group(1)) if position else None
        message = _TOML_POSITION.sub("", str(err)).strip()
        return None, [_syntax(f"malformed TOML: {message}", line, source, file)]
    except json.JSONDecodeError as err:
        return None, [_syntax(f"malformed JSON: {err.msg}", err.lineno, source, file)]
    except RecursionError:
        return None, [_syntax(f"malformed {name}: nested too deeply", None, source, file)]
    except ValueError as err:
        if (finding := _too_long(text, err, source, file)) is None:
            raise
        return None, [finding]
    if not isinstance(table, dict):  # a JSON document (a TOML one is always a table)
        return None, [_syntax("a profile is a JSON object at the top level", 1, source, file)]
    return table, []


def path_of(loc: tuple[int | str, ...], tags: frozenset[str] = frozenset()) -> str:
    """A pydantic location as a field path: ``('steps', 1, 'continuous', 'x')`` → ``steps[1].x``.

    A discriminator tag right after a list index is dropped.
    """
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(previous, int) and part in tags:
            pass
        else:
            path += f".{part}" if path else part
        previous = part
    return path


def _unit(key: str) -> str:
    for suffix, unit in _UNITS.items():
        if key.endswith(suffix):
            return f" {unit}"
    return ""


def microamp_hint(value: object) -> str:
    """``"; did you mean 3 mA? (3000 looks like µA)"`` for a current of at least 1000 "mA" that
    is a plausible current in µA, else ``""``. The peers' classic unit slip ("10 mA" meaning
    1.0 mA, STYLE.md 7) in the other direction: a value copied from a µA display or wire field.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 1000 <= value < 1e6:
        return ""
    return f"; did you mean {value / 1000:g} mA? ({value:g} looks like µA)"


def _microamp_hint(key: str, value: object) -> str:
    return microamp_hint(value) if key.endswith("_mA") else ""


def _describe(
    error: ErrorDetails, key: str, parent: tuple[str, ...], words: Vocabulary
) -> tuple[str, str | None]:
    """(message, allowed) for one pydantic error, in a practitioner's words."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    value = error.get("input")
    unit = _unit(key)
    if kind == "missing":
        return "required key is missing", None
    if kind == "extra_forbidden":
        return words.hint(key, parent), None
    if kind in _NUMBER_ERRORS:
        whole = kind.startswith("int")
        want = "a whole number" if whole else f"a number{' of' + unit if unit else ''}"
        if isinstance(value, str):
            why = " (the unit is in the key's name)" if unit else ""
            return f"expected {want}, got text {value!r}: write the number alone{why}", want
        if isinstance(value, bool):
            return f"expected {want}, got {str(value).lower()}", want
        return f"expected {want}", want
    if kind in {"too_short", "too_long"}:
        size = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        relation = "at least" if kind == "too_short" else "at most"
        return (
            f"has {ctx.get('actual_length')} item(s); {relation} {size} allowed",
            f"{relation} {size}",
        )
    bounds = {
        "greater_than": ">",
        "greater_than_equal": "≥",
        "less_than": "<",
        "less_than_equal": "≤",
    }
    if kind in bounds:
        limit = next(iter(ctx.values()))
        allowed = f"{bounds[kind]} {limit}{unit}"
        return f"must be {allowed}{_microamp_hint(key, value)}", allowed
    if kind == "enum":
        return f"must be one of {ctx.get('expected')}", str(ctx.get("expected"))
    if kind == "union_tag_invalid":
        return f"mode {ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}", str(
            ctx.get("expected_tags")
        )
    if kind == "union_tag_not_found":
        return "required key 'mode' is missing (continuous, dense_disperse or intermittent)", None
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return "expected a table", "a table"
    if kind in {"tuple_type", "list_type"}:
        return "expected an array", "an array"
    return error["msg"], None


def schema_findings(
    err: ValidationError,
    words: Vocabulary,
    source: str,
    hints: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Translate every error of a validation into a finding (layer ``schema``).

    Args:
        err: the validation error.
        words: the document's keys, for unknown-key hints.
        source: the authority to name (the format's documentation).
        hints: extra explanations by key (e.g. why ``shape`` has only biphasic values).
    """
    found = []
    errors = err.errors(include_url=False)
    failed = [tuple(e["loc"]) for e in errors]
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "too_short" and any(f[: len(loc)] == loc != f for f in failed):
            continue  # the list is short only because an item inside it failed
        if error["type"].startswith("union_tag"):
            loc = (*loc, "mode")
        strings = tuple(p for p in loc if isinstance(p, str))
        key = strings[-1] if strings else ""
        message, allowed = _describe(error, key, strings[:-1], words)
        if hints and key in hints and error["type"] not in {"missing", "extra_forbidden"}:
            message = f"{message}: {hints[key]}"
        value = None if error["type"] == "missing" else error.get("input")
        if isinstance(value, dict | list):
            value = None  # a whole table is not a useful "value"
        found.append(
            Finding(
                Severity.REFUSE,
                path_of(loc, words.tags),
                message,
                Layer.SCHEMA,
                value=value,
                allowed=allowed,
                source=source,
            )
        )
    return found


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """The outcome of reading one document.

    Attributes:
        model: the validated model, or None if any finding refuses it.
        raw: the parsed table (None after a syntax error), for partial checks.
        findings: every problem found, with file, path and line.
        origin: the file and its line map.
    """

    model: M | None
    raw: dict[str, Any] | None
    findings: tuple[Finding, ...]
    origin: SourceMap


def read(
    data: bytes | str,
    fmt: Format,
    file: str | None,
    model: type[M],
    words: Vocabulary,
    source: str,
    *,
    version: int,
    context: dict[str, Any] | None = None,
    hints: Mapping[str, str] | None = None,
) -> Parsed[M]:
    """Parse and validate a document; never raises for a problem in the document.

    A ``schema_version`` other than ``version`` is reported alone: the rest of a file written for
    another version would only produce noise.

    Args:
        data: the document (bytes must be UTF-8).
        fmt: ``"toml"`` or ``"json"``.
        file: the file name for findings.
        model: the model to validate against.
        words: the document's keys, for hints.
        source: the authority schema findings name.
        version: the schema version this eacontrol reads.
        context: pydantic validation context.
        hints: extra explanations by key.
    """
    text = text_of(data)
    origin = SourceMap.from_toml(text, file) if fmt == "toml" else SourceMap(file)
    raw, found = parse(data, fmt, file, source)
    if raw is None:
        return Parsed(None, None, tuple(origin.locate(f) for f in found), origin)
    if huge := _int64_findings(raw, "", source):

        def check(table: dict[str, Any]) -> list[Finding]:
            try:
                model.model_validate(table, context=context)
            except ValidationError as err:
                return schema_findings(err, words, source, hints)
            return []

        found = _huge(huge, raw, model, version, check)
        return Parsed(None, None, tuple(origin.locate(f) for f in found), origin)
    given = raw.get("schema_version")
    if isinstance(given, int) and not isinstance(given, bool) and given != version:
        finding = Finding(
            Severity.REFUSE,
            "schema_version",
            f"written for schema version {given}; this eacontrol reads version {version} and "
            "has no migration from other versions",
            Layer.SCHEMA,
            value=given,
            allowed=str(version),
            source=source,
        )
        return Parsed(None, raw, (origin.locate(finding),), origin)
    try:
        validated = model.model_validate(raw, context=context)
    except ValidationError as err:
        problems = schema_findings(err, words, source, hints)
        return Parsed(None, raw, tuple(origin.locate(f) for f in problems), origin)
    return Parsed(validated, raw, (), origin)
