"""docs/clinical-sources.md stays complete and true (issue 15, Sources).

Every figure of the limit engine (each StandardLimits field, each key of SOURCES, the module
defaults of eacontrol.safety.limits and the reference load of eacontrol.safety.dose) has a row in
the table of docs/clinical-sources.md, and the row's value is the value in code. No citation that
the check against the public texts found wrong appears anywhere in the tree's .py/.md/.toml files,
except in clinical-sources.md on a line that says what the source does **not** state.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from eacontrol.safety import dose, limits
from eacontrol.safety.limits import SOURCES, STANDARD, StandardLimits

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "clinical-sources.md"

MODULE_FIGURES: dict[str, float] = {
    "DEFAULT_PROFILE_CEILING_mA": limits.DEFAULT_PROFILE_CEILING_mA,
    "DEFAULT_LEASE_ms": limits.DEFAULT_LEASE_ms,
    "DEFAULT_SESSION_s": limits.DEFAULT_SESSION_s,
    "MAX_SESSION_s": limits.MAX_SESSION_s,
    "LOAD_OHM": dose.LOAD_OHM,
}
"""Figures outside StandardLimits that the checker, the device layer or the session read."""

NOT_YET_CHECKED = "not yet checked"
"""The status of a row whose bound the project does not enforce yet (no name in code)."""

BANNED = {
    "882.5891": "21 CFR 882.5891 sets no phase-charge (or any numeric) limit",
    "Pantheon": "'Pantheon / DS5 practice' is not a citable source",
    "DS5": "'Pantheon / DS5 practice' is not a citable source",
    "K202861": "the 510(k) K202861 could not be verified",
    "29:83": "cite Cummings M, Acupunct Med 2011;29(2):83-85 (or 29(2):147-151) in full",
    "TENS guidance": "0.25 W/cm² is FDA's 1999 powered muscle stimulator guidance",
    "instructions-for-use text": "name the IEC 60601-2-10 item (the IFU disclosure list)",
    "0.5-0.9 mA": "no source for a motor response at 0.5-0.9 mA was found (Cummings 2011 has none)",
    "0.5–0.9 mA": "no source for a motor response at 0.5-0.9 mA was found (Cummings 2011 has none)",
}
"""Citation fragments that are wrong or unverifiable, with why."""

_WANG_2009_BARE = re.compile(r"Wang 2009(?![^\n]*Anesth Analg)")
"""'Wang 2009' without its reference (Anesth Analg 2009;109(3):932-935) on the same line."""

PENDING_ELSEWHERE: dict[str, frozenset[str]] = {
    "eacontrol/session/control.py": frozenset({"0.5-0.9 mA"}),
}
"""Files owned by a concurrent change whose citation edit is listed in the report of this change.

Each entry is checked to still need its exemption (see
test_i15_sources_pending_exemptions_are_still_needed), so it goes as soon as the file is fixed.
"""

_SKIP_DIRS = {".git", ".venv", "venv", "build", "dist", "node_modules", ".mypy_cache"}


def _rows() -> dict[str, list[str]]:
    """The table rows of clinical-sources.md, by the name in their first cell (`name`)."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and len(cells) >= 8:
            name = cells[0].strip("`")
            assert name not in rows, f"clinical-sources.md: two rows for {name}"
            rows[name] = cells
    return rows


def _code_figures() -> dict[str, float]:
    figures = {f.name: float(getattr(STANDARD, f.name)) for f in dataclasses.fields(STANDARD)}
    figures.update(MODULE_FIGURES)
    return figures


def _tree_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        if path.suffix not in {".py", ".md", ".toml"} or not path.is_file():
            continue
        if _SKIP_DIRS & set(path.relative_to(ROOT).parts) or ".egg-info" in str(path):
            continue
        files.append(path)
    return files


def test_i15_sources_every_limit_has_a_row() -> None:
    rows = _rows()
    names = (
        {f.name for f in dataclasses.fields(StandardLimits)} | set(SOURCES) | set(MODULE_FIGURES)
    )
    missing = sorted(names - set(rows))
    assert not missing, f"docs/clinical-sources.md has no row for {missing}"


def test_i15_sources_row_values_equal_the_code() -> None:
    rows = _rows()
    figures = _code_figures()
    for name, cells in rows.items():
        status = cells[7].lower()
        if name not in figures:
            assert NOT_YET_CHECKED in status, f"{name}: a row for a name the code does not have"
            continue
        assert float(cells[1]) == figures[name], (
            f"{name}: row says {cells[1]}, code {figures[name]}"
        )


def test_i15_sources_every_row_names_a_source_or_a_design_value() -> None:
    for name, cells in _rows().items():
        source, says, status = cells[4], cells[5], cells[7]
        assert source and says and status, f"{name}: empty source, quote or status cell"
        if "design value" not in source.lower():
            assert re.search(r"\d{4}", source), f"{name}: source without a year: {source}"
            assert "verified" in status.lower() or NOT_YET_CHECKED in status.lower(), name


def test_i15_sources_design_values_say_so_in_code() -> None:
    """A figure the table calls a design value is cited as one in SOURCES (what findings print)."""
    for name, cells in _rows().items():
        if name in SOURCES and cells[4].lower().startswith("design value"):
            assert SOURCES[name].startswith("design value"), f"{name}: {SOURCES[name]}"


def _banned_hits() -> list[str]:
    hits = []
    for path in _tree_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel == "tests/test_clinical_sources.py":
            continue
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1):
            found = [b for b in BANNED if b in line]
            if _WANG_2009_BARE.search(line):
                found.append("Wang 2009")
            if rel == "docs/clinical-sources.md" and re.search(r"\bnot\b", line):
                continue
            found = [b for b in found if b not in PENDING_ELSEWHERE.get(rel, frozenset())]
            hits += [f"{rel}:{number}: {b!r} ({BANNED.get(b, 'incomplete')})" for b in found]
    return hits


def test_i15_sources_no_banned_citation_in_the_tree() -> None:
    hits = _banned_hits()
    assert not hits, "wrong or unverifiable citations:\n" + "\n".join(hits)


@pytest.mark.parametrize(
    ("rel", "banned"), sorted((r, b) for r, bs in PENDING_ELSEWHERE.items() for b in bs)
)
def test_i15_sources_pending_exemptions_are_still_needed(rel: str, banned: str) -> None:
    """Once the owner fixes the file, drop its entry from PENDING_ELSEWHERE."""
    text = (ROOT / rel).read_text(encoding="utf-8")
    assert banned in text, f"{rel} no longer cites {banned!r}: drop it from PENDING_ELSEWHERE"
