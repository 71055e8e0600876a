"""What a session delivered over time: intensity per channel and step, the operator's changes,
pauses, stops and missing samples, and each step's phase charge.

Figures come from the samples (``set_mA``, ``measured_mA``) and events as recorded; a sample
period without a sample (a ``sample_gaps`` row) is missing, so the current then is **unknown**:
a range built from no sample is None, never a number filled from a neighbour.

- The intensity "while on" uses the samples with ``set_mA`` > 0 (ramps included).
- An operator change is an event with ``data.to_mA`` and a channel, from the operator: the
  session runner's ``intensity`` event with ``data.by == "operator"`` (time, channel, from and
  to), or an ``operator`` event with ``to_mA``.
- A pause runs from an operator event ``paused: ...`` to the next ``resumed: ...`` (the step
  runner's messages); stops are the ``stop``, ``fault`` and ``link`` events and the operator's
  stop and emergency stop.
- ``confirmed_until_s`` is the session time of the last sample: the last STATUS the device sent
  (a sample is taken only from a fresh STATUS, ``session/recorder.py``). After a lost link or a
  stop the device did not confirm, nothing later says what its outputs did.
- Phase charge of a step's channel is intensity × phase width (mA × µs = nC), at the prescribed
  target and at the highest set intensity sampled in the step.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TypedDict

from eacontrol.records.model import EventRecord, Sample, SampleGap, StepRecord
from eacontrol.records.prescription import PrescribedStep, Prescription

__all__ = [
    "Course",
    "IntensityRange",
    "MissingSpan",
    "OperatorChange",
    "Pause",
    "StepCharge",
    "StopItem",
    "course",
    "event_course",
]

_STOP_KINDS = frozenset({"stop", "fault", "link"})


class OperatorChange(TypedDict):
    """An operator's intensity change (None: the previous target was not recorded)."""

    t_s: float
    channel: int
    from_mA: float | None
    to_mA: float


class Pause(TypedDict):
    """A pause (``resumed_s`` None: not resumed before the session ended)."""

    paused_s: float
    resumed_s: float | None
    duration_s: float | None


class StopItem(TypedDict):
    """A stop, fault or link loss, with its cause as recorded."""

    t_s: float
    kind: str
    channel: int | None
    message: str


class MissingSpan(TypedDict):
    """Consecutive missing samples (no sample between them): the current then is unknown."""

    from_s: float
    to_s: float
    samples: int
    reason: str


class IntensityRange(TypedDict):
    """One channel's measured current while on, in one step (``step_index`` None: the whole
    session). Min, median and max are None (unknown) without a sample."""

    channel: int
    step_index: int | None
    samples: int
    missing_samples: int
    measured_min_mA: float | None
    measured_median_mA: float | None
    measured_max_mA: float | None
    set_max_mA: float | None


class StepCharge(TypedDict):
    """Phase charge of one channel in one step (b: the dense-disperse second rate)."""

    step_index: int
    channel: int
    target_mA: float
    phase_charge_uC: float
    phase_charge_b_uC: float | None
    highest_set_mA: float | None
    highest_phase_charge_uC: float | None


class Course(TypedDict):
    """The session over time."""

    operator_changes: list[OperatorChange]
    pauses: list[Pause]
    paused_s: float
    stops: list[StopItem]
    missing: list[MissingSpan]
    missing_samples: int
    intensity: list[IntensityRange]
    charges: list[StepCharge]
    confirmed_until_s: float | None  # the last sample's session time (None: no sample)


def _window(rec: StepRecord | None, last_s: float) -> tuple[float, float] | None:
    if rec is None:
        return None
    return rec.started_s, rec.ended_s if rec.ended_s is not None else last_s


def _range(
    channel: int,
    step_index: int | None,
    samples: Sequence[Sample],
    gaps: Sequence[SampleGap],
    window: tuple[float, float],
) -> IntensityRange:
    lo, hi = window
    mine = [s for s in samples if s.channel == channel and lo <= s.t_s <= hi]
    on = [s.measured_mA for s in mine if s.set_mA > 0]
    return {
        "channel": channel,
        "step_index": step_index,
        "samples": len(mine),
        "missing_samples": sum(1 for g in gaps if lo <= g.t_s <= hi),
        "measured_min_mA": min(on) if on else None,
        "measured_median_mA": statistics.median(on) if on else None,
        "measured_max_mA": max(on) if on else None,
        "set_max_mA": max((s.set_mA for s in mine), default=None),
    }


def _missing(samples: Sequence[Sample], gaps: Sequence[SampleGap]) -> list[MissingSpan]:
    times = sorted({s.t_s for s in samples})
    spans: list[MissingSpan] = []
    for gap in sorted(gaps, key=lambda g: g.t_s):
        last = spans[-1] if spans else None
        if last is not None and not any(last["to_s"] < t < gap.t_s for t in times):
            last["to_s"], last["samples"] = gap.t_s, last["samples"] + 1
        else:
            spans.append({"from_s": gap.t_s, "to_s": gap.t_s, "samples": 1, "reason": gap.reason})
    return spans


def event_course(
    events: Sequence[EventRecord],
) -> tuple[list[OperatorChange], list[Pause], list[StopItem]]:
    """The operator's intensity changes, the pauses and the stops among ``events`` (in order;
    the rules are the module's)."""
    changes: list[OperatorChange] = []
    pauses: list[Pause] = []
    stops: list[StopItem] = []
    for e in events:
        data = e.data
        by_operator = data.get("by") == "operator" or e.kind == "operator"
        if by_operator and "to_mA" in data and e.channel is not None:
            before = data.get("from_mA")
            changes.append(
                OperatorChange(
                    t_s=e.t_s,
                    channel=e.channel,
                    from_mA=None if before is None else float(before),
                    to_mA=float(data["to_mA"]),
                )
            )
        elif e.kind == "operator" and e.message.startswith("paused"):
            pauses.append(Pause(paused_s=e.t_s, resumed_s=None, duration_s=None))
        elif e.kind == "operator" and e.message.startswith("resumed"):
            if pauses and pauses[-1]["resumed_s"] is None:
                pauses[-1]["resumed_s"] = e.t_s
                pauses[-1]["duration_s"] = e.t_s - pauses[-1]["paused_s"]
        elif e.kind in _STOP_KINDS or (e.kind == "operator" and "stop" in e.message):
            stops.append(StopItem(t_s=e.t_s, kind=e.kind, channel=e.channel, message=e.message))
    return changes, pauses, stops


def _charges(
    step: PrescribedStep, samples: Sequence[Sample], window: tuple[float, float] | None
) -> list[StepCharge]:
    found: list[StepCharge] = []
    for channel in step["channels"]:
        target = step["intensity_mA"].get(str(channel), 0.0)
        highest = None
        if window is not None:
            lo, hi = window
            highest = max(
                (s.set_mA for s in samples if s.channel == channel and lo <= s.t_s <= hi),
                default=None,
            )
        b = step["phase_width_b_us"] if step["frequency_b_hz"] is not None else None
        if step["mode"] == "dense_disperse" and b is None:
            b = step["phase_width_us"]
        found.append(
            StepCharge(
                step_index=step["index"],
                channel=channel,
                target_mA=target,
                # mA × µs = nC; / 1000 for µC.
                phase_charge_uC=target * step["phase_width_us"] / 1000,
                phase_charge_b_uC=None if b is None else target * b / 1000,
                highest_set_mA=highest,
                highest_phase_charge_uC=(
                    None
                    if highest is None
                    else highest * max(step["phase_width_us"], b or 0.0) / 1000
                ),
            )
        )
    return found


def course(
    rx: Prescription,
    steps: Sequence[StepRecord],
    events: Sequence[EventRecord],
    samples: Sequence[Sample],
    gaps: Sequence[SampleGap],
) -> Course:
    """The session over time, from its records.

    Args:
        rx: the prescription.
        steps: the steps as they ran.
        events: every event, in order.
        samples: every sample.
        gaps: every missing sample.

    Returns:
        Intensity ranges per channel (whole session, then per step), operator changes, pauses,
        stops, missing samples and phase charges.
    """
    last_s = max([s.t_s for s in samples] + [g.t_s for g in gaps] + [e.t_s for e in events] + [0.0])
    by_index = {r.index: r for r in steps}
    whole = (min((r.started_s for r in steps), default=0.0), last_s)
    intensity = [_range(c["channel"], None, samples, gaps, whole) for c in rx["channels"]]
    charges: list[StepCharge] = []
    for step in rx["steps"]:
        window = _window(by_index.get(step["index"]), last_s)
        charges += _charges(step, samples, window)
        if window is not None:
            intensity += [
                _range(ch, step["index"], samples, gaps, window) for ch in step["channels"]
            ]
    changes, pauses, stops = event_course(events)
    return {
        "operator_changes": changes,
        "pauses": pauses,
        "paused_s": sum(p["duration_s"] or 0.0 for p in pauses),
        "stops": stops,
        "missing": _missing(samples, gaps),
        "missing_samples": len(gaps),
        "intensity": intensity,
        "charges": charges,
        "confirmed_until_s": max((s.t_s for s in samples), default=None),
    }
