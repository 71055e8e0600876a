"""Timeline steps: one model per stimulation mode, and the per-channel settings a step resolves to.

A step is a TOML ``[[steps]]`` table. ``mode`` selects the model (a pydantic discriminated
union), so a key that belongs to another mode (``dwell_a_s`` in a continuous step) is an unknown
key, refused like a misspelling.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, Field, model_validator

from eacontrol.profiles.fields import (
    MODEL_CONFIG,
    ChannelNumber,
    DwellSeconds,
    GapMicroseconds,
    Hertz,
    Microseconds,
    Milliamps,
    RampSeconds,
    Ratio,
    Seconds,
    StartMilliamps,
    Text,
)
from eacontrol.profiles.titration import IntensityMode, Titration
from eacontrol.stimulation import PulseShape, Stimulation, StimulationMode

__all__ = [
    "ContinuousStep",
    "DenseDisperseStep",
    "IntermittentStep",
    "PulseTrain",
    "Segment",
    "Step",
]


@dataclass(frozen=True)
class PulseTrain:
    """One pulse rate of a step (dense-disperse steps have two: half a and half b).

    Attributes:
        frequency_hz: pulse rate.
        phase_width_us: width of the primary phase.
        frequency_field: the step key the rate came from, for findings.
        phase_width_field: the step key the phase width came from.
    """

    frequency_hz: float
    phase_width_us: float
    frequency_field: str
    phase_width_field: str


@dataclass(frozen=True)
class Segment:
    """One part of a step's repeating cycle.

    Attributes:
        length_s: how long the part lasts.
        train: index into ``Step.trains()`` delivered during it, or None for a pause.
        field: the step key the length came from.
    """

    length_s: float
    train: int | None
    field: str


class _StepBase(BaseModel):
    """Keys common to every mode."""

    model_config = MODEL_CONFIG

    label: Text = Field("", description="A name for the step.")
    channels: tuple[ChannelNumber, ...] = Field(
        min_length=1, description="Channel numbers this step drives (1-based)."
    )
    shape: PulseShape = Field(PulseShape.SYMMETRIC_BIPHASIC, description="Pulse shape.")
    asym_ratio: Ratio = Field(
        1,
        description="Recovery/primary phase length for asymmetric_biphasic (>= 2); 1 otherwise.",
    )
    interphase_gap_us: GapMicroseconds = Field(0.0, description="Gap between the two phases, µs.")
    intensity_mA: Milliamps = Field(
        description="Target peak current of the primary phase, mA (guidance when titrated)."
    )
    intensity: IntensityMode = Field(
        IntensityMode.FIXED,
        description="fixed: every channel ramps to intensity_mA at START; titrate: to "
        "start_intensity_mA, and the practitioner raises each channel to the sensation.",
    )
    start_intensity_mA: StartMilliamps | None = Field(
        None, description="titrate only: the level each channel ramps to at START, mA (0)."
    )
    sensation: Text | None = Field(
        None, description="titrate only: the sensation the practitioner raises each channel to."
    )
    ceiling_mA: Milliamps | None = Field(
        None, description="Highest intensity the operator may set in this step, mA."
    )
    ramp_up_s: RampSeconds = Field(description="Ramp from zero to the target, s (2-5 s).")
    ramp_down_s: RampSeconds = Field(description="Ramp to zero at the end of the step, s.")
    duration_s: Seconds = Field(description="Step length including both ramps, s.")

    MODE: ClassVar[StimulationMode]

    @model_validator(mode="after")
    def _titration_keys(self) -> Self:
        if self.intensity == IntensityMode.FIXED:
            given = [k for k in ("start_intensity_mA", "sensation") if getattr(self, k) is not None]
            if given:
                verb = "belongs" if len(given) == 1 else "belong"
                raise ValueError(f'{" and ".join(given)} {verb} to intensity = "titrate"')
            return self
        if self.sensation is None or not self.sensation.strip():
            raise ValueError(
                'intensity = "titrate" needs sensation: what the practitioner raises each channel '
                'to, e.g. "strong but comfortable tingling"'
            )
        start = self.start_intensity_mA or 0.0
        if start > self.intensity_mA:
            raise ValueError(
                f"start_intensity_mA ({start:g} mA) is above the step's target intensity_mA "
                f"({self.intensity_mA:g} mA): titration starts at or below the target"
            )
        return self

    def titration(self) -> Titration | None:
        """The step's titration (None for a fixed step)."""
        if self.intensity == IntensityMode.FIXED:
            return None
        assert self.sensation is not None  # checked by the model
        return Titration(self.start_intensity_mA or 0.0, self.intensity_mA, self.sensation.strip())

    @abc.abstractmethod
    def trains(self) -> tuple[PulseTrain, ...]:
        """The pulse trains of this step: one, or two (half a, half b) for dense-disperse."""

    @abc.abstractmethod
    def cycle(self) -> tuple[Segment, ...]:
        """The repeating cycle of the step, in order."""

    def stimulation(self) -> Stimulation:
        """What every channel of this step delivers (the same on each: one intensity a step).

        This is the one place where profile keys meet the API's: a dense-disperse step's
        ``frequency_a_hz``/``phase_width_a_us`` are half a's ``frequency_hz``/``phase_width_us``;
        a golden-field test checks every field down to the wire. The device's own shut-off
        (``max_run_s``) is the step length rounded up: a backstop behind the runner's planned
        ramp-down, which starts ``ramp_down_s`` before the step ends.
        """
        trains = self.trains()
        a = trains[0]
        b = trains[1] if len(trains) > 1 else None
        dwells = {s.field: s.length_s for s in self.cycle()}
        return Stimulation(
            frequency_hz=a.frequency_hz,
            phase_width_us=a.phase_width_us,
            intensity_mA=self.intensity_mA,
            mode=self.MODE,
            frequency_b_hz=None if b is None else b.frequency_hz,
            phase_width_b_us=None if b is None else b.phase_width_us,
            dwell_a_s=dwells.get("dwell_a_s"),
            dwell_b_s=dwells.get("dwell_b_s"),
            on_s=dwells.get("on_s"),
            off_s=dwells.get("off_s"),
            interphase_gap_us=self.interphase_gap_us,
            shape=self.shape,
            asym_ratio=self.asym_ratio,
            ramp_up_s=self.ramp_up_s,
            ramp_down_s=self.ramp_down_s,
            max_run_s=float(math.ceil(self.duration_s)),
        )


class _SingleTrainStep(_StepBase):
    """Keys of the modes with one pulse rate (continuous and intermittent)."""

    frequency_hz: Hertz = Field(description="Pulse rate, Hz.")
    phase_width_us: Microseconds = Field(description="Primary phase width, µs.")

    def trains(self) -> tuple[PulseTrain, ...]:
        """The step's single pulse train."""
        return (
            PulseTrain(self.frequency_hz, self.phase_width_us, "frequency_hz", "phase_width_us"),
        )


class ContinuousStep(_SingleTrainStep):
    """One pulse rate throughout the step."""

    MODE = StimulationMode.CONTINUOUS
    mode: Literal["continuous"]

    def cycle(self) -> tuple[Segment, ...]:
        """A single segment: the whole step."""
        return (Segment(self.duration_s, 0, "duration_s"),)


class DenseDisperseStep(_StepBase):
    """Half a for ``dwell_a_s``, then half b for ``dwell_b_s``, repeated (Han's 2/100 Hz)."""

    MODE = StimulationMode.DENSE_DISPERSE
    mode: Literal["dense_disperse"]
    frequency_a_hz: Hertz = Field(description="Pulse rate of half a, Hz.")
    phase_width_a_us: Microseconds = Field(description="Primary phase width of half a, µs.")
    frequency_b_hz: Hertz = Field(description="Pulse rate of half b, Hz.")
    phase_width_b_us: Microseconds = Field(description="Primary phase width of half b, µs.")
    dwell_a_s: DwellSeconds = Field(description="Time on half a before switching, s.")
    dwell_b_s: DwellSeconds = Field(description="Time on half b before switching, s.")

    def trains(self) -> tuple[PulseTrain, ...]:
        """Half a and half b."""
        return (
            PulseTrain(
                self.frequency_a_hz, self.phase_width_a_us, "frequency_a_hz", "phase_width_a_us"
            ),
            PulseTrain(
                self.frequency_b_hz, self.phase_width_b_us, "frequency_b_hz", "phase_width_b_us"
            ),
        )

    def cycle(self) -> tuple[Segment, ...]:
        """Dwell on half a, then on half b."""
        return (Segment(self.dwell_a_s, 0, "dwell_a_s"), Segment(self.dwell_b_s, 1, "dwell_b_s"))


class IntermittentStep(_SingleTrainStep):
    """Trains of ``on_s`` at ``frequency_hz`` separated by pauses of ``off_s``."""

    MODE = StimulationMode.INTERMITTENT
    mode: Literal["intermittent"]
    on_s: DwellSeconds = Field(description="Train length, s.")
    off_s: DwellSeconds = Field(description="Pause length, s.")

    def cycle(self) -> tuple[Segment, ...]:
        """A train, then a pause."""
        return (Segment(self.on_s, 0, "on_s"), Segment(self.off_s, None, "off_s"))


Step = Annotated[ContinuousStep | DenseDisperseStep | IntermittentStep, Field(discriminator="mode")]
"""A timeline step; ``mode`` selects the model."""
