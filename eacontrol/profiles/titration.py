"""How a step sets each channel's intensity: ``fixed`` (ramp to the target at START),
``titrate`` (ramp to a start level, usually zero; the practitioner raises each channel), or one
of two sham conditions of a controlled trial (issue 17): ``sham_zero`` (every channel STARTed
and running at 0 mA for the whole step: the device on, no current) and ``sham_ramp_off`` (the
prescribed ramp up, then after ``sham_on_s`` a ramp down to 0 mA for the rest of the step, as
in published sham electroacupuncture). In a sham step the operator cannot raise a channel.

A titrated step names the sensation the practitioner raises each channel to ("strong but
comfortable tingling", "visible twitch"); its ``intensity_mA`` is then guidance shown beside
each channel, and its ceiling (the limit engine's, as for a fixed step) the most the operator
can set. The session layer carries it out (``eacontrol.session``, docs/session.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["IntensityMode", "Titration"]


class IntensityMode(enum.StrEnum):
    """How a step's intensity is set (the step key ``intensity``)."""

    FIXED = "fixed"
    TITRATE = "titrate"
    SHAM_ZERO = "sham_zero"
    SHAM_RAMP_OFF = "sham_ramp_off"

    @property
    def sham(self) -> bool:
        """True for the sham conditions."""
        return self in (IntensityMode.SHAM_ZERO, IntensityMode.SHAM_RAMP_OFF)


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
