"""The profile: channels with their needle pairs, session limits and the timeline of steps.

Every model is frozen and refuses unknown keys (``extra="forbid"``). A :class:`Profile` built in
Python is checked for structure on construction (channels defined once, steps only on defined
channels, shapes and ratios agreeing, ramps inside the step, pulses inside their period) and
raises ``pydantic.ValidationError`` listing every problem. The loader defers those checks and
reports them as findings with file, field path and line instead (validation context
``{"defer_structure": True}``). Limits are not applied here: that is the checker's job
(:func:`eacontrol.profiles.check_profile`), because every limit has a layer and a source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence, Set
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from eacontrol.anatomy.acupoints import NeedleSite, parse_site
from eacontrol.errors import Finding, InvalidNeedleSite, Layer, Severity, UnknownAcupoint
from eacontrol.profiles.fields import MODEL_CONFIG, ChannelNumber, Milliamps, Seconds, Text
from eacontrol.profiles.steps import Step
from eacontrol.safety.limits import DEFAULT_PROFILE_CEILING_mA, DEFAULT_SESSION_s
from eacontrol.stimulation import PulseShape, Stimulation

__all__ = [
    "SCHEMA_SOURCE",
    "SCHEMA_VERSION",
    "Channel",
    "Needle",
    "Profile",
    "SessionLimits",
    "SiteText",
    "channel_structure",
    "resolve_ceiling",
    "step_structure",
    "structure_findings",
]

SCHEMA_VERSION = 1
"""The profile format version this eacontrol reads and writes."""

SCHEMA_SOURCE = f"eacontrol profile schema v{SCHEMA_VERSION} (profiles/README.md)"
"""The authority named by findings about the file's structure."""


def _site(value: object) -> NeedleSite:
    if isinstance(value, NeedleSite):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "needle_site_type", "expected a needle site as text, such as 'BL23-L' or 'GV20'"
        )
    try:
        return parse_site(value)
    except UnknownAcupoint as err:
        raise PydanticCustomError("unknown_acupoint", "{detail}", {"detail": str(err)}) from err
    except InvalidNeedleSite as err:
        raise PydanticCustomError("invalid_needle_site", "{detail}", {"detail": str(err)}) from err


SiteText = Annotated[
    NeedleSite,
    PlainValidator(_site),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "WHO 2008 code, with -L or -R unless a midline point (BL23-L, GV20)",
            "pattern": r"^[A-Za-z][A-Za-z0-9 ._-]*?(-[LRlr])?$",
        }
    ),
]
"""A needle site written ``CODE-L``, ``CODE-R`` or ``CODE`` (midline), parsed on validation."""


class Needle(BaseModel):
    """Needle geometry, for charge and current density (area model: ``derived.needle_area_cm2``)."""

    model_config = MODEL_CONFIG

    diameter_mm: float = Field(
        strict=True, ge=0.01, le=5, description="Needle shaft diameter, mm (0.16-0.35 typical)."
    )
    inserted_length_mm: float = Field(
        strict=True, ge=0.1, le=300, description="Uninsulated length in tissue, mm."
    )


class Channel(BaseModel):
    """One output channel and the two needles it connects."""

    model_config = MODEL_CONFIG

    channel: ChannelNumber = Field(description="Channel number, 1-based as on the device.")
    electrodes: tuple[SiteText, SiteText] = Field(description="The two needle sites.")
    ceiling_mA: Milliamps | None = Field(None, description="Ceiling for this channel, mA.")
    needle: Needle | None = Field(None, description="Needle geometry for density figures.")


class SessionLimits(BaseModel):
    """The profile's own session-level limits (the profile layer)."""

    model_config = MODEL_CONFIG

    max_duration_s: Seconds = Field(
        DEFAULT_SESSION_s, description="Longest total of the steps, s (default 30 min)."
    )
    ceiling_mA: Milliamps = Field(
        DEFAULT_PROFILE_CEILING_mA, description="Default per-channel ceiling, mA (default 10)."
    )


class Profile(BaseModel):
    """A stimulation profile: the prescription a session runs.

    Read what a channel delivers in a step with :meth:`stimulation`.
    """

    model_config = MODEL_CONFIG

    schema_version: Literal[1] = Field(description="Format version.")
    name: Text = Field(min_length=1, description="Human-readable name.")
    description: Text = Field("", description="What the profile does.")
    indication: Text = Field("", description="What it is for.")
    references: tuple[Text, ...] = Field((), description="Sources of the prescription.")
    session: SessionLimits = Field(SessionLimits(), description="Session-level limits.")
    channels: tuple[Channel, ...] = Field(min_length=1, description="Channels and needle pairs.")
    steps: tuple[Step, ...] = Field(min_length=1, description="The timeline, in order.")

    @model_validator(mode="after")
    def _structure(self, info: ValidationInfo) -> Self:
        if info.context and info.context.get("defer_structure"):
            return self
        problems = structure_findings(self)
        if problems:
            raise ValueError("; ".join(str(p) for p in problems))
        return self

    @property
    def total_duration_s(self) -> float:
        """The sum of the steps' durations."""
        return sum(step.duration_s for step in self.steps)

    def channel(self, number: int) -> Channel:
        """The channel with this number.

        Raises:
            KeyError: no such channel in the profile.
        """
        for channel in self.channels:
            if channel.channel == number:
                return channel
        raise KeyError(f"channel {number} is not defined in this profile")

    def ceiling(self, step: int, channel: int) -> tuple[float, str]:
        """The profile's ceiling for a channel in a step, and the field it comes from.

        The step's ``channel_ceiling_mA`` for the channel wins, then the step's ``ceiling_mA``,
        then the channel's, then ``session.ceiling_mA``.

        Returns:
            (ceiling in mA, field path such as ``steps[0].ceiling_mA``).
        """
        return resolve_ceiling(
            self.steps[step], step, channel, enumerate(self.channels), self.session
        )

    def stimulation(self, step: int, channel: int) -> Stimulation:
        """What one channel delivers in one step, in API units (its ceiling: :meth:`ceiling`).

        Args:
            step: the step's index in ``steps`` (0-based).
            channel: the channel number (1-based, as in the profile).

        Raises:
            KeyError: the step does not drive that channel.
        """
        if channel not in self.steps[step].channels:
            raise KeyError(f"step {step} does not drive channel {channel}")
        return self.steps[step].stimulation(channel)


def resolve_ceiling(
    step: Step,
    i: int,
    channel: int,
    channels: Iterable[tuple[int, Channel]],
    session: SessionLimits,
) -> tuple[float, str]:
    """The profile's ceiling for a channel in a step: the step's for that channel, else the
    step's, else the channel's, else the session's; with the field path it comes from.

    Args:
        step: the step, at index ``i``.
        i: the step's index.
        channel: the channel number.
        channels: (index, channel) of the channels to look in.
        session: the session table.
    """
    if channel in step.channel_ceiling_mA:
        return step.channel_ceiling_mA[channel], f"steps[{i}].channel_ceiling_mA.{channel}"
    if step.ceiling_mA is not None:
        return step.ceiling_mA, f"steps[{i}].ceiling_mA"
    for k, defined in channels:
        if defined.channel == channel and defined.ceiling_mA is not None:
            return defined.ceiling_mA, f"channels[{k}].ceiling_mA"
    return session.ceiling_mA, "session.ceiling_mA"


def _refuse(path: str, message: str, value: object = None, allowed: str | None = None) -> Finding:
    return Finding(
        Severity.REFUSE,
        path,
        message,
        Layer.SCHEMA,
        value=value,
        allowed=allowed,
        source=SCHEMA_SOURCE,
    )


def structure_findings(profile: Profile) -> list[Finding]:
    """Every structural problem of a profile, with its field path (layer ``schema``).

    Rules: channel numbers unique; a channel's two needles are different sites; each step drives
    defined channels, each once; ``asym_ratio`` is 1 for symmetric and ≥ 2 for asymmetric pulses
    (PROTOCOL.md §3.9); both ramps fit in the step; a pulse (both phases and the gap) fits in its
    period 1/f.
    """
    found = channel_structure(list(enumerate(profile.channels)))
    defined = {ch.channel for ch in profile.channels}
    for i, step in enumerate(profile.steps):
        found += step_structure(step, i, defined)
    return found


def channel_structure(channels: Sequence[tuple[int, Channel]]) -> list[Finding]:
    """Structural rules on channels given as (index, channel): numbers unique, two sites."""
    found: list[Finding] = []
    counts = Counter(ch.channel for _, ch in channels)
    for i, channel in channels:
        if counts[channel.channel] > 1:
            found.append(
                _refuse(f"channels[{i}].channel", "channel defined more than once", channel.channel)
            )
        first, second = channel.electrodes
        if first == second:
            found.append(
                _refuse(
                    f"channels[{i}].electrodes[1]",
                    "both electrodes are the same needle site",
                    str(second),
                    "two different sites",
                )
            )
    return found


def step_structure(step: Step, i: int, defined: Set[int]) -> list[Finding]:
    """Structural rules on step ``i``, whose channels must be among ``defined``."""
    found: list[Finding] = []
    seen: set[int] = set()
    for j, number in enumerate(step.channels):
        path = f"steps[{i}].channels[{j}]"
        if number not in defined:
            allowed = ", ".join(str(n) for n in sorted(defined))
            found.append(_refuse(path, "channel not defined in [[channels]]", number, allowed))
        if number in seen:
            found.append(_refuse(path, "channel listed twice in this step", number))
        seen.add(number)
    if step.shape is PulseShape.SYMMETRIC_BIPHASIC and step.asym_ratio != 1:
        found.append(
            _refuse(
                f"steps[{i}].asym_ratio",
                "a ratio needs shape = 'asymmetric_biphasic'",
                step.asym_ratio,
                "1 for symmetric_biphasic",
            )
        )
    if step.shape is PulseShape.ASYMMETRIC_BIPHASIC and step.asym_ratio < 2:
        found.append(
            _refuse(
                f"steps[{i}].asym_ratio",
                "an asymmetric pulse needs a recovery phase at least twice as long",
                step.asym_ratio,
                "≥ 2 for asymmetric_biphasic",
            )
        )
    ramps_s = step.ramp_up_s + step.ramp_down_s
    if ramps_s > step.duration_s:
        found.append(
            _refuse(
                f"steps[{i}].duration_s",
                f"shorter than its ramps ({ramps_s:g} s)",
                step.duration_s,
                f"≥ ramp_up_s + ramp_down_s = {ramps_s:g} s",
            )
        )
    for train in step.trains():
        pulse_us = train.phase_width_us * (1 + step.asym_ratio) + step.interphase_gap_us
        period_us = 1e6 / train.frequency_hz
        if pulse_us > period_us:
            found.append(
                _refuse(
                    f"steps[{i}].{train.phase_width_field}",
                    f"a pulse of {pulse_us:g} µs (both phases and the gap) does not fit in the "
                    f"{period_us:g} µs period of {train.frequency_hz:g} Hz",
                    train.phase_width_us,
                    f"pulse ≤ 1/{train.frequency_field}",
                )
            )
    return found
