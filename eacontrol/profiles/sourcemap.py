"""Map field paths (``steps[1].intensity_mA``) back to lines of a TOML file.

``tomllib`` returns plain values without positions, so the map is built by a small scan of the
source text, line by line:

- a table header ``[name]`` sets the current prefix to ``name``; an array-of-tables header
  ``[[name]]`` counts its occurrences and sets the prefix to ``name[i]`` (the i-th table, 0-based,
  as in findings' paths), and the bare name ``name`` maps to its first occurrence;
- a ``key = value`` line records ``prefix.key`` (dotted keys are followed, quotes removed);
- lines inside a multi-line string (triple quotes) are skipped, and continuation lines of
  multi-line arrays carry no ``key =`` and record nothing.

A path without its own line falls back to its nearest recorded parent: an element of an array
(``channels[0].electrodes[1]``) or a key of an inline table (``channels[0].needle.diameter_mm``)
gets the line of its key, a missing key gets the line of its table's header. The scan never fails:
on text it does not understand it records less, and findings then carry no line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from eacontrol.errors import Finding

__all__ = ["SourceMap"]

_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_ARRAY_HEADER = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]")
_TABLE_HEADER = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]")
_KEY = re.compile(rf"^\s*({_DOTTED})\s*=")
_PARTS = re.compile(_PART)


def _split(dotted: str) -> list[str]:
    return [p.strip("\"'") for p in _PARTS.findall(dotted)]


@dataclass(frozen=True)
class SourceMap:
    """Where a profile came from, and the line of each field path (for TOML).

    Attributes:
        file: the file's name as given, or None for text without a file.
        lines: 1-based line by field path.
    """

    file: str | None = None
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_toml(cls, text: str, file: str | None = None) -> SourceMap:
        """Scan TOML text (the approach is in the module docstring)."""
        lines: dict[str, int] = {}
        counts: dict[str, int] = {}
        prefix = ""
        in_string = False
        for number, line in enumerate(text.splitlines(), start=1):
            quotes = line.count('"""') + line.count("'''")
            if in_string:
                in_string = quotes % 2 == 0
                continue
            if match := _ARRAY_HEADER.match(line):
                name = ".".join(_split(match.group(1)))
                counts[name] = counts.get(name, 0) + 1
                prefix = _resolve(name, counts)
                lines.setdefault(name, number)
                lines.setdefault(prefix, number)
            elif match := _TABLE_HEADER.match(line):
                prefix = _resolve(".".join(_split(match.group(1))), counts)
                lines.setdefault(prefix, number)
            elif match := _KEY.match(line):
                key = ".".join(_split(match.group(1)))
                lines.setdefault(f"{prefix}.{key}" if prefix else key, number)
            in_string = quotes % 2 == 1
        return cls(file, MappingProxyType(lines))

    def line(self, path: str) -> int | None:
        """The line of a field path, or of its nearest recorded parent; None if unknown."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            if cut <= 0:
                return None
            path = path[:cut]
        return None

    def locate(self, finding: Finding) -> Finding:
        """The finding with this source's file and the line of its path filled in."""
        line = finding.line if finding.line is not None else self.line(finding.path)
        return replace(finding, file=finding.file or self.file, line=line)


def _resolve(dotted: str, counts: Mapping[str, int]) -> str:
    """``steps.x`` inside the 3rd ``[[steps]]`` becomes ``steps[2].x``."""
    parts = dotted.split(".")
    out: list[str] = []
    for k, part in enumerate(parts):
        name = ".".join(parts[: k + 1])
        out.append(f"{part}[{counts[name] - 1}]" if name in counts else part)
    return ".".join(out)
