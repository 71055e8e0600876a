"""A benchmark's result: one figure, its limit measured in the same run, the ratio and the goal.

Every figure is the median of repeated measurements (``samples`` keeps them all), and it is
reported against a limit that the same run measured or computed (the bare pty echo, ``python -c
pass``, the wire time of a frame …), so a result means the same on a fast and a slow machine.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = ["Figure", "Json", "median", "percentile"]

Json: TypeAlias = "bool | int | float | str | Sequence[Json] | Mapping[str, Json] | None"
"""A value ``json.dumps`` writes as is."""


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (at least one).

    Raises:
        ValueError: no values.
    """
    listed = list(values)
    if not listed:
        raise ValueError("the median of no values")
    return float(statistics.median(listed))


def percentile(values: Iterable[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` by nearest rank (p99 of 200 values: the 198th).

    Raises:
        ValueError: no values, or ``pct`` outside 0..100.
    """
    ordered = sorted(values)
    if not ordered or not 0 <= pct <= 100:
        raise ValueError(f"percentile {pct} of {len(ordered)} values")
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


@dataclass(frozen=True)
class Figure:
    """One benchmark's figure.

    Attributes:
        name: the benchmark (``session_speed``, …).
        value: the figure: the median of ``samples``.
        unit: the unit of ``value`` and ``limit``.
        limit: what the figure is compared with, measured or computed in the same run.
        limit_is: what the limit is, in words.
        ratio: ``value / limit``.
        goal: the goal of issue 8, in words ("ratio <= 3").
        met: whether the goal is reached (None: no goal).
        samples: every repeated measurement, in ``unit``.
        details: further figures (p99, wall seconds, import breakdown, …).
    """

    name: str
    value: float
    unit: str
    limit: float
    limit_is: str
    ratio: float
    goal: str
    met: bool | None
    samples: Sequence[float]
    details: Mapping[str, Json] = field(default_factory=dict)

    def to_json(self) -> dict[str, Json]:
        """The figure as a JSON object (the entry in ``results.json``)."""
        return {
            "value": self.value,
            "unit": self.unit,
            "limit": self.limit,
            "limit_is": self.limit_is,
            "ratio": self.ratio,
            "goal": self.goal,
            "met": self.met,
            "repeats": len(self.samples),
            "samples": [float(s) for s in self.samples],
            "details": dict(self.details),
        }
