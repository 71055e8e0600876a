"""Field types of the profile models: units in the names, numbers that must be numbers.

Every numeric field is strict (pydantic ``Strict``): ``"5 mA"``, ``"5"`` and ``true`` are refused
where a number of milliamperes is expected, so a value can never change meaning on its way in.
Integers are accepted for floats (``intensity_mA = 5``). Ranges here are only the physical ones
(a frequency is positive); the limit table lives in :mod:`eacontrol.limits` and is applied by the
checker, so that a refusal can name its layer and source.
"""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import ConfigDict, Field, Strict

__all__ = [
    "MODEL_CONFIG",
    "ChannelNumber",
    "NonNegative",
    "Positive",
    "PulseShape",
    "Ratio",
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


class StimulationMode(enum.StrEnum):
    """How a step delivers pulses. Member names match ``firmware_protocol.codes.Mode``."""

    CONTINUOUS = "continuous"  # one frequency throughout
    DENSE_DISPERSE = "dense_disperse"  # half a, then half b, alternating (疏密波)
    INTERMITTENT = "intermittent"  # trains of on_s separated by off_s pauses (断续波)


class PulseShape(enum.StrEnum):
    """Pulse shape. Member names match ``firmware_protocol.codes.Shape``; both are biphasic and
    charge-balanced, because monophasic output does not exist in eacontrol."""

    SYMMETRIC_BIPHASIC = "symmetric_biphasic"
    ASYMMETRIC_BIPHASIC = "asymmetric_biphasic"


Positive = Annotated[float, Strict(), Field(gt=0)]
"""A finite number > 0 (integers accepted)."""

NonNegative = Annotated[float, Strict(), Field(ge=0)]
"""A finite number ≥ 0 (integers accepted)."""

ChannelNumber = Annotated[int, Strict(), Field(ge=1, le=255)]
"""A channel number, 1-based as printed on the device."""

Ratio = Annotated[int, Strict(), Field(ge=1, le=255)]
"""An integer ratio (the wire carries it in one byte)."""

Text = Annotated[str, Strict()]
"""A string; numbers are not turned into text."""
