"""The firmware's integer rules: rounding helpers, ramps and dose counters (simulator/README.md).

Each rule is checked against exact rational arithmetic (``fractions.Fraction``) or the standard
library, so "rounded down" and "to the nearest, ties to even" mean exactly that.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import Dose
from simulator.firmware.dose import DoseCounters
from simulator.firmware.hal import Delivered
from simulator.firmware.ramp import Ramp
from simulator.firmware.units import (
    U16,
    ceil_div,
    isqrt,
    round_sqrt_ratio,
    tick_at_or_after,
)

S = 1_000_000

currents = st.integers(0, U16)
times = st.integers(0, 10**12)
durations = st.integers(0, 10**10)


# --- helpers -------------------------------------------------------------------------------------


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**15))
def test_ceil_div_rounds_up(numerator: int, denominator: int) -> None:
    assert ceil_div(numerator, denominator) == math.ceil(Fraction(numerator, denominator))


@given(st.integers(0, 2**200))
def test_isqrt_is_the_floor_of_the_root(value: int) -> None:
    assert isqrt(value) == math.isqrt(value)


def test_isqrt_refuses_a_negative_number() -> None:
    with pytest.raises(ValueError, match="negative"):
        isqrt(-1)


@given(st.integers(0, 10**30), st.integers(1, 10**15))
def test_round_sqrt_ratio_is_the_nearest_integer(numerator: int, denominator: int) -> None:
    got = round_sqrt_ratio(numerator, denominator)
    # |got − √(n/d)| ≤ ½ ⇔ (got − ½)² ≤ n/d ≤ (got + ½)², in exact rationals.
    ratio = Fraction(numerator, denominator)
    assert (Fraction(2 * got - 1, 2) ** 2 if got else 0) <= ratio <= Fraction(2 * got + 1, 2) ** 2


def test_round_sqrt_ratio_ties_go_to_even_as_pythons_round() -> None:
    # √6.25 = 2.5 → 2, √12.25 = 3.5 → 4, √0.25 = 0.5 → 0, as round() does.
    assert [round_sqrt_ratio(n, 4) for n in (25, 49, 1)] == [2, 4, 0]
    assert [round(x) for x in (2.5, 3.5, 0.5)] == [2, 4, 0]
    with pytest.raises(ValueError, match="denominator"):
        round_sqrt_ratio(1, 0)


@given(times, st.integers(0, 10**9), st.integers(1, 10**6))
def test_tick_at_or_after_is_the_first_grid_point_not_before(
    t_us: int, first_tick_us: int, period_us: int
) -> None:
    tick_us = tick_at_or_after(t_us, first_tick_us, period_us)
    assert tick_us >= t_us and tick_us >= first_tick_us
    assert (tick_us - first_tick_us) % period_us == 0
    assert tick_us == first_tick_us or tick_us - period_us < t_us


# --- ramps ---------------------------------------------------------------------------------------


@given(times, currents, durations, currents, st.integers(-(10**6), 10**11))
def test_the_set_value_is_the_line_rounded_down(
    t0_us: int, start_uA: int, duration_us: int, end_uA: int, offset_us: int
) -> None:
    ramp = Ramp.over(t0_us, start_uA, end_uA, duration_us)
    t_us = t0_us + offset_us
    value = ramp.at(t_us)
    assert type(value) is int
    if t_us >= ramp.t1_us:
        assert value == end_uA
    elif t_us <= t0_us:
        assert value == start_uA
    else:
        exact = start_uA + Fraction((end_uA - start_uA) * (t_us - t0_us), duration_us)
        assert value == math.floor(exact)
    assert min(start_uA, end_uA) <= value <= max(start_uA, end_uA)


@given(times, currents, durations, currents, currents)
def test_first_above_is_the_first_instant_above_the_limit(
    t0_us: int, start_uA: int, duration_us: int, end_uA: int, limit_uA: int
) -> None:
    ramp = Ramp.over(t0_us, start_uA, end_uA, duration_us)
    crossing_us = ramp.first_above(limit_uA)
    if crossing_us is None:
        assert ramp.at(t0_us) <= limit_uA and ramp.at(ramp.t1_us) <= limit_uA
        return
    assert ramp.at(crossing_us) > limit_uA
    assert crossing_us == t0_us or ramp.at(crossing_us - 1) <= limit_uA


@given(times, currents, currents, st.integers(1, U16))
def test_a_slew_never_goes_faster_than_asked(
    t0_us: int, start_uA: int, end_uA: int, slew_uA_per_s: int
) -> None:
    ramp = Ramp.at_slew(t0_us, start_uA, end_uA, slew_uA_per_s)
    duration_us = ramp.t1_us - t0_us
    assert duration_us == math.ceil(Fraction(abs(end_uA - start_uA) * S, slew_uA_per_s))
    assert abs(end_uA - start_uA) * S <= slew_uA_per_s * duration_us


def test_a_ramp_from_zero_to_five_milliamps() -> None:
    ramp = Ramp.over(7, 0, 5000, S)  # 5 mA over 1 s from t = 7 µs: 1 µA every 200 µs
    assert [ramp.at(7 + t) for t in (0, 199, 200, 399, 500_000, S - 1, S)] == [
        0,
        0,
        1,
        1,
        2500,
        4999,
        5000,
    ]
    assert ramp.first_above(2500) == 7 + 500_200
    down = Ramp.over(0, 5000, 0, S)
    assert [down.at(t) for t in (0, 1, 200, 201, S - 1, S)] == [5000, 4999, 4999, 4998, 0, 0]


# --- dose counters -------------------------------------------------------------------------------


def test_dose_counters_add_readings_and_keep_the_largest_peak() -> None:
    dose = DoseCounters()
    dose.add(Delivered(pulses_a=3, time_a_us=1500, on_time_us=1500, charge_pos_nC=7, peak_uA=9))
    dose.add(Delivered(pulses_b=2, time_b_us=2500, on_time_us=2500, charge_neg_nC=5, peak_uA=4))
    assert dose.total == Delivered(3, 2, 1500, 2500, 4000, 7, 5, 9, 0)
    dose.clear()
    assert dose.total == Delivered()


def test_dose_message_rounds_times_down_and_clips_to_the_wire() -> None:
    dose = DoseCounters()
    dose.add(
        Delivered(
            pulses_a=2**33,
            time_a_us=2_999,
            on_time_us=4 * S,
            charge_pos_nC=2**70,
            peak_uA=70_000,
            # mean square (1000 µA)² + ¼: rms 1000.000125 µA → 1000
            square_uA2_us=(10**6 * 4 + 1) * S,
        )
    )
    assert dose.message(3) == Dose(
        channel=3,
        pulses_a=0xFFFF_FFFF,
        pulses_b=0,
        time_a_ms=2,
        time_b_ms=0,
        charge_pos_nC=2**64 - 1,
        charge_neg_nC=0,
        peak_uA=U16,
        rms_uA=1000,
        on_time_ms=4000,
    )
    assert DoseCounters().rms_uA == 0
