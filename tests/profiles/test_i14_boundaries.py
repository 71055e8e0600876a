"""Issue 14 item 4: dense-disperse boundaries keep the minimum pulse gap, on both layers.

At the switch between the halves a pulse of the new half must not start before the last pulse
of the old half has ended plus ``MIN_PULSE_GAP_us`` (PROTOCOL.md §3.9, §8). The host
(``eacontrol.safety.timing``, used by the profile checker and the Stimulator API) and the device
(``simulator.firmware.checks``) each refuse a program that breaks it. The property: on random
valid dense-disperse programs, the host's check and the device's acceptance agree, and every
boundary of an accepted program keeps the gap in the device's own pulse schedule (the output
stage's pulse engine), while a refused one really would overlap there.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_programs import dense_disperse

from eacontrol.device.identity import device_limits
from eacontrol.device.program import ProgramChecker
from eacontrol.device.wire import stimulation_from_wire
from eacontrol.errors import Layer, ParameterError, ProfileError
from eacontrol.profiles import load_profile
from eacontrol.safety.timing import MIN_PULSE_GAP_us, program_boundaries, pulse_length_us
from firmware_protocol import NakCode, SetProgram, Shape
from simulator.firmware.checks import MIN_PULSE_GAP_US, Refused, check_program
from simulator.firmware.model import DeviceModel
from simulator.hardware.pulses import pulse_onsets

MODEL = DeviceModel()
PERIOD_NUMERATOR = 100_000_000  # a pulse period is 10^8 / freq_cHz µs (PROTOCOL.md §8)

# 2 Hz, 600 µs + 50 µs + 600 µs = 1250 µs pulses: with a 3.001 s dwell the 7th pulse starts at
# 3.000 s and would end 250 µs into half b. 3.000 s is the longest shorter dwell that works.
OVERLAPPING = dense_disperse(phase_a_us=600, interphase_us=50, dwell_a_ms=3001)


def device_refusal(program: SetProgram) -> Refused | None:
    try:
        check_program(MODEL, program)
    except Refused as refused:
        return refused
    return None


def schedule_gaps_us(program: SetProgram) -> tuple[np.ndarray, np.ndarray]:
    """Over two whole cycles of the device's pulse schedule: each gap from a pulse's end to the
    next onset, and whether that next pulse is of the other half (a boundary)."""
    cycle_us = (program.dwell_a_ms + program.dwell_b_ms) * 1000
    onsets, halves = pulse_onsets(program, 0, 0, 2 * cycle_us + 1)
    lengths = np.where(
        halves == 0,
        pulse_length_us(program.phase_a_us, program.interphase_us, program.asym_ratio),
        pulse_length_us(program.phase_b_us, program.interphase_us, program.asym_ratio),
    )
    gaps = onsets[1:] - (onsets[:-1] + lengths[:-1])
    return gaps, halves[1:] != halves[:-1]


@st.composite
def dense_disperse_programs(draw: st.DrawFn) -> SetProgram:
    """Dense-disperse programs valid in every field but possibly at their boundaries; dwells
    are often drawn just after an onset, where an overlap is likeliest."""
    symmetric = draw(st.booleans())
    ratio = 1 if symmetric else draw(st.integers(2, MODEL.max_asym_ratio))
    interphase_us = draw(st.integers(0, MODEL.max_interphase_us))
    fields: dict[str, Any] = {}
    for half in ("a", "b"):
        freq_cHz = draw(st.integers(MODEL.min_freq_cHz, MODEL.max_freq_cHz))
        widest_us = (PERIOD_NUMERATOR // freq_cHz - interphase_us) // (1 + ratio)
        widest_us = min(widest_us, MODEL.max_phase_us)
        if widest_us < MODEL.min_phase_us:  # no pulse fits this frequency: draw a slower one
            freq_cHz = MODEL.min_freq_cHz
            widest_us = min(MODEL.max_phase_us, (1_000_000 - interphase_us) // (1 + ratio))
        phase_us = draw(st.integers(MODEL.min_phase_us, widest_us))
        plain = st.integers(100, 60_000)
        k = draw(st.integers(1, 200))
        onset_us = k * PERIOD_NUMERATOR // freq_cHz
        near = -(-(onset_us + 1) // 1000) + draw(st.integers(0, 2))
        dwell_ms = draw(plain) if not 100 <= near <= 60_000 or draw(st.booleans()) else near
        fields |= {f"freq_{half}_cHz": freq_cHz, f"phase_{half}_us": phase_us}
        fields[f"dwell_{half}_ms"] = dwell_ms
    return dense_disperse(
        shape=Shape.SYMMETRIC_BIPHASIC if symmetric else Shape.ASYMMETRIC_BIPHASIC,
        asym_ratio=ratio,
        interphase_us=interphase_us,
        target_uA=1000,
        ramp_up_ms=1000,
        **fields,
    )


def test_i14_04_the_gap_constants_agree() -> None:
    assert MIN_PULSE_GAP_us == MIN_PULSE_GAP_US  # host and device, each its own copy


@given(dense_disperse_programs())
def test_i14_04_dense_disperse_boundaries_host_and_device_agree(program: SetProgram) -> None:
    refused = device_refusal(program)
    boundaries = program_boundaries(program)
    gaps, at_switch = schedule_gaps_us(program)
    if refused is None:
        assert boundaries == []
        assert (gaps >= MIN_PULSE_GAP_US).all(), "pulses overlap in an accepted program"
    else:
        # Everything but the boundaries is valid by construction: the device names the dwell
        # the host names first, with the same longest shorter dwell as its limit.
        assert refused.code == NakCode.OUT_OF_RANGE
        assert boundaries, f"device refused {refused} but the host accepts"
        first = boundaries[0]
        assert refused.field == SetProgram.field_index(f"dwell_{first.half}_ms")
        assert refused.limit == first.longest_dwell_ms
        assert (gaps[at_switch] < MIN_PULSE_GAP_US).any(), "refused without an overlap"
    assert (gaps[~at_switch] >= MIN_PULSE_GAP_US).all()  # within a train: the period rule
    for boundary in boundaries:
        if boundary.longest_dwell_ms:
            shorter = {f"dwell_{boundary.half}_ms": boundary.longest_dwell_ms}
            fixed = dataclasses.replace(program, **shorter)
            assert boundary.half not in {b.half for b in program_boundaries(fixed)}


def test_i14_04_overlapping_boundary_is_refused_by_the_device() -> None:
    gaps, at_switch = schedule_gaps_us(OVERLAPPING)
    assert gaps[at_switch].min() == -250  # the overlap the device would have delivered
    refused = device_refusal(OVERLAPPING)
    assert refused is not None
    assert (refused.code, refused.field, refused.limit) == (
        NakCode.OUT_OF_RANGE,
        SetProgram.field_index("dwell_a_ms"),
        3000,
    )
    assert device_refusal(dataclasses.replace(OVERLAPPING, dwell_a_ms=3000)) is None


def test_i14_04_overlapping_boundary_is_refused_by_the_host_api() -> None:
    limits = device_limits(
        MODEL.hello_ack(boot_id=1, session_id=1, lease_ms=500, device_nonce=bytes(16))
    )
    checker = ProgramChecker(limits, "device EA-SIM-6")
    stim = stimulation_from_wire(OVERLAPPING)
    with pytest.raises(ParameterError) as info:
        checker.program(1, stim)
    err = info.value
    assert (err.parameter, err.value, err.layer) == ("dwell_a_s", 3.001, Layer.SCHEMA)
    assert "<= 3 s" in err.allowed and "1250 us" in err.allowed
    checker.program(1, dataclasses.replace(stim, dwell_a_s=3.0))


def test_i14_04_overlapping_boundary_is_refused_in_a_profile(tmp_path: Path) -> None:
    path = tmp_path / "dd.toml"
    path.write_text(
        """\
schema_version = 1
name = "2/100 Hz with a dwell one ms too long"

[[channels]]
channel = 1
electrodes = ["ST36-L", "GB34-L"]

[[steps]]
channels = [1]
mode = "dense_disperse"
frequency_a_hz = 2
phase_width_a_us = 600
frequency_b_hz = 100
phase_width_b_us = 300
dwell_a_s = 3.001
dwell_b_s = 3
interphase_gap_us = 50
intensity_mA = 2
ramp_up_s = 2
ramp_down_s = 2
duration_s = 60
""",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as info:  # a timing rule of the wire: layer schema
        load_profile(path)
    (finding,) = [f for f in info.value.findings if f.path == "steps[0].dwell_a_s"]
    assert finding.layer is Layer.SCHEMA
    assert "overlaps by 250 µs the first pulse of half b" in finding.message
    assert finding.allowed is not None and finding.allowed.startswith("≤ 3 s")
