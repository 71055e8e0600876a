"""Range checks against the intersection of limit layers, naming the layer that refuses.

The effective host limit of a quantity is the intersection of its layers (DESIGN.md §4); a
refusal says which layer's bound was crossed and that bound's source, so "20 mA is the
standard's ceiling (Han 2003)" and "this device reports 15 mA" are told apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from eacontrol.errors import Layer, ParameterError
from firmware_protocol import UnitError

__all__ = ["Bound", "Converter", "check_number", "check_range", "to_wire"]

Converter = Callable[[float, str], int]
"""A ``firmware_protocol.units`` conversion: (API value, parameter name) → wire integer."""


@dataclass(frozen=True)
class Bound:
    """One layer's bounds on a quantity (None = unbounded on that side).

    Attributes:
        lo: lowest allowed value.
        hi: highest allowed value.
        layer: the limit layer.
        source: the standard, paper or report behind the bounds.
    """

    lo: float | None
    hi: float | None
    layer: Layer
    source: str


def check_number(parameter: str, value: object, unit: str) -> float:
    """Return ``value`` if it is a finite real number (not a bool).

    Raises:
        ParameterError: anything else (layer ``schema``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParameterError(parameter, value, f"a finite number of {unit}", Layer.SCHEMA)
    return float(value)


def check_range(parameter: str, value: object, unit: str, *bounds: Bound) -> float:
    """Check ``value`` against every bound and return it.

    Args:
        parameter: the API parameter's name, with its unit (``frequency_hz``).
        value: the value given.
        unit: the unit, for messages (``Hz``).
        bounds: the layers' bounds; on a tie the first one given is named.

    Returns:
        The value as a float.

    Raises:
        ParameterError: not a finite number, or outside the intersection; names the layer whose
            bound was crossed and its source, and gives the whole effective range.
    """
    number = check_number(parameter, value, unit)
    lows = [b for b in bounds if b.lo is not None]
    highs = [b for b in bounds if b.hi is not None]
    low = max(lows, key=lambda b: b.lo or 0.0, default=None)
    high = min(highs, key=lambda b: b.hi or 0.0, default=None)
    allowed = _allowed(low, high, unit)
    if low is not None and low.lo is not None and number < low.lo:
        raise ParameterError(parameter, value, allowed, low.layer, low.source)
    if high is not None and high.hi is not None and number > high.hi:
        raise ParameterError(parameter, value, allowed, high.layer, high.source)
    return number


def _allowed(low: Bound | None, high: Bound | None, unit: str) -> str:
    lo = None if low is None else low.lo
    hi = None if high is None else high.hi
    if lo is not None and hi is not None:
        if lo > hi:
            return f"nothing (the layers' ranges {lo:g} and {hi:g} {unit} do not overlap)"
        return f"{lo:g}..{hi:g} {unit}"
    if lo is not None:
        return f">= {lo:g} {unit}"
    return f"<= {hi:g} {unit}" if hi is not None else f"any number of {unit}"


def to_wire(parameter: str, value: float, convert: Converter) -> int:
    """Convert an API value with a ``firmware_protocol.units`` function.

    Raises:
        ParameterError: the value is not a multiple of the wire resolution or does not fit the
            wire field (layer ``schema``, the message says which).
    """
    try:
        return convert(value, parameter)
    except UnitError as err:
        raise ParameterError(
            parameter, value, err.allowed, Layer.SCHEMA, "wire units, PROTOCOL.md §1"
        ) from err
