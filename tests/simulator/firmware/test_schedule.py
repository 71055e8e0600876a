"""The firmware's pulse timing (PROTOCOL.md §8): the frequency delivered and the time per half."""

from __future__ import annotations

import pytest
from sim_programs import S, dense_disperse, program

from firmware_protocol import Mode
from simulator.firmware.schedule import freq_at_cHz, phase_at_us, schedule, time_per_half_us


def test_freq_at_follows_the_dwell_and_the_on_window() -> None:
    prog = dense_disperse()
    assert [freq_at_cHz(prog, S, t) for t in (0, S, 4 * S - 1, 4 * S, 7 * S)] == [
        0,
        200,
        200,
        10000,
        200,
    ]
    inter = program(Mode.INTERMITTENT, freq_a_cHz=250, on_ms=1500, off_ms=1000)
    times_us = (0, 1_499_999, 1_500_000, 2_499_999, 2_500_000)
    assert [freq_at_cHz(inter, 0, t) for t in times_us] == [250, 250, 0, 0, 250]
    assert freq_at_cHz(program(freq_a_cHz=9000), 0, 123 * S) == 9000


def test_time_per_half_splits_dense_disperse_by_dwell() -> None:
    # [2 s, 7 s): half a in [2, 3) and [6, 7), half b in [3, 6).
    assert time_per_half_us(dense_disperse(), 0, 2 * S, 7 * S) == (2 * S, 3 * S)
    assert time_per_half_us(dense_disperse(), 0, 0, 1800 * S) == (900 * S, 900 * S)


def test_time_per_half_counts_intermittent_off_time_as_half_a() -> None:
    prog = program(Mode.INTERMITTENT, on_ms=1500, off_ms=1500)
    assert time_per_half_us(prog, 0, 0, 10 * S) == (10 * S, 0)


def test_time_per_half_refuses_a_window_before_the_start() -> None:
    with pytest.raises(ValueError, match="before the run start"):
        time_per_half_us(program(), 10, 5, 20)


def test_phase_follows_the_dwell() -> None:
    prog = dense_disperse()  # 600 µs at 2 Hz for 3 s, then 300 µs at 100 Hz for 3 s
    assert [phase_at_us(prog, S, t) for t in (S, 4 * S - 1, 4 * S, 7 * S)] == [600, 600, 300, 600]
    assert phase_at_us(program(phase_a_us=250), 0, 123 * S) == 250


def test_the_schedule_is_integers_throughout() -> None:
    cycle = schedule(dense_disperse())
    assert cycle.cycle_us == 6 * S
    assert [(b.start_us, b.length_us, b.freq_cHz, b.half, b.count) for b in cycle.bursts] == [
        (0, 3 * S, 200, 0, 6),
        (3 * S, 3 * S, 10000, 1, 300),
    ]
    assert schedule(program(Mode.INTERMITTENT, on_ms=1500, off_ms=500)).cycle_us == 2 * S
