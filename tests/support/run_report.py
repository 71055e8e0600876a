"""Lines the tests measured, printed at the end of the run (outside pytest's output capture).

A test adds lines under a section title (:func:`sections`); ``tests/conftest.py`` prints every
section in the terminal summary. Under ``pytest -n`` each worker sends its sections to the
controller when it finishes (``workeroutput``), so the summary is in every CI log either way.
"""

from __future__ import annotations

import pytest

__all__ = ["WORKER_KEY", "sections"]

_SECTIONS = pytest.StashKey[dict[str, list[str]]]()

WORKER_KEY = "eacontrol_run_report"
"""The key of a worker's sections in its ``workeroutput`` (pytest-xdist)."""


def sections(config: pytest.Config) -> dict[str, list[str]]:
    """The run's sections: title → lines (the same dict for the whole run)."""
    return config.stash.setdefault(_SECTIONS, {})
