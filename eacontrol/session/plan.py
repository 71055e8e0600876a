"""The session timeline as data: what runs on which channel, when, up to which ceiling.

A :class:`SessionPlan` is built from a profile before anything is sent. Each step is one run
of its channels: it is programmed, STARTed from zero, ramps up over ``ramp_up_s``, holds, and
ramps down to zero over ``ramp_down_s`` so that it ends at ``duration_s`` (the profile format
counts both ramps in the step). Every step boundary therefore re-ramps from zero, which is
what the standard asks for a mode or frequency change (docs/architecture.md: "mode change re-ramps
from
0"); it also matches the device, which resets a channel's delivered totals at SET_PROGRAM and
shuts a run off after its program's ``max_run_s`` (the step length).

Times here are nominal session times (no pauses, no link latency); the runner keeps each step's
own duration from its actual START. ``eactl plan`` prints this plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eacontrol.errors import Layer
from eacontrol.profiles import Profile
from eacontrol.profiles.titration import IntensityMode, Relative, Titration
from eacontrol.safety import LimitStack, Quantity
from eacontrol.stimulation import Stimulation, StimulationMode

__all__ = ["Ceiling", "PlannedChannel", "PlannedStep", "SessionPlan", "effective_ceiling"]


@dataclass(frozen=True)
class Ceiling:
    """The highest intensity the operator may set on a channel in a step, and who says so.

    Attributes:
        value_mA: the effective ceiling (the lowest of every layer's).
        layer: the binding layer.
        source: the binding layer's source (a profile field path for the profile layer).
    """

    value_mA: float
    layer: Layer
    source: str

    def __str__(self) -> str:
        return f"{self.value_mA:g} mA (layer {self.layer}, source {self.source})"


def effective_ceiling(profile: Profile, step: int, channel: int, stack: LimitStack) -> Ceiling:
    """The operator's ceiling for a channel in a step: the profile's, capped by every layer.

    On a tie the more fundamental layer (standard, device, site, patient) is named, as
    ``LimitStack`` does.

    Args:
        profile: the profile.
        step: the step's index.
        channel: the channel number (1-based).
        stack: the limit layers in force.
    """
    value, field = profile.ceiling(step, channel)
    bound = stack.upper(Quantity.INTENSITY, channel)
    if bound is not None and bound.value <= value:
        return Ceiling(bound.value, bound.layer, bound.source)
    return Ceiling(value, Layer.PROFILE, f"the profile ({field})")


@dataclass(frozen=True)
class PlannedChannel:
    """One channel of one step.

    Attributes:
        channel: the channel number (1-based).
        stimulation: what the Stimulator is given (``Step.stimulation()``, the one mapping).
        ceiling: the effective ceiling for live changes.
        titration: for a titrated step, the start level, the guidance target and the sensation
            (``stimulation.intensity_mA`` is then the start level: what START ramps to).
        setting: how the step sets the channel's intensity (``fixed``, ``titrate``,
            ``sham_zero``, ``sham_ramp_off``).
        sham_off_s: a ``sham_ramp_off`` step's time from START at which the channel ramps down
            to 0 mA for the rest of the step; None otherwise.
        relative: a ``relative`` step's threshold, factor and cap (``stimulation.intensity_mA``
            is then 0 until the session resolves it from the threshold found: ``thresholds.py``).
    """

    channel: int
    stimulation: Stimulation
    ceiling: Ceiling
    titration: Titration | None = None
    setting: IntensityMode = IntensityMode.FIXED
    sham_off_s: float | None = None
    relative: Relative | None = None

    @property
    def start_mA(self) -> float:
        """The level START ramps this channel to (the prescription, or the titration start)."""
        return self.stimulation.intensity_mA

    def start_text(self) -> str:
        """What START does to the channel, in words for the record and the practitioner."""
        how = "prescribed"
        if self.relative is not None:
            how = f"{self.relative.factor:g} × its {self.relative.of} threshold"
        elif self.titration is not None:
            how = (
                f"titration start; raise to {self.titration.sensation}, target "
                f"{self.titration.target_mA:g} mA as guidance"
            )
        return (
            f"channel {self.channel}: ramp from 0 to {self.start_mA:g} mA over "
            f"{self.stimulation.ramp_up_s:g} s ({how}; ceiling {self.ceiling})"
        )


@dataclass(frozen=True)
class PlannedStep:
    """One step of the timeline.

    Attributes:
        index: the step's index in the profile (from 0).
        label: the step's label.
        mode: ``continuous``, ``dense_disperse`` or ``intermittent``.
        channels: the channels it drives, in the step's order.
        start_s: nominal session time at which it starts.
        duration_s: its length, both ramps included.
        ramp_up_s: the start ramp from zero.
        ramp_down_s: the final ramp to zero.
    """

    index: int
    label: str
    mode: StimulationMode
    channels: tuple[PlannedChannel, ...]
    start_s: float
    duration_s: float
    ramp_up_s: float
    ramp_down_s: float

    @property
    def end_s(self) -> float:
        """Nominal session time at which it ends (outputs at zero)."""
        return self.start_s + self.duration_s

    @property
    def hold_s(self) -> float:
        """Time from START to the start of the final ramp-down."""
        return self.duration_s - self.ramp_down_s

    @property
    def numbers(self) -> tuple[int, ...]:
        """The channel numbers it drives."""
        return tuple(c.channel for c in self.channels)

    def channel(self, number: int) -> PlannedChannel:
        """The planned channel with this number.

        Raises:
            KeyError: the step does not drive it.
        """
        for planned in self.channels:
            if planned.channel == number:
                return planned
        raise KeyError(f"step {self.index + 1} does not drive channel {number}")

    def parameters(self, crcs: Mapping[int, int]) -> dict[str, Any]:
        """What the step record keeps of the programs sent: per channel, every program field,
        the program CRC the device acknowledged (None for a channel not programmed: held by a
        fault), the effective ceiling and how its intensity is set (JSON-ready)."""
        return {
            "channels": {
                str(c.channel): dataclasses.asdict(c.stimulation)
                | {"program_crc": _crc(crcs.get(c.channel)), "ceiling_mA": c.ceiling.value_mA}
                | _intensity_fields(c)
                for c in self.channels
            }
        }

    @property
    def name(self) -> str:
        """The label, else ``step N`` (1-based, as the operator counts)."""
        return self.label or f"step {self.index + 1}"


def _crc(crc: int | None) -> str | None:
    """A program CRC as recorded (None: not programmed, the channel held by a fault)."""
    return None if crc is None else f"0x{crc:08X}"


def _intensity_fields(planned: PlannedChannel) -> dict[str, Any]:
    titration = planned.titration
    fields: dict[str, Any] = {"intensity": planned.setting.value}
    if planned.sham_off_s is not None:
        fields["sham_on_s"] = planned.sham_off_s
    if titration is not None:
        fields |= {
            "start_intensity_mA": titration.start_mA,
            "guidance_target_mA": titration.target_mA,
            "sensation": titration.sensation,
        }
    if planned.relative is not None:
        fields |= {
            "relative_to": planned.relative.of.value,
            "threshold_factor": planned.relative.factor,
            "cap_mA": planned.relative.cap_mA,
        }
    return fields


def _planned(profile: Profile, step: int, channel: int, stack: LimitStack) -> PlannedChannel:
    """One channel of one step: a titrated channel's program ramps to the titration's start
    level, not to the profile's target (the practitioner raises it from there); a sham
    channel's to 0 mA (``sham_zero``) or to its target (``sham_ramp_off``), and the operator
    cannot set it above that (its ceiling)."""
    stimulation = profile.stimulation(step, channel)
    model = profile.steps[step]
    titration = model.titration(channel)
    if titration is not None:
        stimulation = dataclasses.replace(stimulation, intensity_mA=titration.start_mA)
    relative = model.relative(channel)
    if model.intensity in (IntensityMode.SHAM_ZERO, IntensityMode.RELATIVE):
        stimulation = dataclasses.replace(stimulation, intensity_mA=0.0)
    ceiling = effective_ceiling(profile, step, channel, stack)
    if model.intensity.sham and stimulation.intensity_mA < ceiling.value_mA:
        source = f"the profile (steps[{step}].intensity = {model.intensity.value!r})"
        ceiling = Ceiling(stimulation.intensity_mA, Layer.PROFILE, source)
    return PlannedChannel(
        channel, stimulation, ceiling, titration, model.intensity, model.sham_on_s, relative
    )


@dataclass(frozen=True)
class SessionPlan:
    """The whole timeline.

    Attributes:
        profile_name: the profile's name.
        steps: the steps in order.
        channels: every channel number the profile defines.
    """

    profile_name: str
    steps: tuple[PlannedStep, ...]
    channels: tuple[int, ...]

    @classmethod
    def build(cls, profile: Profile, stack: LimitStack | None = None) -> SessionPlan:
        """Lay out a profile's timeline.

        Args:
            profile: the profile (already checked, or checked next by the caller).
            stack: the limit layers for the ceilings; the standard layer alone when None.
        """
        stack = stack or LimitStack.build()
        steps: list[PlannedStep] = []
        start_s = 0.0
        for i, step in enumerate(profile.steps):
            planned = tuple(_planned(profile, i, ch, stack) for ch in step.channels)
            steps.append(
                PlannedStep(
                    index=i,
                    label=step.label,
                    mode=planned[0].stimulation.mode,
                    channels=planned,
                    start_s=start_s,
                    duration_s=step.duration_s,
                    ramp_up_s=step.ramp_up_s,
                    ramp_down_s=step.ramp_down_s,
                )
            )
            start_s += step.duration_s
        numbers = tuple(sorted(ch.channel for ch in profile.channels))
        return cls(profile.name, tuple(steps), numbers)

    @property
    def total_s(self) -> float:
        """The nominal session length: the sum of the steps."""
        return sum(step.duration_s for step in self.steps)

    def step_at(self, t_s: float) -> PlannedStep | None:
        """The step running at nominal session time ``t_s``, or None outside the timeline."""
        for step in self.steps:
            if step.start_s <= t_s < step.end_s:
                return step
        return None
