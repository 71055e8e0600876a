"""A parameter grid: named axes, their cross product as points, and a seed for each point.

A point's seed is derived from the sweep's base seed and the point's *values* (not its index),
so the same grid gives the same seeds on every machine and in every executor, and adding a
value to one axis leaves the seeds of the points that were already there unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from eacontrol.errors import Layer, ParameterError

__all__ = ["AXIS_VALUE_TYPES", "Grid", "Point", "Value", "point_seed"]

Value = int | float | str | bool
"""What an axis may hold: a number (mA, Hz, µs, s) or a text (a simulator load, ``"10k"``)."""

AXIS_VALUE_TYPES = (int, float, str, bool)
"""The types of :data:`Value`, for ``isinstance``."""

_SEED_BITS = 32
"""Design value: the simulator seeds numpy generators with any whole number; 32 bits keep the
seed readable in the table and in a ``sim://`` URL, and collide for two points of one grid with
odds of about n²/2³³ (1 in 200,000 for a 200-point grid) — a collision only makes two points
share their random draws, never their results' identity."""


@dataclass(frozen=True)
class Point:
    """One point of a grid.

    Attributes:
        index: its position in the grid's order (the last axis varies fastest).
        values: axis name → value, in the grid's axis order.
        seed: the seed derived from the values and the sweep's base seed (:func:`point_seed`).
    """

    index: int
    values: Mapping[str, Value]
    seed: int

    def get(self, axis: str, default: Value) -> Value:
        """The point's value on ``axis``, else ``default`` (an axis the grid does not have)."""
        return self.values.get(axis, default)


def point_seed(values: Mapping[str, Value], base_seed: int = 0) -> int:
    """The seed of a point: the first 32 bits of SHA-256 over the base seed and the values.

    The values are written as JSON with sorted keys, so the axis order does not matter, and
    ``1`` and ``1.0`` (the same number of mA) give the same seed.

    Args:
        values: axis name → value.
        base_seed: the sweep's seed; another base seed gives every point other random draws.

    Returns:
        A whole number in ``0 .. 2**32 - 1``.
    """
    canonical = {k: float(v) if _is_number(v) else v for k, v in values.items()}
    text = json.dumps({"base_seed": base_seed, "point": canonical}, sort_keys=True)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[: _SEED_BITS // 8], "big")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Grid:
    """Named axes, each a sequence of values; the points are their cross product.

    ::

        grid = Grid(frequency_hz=[2, 100], intensity_mA=[1.0, 2.0, 4.0], load=["500", "10k"])
        len(grid)            # 12
        grid.points()[0]     # Point(index=0, values={'frequency_hz': 2, ...}, seed=...)

    An axis with one value is a constant of the sweep (it is in every row of the table).
    """

    def __init__(
        self, axes: Mapping[str, Sequence[Value]] | None = None, /, **named: Sequence[Value]
    ) -> None:
        """Build a grid from a mapping of axes and/or keyword axes, in the order given.

        Args:
            axes: axis name → values (an order built at run time, or a name that is a Python
                keyword).
            **named: more axes.

        Raises:
            ParameterError: no axis; an axis name that is not a lower-case identifier or is
                given twice; an axis without values, with a value repeated, or with a value
                that is not a finite number, a text or a bool.
        """
        merged: dict[str, tuple[Value, ...]] = {}
        for source in (axes or {}, named):
            for name, values in source.items():
                if name in merged:
                    raise ParameterError(
                        "grid axis", name, "each axis once", Layer.SCHEMA, "eacontrol.sweep"
                    )
                merged[name] = _axis(name, values)
        if not merged:
            raise ParameterError(
                "grid", "{}", "at least one axis, e.g. Grid(intensity_mA=[1, 2])", Layer.SCHEMA
            )
        self._axes = merged

    @property
    def axes(self) -> Mapping[str, tuple[Value, ...]]:
        """Axis name → its values, in order."""
        return dict(self._axes)

    def __len__(self) -> int:
        return math.prod(len(v) for v in self._axes.values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={list(v)!r}" for k, v in self._axes.items())
        return f"Grid({inner})"

    def __iter__(self) -> Iterator[Point]:
        return iter(self.points())

    def points(self, base_seed: int = 0) -> list[Point]:
        """Every point, the last axis varying fastest, each with its seed.

        Args:
            base_seed: the sweep's seed (:func:`point_seed`).
        """
        names = list(self._axes)
        found = []
        for i, combo in enumerate(itertools.product(*self._axes.values())):
            values = dict(zip(names, combo, strict=True))
            found.append(Point(i, values, point_seed(values, base_seed)))
        return found


def _axis(name: object, values: object) -> tuple[Value, ...]:
    if not isinstance(name, str) or not name.isidentifier() or name != name.strip("_"):
        raise ParameterError(
            "grid axis name",
            name,
            "an identifier such as intensity_mA or load",
            Layer.SCHEMA,
            "eacontrol.sweep",
        )
    if isinstance(values, str | bytes) or not isinstance(values, Sequence) or not values:
        raise ParameterError(
            f"grid axis {name}",
            values,
            "a non-empty list of values, e.g. [1.0, 2.0]",
            Layer.SCHEMA,
            "eacontrol.sweep",
        )
    for value in values:
        finite = not _is_number(value) or math.isfinite(value)
        if not isinstance(value, AXIS_VALUE_TYPES) or not finite:
            raise ParameterError(
                f"grid axis {name}",
                value,
                "finite numbers, texts or bools",
                Layer.SCHEMA,
                "eacontrol.sweep",
            )
    keys = [float(v) if _is_number(v) else v for v in values]
    if len(set(map(repr, keys))) != len(keys):
        raise ParameterError(
            f"grid axis {name}", list(values), "each value once", Layer.SCHEMA, "eacontrol.sweep"
        )
    return tuple(values)
