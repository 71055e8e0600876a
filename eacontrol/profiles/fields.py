"""Field types of the profile models: units in the names, numbers that must be numbers.

Every numeric field is strict (pydantic ``Strict``): ``"5 mA"``, ``"5"`` and ``true`` are refused
where a number of milliamperes is expected, so a value can never change meaning on its way in.
Integers are accepted for floats (``intensity_mA = 5``).

The bounds here are physical, not clinical: far outside every limit layer (20 mA, 50-1000 µs,
1-200 Hz, 1-10 s dwells, 60 min), they reject only values that can be nothing but a typo or a
unit error (``frequency_hz = 2e6``, a dwell shorter than the wire's 1 ms) and keep the dose
arithmetic finite. The limit table lives in :mod:`eacontrol.safety.limits` and is applied by the
checker, so that a refusal names its layer and source.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, Strict

from eacontrol.stimulation import PulseShape, StimulationMode

__all__ = [
    "MODEL_CONFIG",
    "ChannelNumber",
    "DwellSeconds",
    "Factor",
    "GapMicroseconds",
    "Hertz",
    "Microseconds",
    "Milliamps",
    "Positive",
    "PulseShape",
    "RampSeconds",
    "Ratio",
    "Seconds",
    "StartMilliamps",
    "StimulationMode",
    "Text",
]

MODEL_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    allow_inf_nan=False,  # TOML has inf and nan literals; no limit means anything for them
    strict=False,  # per-field Strict below; lists still become tuples
    validate_default=True,
)
"""Shared configuration of every profile model: frozen, unknown keys refused, finite numbers."""


Positive = Annotated[float, Strict(), Field(gt=0)]
"""A finite number > 0 (integers accepted)."""

# 0.001 mA: the wire's resolution (1 µA, PROTOCOL.md §1); a smaller current would go out as 0.
Milliamps = Annotated[float, Strict(), Field(ge=0.001, le=1000)]
"""A current, mA: at least the wire's 1 µA and at most 1 A."""


def _zero_or_wire(value: float) -> float:
    if 0 < value < 0.001:
        raise ValueError("0 (start at zero) or at least 0.001 mA (the wire's 1 µA)")
    return value


StartMilliamps = Annotated[float, Strict(), Field(ge=0, le=1000), AfterValidator(_zero_or_wire)]
"""A start level, mA: 0 (start at zero), or a current of at least the wire's 1 µA."""


Microseconds = Annotated[float, Strict(), Field(gt=0, le=1e6)]
"""A phase width, µs: > 0 and at most 1 s."""

GapMicroseconds = Annotated[float, Strict(), Field(ge=0, le=1e6)]
"""An interphase gap, µs: 0 to 1 s."""

Hertz = Annotated[float, Strict(), Field(ge=0.01, le=1e6)]
"""A pulse rate, Hz: from the wire's 0.01 Hz to 1 MHz."""

Seconds = Annotated[float, Strict(), Field(gt=0, le=86400)]
"""A duration, s: > 0 and at most a day."""

DwellSeconds = Annotated[float, Strict(), Field(ge=0.001, le=86400)]
"""A dwell, train or pause, s: from the wire's 1 ms to a day."""

RampSeconds = Annotated[float, Strict(), Field(ge=0, le=86400)]
"""A ramp, s: 0 to a day."""

ChannelNumber = Annotated[int, Strict(), Field(ge=1, le=255)]
"""A channel number, 1-based as printed on the device."""

Factor = Annotated[float, Strict(), Field(gt=0, le=4)]
"""A multiple of a threshold (``threshold_factor``). At most 4: a design value, generous above
the 1.5–3 × sensory threshold of electroacupuncture and TENS practice; the level reached is
still checked against the step's ``intensity_mA``, which every limit layer checked."""

Ratio = Annotated[int, Strict(), Field(ge=1, le=255)]
"""An integer ratio (the wire carries it in one byte)."""

Text = Annotated[str, Strict()]
"""A string; numbers are not turned into text."""
