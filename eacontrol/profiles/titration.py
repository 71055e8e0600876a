"""How a step sets each channel's intensity: ``fixed`` (ramp to the target at START),
``titrate`` (ramp to a start level, usually zero; the practitioner raises each channel), or one
of two sham conditions of a controlled trial (issue 17): ``sham_zero`` (every channel STARTed
and running at 0 mA for the whole step: the device on, no current) and ``sham_ramp_off`` (the
prescribed ramp up, then after ``sham_on_s`` a ramp down to 0 mA for the rest of the step, as
in published sham electroacupuncture). In a sham step the operator cannot raise a channel.

A **threshold** step (``intensity = "threshold"``) is a titration whose result is each channel's
sensory threshold (the lowest level the patient feels) and motor threshold (the lowest that
gives a visible twitch), marked by the practitioner and recorded; a later step with
``intensity = "relative"`` sets each channel to ``threshold_factor`` × its threshold
(``relative_to``), never above the step's ``intensity_mA`` (the level the limit engine checked).
A session made only of threshold steps is recorded as a titration, not a treatment.

A titrated step names the sensation the practitioner raises each channel to ("strong but
comfortable tingling", "visible twitch"); its ``intensity_mA`` is then guidance shown beside
each channel, and its ceiling (the limit engine's, as for a fixed step) the most the operator
can set. The session layer carries it out (``eacontrol.session``, docs/session.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["THRESHOLD_SENSATION", "IntensityMode", "Relative", "ThresholdKind", "Titration"]


class IntensityMode(enum.StrEnum):
    """How a step's intensity is set (the step key ``intensity``)."""

    FIXED = "fixed"
    TITRATE = "titrate"
    SHAM_ZERO = "sham_zero"
    SHAM_RAMP_OFF = "sham_ramp_off"
    THRESHOLD = "threshold"
    RELATIVE = "relative"

    @property
    def sham(self) -> bool:
        """True for the sham conditions."""
        return self in (IntensityMode.SHAM_ZERO, IntensityMode.SHAM_RAMP_OFF)

    @property
    def titrated(self) -> bool:
        """True when the practitioner raises each channel from a start level."""
        return self in (IntensityMode.TITRATE, IntensityMode.THRESHOLD)


class ThresholdKind(enum.StrEnum):
    """The thresholds a threshold step finds, in the order they are met while raising."""

    SENSORY = "sensory"  # the lowest level the patient feels
    MOTOR = "motor"  # the lowest level that gives a visible muscle twitch


THRESHOLD_SENSATION = "its sensory, then its motor threshold"
"""What a threshold step's practitioner raises each channel to, in words."""


@dataclass(frozen=True)
class Relative:
    """A relative step's setting of a channel: ``factor`` × its ``of`` threshold, at most
    ``cap_mA`` (the step's ``intensity_mA``, checked by every limit layer)."""

    of: ThresholdKind
    factor: float
    cap_mA: float

    def target_mA(self, threshold_mA: float) -> float:
        """The target for a channel whose threshold is ``threshold_mA``, to the µA (may be above
        the cap: the caller refuses it)."""
        return round(self.factor * threshold_mA, 3)


@dataclass(frozen=True)
class Titration:
    """A titrated step's settings for each of its channels.

    Attributes:
        start_mA: the level each channel ramps to at START (0: it starts at zero, running).
        target_mA: the profile's ``intensity_mA``: guidance, never sent by itself.
        sensation: what the practitioner raises each channel to, in words.
    """

    start_mA: float
    target_mA: float
    sensation: str
