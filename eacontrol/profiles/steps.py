"""Timeline steps: one model per stimulation mode, and the per-channel settings a step resolves to.

A step is a TOML ``[[steps]]`` table. ``mode`` selects the model (a pydantic discriminated
union), so a key that belongs to another mode (``dwell_a_s`` in a continuous step) is an unknown
key, refused like a misspelling.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, Field

from eacontrol.device.program import ChannelProgram, ModeName, ShapeName
from eacontrol.profiles.fields import (
    MODEL_CONFIG,
    ChannelNumber,
    DwellSeconds,
    GapMicroseconds,
    Hertz,
    Microseconds,
    Milliamps,
    PulseShape,
    RampSeconds,
    Ratio,
    Seconds,
    StimulationMode,
    Text,
)

__all__ = [
    "ChannelParams",
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


@dataclass(frozen=True)
class ChannelParams:
    """Everything the session runner programs into one channel for one step, in API units.

    Fields a mode does not use are None (half b and the dwells outside dense-disperse,
    ``on_s``/``off_s`` outside intermittent), as in ``eacontrol.device.program.ChannelProgram``; the
    device layer writes them as 0 on the wire (PROTOCOL.md §3.8). ``mode`` and ``shape`` member
    names match ``firmware_protocol.codes.Mode`` and ``Shape``. Wire conversion is the device
    layer's job (``firmware_protocol.units``), not this class's.

    Attributes:
        channel: channel number, 1-based as in the profile and on the device's front panel.
        mode: continuous, dense_disperse or intermittent.
        shape: symmetric or charge-balanced asymmetric biphasic.
        asym_ratio: recovery phase length / primary phase length (1 for symmetric).
        frequency_a_hz / phase_width_a_us: pulse rate and primary phase width of half a.
        frequency_b_hz / phase_width_b_us: the same for half b (dense-disperse only).
        dwell_a_s / dwell_b_s: time on each half (dense-disperse only).
        on_s / off_s: train and pause lengths (intermittent only).
        interphase_gap_us: gap between the two phases of a pulse.
        intensity_mA: target peak current, reached by the start ramp from zero.
        ceiling_mA: the profile's ceiling for this channel in this step (the device, site and
            patient layers may lower it further: ``LimitStack.ceiling_mA``).
        ramp_up_s / ramp_down_s: ramps from and to zero.
        duration_s: step length, ramps included.
    """

    channel: int
    mode: StimulationMode
    shape: PulseShape
    asym_ratio: int
    frequency_a_hz: float
    phase_width_a_us: float
    frequency_b_hz: float | None
    phase_width_b_us: float | None
    dwell_a_s: float | None
    dwell_b_s: float | None
    on_s: float | None
    off_s: float | None
    interphase_gap_us: float
    intensity_mA: float
    ceiling_mA: float
    ramp_up_s: float
    ramp_down_s: float
    duration_s: float

    def program(self) -> ChannelProgram:
        """Return the device-layer program for this channel and step.

        This is the one place where profile keys meet the Stimulator's (``frequency_a_hz`` →
        ``frequency_hz``, ``phase_width_a_us`` → ``phase_width_us``, ``interphase_gap_us`` →
        ``interphase_us``); a golden-field test checks every field down to the wire. The
        device's own shut-off (``max_run_s``) is the step length rounded up: a backstop behind
        the runner's planned ramp-down, which starts ``ramp_down_s`` before the step ends.
        """
        return ChannelProgram(
            frequency_hz=self.frequency_a_hz,
            phase_width_us=self.phase_width_a_us,
            intensity_mA=self.intensity_mA,
            mode=_MODE_NAMES[self.mode],
            frequency_b_hz=self.frequency_b_hz,
            phase_width_b_us=self.phase_width_b_us,
            dwell_a_s=self.dwell_a_s,
            dwell_b_s=self.dwell_b_s,
            on_s=self.on_s,
            off_s=self.off_s,
            interphase_us=self.interphase_gap_us,
            shape=_SHAPE_NAMES[self.shape],
            asym_ratio=self.asym_ratio,
            ramp_up_s=self.ramp_up_s,
            ramp_down_s=self.ramp_down_s,
            max_run_s=float(math.ceil(self.duration_s)),
        )


_MODE_NAMES: dict[StimulationMode, ModeName] = {
    StimulationMode.CONTINUOUS: "continuous",
    StimulationMode.DENSE_DISPERSE: "dense_disperse",
    StimulationMode.INTERMITTENT: "intermittent",
}
_SHAPE_NAMES: dict[PulseShape, ShapeName] = {
    PulseShape.SYMMETRIC_BIPHASIC: "symmetric",
    PulseShape.ASYMMETRIC_BIPHASIC: "asymmetric",
}


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
    intensity_mA: Milliamps = Field(description="Target peak current of the primary phase, mA.")
    ceiling_mA: Milliamps | None = Field(
        None, description="Highest intensity the operator may set in this step, mA."
    )
    ramp_up_s: RampSeconds = Field(description="Ramp from zero to the target, s (2-5 s).")
    ramp_down_s: RampSeconds = Field(description="Ramp to zero at the end of the step, s.")
    duration_s: Seconds = Field(description="Step length including both ramps, s.")

    MODE: ClassVar[StimulationMode]

    @abc.abstractmethod
    def trains(self) -> tuple[PulseTrain, ...]:
        """The pulse trains of this step: one, or two (half a, half b) for dense-disperse."""

    @abc.abstractmethod
    def cycle(self) -> tuple[Segment, ...]:
        """The repeating cycle of the step, in order."""

    def params(self, channel: int, ceiling_mA: float) -> ChannelParams:
        """Resolve this step for one channel.

        Args:
            channel: the channel number (1-based).
            ceiling_mA: the profile's ceiling for this channel and step.

        Returns:
            The channel's settings for this step.
        """
        trains = self.trains()
        a = trains[0]
        b = trains[1] if len(trains) > 1 else None
        dwells = {s.field: s.length_s for s in self.cycle()}
        return ChannelParams(
            channel=channel,
            mode=self.MODE,
            shape=self.shape,
            asym_ratio=self.asym_ratio,
            frequency_a_hz=a.frequency_hz,
            phase_width_a_us=a.phase_width_us,
            frequency_b_hz=None if b is None else b.frequency_hz,
            phase_width_b_us=None if b is None else b.phase_width_us,
            dwell_a_s=dwells.get("dwell_a_s"),
            dwell_b_s=dwells.get("dwell_b_s"),
            on_s=dwells.get("on_s"),
            off_s=dwells.get("off_s"),
            interphase_gap_us=self.interphase_gap_us,
            intensity_mA=self.intensity_mA,
            ceiling_mA=ceiling_mA,
            ramp_up_s=self.ramp_up_s,
            ramp_down_s=self.ramp_down_s,
            duration_s=self.duration_s,
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
