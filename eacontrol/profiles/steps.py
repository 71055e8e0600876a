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

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from eacontrol.profiles.fields import (
    MODEL_CONFIG,
    ChannelNumber,
    DwellSeconds,
    Factor,
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
from eacontrol.profiles.titration import (
    THRESHOLD_SENSATION,
    IntensityMode,
    Relative,
    ThresholdKind,
    Titration,
)
from eacontrol.stimulation import PulseShape, Stimulation, StimulationMode

__all__ = [
    "ChannelKey",
    "ContinuousStep",
    "DenseDisperseStep",
    "IntermittentStep",
    "PulseTrain",
    "Segment",
    "Step",
]


def _channel_key(value: object) -> object:
    """A channel number as a table key: TOML and JSON keys are text (``{ 2 = 3.5 }``)."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


ChannelKey = Annotated[ChannelNumber, BeforeValidator(_channel_key)]
"""A channel number as the key of a per-channel table (``channel_intensity_mA``)."""

PerChannelMilliamps = dict[ChannelKey, Milliamps]


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
        "start_intensity_mA, and the practitioner raises each channel to the sensation; "
        "sham_zero: every channel runs at 0 mA; sham_ramp_off: ramps to intensity_mA, then to "
        "0 mA after sham_on_s; threshold: titrated to find each channel's sensory and motor "
        "thresholds; relative: threshold_factor x the relative_to threshold found earlier in "
        "the session, at most intensity_mA.",
    )
    start_intensity_mA: StartMilliamps | None = Field(
        None,
        description="titrate and threshold only: the level each channel ramps to at START, mA (0).",
    )
    sensation: Text | None = Field(
        None, description="titrate only: the sensation the practitioner raises each channel to."
    )
    relative_to: ThresholdKind | None = Field(
        None, description="relative only: the threshold the intensity is a multiple of."
    )
    threshold_factor: Factor | None = Field(
        None, description="relative only: the multiple of the threshold (0 < factor <= 4)."
    )
    sham_on_s: Seconds | None = Field(
        None,
        description="sham_ramp_off only: time from START at which every channel ramps down to "
        "0 mA and stays there, s.",
    )
    ceiling_mA: Milliamps | None = Field(
        None, description="Highest intensity the operator may set in this step, mA."
    )
    channel_intensity_mA: PerChannelMilliamps = Field(
        default_factory=dict,
        description="Per-channel target intensity, mA ({ 2 = 3.5 }): a channel listed gets its "
        "own target (titrated: its own guidance), the others intensity_mA.",
    )
    channel_ceiling_mA: PerChannelMilliamps = Field(
        default_factory=dict,
        description="Per-channel ceiling in this step, mA: wins over ceiling_mA for the "
        "channels listed.",
    )
    ramp_up_s: RampSeconds = Field(description="Ramp from zero to the target, s (2-5 s).")
    ramp_down_s: RampSeconds = Field(description="Ramp to zero at the end of the step, s.")
    duration_s: Seconds = Field(description="Step length including both ramps, s.")

    MODE: ClassVar[StimulationMode]

    @model_validator(mode="after")
    def _per_channel_keys(self) -> Self:
        for key in ("channel_intensity_mA", "channel_ceiling_mA"):
            foreign = sorted(set(getattr(self, key)) - set(self.channels))
            if foreign:
                raise ValueError(
                    f"{key} names channel(s) {foreign} that this step does not drive (its "
                    f"channels: {list(self.channels)})"
                )
        return self

    def target_mA(self, channel: int | None = None) -> float:
        """The target intensity of ``channel`` in this step (its own, else ``intensity_mA``);
        with None, the step's ``intensity_mA``."""
        if channel is None:
            return self.intensity_mA
        return self.channel_intensity_mA.get(channel, self.intensity_mA)

    def target_field(self, channel: int) -> str:
        """The key the channel's target comes from: ``channel_intensity_mA.2`` or
        ``intensity_mA``."""
        if channel in self.channel_intensity_mA:
            return f"channel_intensity_mA.{channel}"
        return "intensity_mA"

    @property
    def highest_target_mA(self) -> float:
        """The highest target of any channel of the step."""
        return max(self.target_mA(n) for n in self.channels)

    @model_validator(mode="after")
    def _sham_keys(self) -> Self:
        ramp_off = self.intensity == IntensityMode.SHAM_RAMP_OFF
        if self.sham_on_s is None:
            if ramp_off:
                raise ValueError(
                    'intensity = "sham_ramp_off" needs sham_on_s: when, after START, the '
                    "channels ramp down to 0 mA (e.g. 30)"
                )
            return self
        if not ramp_off:
            raise ValueError('sham_on_s belongs to intensity = "sham_ramp_off"')
        latest = self.duration_s - self.ramp_down_s
        if not self.ramp_up_s <= self.sham_on_s <= latest:
            raise ValueError(
                f"sham_on_s ({self.sham_on_s:g} s) must fall between the end of the ramp up "
                f"({self.ramp_up_s:g} s) and the start of the step's ramp-down ({latest:g} s)"
            )
        return self

    @model_validator(mode="after")
    def _relative_keys(self) -> Self:
        keys = ("relative_to", "threshold_factor")
        given = [k for k in keys if getattr(self, k) is not None]
        if self.intensity != IntensityMode.RELATIVE:
            if given:
                verb = "belongs" if len(given) == 1 else "belong"
                raise ValueError(f'{" and ".join(given)} {verb} to intensity = "relative"')
        elif len(given) < len(keys):
            raise ValueError(
                'intensity = "relative" needs relative_to ("sensory" or "motor") and '
                "threshold_factor (e.g. 1.5): the channel's intensity is that multiple of the "
                "threshold a threshold step found"
            )
        return self

    @model_validator(mode="after")
    def _titration_keys(self) -> Self:
        if self.sensation is not None and self.intensity != IntensityMode.TITRATE:
            raise ValueError('sensation belongs to intensity = "titrate"')
        if not self.intensity.titrated:
            if self.start_intensity_mA is not None:
                raise ValueError(
                    'start_intensity_mA belongs to intensity = "titrate" or "threshold"'
                )
            return self
        titrate = self.intensity == IntensityMode.TITRATE
        if titrate and (self.sensation is None or not self.sensation.strip()):
            raise ValueError(
                'intensity = "titrate" needs sensation: what the practitioner raises each channel '
                'to, e.g. "strong but comfortable tingling"'
            )
        start = self.start_intensity_mA or 0.0
        for channel in self.channels:
            target = self.target_mA(channel)
            if start > target:
                whose = (
                    f"channel {channel}'s target {self.target_field(channel)}"
                    if channel in self.channel_intensity_mA
                    else "the step's target intensity_mA"
                )
                raise ValueError(
                    f"start_intensity_mA ({start:g} mA) is above {whose} ({target:g} mA): "
                    "titration starts at or below the target"
                )
        return self

    def titration(self, channel: int | None = None) -> Titration | None:
        """The step's titration for ``channel`` (its own guidance target; None: the step's
        ``intensity_mA``); None for a step that is not titrated. A threshold step's sensation
        is the thresholds."""
        if not self.intensity.titrated:
            return None
        sensation = THRESHOLD_SENSATION if self.sensation is None else self.sensation.strip()
        start = self.start_intensity_mA or 0.0
        return Titration(start, self.target_mA(channel), sensation)

    def relative(self, channel: int | None = None) -> Relative | None:
        """A relative step's setting of ``channel`` (capped at its own target); None for any
        other step."""
        if self.relative_to is None or self.threshold_factor is None:
            return None
        return Relative(self.relative_to, self.threshold_factor, self.target_mA(channel))

    @abc.abstractmethod
    def trains(self) -> tuple[PulseTrain, ...]:
        """The pulse trains of this step: one, or two (half a, half b) for dense-disperse."""

    @abc.abstractmethod
    def cycle(self) -> tuple[Segment, ...]:
        """The repeating cycle of the step, in order."""

    def stimulation(self, channel: int | None = None) -> Stimulation:
        """What ``channel`` delivers in this step: the step's settings at the channel's own
        target (``target_mA``); with None, at the step's ``intensity_mA``.

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
            intensity_mA=self.target_mA(channel),
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
