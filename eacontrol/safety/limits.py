"""Limit figures of the standard layer and the device layer (docs/architecture.md), each with its
source.

This is a leaf module: the profile checker, the device layer and the session runner all read
it; it imports nothing else from eacontrol but the Finding types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "SOURCES",
    "STANDARD",
    "DEFAULT_LEASE_ms",
    "DEFAULT_PROFILE_CEILING_mA",
    "DEFAULT_SESSION_s",
    "DeviceLimits",
    "MAX_SESSION_s",
    "StandardLimits",
]


@dataclass(frozen=True)
class StandardLimits:
    """The built-in standard layer. Every figure names its source (also in the README)."""

    # Han JS, "Acupuncture: neuropeptide release produced by electrical stimulation of different
    # frequencies", Trends Neurosci 2003: needle EA uses 2-10 mA; 20 mA is the hard ceiling here.
    max_intensity_mA: float = 20.0
    # IEC 60601-2-10:2012 201.12.4.104: no more than 50 mA rms into 500 ohm.
    max_rms_500ohm_mA: float = 50.0
    # IEC 60601-2-10:2012 201.12.4.104: output indicator above 10 mA rms or 10 V rms into 1 kohm.
    indicator_rms_mA: float = 10.0
    indicator_rms_1kohm_V: float = 10.0
    # Han 2003: phase widths 0.3-0.6 ms typical; 50-1000 us accepted.
    min_phase_width_us: float = 50.0
    max_phase_width_us: float = 1000.0
    # Han 2003; TCM texts: 1-200 Hz, with 2, 100 and 2/100 Hz presets.
    min_frequency_hz: float = 1.0
    max_frequency_hz: float = 200.0
    # Wang 2005 (Exp Neurol 192:156): dense-disperse dwell 3 s (Han), 1.5 s in TCM practice.
    min_dwell_s: float = 1.0
    max_dwell_s: float = 10.0
    # FDA 21 CFR 882.5891 device characterisation: at most 10 uC per phase.
    max_phase_charge_uC: float = 10.0
    # Corrosion and tissue-damage reports: every pulse biphasic, Q+ = Q- within 1 %.
    max_charge_imbalance: float = 0.01
    # Shannon RV, IEEE Trans Biomed Eng 39:424 (1992): advisory at k >= 1.85.
    shannon_k_advisory: float = 1.85
    # IEC 60601-2-10 instructions-for-use text; FDA TENS guidance: advisory densities.
    current_density_advisory_mA_per_cm2: float = 2.0
    power_density_advisory_W_per_cm2: float = 0.25
    # Cummings 2011 (BMAS): motor response at 0.5-0.9 mA, so operator steps <= 0.5 mA, >= 1 s apart.
    max_operator_step_mA: float = 0.5
    min_operator_step_interval_s: float = 1.0
    # Pantheon / Digitimer DS5 practice: start ramp 2-5 s from zero.
    min_start_ramp_s: float = 2.0
    max_start_ramp_s: float = 5.0
    # Design: heartbeat lease 200-1000 ms.
    min_lease_ms: int = 200
    max_lease_ms: int = 1000
    # Wang 2009; FDA K202861: 30 min default session, 60 min maximum, device shut-off.
    max_session_s: float = 3600.0


STANDARD = StandardLimits()
"""The standard layer in force."""

# Citations, as findings print them. The comments on StandardLimits give the same sources.
_HAN_2003 = "Han JS, Trends Neurosci 26:17 (2003)"
_IEC_RMS = "IEC 60601-2-10:2012 201.12.4.104"
_WANG_2005 = "Wang 2005, Exp Neurol 192:156"
_SESSION = "Wang 2009; FDA K202861"

SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "max_intensity_mA": _HAN_2003,
        "max_rms_500ohm_mA": _IEC_RMS,
        "indicator_rms_mA": _IEC_RMS,
        "indicator_rms_1kohm_V": _IEC_RMS,
        "min_phase_width_us": _HAN_2003,
        "max_phase_width_us": _HAN_2003,
        "min_frequency_hz": f"{_HAN_2003}; TCM texts",
        "max_frequency_hz": f"{_HAN_2003}; TCM texts",
        "min_dwell_s": _WANG_2005,
        "max_dwell_s": _WANG_2005,
        "max_phase_charge_uC": "FDA 21 CFR 882.5891 characterisation",
        "max_charge_imbalance": "corrosion and tissue-damage reports (charge-balanced biphasic)",
        "shannon_k_advisory": "Shannon RV, IEEE Trans Biomed Eng 39:424 (1992)",
        "current_density_advisory_mA_per_cm2": "IEC 60601-2-10 instructions-for-use text",
        "power_density_advisory_W_per_cm2": "FDA TENS guidance",
        "max_operator_step_mA": "Cummings 2011, Acupunct Med 29:83 (BMAS)",
        "min_operator_step_interval_s": "Cummings 2011, Acupunct Med 29:83 (BMAS)",
        "min_start_ramp_s": "Pantheon / Digitimer DS5 practice",
        "max_start_ramp_s": "Pantheon / Digitimer DS5 practice",
        "min_lease_ms": "design value: the heartbeat lease (docs/architecture.md, safety model)",
        "max_lease_ms": "design value: the heartbeat lease (docs/architecture.md, safety model)",
        "max_session_s": _SESSION,
    }
)
"""The source of every StandardLimits figure, by field name (a test checks none is missing)."""

DEFAULT_PROFILE_CEILING_mA = 10.0
"""Profiles' default per-channel ceiling (Han 2003: 2-10 mA for needle EA)."""

DEFAULT_LEASE_ms = 500
"""Default heartbeat lease (design; PROTOCOL.md §3.3); heartbeats every ~100 ms."""

DEFAULT_SESSION_s = 1800.0
"""Default session length, 30 min (Wang 2009)."""

MAX_SESSION_s = STANDARD.max_session_s
"""Longest session, 60 min (FDA K202861)."""


@dataclass(frozen=True)
class DeviceLimits:
    """The device layer: a connected device's hard limits as reported in HELLO_ACK, in API units.

    Attributes:
        channel_count: number of output channels (1-8).
        max_intensity_mA: highest peak current per channel.
        min_phase_width_us / max_phase_width_us: phase width range.
        min_frequency_hz / max_frequency_hz: pulse rate range.
        max_phase_charge_uC: highest charge per phase.
        max_slew_mA_per_s: fastest intensity change the device performs.
        compliance_V: output stage compliance voltage.
        min_lease_ms / max_lease_ms: heartbeat lease range.
        max_run_s: longest run the device allows before its own shut-off.
        max_interphase_us: longest interphase gap.
        max_asym_ratio: largest asymmetric-biphasic ratio (1 = symmetric only).
    """

    channel_count: int
    max_intensity_mA: float
    min_phase_width_us: float
    max_phase_width_us: float
    min_frequency_hz: float
    max_frequency_hz: float
    max_phase_charge_uC: float
    max_slew_mA_per_s: float
    compliance_V: float
    min_lease_ms: int
    max_lease_ms: int
    max_run_s: float
    max_interphase_us: float
    max_asym_ratio: int
