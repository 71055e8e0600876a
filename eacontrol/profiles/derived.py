"""Dose per step, channel and needle of a profile: the formulas of ``eacontrol.safety.dose``
applied to each pulse train, with the needle geometry the profile gives."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from eacontrol.profiles.models import Needle, Profile
from eacontrol.profiles.steps import Step
from eacontrol.safety.dose import (
    average_current_mA,
    charge_density_uC_per_cm2,
    current_density_mA_per_cm2,
    needle_area_cm2,
    phase_charge_uC,
    power_density_W_per_cm2,
    pulse_count,
    pulse_duty,
    pulse_energy_uJ,
    rms_current_mA,
    segment_times_s,
    shannon_k,
)

__all__ = [
    "NeedleDose",
    "SessionDose",
    "StepDose",
    "TrainDose",
    "needle_dose",
    "profile_dose",
    "step_dose",
]

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TrainDose:
    """Figures for one pulse train of a step (one rate: a step has one, dense-disperse two)."""

    frequency_hz: float
    phase_width_us: float
    time_s: float
    pulses: int
    phase_charge_uC: float
    recovery_charge_uC: float
    rms_mA: float
    average_mA: float
    pulse_energy_uJ: float
    pulse_duty: float


@dataclass(frozen=True)
class NeedleDose:
    """Density figures from needle geometry (worst train of the step)."""

    area_cm2: float
    charge_density_uC_per_cm2: float
    shannon_k: float
    current_density_mA_per_cm2: float
    power_density_W_per_cm2: float


@dataclass(frozen=True)
class StepDose:
    """Everything derived for one channel in one step.

    Attributes:
        step / channel: where (step index, channel number).
        intensity_mA: the intensity the figures were computed at (the target unless asked).
        trains: per pulse rate.
        pulses: pulses in the step (PROTOCOL.md §8 timing; ramps deliver pulses too).
        duty_cycle: fraction of the step with a train running (intermittent: about on/(on+off)).
        phase_charge_uC: the largest primary-phase charge.
        net_charge_uC: primary minus recovery charge per pulse (zero by construction).
        rms_mA: the largest rms current during a train (what IEC 60601-2-10 limits).
        mean_rms_mA: rms over the whole step, pauses included.
        time_per_frequency_s: seconds at each pulse rate.
        needle: density figures, if the channel has needle geometry.
    """

    step: int
    channel: int
    intensity_mA: float
    trains: tuple[TrainDose, ...]
    pulses: int
    duty_cycle: float
    phase_charge_uC: float
    net_charge_uC: float
    rms_mA: float
    mean_rms_mA: float
    time_per_frequency_s: Mapping[float, float]
    needle: NeedleDose | None


def step_dose(
    step: Step,
    *,
    index: int = 0,
    channel: int | None = None,
    intensity_mA: float | None = None,
    needle: Needle | None = None,
) -> StepDose:
    """Derive the dose of one step on one channel.

    Args:
        step: the step.
        index: the step's index in its profile (reported back).
        channel: the channel number (default: the step's first).
        intensity_mA: compute at this intensity instead of the target (e.g. the ceiling).
        needle: the channel's needle geometry, for densities.
    """
    current = step.target_mA(channel) if intensity_mA is None else intensity_mA
    ratio = step.asym_ratio
    trains = step.trains()
    cycle = step.cycle()
    lengths = np.array([s.length_s for s in cycle])
    seg_times = segment_times_s(step.duration_s, lengths)
    cycles = math.floor(step.duration_s / float(lengths.sum()) + 1e-9)
    on_time = [0.0] * len(trains)
    pulses = [0] * len(trains)
    for k, seg in enumerate(cycle):
        if seg.train is None:
            continue
        rate = trains[seg.train].frequency_hz
        partial_s = float(seg_times[k]) - cycles * seg.length_s
        on_time[seg.train] += float(seg_times[k])
        pulses[seg.train] += cycles * pulse_count(seg.length_s, rate) + pulse_count(partial_s, rate)
    doses = tuple(
        _train_dose(current, ratio, t.frequency_hz, t.phase_width_us, on_time[i], pulses[i])
        for i, t in enumerate(trains)
    )
    rms = np.array([t.rms_mA for t in doses])
    per_frequency: dict[float, float] = {}
    for t in doses:
        per_frequency[t.frequency_hz] = per_frequency.get(t.frequency_hz, 0.0) + t.time_s
    q_max = max(t.phase_charge_uC for t in doses)
    return StepDose(
        step=index,
        channel=step.channels[0] if channel is None else channel,
        intensity_mA=current,
        trains=doses,
        pulses=sum(pulses),
        duty_cycle=sum(on_time) / step.duration_s,
        phase_charge_uC=q_max,
        net_charge_uC=max(abs(t.phase_charge_uC - t.recovery_charge_uC) for t in doses),
        rms_mA=float(rms.max()),
        mean_rms_mA=float(np.sqrt(np.dot(rms**2, on_time) / step.duration_s)),
        time_per_frequency_s=MappingProxyType(per_frequency),
        needle=None if needle is None else needle_dose(needle, q_max, float(rms.max())),
    )


def _train_dose(
    current: float, ratio: int, rate: float, width: float, time_s: float, pulses: int
) -> TrainDose:
    # The recovery phase is -I/r for r*w (PROTOCOL.md §8): its charge, computed as delivered.
    recovery = phase_charge_uC(current / ratio, width * ratio)
    return TrainDose(
        frequency_hz=rate,
        phase_width_us=width,
        time_s=time_s,
        pulses=pulses,
        phase_charge_uC=phase_charge_uC(current, width),
        recovery_charge_uC=recovery,
        rms_mA=rms_current_mA(current, width, rate, ratio),
        average_mA=average_current_mA(current, width, rate),
        pulse_energy_uJ=pulse_energy_uJ(current, width, ratio),
        pulse_duty=pulse_duty(width, rate, ratio),
    )


def needle_dose(needle: Needle, charge_uC: float, rms_mA: float) -> NeedleDose:
    """Density figures for a needle carrying ``charge_uC`` per phase at ``rms_mA``."""
    area = needle_area_cm2(needle.diameter_mm, needle.inserted_length_mm)
    density = charge_density_uC_per_cm2(charge_uC, area)
    return NeedleDose(
        area_cm2=area,
        charge_density_uC_per_cm2=density,
        shannon_k=shannon_k(charge_uC, density),
        current_density_mA_per_cm2=current_density_mA_per_cm2(rms_mA, area),
        power_density_W_per_cm2=power_density_W_per_cm2(rms_mA, area),
    )


@dataclass(frozen=True)
class SessionDose:
    """The dose of a whole profile.

    Attributes:
        steps: every (step, channel) dose, in timeline order.
        duration_s: the session's length.
        pulses_by_channel: pulses per channel over the session.
        time_per_frequency_s: by channel, seconds at each pulse rate over the session.
    """

    steps: tuple[StepDose, ...]
    duration_s: float
    pulses_by_channel: Mapping[int, int]
    time_per_frequency_s: Mapping[int, Mapping[float, float]]


def profile_dose(profile: Profile) -> SessionDose:
    """Derive the dose of every step on every channel it drives, at the targets."""
    doses = tuple(
        step_dose(step, index=i, channel=ch, needle=profile.channel(ch).needle)
        for i, step in enumerate(profile.steps)
        for ch in step.channels
    )
    pulses: dict[int, int] = {}
    times: dict[int, dict[float, float]] = {}
    for dose in doses:
        pulses[dose.channel] = pulses.get(dose.channel, 0) + dose.pulses
        by_rate = times.setdefault(dose.channel, {})
        for rate, seconds in dose.time_per_frequency_s.items():
            by_rate[rate] = by_rate.get(rate, 0.0) + seconds
    return SessionDose(
        steps=doses,
        duration_s=profile.total_duration_s,
        pulses_by_channel=MappingProxyType(pulses),
        time_per_frequency_s=MappingProxyType(
            {ch: MappingProxyType(by_rate) for ch, by_rate in times.items()}
        ),
    )
