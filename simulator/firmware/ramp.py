"""A channel's set value over time: one linear stretch from a start to an end value, then level.

Every change of a channel's set value (START ramp, SET_INTENSITY slew, ramp-down STOP, a fault's
cut to zero) replaces its ``Ramp``; between changes the set value is known at any instant
without stepping, which is what lets the virtual clock jump between deadlines.

Integers only: the set value at ``t`` is the exact line rounded down to a whole µA,
``start + floor((end − start)·(t − t0) / (t1 − t0))``, so it never lies above the line, stays
between the two values it ramps between, and equals ``end`` from ``t1`` on. The output stage's
pulse engine samples the same rule at every onset (``simulator.hardware.pulses``).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.firmware.units import US_PER_S, ceil_div

__all__ = ["Ramp"]


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
    start_uA: int
    t1_us: int
    end_uA: int

    @classmethod
    def level(cls, t_us: int, value_uA: int = 0) -> Ramp:
        """A set value that stays at ``value_uA`` from ``t_us`` on."""
        return cls(t_us, value_uA, t_us, value_uA)

    @classmethod
    def over(cls, t_us: int, start_uA: int, end_uA: int, duration_us: int) -> Ramp:
        """A stretch from ``start_uA`` at ``t_us`` to ``end_uA`` ``duration_us`` later."""
        return cls(t_us, start_uA, t_us + duration_us, end_uA)

    @classmethod
    def at_slew(cls, t_us: int, start_uA: int, end_uA: int, slew_uA_per_s: int) -> Ramp:
        """A stretch from ``start_uA`` to ``end_uA`` at ``slew_uA_per_s``.

        Its duration is rounded up to a whole µs, so the slew is never exceeded.
        """
        duration_us = ceil_div(abs(end_uA - start_uA) * US_PER_S, slew_uA_per_s)
        return cls.over(t_us, start_uA, end_uA, duration_us)

    def at(self, t_us: int) -> int:
        """The set value at ``t_us``, rounded down (``start_uA`` before ``t0_us``)."""
        if t_us >= self.t1_us:
            return self.end_uA
        if t_us <= self.t0_us:
            return self.start_uA
        rise_uA = (self.end_uA - self.start_uA) * (t_us - self.t0_us)
        return self.start_uA + rise_uA // (self.t1_us - self.t0_us)

    def first_above(self, limit_uA: int) -> int | None:
        """The first instant from ``t0_us`` on at which the set value exceeds ``limit_uA``, or
        None if it never does.

        A limit already exceeded at ``t0_us`` gives ``t0_us``. On a rising ramp it is the least
        ``t`` with ``floor(rise·(t − t0)/duration) ≥ limit + 1 − start``, i.e.
        ``t0 + ceil((limit + 1 − start)·duration / rise)``.
        """
        if self.at(self.t0_us) > limit_uA:
            return self.t0_us
        if self.end_uA <= limit_uA:
            return None
        needed_uA = limit_uA + 1 - self.start_uA
        duration_us = self.t1_us - self.t0_us
        return self.t0_us + ceil_div(needed_uA * duration_us, self.end_uA - self.start_uA)
