"""The treatment intensity of each channel in a step: what titration reached.

Definition (a design value, docs/session.md "Titration"): a channel's treatment intensity in a
step is

1. the level the practitioner **marked** (``Session.mark_treatment``, the live view's ``t`` key)
   last in the step: "this is the sensation the profile names"; else
2. the **highest level held for at least** :data:`HOLD_s` seconds of the step's timer (pauses
   excluded) — the level the practitioner settled on, not one passed through on the way up or
   tried and turned down from; else
3. **not reached** (None): no level above zero was held that long (the step ended, or the
   channel was held by a fault, before titration settled).

Zero is never a treatment intensity. A channel held at zero by a fault holds zero meanwhile; the
levels before and after it count as any others. A fixed step's channels get one too: their
prescribed target held (or what the operator changed it to).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["HOLD_s", "TreatmentHow", "TreatmentIntensity", "TreatmentLog"]

HOLD_s = 10.0
"""Design value: how long a level must be held to count as reached without a mark. Ten times
the 1 s operator step interval (``safety.limits.STANDARD``): a practitioner raising in 0.5 mA
steps while asking the patient passes each level within a few seconds, so a level held for ten
is one they stayed at; a bound of minutes would miss a short step."""


class TreatmentHow(enum.StrEnum):
    """How a treatment intensity was found."""

    MARKED = "marked"  # the practitioner marked it
    HELD = "held"  # the highest level held for HOLD_s
    NOT_REACHED = "not_reached"  # none


@dataclass(frozen=True)
class TreatmentIntensity:
    """One channel's treatment intensity in one step.

    Attributes:
        channel: the channel number.
        intensity_mA: the intensity, or None when not reached.
        how: how it was found.
        at_s: the step time it was marked, or the step time the held level began; None when
            not reached.
    """

    channel: int
    intensity_mA: float | None
    how: TreatmentHow
    at_s: float | None

    def text(self) -> str:
        """In words for the record and the practitioner."""
        n = self.channel
        if self.intensity_mA is None:
            return (
                f"channel {n}: treatment intensity not reached (no level above zero marked or "
                f"held for {HOLD_s:g} s)"
            )
        if self.how is TreatmentHow.MARKED:
            return f"channel {n}: treatment intensity {self.intensity_mA:g} mA (marked)"
        return (
            f"channel {n}: treatment intensity {self.intensity_mA:g} mA (the highest level held "
            f"for at least {HOLD_s:g} s; none marked)"
        )

    def data(self, step_index: int) -> dict[str, object]:
        """The record's event data."""
        return {
            "step_index": step_index,
            "treatment_intensity_mA": self.intensity_mA,
            "how": self.how.value,
            "at_step_s": self.at_s,
        }


class TreatmentLog:
    """The levels each channel held in one step, on the step's timer."""

    def __init__(self, levels: Iterable[tuple[int, float]], t_s: float = 0.0) -> None:
        """Args:
        levels: (channel, level mA) at the step's START.
        t_s: the step's time then.
        """
        self._now: dict[int, tuple[float, float]] = {n: (mA, t_s) for n, mA in levels}
        self._best: dict[int, tuple[float, float]] = {}
        self._marked: dict[int, tuple[float, float]] = {}

    def level(self, channel: int, intensity_mA: float, t_s: float) -> None:
        """``channel``'s level is ``intensity_mA`` from step time ``t_s``."""
        if channel in self._now:
            self._close(channel, t_s)
        self._now[channel] = (intensity_mA, t_s)

    def mark(self, channel: int, intensity_mA: float, t_s: float) -> None:
        """The practitioner marked ``intensity_mA`` as ``channel``'s treatment intensity."""
        self._marked[channel] = (intensity_mA, t_s)

    @property
    def marked(self) -> dict[int, float]:
        """The level marked on each channel so far, mA."""
        return {n: mA for n, (mA, _) in self._marked.items()}

    def _close(self, channel: int, t_s: float) -> None:
        mA, since = self._now[channel]
        if mA > 0 and t_s - since >= HOLD_s and mA > self._best.get(channel, (0.0, 0.0))[0]:
            self._best[channel] = (mA, since)

    def result(self, t_s: float) -> list[TreatmentIntensity]:
        """Every channel's treatment intensity at step time ``t_s`` (the step's end)."""
        out = []
        for n in sorted(self._now):
            self._close(n, t_s)
            self._now[n] = (self._now[n][0], t_s)
            if n in self._marked:
                mA, at = self._marked[n]
                out.append(TreatmentIntensity(n, mA, TreatmentHow.MARKED, at))
            elif n in self._best:
                mA, at = self._best[n]
                out.append(TreatmentIntensity(n, mA, TreatmentHow.HELD, at))
            else:
                out.append(TreatmentIntensity(n, None, TreatmentHow.NOT_REACHED, None))
        return out
