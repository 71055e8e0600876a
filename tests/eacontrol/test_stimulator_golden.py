"""Golden fields: each API parameter lands in its own wire field, in its wire unit, and the device
delivers exactly that — read from the simulator's stored program and its delivery recorder.

The peers' commonest bug is a value in the wrong field or unit (inter-pulse vs inter-phase,
"10 mA" that became 1.0 mA, 2 Hz and 100 Hz halves swapped); these tests pin every mapping.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from eacontrol.stimulation import Stimulation
from firmware_protocol import Mode, SetProgram, Shape

from .conftest import Sim

SimFactory = Callable[..., Sim]
US = 1_000_000


def run(
    s: Sim, channel: int, program: Stimulation, seconds: float
) -> tuple[np.ndarray, SetProgram]:
    """Program, start, run ``seconds``; return every pulse delivered (PULSE_DTYPE rows) and the
    program the device stored.

    ``channel`` is the host's channel number (from 1); the simulator's index is one less.
    """
    s.stim.program(channel, program)
    s.stim.start(channel)
    s.stim.wait(seconds)
    s.stim.dose(channel)  # GET_DOSE: the device accounts what it delivered up to now
    stored = s.device.channels[channel - 1].program
    assert stored is not None
    return s.device.recorder[channel - 1].pulse_table(0, s.device.now_us), stored


def test_continuous_fields_and_units(sim: SimFactory) -> None:
    s = sim("seed=31")
    program = Stimulation(
        frequency_hz=2,
        phase_width_us=0.3 * 1000,  # 0.3 ms
        intensity_mA=2.5,
        interphase_gap_us=100,
        ramp_up_s=2,
        ramp_down_s=1.5,
        max_run_s=900,
    )
    pulses, stored = run(s, 1, program, 12)
    assert stored.mode == Mode.CONTINUOUS and stored.shape == Shape.SYMMETRIC_BIPHASIC
    assert (stored.freq_a_cHz, stored.phase_a_us, stored.interphase_us) == (200, 300, 100)
    assert (stored.target_uA, stored.ramp_up_ms, stored.ramp_down_ms) == (2500, 2000, 1500)
    assert (stored.max_run_s, stored.asym_ratio) == (900, 1)
    assert (stored.freq_b_cHz, stored.phase_b_us, stored.dwell_a_ms, stored.on_ms) == (0, 0, 0, 0)
    ramped = pulses[pulses["t_us"] >= pulses["t_us"][0] + 2 * US]
    assert set(ramped["amp_pos_uA"]) == {2500.0}  # 2.5 mA → 2500 µA, not 250 or 25000
    assert set(ramped["width_pos_us"]) == {300.0}  # 0.3 ms → 300 µs
    assert set(ramped["interphase_us"]) == {100.0}  # the gap inside a pulse, not between pulses
    assert set(ramped["amp_neg_uA"]) == {2500.0} and set(ramped["width_neg_us"]) == {300.0}
    assert set(np.diff(pulses["t_us"])) == {US // 2}  # 2 Hz: a pulse every 500 ms
    recorded = s.device.recorder[0]
    assert recorded.peak_uA == 2500
    assert abs(recorded.net_charge_nC) < 1e-6  # biphasic, charge-balanced


def test_dense_disperse_halves_are_not_swapped(sim: SimFactory) -> None:
    s = sim("seed=32")
    program = Stimulation(
        mode="dense_disperse",
        frequency_hz=2,
        phase_width_us=600,
        frequency_b_hz=100,
        phase_width_b_us=200,
        dwell_a_s=3,
        dwell_b_s=1.5,
        intensity_mA=3,
        ramp_up_s=2,
    )
    pulses, stored = run(s, 2, program, 2 * 4.5 + 3)
    assert (stored.freq_a_cHz, stored.phase_a_us) == (200, 600)
    assert (stored.freq_b_cHz, stored.phase_b_us) == (10_000, 200)
    assert (stored.dwell_a_ms, stored.dwell_b_ms) == (3000, 1500)
    t0 = int(pulses["t_us"][0])
    # Second full cycle (after the ramp): 3 s of 2 Hz at 600 µs, then 1.5 s of 100 Hz at 200 µs.
    cycle = pulses[(pulses["t_us"] >= t0 + 4_500_000) & (pulses["t_us"] < t0 + 9_000_000)]
    half_a, half_b = cycle[cycle["half"] == 0], cycle[cycle["half"] == 1]
    assert len(half_a) == 6 and len(half_b) == 150
    assert set(half_a["width_pos_us"]) == {600.0} and set(half_b["width_pos_us"]) == {200.0}
    assert set(np.diff(half_a["t_us"])) == {500_000}
    assert set(np.diff(half_b["t_us"])) == {10_000}
    assert half_a["t_us"].max() < half_b["t_us"].min()  # half a comes first in each cycle
    assert set(cycle["amp_pos_uA"]) == {3000.0}
    assert s.device.recorder[1].pulses_b > 0


def test_intermittent_windows_and_asymmetric_shape(sim: SimFactory) -> None:
    s = sim("seed=33")
    program = Stimulation(
        mode="intermittent",
        frequency_hz=50,
        phase_width_us=250,
        on_s=1.5,
        off_s=1,
        shape="asymmetric_biphasic",
        asym_ratio=4,
        intensity_mA=2,
        ramp_up_s=2,
    )
    pulses, stored = run(s, 3, program, 10)
    assert (stored.on_ms, stored.off_ms, stored.freq_a_cHz) == (1500, 1000, 5000)
    assert (stored.shape, stored.asym_ratio) == (Shape.ASYMMETRIC_BIPHASIC, 4)
    t0 = int(pulses["t_us"][0])
    window = pulses[(pulses["t_us"] >= t0 + 5_000_000) & (pulses["t_us"] < t0 + 7_500_000)]
    assert len(window) == 75  # 1.5 s on at 50 Hz, then 1 s off
    assert window["t_us"].max() < t0 + 6_500_000
    assert set(window["amp_neg_uA"]) == {500.0}  # second phase I/4 …
    assert set(window["width_neg_us"]) == {1000.0}  # … for 4 × the width: charge-balanced
    assert set(window["amp_pos_uA"] * window["width_pos_us"]) == {
        float(a * w) for a, w in zip(window["amp_neg_uA"], window["width_neg_us"], strict=True)
    }


def test_live_intensity_and_slew_land_in_their_fields(sim: SimFactory) -> None:
    s = sim("seed=34")
    run(s, 4, Stimulation(frequency_hz=100, phase_width_us=200, intensity_mA=2), 3)
    s.stim.set_intensity(4, 3.25, slew_mA_per_s=0.25)
    s.stim.wait(2)
    set_now = s.device.channels[3].set_uA(s.device.now_us)
    assert 2490 <= set_now <= 2510  # 0.25 mA/s → 250 µA/s, for 2 s
    s.stim.wait(3.5)
    assert s.device.output_uA(3) == 3250  # 3.25 mA → 3250 µA
    report = s.stim.status().channels[3]  # the tuple counts from 0: channel 4's report
    assert (report.channel, report.target_mA) == (4, 3.25)
