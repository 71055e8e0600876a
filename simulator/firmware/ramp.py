"""A channel's set value over time: one linear stretch from a start to an end value, then level.

Every change of a channel's set value (START ramp, SET_INTENSITY slew, ramp-down STOP, a fault's
cut to zero) replaces its ``Ramp``; between changes the set value is known at any instant
without stepping, which is what lets the virtual clock jump between deadlines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["US_PER_S", "Ramp"]

US_PER_S = 1_000_000


@dataclass(frozen=True)
class Ramp:
    """Set value ``start_uA`` at ``t0_us``, linear to ``end_uA`` at ``t1_us``, level after.

    Attributes:
        t0_us: when the stretch starts.
        start_uA: the set value at ``t0_us``.
        t1_us: when it reaches ``end_uA`` (``t1_us == t0_us`` for a step or a level).
        end_uA: the set value from ``t1_us`` on.
    """

    t0_us: int
    start_uA: float
    t1_us: int
    end_uA: float

    @classmethod
    def level(cls, t_us: int, value_uA: float = 0.0) -> Ramp:
        """A set value that stays at ``value_uA`` from ``t_us`` on."""
        return cls(t_us, value_uA, t_us, value_uA)

    @classmethod
    def over(cls, t_us: int, start_uA: float, end_uA: float, duration_us: int) -> Ramp:
        """A stretch from ``start_uA`` at ``t_us`` to ``end_uA`` ``duration_us`` later."""
        return cls(t_us, start_uA, t_us + duration_us, end_uA)

    @classmethod
    def at_slew(cls, t_us: int, start_uA: float, end_uA: float, slew_uA_per_s: int) -> Ramp:
        """A stretch from ``start_uA`` to ``end_uA`` at ``slew_uA_per_s`` (rounded up to 1 µs)."""
        duration_us = math.ceil(abs(end_uA - start_uA) * US_PER_S / slew_uA_per_s)
        return cls.over(t_us, start_uA, end_uA, duration_us)

    def at(self, t_us: float) -> float:
        """The set value at ``t_us`` (``start_uA`` before ``t0_us``)."""
        if t_us >= self.t1_us:
            return self.end_uA
        if t_us <= self.t0_us:
            return self.start_uA
        fraction = (t_us - self.t0_us) / (self.t1_us - self.t0_us)
        value = self.start_uA + (self.end_uA - self.start_uA) * fraction
        # Floating point may land a hair outside the ramp (e.g. -4.5e-13 µA near its end): a
        # current source never drives beyond the values it ramps between, so neither does this.
        low, high = sorted((self.start_uA, self.end_uA))
        return min(max(value, low), high)

    def first_above(self, limit_uA: float) -> float | None:
        """The instant from which the set value exceeds ``limit_uA``, or None if it never does.

        Before ``t0_us`` the ramp is not defined; an already exceeded limit gives ``t0_us``.
        """
        if self.start_uA > limit_uA:
            return float(self.t0_us)
        if self.end_uA <= limit_uA:
            return None
        fraction = (limit_uA - self.start_uA) / (self.end_uA - self.start_uA)
        return self.t0_us + fraction * (self.t1_us - self.t0_us)
