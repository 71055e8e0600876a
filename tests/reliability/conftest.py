"""Shared pieces of the reliability tests (issue 8, parts 2 and 3).

- ``DeviceWatch`` (``watch.py``) stands between the simulated cable and the device, on the
  device's own clock: it notes every lease renewal that reaches the device intact and every
  time the outputs go on or off, and flags any instant at which an output is on more than one
  lease plus one check period after the last renewal (PROTOCOL.md §3.5).
- The ``reliability_report`` fixture collects what the tests measured (the fault matrix, the
  stateful run's step count and time); ``tests/conftest.py`` prints it at the end of the run,
  outside pytest's output capture and from every ``pytest -n`` worker, so it is in every CI log
  (``tests/support/run_report.py``).

The host reaches the simulator only through ``sim://``; the tests look at ``port.device`` and
``port.bench`` directly, as ``simulator/README.md`` documents for tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from run_report import sections

from .watch import DeviceWatch

__all__ = ["DeviceWatch", "ReliabilityReport", "reliability_report"]


@dataclass
class ReliabilityReport:
    """What the reliability tests measured, printed at the end of the run (``run_report``)."""

    sections: dict[str, list[str]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def reliability_report(request: pytest.FixtureRequest) -> ReliabilityReport:
    """The run's report; each test puts its lines under a section title."""
    return ReliabilityReport(sections(request.config))
