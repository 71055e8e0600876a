"""Lines the tests measured, printed at the end of the run (outside pytest's output capture).

A test adds lines under a section title (:func:`sections`); ``tests/conftest.py`` prints every
section in the terminal summary. Under ``pytest -n`` each worker sends its sections to the
controller when it finishes (``workeroutput``), so the summary is in every CI log either way.
A table split across workers (each worker ran some of its cells, the others say
:data:`NOT_RUN`) is put back together cell by cell (:func:`merge`), so it is printed once.
"""

from __future__ import annotations

import pytest

__all__ = ["NOT_RUN", "WORKER_KEY", "merge", "sections"]

_SECTIONS = pytest.StashKey[dict[str, list[str]]]()

WORKER_KEY = "eacontrol_run_report"
"""The key of a worker's sections in its ``workeroutput`` (pytest-xdist)."""


def sections(config: pytest.Config) -> dict[str, list[str]]:
    """The run's sections: title → lines (the same dict for the whole run)."""
    return config.stash.setdefault(_SECTIONS, {})


NOT_RUN = "(not run)"
"""What a Markdown table cell of a section says when this process did not run it."""


def _cells(line: str) -> list[str] | None:
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return line[1:-1].split("|")


def merge(ours: list[str], theirs: list[str]) -> list[str] | None:
    """Two workers' copies of one section, as one: every line the same but for table cells of
    which one copy says :data:`NOT_RUN`, which take the other copy's. None when the copies
    differ otherwise (each is then printed under its own title)."""
    if len(ours) != len(theirs):
        return None
    merged = []
    for a, b in zip(ours, theirs, strict=True):
        if a == b:
            merged.append(a)
            continue
        cells_a, cells_b = _cells(a), _cells(b)
        if cells_a is None or cells_b is None or len(cells_a) != len(cells_b):
            return None
        row = []
        for x, y in zip(cells_a, cells_b, strict=True):
            if x.strip() == NOT_RUN:
                row.append(y)
            elif y.strip() == NOT_RUN or x == y:
                row.append(x)
            else:
                return None
        merged.append("|" + "|".join(row) + "|")
    return merged
