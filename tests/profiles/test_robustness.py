"""Whatever the input, loading ends in a Validation or a ProfileError, never a traceback."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eacontrol.errors import ProfileError
from eacontrol.profiles import Profile, dumps_toml, loads_profile, validate_text

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True),
    st.integers(-(10**20), 10**20),
    st.sampled_from(
        [0, 1, 2, 3, 100, 0.5, 1.5, 5e-324, 1e308, 0.001, 0.01, 0.1, 5, 300, 1000, 1e6, 86400]
    ),
)
VALUES = st.one_of(NUMBERS, st.text(max_size=8), st.booleans(), st.none())
STEP_KEYS = [
    "frequency_hz", "phase_width_us", "frequency_a_hz", "phase_width_a_us", "frequency_b_hz",
    "phase_width_b_us", "dwell_a_s", "dwell_b_s", "on_s", "off_s", "intensity_mA",
    "ceiling_mA", "ramp_up_s", "ramp_down_s", "duration_s", "interphase_gap_us", "asym_ratio",
]  # fmt: skip
SITES = st.sampled_from(["BL23-L", "BL25-L", "BL23-R", "GV20", "LI4-L", "ST36-R", "XX1", "GV4-L"])


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    step: dict[str, Any] = {
        "channels": draw(st.lists(st.integers(0, 3), max_size=3)),
        "mode": draw(st.sampled_from(["continuous", "dense_disperse", "intermittent", "x"])),
    }
    for key in draw(st.lists(st.sampled_from(STEP_KEYS), unique=True)):
        step[key] = draw(NUMBERS if draw(st.booleans()) else VALUES)
    if draw(st.booleans()):
        step["shape"] = draw(st.sampled_from(["symmetric_biphasic", "asymmetric_biphasic"]))
    channel = {"channel": draw(st.integers(0, 3)), "electrodes": draw(st.lists(SITES, max_size=3))}
    if draw(st.booleans()):
        channel["needle"] = {"diameter_mm": draw(NUMBERS), "inserted_length_mm": draw(NUMBERS)}
    table: dict[str, Any] = {
        "schema_version": 1,
        "name": "fuzz",
        "channels": [channel],
        "steps": [step],
    }
    if draw(st.booleans()):
        table["session"] = {"max_duration_s": draw(NUMBERS), "ceiling_mA": draw(NUMBERS)}
    return table


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_any_table_gives_findings_not_a_traceback(table: dict[str, Any]) -> None:
    validation = validate_text(json.dumps(table), fmt="json")
    assert validation.refused or validation.profile is not None
    try:
        profile = validation.raise_for_refusals()
    except ProfileError as err:
        assert err.findings
    else:
        assert isinstance(profile, Profile)
        assert loads_profile(dumps_toml(profile)) == profile


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_give_findings_not_a_traceback(data: bytes | str) -> None:
    for fmt in ("toml", "json"):
        validation = validate_text(data, fmt=fmt)  # type: ignore[arg-type]
        assert validation.refused
        assert validation.findings


def test_deep_nesting_is_a_syntax_error() -> None:
    for text, fmt in (("a = " + "[" * 100_000, "toml"), ("[" * 100_000, "json")):
        validation = validate_text(text, fmt=fmt)  # type: ignore[arg-type]
        assert not validation.syntax_ok
        assert "nested too deeply" in validation.findings[0].message
