"""What ``eactl plot`` draws, computed without matplotlib: intensity envelopes and pulse shapes.

The envelope of a channel is the peak current of its primary phase over the session: zero,
the start ramp to the target, the target, the ramp down, for each step that drives it (and zero
through the steps that do not). Intermittent steps are gated: zero during each ``off_s`` pause.
The pulse shape is PROTOCOL.md §8's: +I for w, the gap, then −I/r for r·w.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eacontrol.profiles import Profile, Step

__all__ = ["PulseShapeTrace", "channel_envelope", "pulse_shapes"]

Floats = npt.NDArray[np.float64]


def _ramp_points(step: Step, channel: int, start_s: float) -> tuple[list[float], list[float]]:
    end_s = start_s + step.duration_s
    times = [start_s, start_s + step.ramp_up_s, end_s - step.ramp_down_s, end_s]
    target = step.target_mA(channel)
    return times, [0.0, target, target, 0.0]


def _gated(step: Step, start_s: float, times: list[float], mA: list[float]) -> Floats:
    """The ramp envelope with the pauses of an intermittent cycle cut to zero."""
    cycle = step.cycle()
    out: list[tuple[float, float]] = []
    t, end_s = start_s, start_s + step.duration_s
    while t < end_s:
        for segment in cycle:
            stop = min(t + segment.length_s, end_s)
            if segment.train is not None and stop > t:
                corners = [x for x in times if t < x < stop]  # ramp corners inside the train
                out += [(t, 0.0)]
                out += [(x, float(np.interp(x, times, mA))) for x in (t, *corners, stop)]
                out += [(stop, 0.0)]
            t = stop
            if t >= end_s:
                break
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def channel_envelope(profile: Profile, channel: int) -> tuple[Floats, Floats]:
    """The target envelope of one channel over the whole session.

    Args:
        profile: the profile.
        channel: the channel number (1-based).

    Returns:
        (times in s, peak current in mA), piecewise linear between the points.
    """
    points: list[Floats] = []
    start_s = 0.0
    for step in profile.steps:
        end_s = start_s + step.duration_s
        if channel not in step.channels:
            points.append(np.array([[start_s, 0.0], [end_s, 0.0]]))
        else:
            times, mA = _ramp_points(step, channel, start_s)
            if any(s.train is None for s in step.cycle()):
                points.append(_gated(step, start_s, times, mA))
            else:
                points.append(np.column_stack((times, mA)))
        start_s = end_s
    joined = np.concatenate(points)
    return joined[:, 0].copy(), joined[:, 1].copy()


@dataclass(frozen=True)
class PulseShapeTrace:
    """One pulse of one train of one step, as drawn in the zoom.

    Attributes:
        label: ``steps[0] 2 Hz, 600 µs`` and the shape.
        times_us: the corners of the pulse, in µs from its start.
        mA: the current at each corner.
    """

    label: str
    times_us: Floats
    mA: Floats


def pulse_shapes(profile: Profile) -> list[PulseShapeTrace]:
    """One pulse per distinct train of every step, at the step's target intensity."""
    traces: list[PulseShapeTrace] = []
    seen: set[tuple[float, ...]] = set()
    for i, step in enumerate(profile.steps):
        r, gap, current = step.asym_ratio, step.interphase_gap_us, step.intensity_mA
        for train in step.trains():
            key = (train.frequency_hz, train.phase_width_us, gap, float(r), current)
            if key in seen:
                continue
            seen.add(key)
            w = train.phase_width_us
            margin = 0.25 * w
            times = [-margin, 0, 0, w, w, w + gap, w + gap, w + gap + r * w, w + gap + r * w]
            times.append(w + gap + r * w + margin)
            mA = [0, 0, current, current, 0, 0, -current / r, -current / r, 0, 0]
            shape = "symmetric" if r == 1 else f"asymmetric 1:{r}"
            label = f"steps[{i}] {train.frequency_hz:g} Hz, {w:g} µs, {current:g} mA, {shape}"
            traces.append(
                PulseShapeTrace(label, np.array(times, dtype=float), np.array(mA, dtype=float))
            )
    return traces
