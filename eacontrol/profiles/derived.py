"""Derived dose quantities per step and channel, each with its formula and source.

Symbols: I peak current of the primary phase (mA), w its width (µs), f pulse rate (Hz),
r = ``asym_ratio`` (1 for symmetric). The pulse of PROTOCOL.md §8 is a primary phase +I for w,
a gap, then a recovery phase −I/r for r·w (symmetric: −I for w), so both phases carry the same
charge by construction and the net charge per pulse is zero.

Needle area (an assumption, stated wherever densities are shown): the inserted, uninsulated part
of a filiform needle is a cylinder of diameter d and length L, area π·d·L, plus the tip counted
as a flat disc π·d²/4. A real tip is a cone with a larger surface, and part of the inserted length
may sit in fat rather than muscle, so the area is a lower bound and the densities upper bounds.
Both needles of a channel carry the same current; the channel's geometry applies to both.

Power density uses the IEC 60601-2-10 reference load of 500 Ω; tissue impedance varies
(0.5-5 kΩ for needles), so the figure is an indicator, as the advisory it feeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from eacontrol.profiles.models import Needle, Profile
from eacontrol.profiles.steps import Step

__all__ = [
    "LOAD_OHM",
    "NeedleDose",
    "SessionDose",
    "StepDose",
    "TrainDose",
    "average_current_mA",
    "charge_density_uC_per_cm2",
    "current_density_mA_per_cm2",
    "needle_area_cm2",
    "needle_dose",
    "phase_charge_uC",
    "power_density_W_per_cm2",
    "profile_dose",
    "pulse_count",
    "pulse_duty",
    "pulse_energy_uJ",
    "rms_current_mA",
    "segment_times_s",
    "shannon_k",
    "step_dose",
]

LOAD_OHM = 500.0
"""Reference load for rms current and energy (IEC 60601-2-10:2012 201.12.4.104)."""

Floats = npt.NDArray[np.float64]


def phase_charge_uC(intensity_mA: float, phase_width_us: float) -> float:
    """Charge of the primary phase: Q = I·w (mA·µs = nC, so ×1e-3 for µC).

    Source: definition of phase charge (FDA 21 CFR 882.5891 characterisation). 10 mA × 600 µs is
    6 µC.
    """
    return intensity_mA * phase_width_us * 1e-3


def rms_current_mA(
    intensity_mA: float, phase_width_us: float, frequency_hz: float, asym_ratio: int = 1
) -> float:
    """Rms current of a pulse train: I_rms = I·√(w·f·1e-6·(1 + 1/r)).

    Source: Enraf-Nonius instructions for use, I_rms = I_peak·√(phase·f), with the phase doubled
    for a symmetric biphasic pulse (r = 1 gives the factor 2); an asymmetric recovery phase
    −I/r for r·w adds I²·w/r. 5 mA, 300 µs, 100 Hz symmetric: 5·√0.06 = 1.2247 mA.
    """
    return intensity_mA * math.sqrt(phase_width_us * 1e-6 * frequency_hz * (1 + 1 / asym_ratio))


def average_current_mA(intensity_mA: float, phase_width_us: float, frequency_hz: float) -> float:
    """Rectified average current: both phases' charge per second, 2·Q·f (µC/s = µA, ×1e-3 mA).

    The signed average (net DC) is zero for the charge-balanced pulses of PROTOCOL.md §8.
    """
    return 2 * phase_charge_uC(intensity_mA, phase_width_us) * frequency_hz * 1e-3


def pulse_energy_uJ(
    intensity_mA: float, phase_width_us: float, asym_ratio: int = 1, load_ohm: float = LOAD_OHM
) -> float:
    """Energy of one pulse into a resistive load: E = R·I²·w·(1 + 1/r).

    Units: Ω·mA²·µs = 1e-12 J, so ×1e-6 for µJ. 10 mA, 600 µs, symmetric, 500 Ω: 60 µJ.
    Source: Joule heating in the IEC 60601-2-10 reference load.
    """
    return load_ohm * intensity_mA**2 * phase_width_us * (1 + 1 / asym_ratio) * 1e-6


def pulse_duty(phase_width_us: float, frequency_hz: float, asym_ratio: int = 1) -> float:
    """Fraction of time current flows during a train: w·(1 + r)·f·1e-6 (the gap carries none)."""
    return phase_width_us * (1 + asym_ratio) * frequency_hz * 1e-6


def needle_area_cm2(diameter_mm: float, inserted_length_mm: float) -> float:
    """Exposed needle area: π·d·L + π·d²/4 (mm², ÷100 for cm²). Assumption: module docstring.

    A 0.25 mm needle inserted 15 mm: 0.1183 cm².
    """
    return (math.pi * diameter_mm * inserted_length_mm + math.pi * diameter_mm**2 / 4) / 100


def charge_density_uC_per_cm2(charge_uC: float, area_cm2: float) -> float:
    """Charge density per phase: D = Q/A (Shannon 1992)."""
    return charge_uC / area_cm2


def shannon_k(charge_uC: float, density_uC_per_cm2: float) -> float:
    """Shannon's k: log10(D) = k − log10(Q), so k = log10(D) + log10(Q).

    Source: Shannon RV, A model of safe levels for electrical stimulation, IEEE Trans Biomed Eng
    1992;39(4):424-426, with D in µC/cm² per phase and Q in µC per phase. Damage was seen at
    k ≥ 1.85 in cat cortex with surface electrodes; for needles in muscle it is an advisory.
    No charge (Q or D of 0) gives −∞: no risk at all.
    """
    if charge_uC <= 0 or density_uC_per_cm2 <= 0:
        return -math.inf
    return math.log10(density_uC_per_cm2) + math.log10(charge_uC)


def current_density_mA_per_cm2(rms_mA: float, area_cm2: float) -> float:
    """Rms current density: I_rms/A. Advisory above 2 mA/cm² (IEC 60601-2-10 IFU text)."""
    return rms_mA / area_cm2


def power_density_W_per_cm2(rms_mA: float, area_cm2: float, load_ohm: float = LOAD_OHM) -> float:
    """Power density: I_rms²·R/A in the 500 Ω reference load. Advisory above 0.25 W/cm² (FDA
    TENS guidance)."""
    return (rms_mA * 1e-3) ** 2 * load_ohm / area_cm2


def segment_times_s(duration_s: float, lengths_s: Floats) -> Floats:
    """Time spent in each segment of a cycle that repeats from the step's start.

    With cycle length T = Σ lengths, n = ⌊D/T⌋ whole cycles and the rest D − n·T filling the
    segments in order: t_i = n·len_i + clip(rest − offset_i, 0, len_i).
    """
    period = float(lengths_s.sum())
    cycles = math.floor(duration_s / period + 1e-9)
    rest = max(duration_s - cycles * period, 0.0)
    offsets = np.concatenate(([0.0], np.cumsum(lengths_s)[:-1]))
    times: Floats = cycles * lengths_s + np.clip(rest - offsets, 0.0, lengths_s)
    return times


def pulse_count(window_s: float, frequency_hz: float) -> int:
    """Pulses in one window (a dwell, a train or a continuous run): ⌈W·f⌉.

    PROTOCOL.md §8: in a window starting at d, pulse k starts at d + k/f while before the
    window's end, so pulses k = 0 … ⌈W·f⌉ − 1 are delivered.
    """
    return max(math.ceil(window_s * frequency_hz - 1e-9), 0)


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
    current = step.intensity_mA if intensity_mA is None else intensity_mA
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
