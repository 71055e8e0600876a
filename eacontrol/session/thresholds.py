"""Thresholds: what a threshold step finds, and the relative steps set from it.

In a ``threshold`` step (``profiles.titration``) the practitioner raises each channel from its
start level and marks, as the patient reports it, the channel's **sensory** threshold (the
lowest level felt) and then its **motor** threshold (the lowest that gives a visible twitch):
``Session.mark_threshold``, the live view's ``t`` key (the next threshold not yet marked). Each
mark is recorded at once (event ``threshold``) and kept in the step's record
(``sensory_threshold_mA``, ``motor_threshold_mA``); a later mark of the same threshold in the
session replaces it (the last one counts, as for a treatment intensity).

A ``relative`` step STARTs each channel at ``threshold_factor`` × its ``relative_to`` threshold,
the last one marked in this session. It never goes above the step's ``intensity_mA`` (the level
every limit layer checked) nor the channel's effective ceiling, and nothing is clamped: a
channel with no such threshold, or whose multiple is above either, starts at 0 mA, running,
with a ``warning`` event saying why, and the practitioner raises it by hand within the ceiling
(failing safe: never more than was checked, never a guess).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from eacontrol.errors import SessionError
from eacontrol.profiles.titration import IntensityMode, ThresholdKind
from eacontrol.session.plan import PlannedChannel, PlannedStep

__all__ = ["Resolved", "Thresholds"]


@dataclass(frozen=True)
class Resolved:
    """How a relative step's channel was set: its start level and, when it starts at zero
    instead of its multiple, why (None: set as prescribed)."""

    channel: int
    intensity_mA: float
    refused: str | None


class Thresholds:
    """The thresholds marked in one session, per channel and kind (the last mark counts)."""

    def __init__(self) -> None:
        self._found: dict[int, dict[str, float]] = {}  # channel → {sensory_threshold_mA: …}

    def next_kind(self, channel: int) -> ThresholdKind:
        """The threshold a mark without a kind names: sensory until it is marked, then motor."""
        if _key(ThresholdKind.SENSORY) not in self._found.get(channel, {}):
            return ThresholdKind.SENSORY
        return ThresholdKind.MOTOR

    def mark(self, channel: int, kind: ThresholdKind, intensity_mA: float) -> None:
        """``channel``'s ``kind`` threshold is ``intensity_mA``.

        Raises:
            SessionError: at zero (zero is never a threshold), or a motor threshold below the
                channel's sensory one (a twitch is felt: the sensory threshold is lower).
        """
        if intensity_mA <= 0:
            raise SessionError(
                f"channel {channel} is at zero: raise it until the patient reports the {kind} "
                "threshold, then mark it"
            )
        found = self._found.setdefault(channel, {})
        sensory = found.get(_key(ThresholdKind.SENSORY))
        if kind is ThresholdKind.MOTOR and sensory is not None and intensity_mA < sensory:
            raise SessionError(
                f"channel {channel}: a motor threshold of {intensity_mA:g} mA is below its "
                f"sensory threshold ({sensory:g} mA); mark the sensory threshold again first"
            )
        found[_key(kind)] = intensity_mA

    def of(self, channel: int) -> dict[str, float]:
        """``channel``'s thresholds as the step record keeps them (``sensory_threshold_mA``)."""
        return dict(self._found.get(channel, {}))

    def resolve(self, step: PlannedStep) -> tuple[PlannedStep, list[Resolved]]:
        """A relative step with each channel's start level set from its threshold (any other
        step unchanged), and how each relative channel was set."""
        if not any(c.setting is IntensityMode.RELATIVE for c in step.channels):
            return step, []
        resolved = [self._resolve(c) for c in step.channels if c.relative is not None]
        levels = {r.channel: r.intensity_mA for r in resolved}
        channels = tuple(
            c
            if c.channel not in levels
            else dataclasses.replace(
                c,
                stimulation=dataclasses.replace(c.stimulation, intensity_mA=levels[c.channel]),
            )
            for c in step.channels
        )
        return dataclasses.replace(step, channels=channels), resolved

    def _resolve(self, planned: PlannedChannel) -> Resolved:
        rel, n = planned.relative, planned.channel
        assert rel is not None
        threshold = self._found.get(n, {}).get(_key(rel.of))
        if threshold is None:
            why = f"no {rel.of} threshold was marked on channel {n} in this session"
            return Resolved(n, 0.0, why)
        target = rel.target_mA(threshold)
        what = f"{rel.factor:g} × its {rel.of} threshold {threshold:g} mA = {target:g} mA"
        if target > rel.cap_mA:
            why = f"{what} is above the step's intensity_mA {rel.cap_mA:g} mA (the level checked)"
            return Resolved(n, 0.0, why)
        if target > planned.ceiling.value_mA:
            return Resolved(n, 0.0, f"{what} is above its ceiling {planned.ceiling}")
        return Resolved(n, target, None)


def _key(kind: ThresholdKind) -> str:
    """The record's key of a threshold: ``sensory_threshold_mA``."""
    return f"{kind.value}_threshold_mA"
