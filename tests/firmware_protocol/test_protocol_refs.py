"""Every PROTOCOL.md section the tree cites exists: a renumbered spec leaves no citation of a
section it no longer has.

Cited are ``PROTOCOL.md §N`` and ``PROTOCOL.md §N.M`` in the .py and .md files, with what follows
them in a list (``PROTOCOL.md §3.9, §8``) or a range (``PROTOCOL.md §4–§7``: both ends), and, in
PROTOCOL.md itself, every bare ``§N.M`` but an RFC's (``RFC 5869 §2.2``). A citation shifted to
another section that exists is not caught: that takes reading the section.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "firmware_protocol" / "PROTOCOL.md"
SCANNED = ("eacontrol", "simulator", "firmware_protocol", "tests", "benchmarks", "docs")
SCANNED_FILES = ("README.md", "BENCHMARKS.md")

_HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.MULTILINE)
_NUMBER = r"§\d+(?:\.\d+)?"
_RUN = rf"{_NUMBER}(?:\s*(?:,|–|-|and|or)\s*{_NUMBER})*"
"""One citation: a section, or a list or range of them (``§3.9, §8``, ``§4–§7``)."""
_CITED = re.compile(rf"PROTOCOL\.md`?[\s#]*({_RUN})")
"""A citation from another file; the name may be quoted, the § on the next (comment) line."""
_BARE = re.compile(rf"(RFC \d+ )?({_RUN})")
"""A citation inside PROTOCOL.md; the first group marks another document's (an RFC's)."""


def _headings(spec: str) -> set[str]:
    """Section numbers of the spec's headings: ``## 3. Rules`` is 3, ``### 3.4 …`` is 3.4."""
    return set(_HEADING.findall(spec))


def _citations(text: str, in_spec: bool = False) -> list[tuple[int, str]]:
    """(line, section number) of each section the text cites."""
    found = []
    for match in (_BARE if in_spec else _CITED).finditer(text):
        if in_spec and match.group(1):
            continue
        group = 2 if in_spec else 1
        line = text.count("\n", 0, match.start(group)) + 1
        found += [(line, number) for number in re.findall(r"§([\d.]+)", match.group(group))]
    return found


def _scanned() -> list[Path]:
    paths = [ROOT / name for name in SCANNED_FILES]
    for folder in SCANNED:
        paths += [p for p in sorted((ROOT / folder).rglob("*")) if p.suffix in (".py", ".md")]
    return [p for p in paths if p != SPEC]


def test_the_scanner_reads_lists_and_ranges_and_skips_other_documents() -> None:
    text = "see PROTOCOL.md §4–§7, PROTOCOL.md\n    # §3.9, §8 and §2.5 step 7; RFC 3986 §3.1"
    assert _citations(text) == [(1, "4"), (1, "7"), (2, "3.9"), (2, "8"), (2, "2.5")]
    assert _citations("salt (RFC 5869 §2.2), then §3.4 and §3.5", in_spec=True) == [
        (1, "3.4"),
        (1, "3.5"),
    ]
    assert {"1", "3", "3.4", "5.19", "10"} <= _headings(SPEC.read_text(encoding="utf-8"))


def test_every_cited_section_exists() -> None:
    sections = _headings(SPEC.read_text(encoding="utf-8"))
    cited = 0
    missing = []
    for path in _scanned():
        for line, number in _citations(path.read_text(encoding="utf-8")):
            cited += 1
            if number not in sections:
                missing.append(f"{path.relative_to(ROOT)}:{line}: PROTOCOL.md §{number}")
    assert cited > 100, "the scanner found almost no citations: has the pattern broken?"
    assert not missing, "cited sections PROTOCOL.md does not have:\n" + "\n".join(missing)


def test_the_specs_own_cross_references_exist() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    sections = _headings(spec)
    missing = [f"line {line}: §{n}" for line, n in _citations(spec, True) if n not in sections]
    assert not missing, "PROTOCOL.md cites sections it does not have:\n" + "\n".join(missing)
