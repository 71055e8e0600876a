"""Programs for the simulator's timing and pulse tests: valid SetPrograms of every mode.

Shared by the ``make_program`` fixture of ``tests/simulator/conftest.py``, by
``tests/simulator/firmware/test_schedule.py`` (the firmware's timing rules) and by
``tests/simulator/hardware/test_pulses.py`` (the output stage's pulse tables), and by the codec
tests of ``tests/firmware_protocol`` (a program to encode, change and CRC).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from firmware_protocol import Mode, SetProgram, Shape

__all__ = ["S", "dense_disperse", "program", "programs"]

S = 1_000_000  # µs per second


def program(mode: Mode = Mode.CONTINUOUS, **fields: Any) -> SetProgram:
    """A valid program of ``mode``; fields the mode does not use stay 0 (PROTOCOL.md §3.9)."""
    values: dict[str, Any] = dict.fromkeys(
        ("freq_b_cHz", "phase_b_us", "dwell_a_ms", "dwell_b_ms", "on_ms", "off_ms"), 0
    )
    values.update(
        channel=0,
        mode=mode,
        shape=Shape.SYMMETRIC_BIPHASIC,
        freq_a_cHz=200,
        phase_a_us=300,
        interphase_us=50,
        asym_ratio=1,
        target_uA=2000,
        ramp_up_ms=2000,
        ramp_down_ms=1000,
        max_run_s=1800,
    )
    values.update(fields)
    return SetProgram(**values)


def dense_disperse(**fields: Any) -> SetProgram:
    """The 2/100 Hz dense-disperse program with 3 s dwells (Han; Wang 2005)."""
    values: dict[str, Any] = dict(freq_a_cHz=200, phase_a_us=600, dwell_a_ms=3000)
    values.update(freq_b_cHz=10000, phase_b_us=300, dwell_b_ms=3000)
    values.update(fields)
    return program(Mode.DENSE_DISPERSE, **values)


@st.composite
def programs(draw: st.DrawFn) -> SetProgram:
    mode = draw(st.sampled_from(Mode))
    freq = st.integers(1, 20000)
    span_ms = st.integers(100, 5000)
    shape = draw(st.sampled_from(Shape))
    fields: dict[str, Any] = dict(
        shape=shape,
        freq_a_cHz=draw(freq),
        phase_a_us=draw(st.integers(50, 1000)),
        interphase_us=draw(st.integers(0, 200)),
        asym_ratio=draw(st.integers(2, 8)) if shape == Shape.ASYMMETRIC_BIPHASIC else 1,
    )
    if mode == Mode.DENSE_DISPERSE:
        fields.update(
            freq_b_cHz=draw(freq),
            phase_b_us=draw(st.integers(50, 1000)),
            dwell_a_ms=draw(span_ms),
            dwell_b_ms=draw(span_ms),
        )
    if mode == Mode.INTERMITTENT:
        fields.update(on_ms=draw(span_ms), off_ms=draw(span_ms))
    return program(mode, **fields)
