"""Dose formulas: charge, currents, energy, densities and pulse counts, each with its source.

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

import numpy as np
import numpy.typing as npt

__all__ = [
    "LOAD_OHM",
    "average_current_mA",
    "charge_density_uC_per_cm2",
    "current_density_mA_per_cm2",
    "needle_area_cm2",
    "phase_charge_uC",
    "power_density_W_per_cm2",
    "pulse_count",
    "pulse_duty",
    "pulse_energy_uJ",
    "rms_current_mA",
    "segment_times_s",
    "shannon_k",
]

LOAD_OHM = 500.0
"""Reference load for rms current and energy (IEC 60601-2-10:1987 51.104; 500 Ω)."""

Floats = npt.NDArray[np.float64]


def phase_charge_uC(intensity_mA: float, phase_width_us: float) -> float:
    """Charge of the primary phase: Q = I·w (mA·µs = nC, so ×1e-3 for µC).

    Source: the definition of phase charge, the current-time integral over one phase. 10 mA ×
    600 µs is 6 µC.
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
    """Rms current density: I_rms/A. Advisory above 2 mA/cm² (IEC 60601-2-10:2012 IFU item g)."""
    return rms_mA / area_cm2


def power_density_W_per_cm2(rms_mA: float, area_cm2: float, load_ohm: float = LOAD_OHM) -> float:
    """Power density: I_rms²·R/A in the 500 Ω reference load. Advisory above 0.25 W/cm² (FDA
    Guidance Document for Powered Muscle Stimulator 510(k)s, 1999)."""
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
