"""The integer units the firmware counts in, the wire's field widths, and its rounding helpers.

The firmware holds every stimulation quantity as a whole number of µA, µs, ms, nC, Ω or cHz,
as the wire does (PROTOCOL.md §1), so it maps one-to-one onto the C core's ``uint32_t`` and
``int64_t`` arithmetic. Division rounds down (``//``, floor) unless a bound must not be undershot;
then it rounds up with :func:`ceil_div`. The rules each quantity follows are listed in
``simulator/README.md`` ("Integer rules").
"""

from __future__ import annotations

__all__ = [
    "CENTI_HZ_PERIOD_US",
    "U8",
    "U16",
    "U32",
    "U64",
    "US_PER_MS",
    "US_PER_S",
    "ceil_div",
    "isqrt",
    "round_sqrt_ratio",
    "tick_at_or_after",
]

US_PER_MS = 1000
US_PER_S = 1_000_000

CENTI_HZ_PERIOD_US = 10**8
"""Period of 1 cHz (0.01 Hz) in µs: pulse k of a train at f cHz starts at floor(k·10^8 / f)."""

U8 = 0xFF
U16 = 0xFFFF
U32 = 0xFFFF_FFFF
U64 = 2**64 - 1


def ceil_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded up (towards +∞), for a positive ``denominator``."""
    return -(-numerator // denominator)


def tick_at_or_after(t_us: int, first_tick_us: int, period_us: int) -> int:
    """The first check instant at or after ``t_us`` on the grid ``first_tick_us + k·period_us``
    (k ≥ 0)."""
    if t_us <= first_tick_us:
        return first_tick_us
    return first_tick_us + ceil_div(t_us - first_tick_us, period_us) * period_us


def isqrt(value: int) -> int:
    """The largest integer whose square is at most ``value`` (Newton's method, as in C).

    Raises:
        ValueError: ``value`` is negative.
    """
    if value < 0:
        raise ValueError(f"isqrt of a negative number: {value}")
    if value == 0:
        return 0
    # Start above the root: 2^ceil(bits/2) ≥ sqrt(value); the iterates then fall to it.
    root = 1 << ((value.bit_length() + 1) // 2)
    while True:
        better = (root + value // root) // 2
        if better >= root:
            return root
        root = better


def round_sqrt_ratio(numerator: int, denominator: int) -> int:
    """``sqrt(numerator / denominator)`` to the nearest integer, ties to even.

    Exact for any size: ``isqrt(4·n // d)`` is ``floor(2·sqrt(n/d))`` (the floor of a square
    root of a floor is the floor of the root), so the nearest integer is that halved, rounded
    up, except on an exact tie, which goes to the even neighbour as Python's ``round`` does.

    Raises:
        ValueError: a negative ``numerator`` or a ``denominator`` that is not positive.
    """
    if denominator <= 0:
        raise ValueError(f"denominator must be > 0, got {denominator}")
    twice = isqrt(4 * numerator // denominator)
    nearest = (twice + 1) // 2
    tie = twice % 2 == 1 and twice * twice * denominator == 4 * numerator
    return nearest - 1 if tie and nearest % 2 == 1 else nearest
