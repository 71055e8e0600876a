"""Delivery recorder: per-channel totals from linear segments, DC, windows and whole sessions."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_programs import S, dense_disperse, program

from firmware_protocol import Mode, SetProgram, Shape
from simulator.firmware.hal import Drive
from simulator.firmware.ramp import Ramp
from simulator.hardware.pulses import pulse_table
from simulator.hardware.recorder import ChannelRecorder, Recorder

MINUTES_30_US = 1800 * S

_RAMPS = dict(ramp_up_ms=3000, ramp_down_ms=2000)
CONTINUOUS_100_HZ = program(freq_a_cHz=10000, phase_a_us=200, target_uA=1000, **_RAMPS)
# 2/100 Hz dense-disperse with 3 s dwells (Han; Wang 2005, Exp Neurol 192:156).
DENSE_DISPERSE_2_100 = dense_disperse(target_uA=5000, **_RAMPS)
INTERMITTENT_2_HZ = dataclasses.replace(
    CONTINUOUS_100_HZ, mode=Mode.INTERMITTENT, freq_a_cHz=200, on_ms=1500, off_ms=1500
)
ASYMMETRIC = dataclasses.replace(
    CONTINUOUS_100_HZ, shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=3, freq_a_cHz=300
)


def line(
    program: SetProgram, run_start_us: int, t0_us: int, t1_us: int, start_uA: int, end_uA: int
) -> Drive:
    """``program`` run from ``run_start_us``, its set value linear from ``start_uA`` at
    ``t0_us`` to ``end_uA`` at ``t1_us``."""
    return Drive(program, run_start_us, Ramp(t0_us, start_uA, t1_us, end_uA))


def deliver(
    channel: ChannelRecorder,
    program: SetProgram,
    run_start_us: int,
    t0_us: int,
    t1_us: int,
    start_uA: int,
    end_uA: int,
) -> None:
    """Account ``[t0_us, t1_us)`` of a linear stretch of ``program`` (see :func:`line`)."""
    channel.deliver(line(program, run_start_us, t0_us, t1_us, start_uA, end_uA), t0_us, t1_us)


def run_session(
    channel: ChannelRecorder, program: SetProgram, flush_us: int, ramp_us: int = 3 * S
) -> None:
    """START at 0, ramp to the target, then steady, flushed every ``flush_us``, ramp down."""
    target = program.target_uA
    deliver(channel, program, 0, 0, ramp_us, 0, target)
    edges = [*range(ramp_us, MINUTES_30_US - ramp_us, flush_us), MINUTES_30_US - ramp_us]
    for t0_us, t1_us in itertools.pairwise(edges):
        deliver(channel, program, 0, t0_us, t1_us, target, target)
    deliver(channel, program, 0, MINUTES_30_US - ramp_us, MINUTES_30_US, target, 0)


# --- the done-when session -------------------------------------------------------------------


def test_30_minute_6_channel_dense_disperse_session() -> None:
    recorder = Recorder(6)
    for channel in recorder.channels:
        run_session(channel, DENSE_DISPERSE_2_100, flush_us=S)  # flushed at each dose query
    dwells_per_half = MINUTES_30_US // (6 * S)  # 300 cycles of 3 s + 3 s
    for channel in recorder.channels:
        assert channel.time_a_us == channel.time_b_us == 900 * S
        assert channel.on_time_us == MINUTES_30_US
        # 2 Hz and 100 Hz over 900 s each, within one pulse per dwell (exact here).
        assert abs(channel.pulses_a - 2 * channel.time_a_us / S) <= dwells_per_half
        assert abs(channel.pulses_b - 100 * channel.time_b_us / S) <= dwells_per_half
        # The onset at START is at 0 µA (the ramp starts from zero) and is not counted.
        assert (channel.pulses_a, channel.pulses_b) == (1799, 90_000)
        assert channel.net_charge_nC == pytest.approx(0, abs=1e-6 * channel.charge_pos_nC)
        assert channel.peak_uA == DENSE_DISPERSE_2_100.target_uA


def test_30_minute_8_channel_100_hz_session_in_a_few_numpy_operations() -> None:
    recorder = Recorder(8)
    for channel in recorder.channels:
        deliver(channel, CONTINUOUS_100_HZ, 0, 0, MINUTES_30_US, 1000, 1000)
    for channel in recorder.channels:
        assert channel.pulses_a == 180_000
        assert channel.pulses_b == 0
        assert channel.charge_pos_nC == pytest.approx(180_000 * 1000 * 200 / 1000)
        assert channel.net_charge_nC == 0
        # I_rms = I_peak·sqrt(2·phase·f·1e-6) for symmetric biphasic (Enraf-Nonius IFU).
        assert channel.rms_uA == pytest.approx(1000 * math.sqrt(2 * 200 * 100 * 1e-6))
        assert channel.peak_uA == 1000
    window = recorder[7].pulse_table(MINUTES_30_US - 30_000, MINUTES_30_US)
    assert window["t_us"].tolist() == [1799_970_000, 1799_980_000, 1799_990_000]


def test_heartbeat_flushes_give_the_same_totals_as_one_segment() -> None:
    flushed, whole = ChannelRecorder(), ChannelRecorder()
    run_session(flushed, DENSE_DISPERSE_2_100, flush_us=100_000)
    run_session(whole, DENSE_DISPERSE_2_100, flush_us=MINUTES_30_US)
    for name in ("pulses_a", "pulses_b", "time_a_us", "time_b_us", "on_time_us", "peak_uA"):
        assert getattr(flushed, name) == getattr(whole, name), name
    for name in ("charge_pos_nC", "charge_neg_nC", "rms_uA"):
        assert getattr(flushed, name) == pytest.approx(getattr(whole, name), rel=1e-12), name
    window = (2 * S, 9 * S)
    np.testing.assert_array_equal(flushed.pulse_table(*window), whole.pulse_table(*window))


# --- segments --------------------------------------------------------------------------------


def test_a_ramp_is_accounted_at_each_onset() -> None:
    channel = ChannelRecorder()
    deliver(channel, CONTINUOUS_100_HZ, 0, 0, S, 0, 1000)  # 0, 10, ..., 990 µA
    assert channel.pulses_a == 99  # the onset at t = 0 of the ramp from 0 µA is not a pulse
    assert channel.peak_uA == pytest.approx(990)
    assert channel.charge_pos_nC == pytest.approx(sum(10 * k for k in range(100)) * 200 / 1000)
    table = channel.pulse_table(0, S)
    np.testing.assert_allclose(table["amp_pos_uA"], np.arange(100) * 10.0)


def test_rms_of_the_biphasic_waveform_over_the_on_time() -> None:
    channel = ChannelRecorder()
    deliver(channel, CONTINUOUS_100_HZ, 0, 0, S, 1000, 1000)
    # 100 pulses · 2 phases · (1000 µA)² · 200 µs over 1 s: mean square 40000 µA².
    assert channel.rms_uA == pytest.approx(200)
    assert ChannelRecorder().rms_uA == 0


def test_intermittent_off_time_is_on_time_in_half_a_without_pulses() -> None:
    channel = ChannelRecorder()
    deliver(channel, INTERMITTENT_2_HZ, 0, 0, 6 * S, 1000, 1000)
    assert channel.pulses_a == 6
    assert (channel.time_a_us, channel.time_b_us, channel.on_time_us) == (6 * S, 0, 6 * S)
    onsets_ms = [t // 1000 for t in channel.pulse_table(0, 6 * S)["t_us"].tolist()]
    assert onsets_ms == [0, 500, 1000, 3000, 3500, 4000]


def test_asymmetric_pulses_are_balanced_and_peak_at_the_first_phase() -> None:
    channel = ChannelRecorder()
    deliver(channel, ASYMMETRIC, 0, 0, 10 * S, 0, 3000)
    deliver(channel, ASYMMETRIC, 0, 10 * S, 20 * S, 3000, 3000)
    assert channel.pulses_a == 59  # the onset at t = 0 of the ramp from 0 µA is not a pulse
    assert channel.net_charge_nC == pytest.approx(0, abs=1e-9 * channel.charge_pos_nC)
    assert channel.peak_uA == 3000


def test_window_across_segments_regenerates_each_segments_own_line() -> None:
    channel = ChannelRecorder()
    stretches = [(5, S + 5, 0, 500), (S + 5, 2 * S + 5, 500, 500), (2 * S + 5, 3 * S + 5, 500, 0)]
    for t0_us, t1_us, start_uA, end_uA in stretches:
        deliver(channel, CONTINUOUS_100_HZ, 5, t0_us, t1_us, start_uA, end_uA)
    window = (S // 2, 5 * S // 2)
    expected = np.concatenate(
        [
            pulse_table(line(CONTINUOUS_100_HZ, 5, t0_us, t1_us, start_uA, end_uA), t0_us, t1_us)
            for t0_us, t1_us, start_uA, end_uA in stretches
        ]
    )
    expected = expected[(expected["t_us"] >= window[0]) & (expected["t_us"] < window[1])]
    np.testing.assert_array_equal(channel.pulse_table(*window), expected)
    assert channel.pulse_table(10 * S, 11 * S).size == 0
    assert channel.pulse_table(0, 0).size == 0


@settings(deadline=None)
@given(st.integers(0, 20 * S), st.integers(0, 20_000), st.integers(0, 20_000))
def test_splitting_a_stretch_keeps_the_totals(split_us: int, start_uA: int, end_uA: int) -> None:
    whole, split = ChannelRecorder(), ChannelRecorder()
    drive = line(DENSE_DISPERSE_2_100, 0, 0, 20 * S, start_uA, end_uA)
    whole.deliver(drive, 0, 20 * S)
    split.deliver(drive, 0, split_us)
    split.deliver(drive, split_us, 20 * S)
    for name in ("pulses_a", "pulses_b", "time_a_us", "time_b_us", "on_time_us"):
        assert getattr(split, name) == getattr(whole, name), name
    for name in ("charge_pos_nC", "charge_neg_nC", "peak_uA", "rms_uA"):
        assert getattr(split, name) == pytest.approx(getattr(whole, name), rel=1e-9, abs=1e-9)
    np.testing.assert_array_equal(split.pulse_table(0, 20 * S), whole.pulse_table(0, 20 * S))


# --- DC (stuck output) -----------------------------------------------------------------------


def test_dc_makes_the_net_charge_non_zero() -> None:
    channel = ChannelRecorder()
    deliver(channel, CONTINUOUS_100_HZ, 0, 0, S, 1000, 1000)
    balanced_nC = channel.charge_pos_nC
    channel.deliver_dc(2 * S, 3 * S, 50)  # 50 µA for 1 s = 50 µC
    assert channel.charge_pos_nC == pytest.approx(balanced_nC + 50_000)
    assert channel.net_charge_nC == pytest.approx(50_000)
    assert channel.on_time_us == 2 * S
    assert channel.time_a_us == S  # DC belongs to no half
    assert channel.pulses_a == 100
    assert channel.pulse_table(2 * S, 3 * S).size == 0
    # Mean square over 2 s: (40000 µA²·1 s + 2500 µA²·1 s) / 2 s.
    assert channel.rms_uA == pytest.approx(math.sqrt((40_000 + 2500) / 2))


def test_negative_dc_counts_as_negative_charge_and_peak_magnitude() -> None:
    channel = ChannelRecorder()
    channel.deliver_dc(0, S, -2000)
    channel.deliver_dc(S, 2 * S, -2000)
    assert channel.charge_neg_nC == pytest.approx(4_000_000)
    assert channel.net_charge_nC == pytest.approx(-4_000_000)
    assert channel.peak_uA == 2000
    assert channel.rms_uA == pytest.approx(2000)
    with pytest.raises(ValueError, match="finite"):
        channel.deliver_dc(2 * S, 3 * S, math.inf)


# --- refusals and reset ----------------------------------------------------------------------


def test_overlapping_reversed_and_pre_start_segments_are_refused_without_effect() -> None:
    channel = ChannelRecorder()
    deliver(channel, CONTINUOUS_100_HZ, 0, 0, 2 * S, 1000, 1000)
    before = (channel.pulses_a, channel.on_time_us, channel.charge_pos_nC)
    with pytest.raises(ValueError, match="overlaps"):
        deliver(channel, CONTINUOUS_100_HZ, 0, S, 3 * S, 1000, 1000)
    with pytest.raises(ValueError, match="overlaps"):
        channel.deliver_dc(S, 3 * S, 10)
    with pytest.raises(ValueError, match="ends before it starts"):
        deliver(channel, CONTINUOUS_100_HZ, 0, 4 * S, 3 * S, 1000, 1000)
    with pytest.raises(ValueError, match="before the run start"):
        deliver(channel, CONTINUOUS_100_HZ, 5 * S, 4 * S, 6 * S, 1000, 1000)
    with pytest.raises(ValueError, match="start_uA"):
        deliver(channel, CONTINUOUS_100_HZ, 0, 4 * S, 6 * S, -1, 1000)
    assert (channel.pulses_a, channel.on_time_us, channel.charge_pos_nC) == before


def test_reset_forgets_everything() -> None:
    channel = ChannelRecorder()
    run_session(channel, DENSE_DISPERSE_2_100, flush_us=10 * S)
    channel.deliver_dc(MINUTES_30_US, MINUTES_30_US + S, 10)
    channel.reset()
    assert (channel.pulses_a, channel.pulses_b, channel.on_time_us) == (0, 0, 0)
    assert (channel.charge_pos_nC, channel.charge_neg_nC, channel.peak_uA) == (0, 0, 0)
    assert channel.pulse_table(0, MINUTES_30_US).size == 0
    deliver(channel, CONTINUOUS_100_HZ, 0, 0, S, 1000, 1000)  # time starts afresh
    assert channel.pulses_a == 100


def test_recorder_has_one_independent_channel_each() -> None:
    recorder = Recorder(3)
    assert len(recorder) == 3
    deliver(recorder[1], CONTINUOUS_100_HZ, 0, 0, S, 1000, 1000)
    assert [c.pulses_a for c in recorder.channels] == [0, 100, 0]
    with pytest.raises(IndexError):
        recorder[3]
    for count in (0, 9):
        with pytest.raises(ValueError, match="channel_count"):
            Recorder(count)


# --- readings (what the firmware's dose counters add up) -------------------------------------


def test_readings_add_up_to_the_rounded_totals() -> None:
    channel = ChannelRecorder()
    # An asymmetric ramp: every negative phase carries a fraction of a nC.
    ramp = line(ASYMMETRIC, 0, 0, 7 * S, 0, 2999)
    readings = []
    for t0_us, t1_us in itertools.pairwise([0, 333_333, S, 2_500_001, 7 * S, 9 * S]):
        channel.deliver(ramp, t0_us, t1_us)
        readings.append(channel.take_reading())
    assert all(isinstance(getattr(r, f), int) for r in readings for f in vars(r))
    assert sum(r.pulses_a for r in readings) == channel.pulses_a
    assert sum(r.on_time_us for r in readings) == channel.on_time_us == 9 * S
    assert sum(r.charge_pos_nC for r in readings) == round(channel.charge_pos_nC)
    assert sum(r.charge_neg_nC for r in readings) == round(channel.charge_neg_nC)
    assert sum(r.square_uA2_us for r in readings) == round(channel.rms_uA**2 * channel.on_time_us)
    assert max(r.peak_uA for r in readings) == round(channel.peak_uA) == 2999
    assert readings[-1].peak_uA == 2999  # the level after the ramp
    assert channel.take_reading().pulses_a == 0  # nothing new since
