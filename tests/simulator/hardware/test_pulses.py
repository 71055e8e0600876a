"""Pulse engine: exact onsets per PROTOCOL.md §8, shapes, ramps and window algebra."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_programs import S, dense_disperse, program, programs

from firmware_protocol import Mode, SetProgram, Shape
from simulator.firmware.hal import Drive
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import freq_at_cHz, time_per_half_us
from simulator.hardware.pulses import PULSE_DTYPE, pulse_onsets, pulse_table, ramp_amplitude_uA


def level(prog: SetProgram, value_uA: int, run_start_us: int = 0) -> Drive:
    """``prog`` driven at a constant ``value_uA`` from ``run_start_us``."""
    return Drive(prog, run_start_us, Ramp.level(run_start_us, value_uA))


def onsets(prog: SetProgram, run_start_us: int, t0_us: int, t1_us: int) -> list[int]:
    return [int(t) for t in pulse_onsets(prog, run_start_us, t0_us, t1_us)[0]]


# --- hand-computed onsets --------------------------------------------------------------------


def test_continuous_2_hz_is_relative_to_the_start() -> None:
    assert onsets(program(freq_a_cHz=200), 1000, 0, 2 * S) == [1000, 501000, 1001000, 1501000]


def test_continuous_3_hz_floors_each_onset_from_the_start() -> None:
    # floor(k·10^8/300): 0, 333333.3, 666666.6, 1000000, 1333333.3 — no accumulated period.
    assert onsets(program(freq_a_cHz=300), 0, 0, 1_400_000) == [
        0,
        333333,
        666666,
        1000000,
        1333333,
    ]


def test_continuous_at_0_01_hz_resolution() -> None:
    # 100.01 Hz: period 9999.0001 µs; pulse 10001 lands exactly on 100 s.
    got = pulse_onsets(program(freq_a_cHz=10001), 0, 0, 100 * S + 1)[0]
    assert got[:4].tolist() == [0, 9999, 19998, 29997]
    assert got.size == 10002
    assert got[-1] == 100 * S
    assert got[-2] == 10000 * 10**8 // 10001
    # 0.01 Hz: one pulse per 100 s.
    assert onsets(program(freq_a_cHz=1), 0, 0, 250 * S) == [0, 100 * S, 200 * S]


def test_continuous_far_into_a_session() -> None:
    # 29 min in: k = 5220 gives exactly 1740 s, then floor(5221e8/300), floor(5222e8/300).
    window = (1740 * S, 1741 * S)
    assert onsets(program(freq_a_cHz=300), 0, *window) == [1740000000, 1740333333, 1740666666]
    assert onsets(program(freq_a_cHz=300), 7, *window) == [1740000007, 1740333340, 1740666673]


def test_dense_disperse_dwells_alternate_from_the_start() -> None:
    got_t, got_half = pulse_onsets(dense_disperse(), 0, 0, 6 * S)
    assert got_t[:6].tolist() == [0, 500000, 1000000, 1500000, 2000000, 2500000]
    assert got_t[6:9].tolist() == [3000000, 3010000, 3020000]
    assert got_t[-1] == 5990000
    assert got_half.tolist() == [0] * 6 + [1] * 300


def test_dense_disperse_window_cutting_a_dwell() -> None:
    got_t, got_half = pulse_onsets(dense_disperse(), 0, 2_500_000, 3_020_000)
    assert got_t.tolist() == [2500000, 3000000, 3010000]
    assert got_half.tolist() == [0, 1, 1]


def test_dense_disperse_stops_at_the_dwell_end_with_a_non_integer_period() -> None:
    # 3 Hz for 1 s: floor(3·10^8/300) = 1 s is not before the dwell's end, so 3 pulses.
    prog = dense_disperse(freq_a_cHz=300, dwell_a_ms=1000, freq_b_cHz=700, dwell_b_ms=500)
    got_t, got_half = pulse_onsets(prog, 0, 0, 1_500_000)
    assert got_t.tolist() == [0, 333333, 666666, 1000000, 1142857, 1285714, 1428571]
    assert got_half.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_dense_disperse_far_into_a_session() -> None:
    # Cycle 299 of 6 s starts at 1794 s.
    got_t, got_half = pulse_onsets(dense_disperse(), 5, 1796_400_000, 1797_030_000)
    assert got_t.tolist() == [1796500005, 1797000005, 1797010005, 1797020005]
    assert got_half.tolist() == [0, 1, 1, 1]


def test_intermittent_on_windows_and_a_cut_window() -> None:
    prog = program(Mode.INTERMITTENT, freq_a_cHz=200, on_ms=1500, off_ms=1500)
    assert onsets(prog, 0, 0, 6 * S) == [0, 500000, 1000000, 3000000, 3500000, 4000000]
    assert onsets(prog, 0, 600_000, 3_600_000) == [1000000, 3000000, 3500000]
    assert pulse_onsets(prog, 0, 0, 6 * S)[1].tolist() == [0] * 6


def test_window_before_the_start_and_empty_window() -> None:
    assert onsets(program(), 10 * S, 0, 10 * S) == []
    assert onsets(program(), 10 * S, 0, 10 * S + 1) == [10 * S]
    assert onsets(program(), 0, 5, 5) == []


@pytest.mark.parametrize(
    ("prog", "message"),
    [
        (program(freq_a_cHz=0), "freq_a_cHz"),
        (dense_disperse(freq_b_cHz=0), "freq_b_cHz"),
        (dense_disperse(dwell_b_ms=0), "dwell_b_ms"),
        (program(Mode.INTERMITTENT, on_ms=0, off_ms=1000), "on_ms"),
    ],
)
def test_timing_fields_a_mode_uses_must_be_positive(prog: SetProgram, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pulse_onsets(prog, 0, 0, S)


def test_reversed_window_is_refused() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        pulse_onsets(program(), 0, 10, 5)


# --- shapes and amplitudes -------------------------------------------------------------------


def test_symmetric_pulse_shape_and_half_b_width() -> None:
    table = pulse_table(level(dense_disperse(interphase_us=40), 1500), 2_500_000, 3_010_000)
    assert table.dtype == PULSE_DTYPE
    assert table["half"].tolist() == [0, 1]
    assert table["width_pos_us"].tolist() == [600, 300]
    assert table["width_neg_us"].tolist() == [600, 300]
    assert table["amp_pos_uA"].tolist() == table["amp_neg_uA"].tolist() == [1500, 1500]
    assert table["interphase_us"].tolist() == [40, 40]


def test_asymmetric_pulse_is_charge_balanced() -> None:
    prog = program(shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=4, phase_a_us=250)
    table = pulse_table(level(prog, 2000), 0, S)
    assert table["amp_neg_uA"].tolist() == [500.0] * 2
    assert table["width_neg_us"].tolist() == [1000.0] * 2
    np.testing.assert_array_equal(
        table["amp_pos_uA"] * table["width_pos_us"], table["amp_neg_uA"] * table["width_neg_us"]
    )


def test_asymmetric_ratio_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="asym_ratio"):
        pulse_table(level(program(shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=0), 1), 0, S)


def test_ramp_amplitude_is_the_set_value_at_each_onset() -> None:
    # 100 Hz, 0 → 1000 µA over 1 s: the pulse at k·10 ms gets k·10 µA.
    up = Drive(program(freq_a_cHz=10000), 0, Ramp.over(0, 0, 1000, S))
    table = pulse_table(up, 0, S)
    np.testing.assert_array_equal(table["amp_pos_uA"], np.arange(100) * 10.0)
    down = Drive(program(freq_a_cHz=10000), 0, Ramp.over(2 * S, 1000, 500, S))
    table = pulse_table(down, 2 * S, 3 * S)
    assert table["amp_pos_uA"][0] == 1000
    assert table["amp_pos_uA"][50] == 750


def test_ramp_amplitude_follows_the_firmwares_floor_rule_and_the_cap() -> None:
    # 0 → 7 µA over 10 µs at every µs: floor(7·t/10) = 0, 0, 1, 2, 2, 3, 4, 4, 5, 6, then 7.
    ramp = Ramp.over(3, 0, 7, 10)
    onsets_us = np.arange(0, 16, dtype=np.int64)
    expected = [ramp.at(int(t)) for t in onsets_us]
    assert expected[3:14] == [0, 0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    np.testing.assert_array_equal(ramp_amplitude_uA(onsets_us, ramp), expected)
    np.testing.assert_array_equal(
        ramp_amplitude_uA(onsets_us, ramp, cap_uA=4.5), np.minimum(expected, 4.5)
    )


@settings(deadline=None)
@given(
    st.integers(0, 10**6),
    st.integers(0, 20_000),
    st.integers(0, 10**9),
    st.integers(0, 20_000),
    st.lists(st.integers(0, 2 * 10**9), max_size=20),
)
def test_ramp_amplitude_equals_ramp_at_everywhere(
    t0_us: int, start_uA: int, duration_us: int, end_uA: int, times_us: list[int]
) -> None:
    ramp = Ramp.over(t0_us, start_uA, end_uA, duration_us)
    onsets_us = np.array(sorted(times_us), dtype=np.int64)
    expected = [float(ramp.at(int(t))) for t in onsets_us]
    assert ramp_amplitude_uA(onsets_us, ramp).tolist() == expected


def test_amplitudes_must_be_finite_and_not_negative() -> None:
    with pytest.raises(ValueError, match="start_uA"):
        pulse_table(Drive(program(), 0, Ramp.over(0, -1, 10, S)), 0, S)
    with pytest.raises(ValueError, match="cap_uA"):
        ramp_amplitude_uA(np.zeros(1, dtype=np.int64), Ramp.level(0), float("nan"))


# --- properties against the normative rules --------------------------------------------------


def reference_onsets(prog: SetProgram, run_start_us: int, t0_us: int, t1_us: int) -> list[int]:
    """PROTOCOL.md §8 read literally, one pulse at a time."""
    if prog.mode == Mode.CONTINUOUS:
        trains = [(0, 10**18, prog.freq_a_cHz)]
        cycle_us = 10**18
    elif prog.mode == Mode.DENSE_DISPERSE:
        a_us, b_us = prog.dwell_a_ms * 1000, prog.dwell_b_ms * 1000
        trains = [(0, a_us, prog.freq_a_cHz), (a_us, b_us, prog.freq_b_cHz)]
        cycle_us = a_us + b_us
    else:
        trains = [(0, prog.on_ms * 1000, prog.freq_a_cHz)]
        cycle_us = (prog.on_ms + prog.off_ms) * 1000
    found = []
    cycle_start = run_start_us
    while cycle_start < t1_us:
        for start, length, freq in trains:
            k = 0
            while k * 10**8 // freq < length and cycle_start + start + k * 10**8 // freq < t1_us:
                onset = cycle_start + start + k * 10**8 // freq
                if onset >= t0_us:
                    found.append(onset)
                k += 1
        cycle_start += cycle_us
    return found


windows = st.tuples(st.integers(0, 60 * S), st.integers(0, 5 * S))


@settings(deadline=None)
@given(programs(), st.integers(0, 2 * S), windows)
def test_onsets_match_the_rules_read_literally(
    prog: SetProgram, run_start_us: int, window: tuple[int, int]
) -> None:
    t0_us, length_us = window
    got_t, got_half = pulse_onsets(prog, run_start_us, t0_us, t0_us + length_us)
    assert got_t.tolist() == reference_onsets(prog, run_start_us, t0_us, t0_us + length_us)
    assert got_t.dtype == np.int64
    assert got_half.size == got_t.size
    if got_t.size:
        assert t0_us <= got_t[0] and got_t[-1] < t0_us + length_us
        assert np.all(np.diff(got_t) > 0)
    expected_halves = [freq_at_cHz(prog, run_start_us, int(t)) for t in got_t]
    used = [prog.freq_a_cHz if h == 0 else prog.freq_b_cHz for h in got_half.tolist()]
    assert used == expected_halves


@settings(deadline=None)
@given(programs(), st.integers(0, 10**7), st.integers(0, 10**10), st.integers(0, 10**7))
def test_splitting_a_window_gives_the_same_pulses(
    prog: SetProgram, t0_us: int, far_us: int, split_us: int
) -> None:
    # Anywhere in a session, even far beyond 30 minutes: no drift, no lost or doubled pulse.
    t0_us += far_us
    t1_us = t0_us + 10**7
    middle_us = t0_us + split_us
    whole_t, whole_half = pulse_onsets(prog, 0, t0_us, t1_us)
    first_t, first_half = pulse_onsets(prog, 0, t0_us, middle_us)
    second_t, second_half = pulse_onsets(prog, 0, middle_us, t1_us)
    np.testing.assert_array_equal(whole_t, np.concatenate([first_t, second_t]))
    np.testing.assert_array_equal(whole_half, np.concatenate([first_half, second_half]))
    time_a, time_b = time_per_half_us(prog, 0, t0_us, t1_us)
    first = time_per_half_us(prog, 0, t0_us, middle_us)
    second = time_per_half_us(prog, 0, middle_us, t1_us)
    assert (time_a, time_b) == (first[0] + second[0], first[1] + second[1])
    assert time_a + time_b == t1_us - t0_us


@settings(deadline=None)
@given(programs(), st.integers(0, 20000), st.integers(0, 20000))
def test_every_pulse_of_every_program_is_charge_balanced(
    prog: SetProgram, start_uA: int, end_uA: int
) -> None:
    table = pulse_table(Drive(prog, 0, Ramp.over(0, start_uA, end_uA, 3 * S)), 0, 3 * S)
    charge_pos = table["amp_pos_uA"] * table["width_pos_us"]
    charge_neg = table["amp_neg_uA"] * table["width_neg_us"]
    np.testing.assert_allclose(charge_pos, charge_neg, rtol=1e-12, atol=1e-9)
    assert np.all(table["amp_neg_uA"] <= table["amp_pos_uA"])
    assert np.all(table["amp_pos_uA"] <= max(start_uA, end_uA))
    assert np.all(table["amp_pos_uA"] >= min(start_uA, end_uA))
