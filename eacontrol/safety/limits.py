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
    """The built-in standard layer. Every figure names its source or is called a design value with
    its reasoning; docs/clinical-sources.md gives each in full, with what the source says."""

    # Design value: the hard ceiling, twice the 10 mA default profile ceiling and well inside the
    # IEC 60601-2-10 50 mA rms output limit (no cited source states 20 mA for needle EA).
    max_intensity_mA: float = 20.0
    # IEC 60601-2-10:1987 51.104 (Table 1): at most 50 mA rms into 500 ohm up to 400 Hz.
    max_rms_500ohm_mA: float = 50.0
    # IEC 60601-2-10:1987 51.104: "the maximum energy per pulse shall not exceed 300 mJ, when
    # applied to a load resistance of 500 ohms" and "the maximum output voltage shall not exceed a
    # peak value of 500 V, when measured under open circuit conditions". A constant-current stage
    # reaches its compliance voltage on an open circuit, so that is the figure checked.
    max_pulse_energy_500ohm_mJ: float = 300.0
    max_peak_output_open_circuit_V: float = 500.0
    # IEC 60601-2-10:2012, additional instructions for use, item f): a stimulator able to deliver
    # more than 10 mA or 10 V must state its maximum output values in the instructions for use
    # (a disclosure, not an output indicator; the 1987 edition's 51.103 asked for an indicator
    # above 10 mA rms or 10 V rms into 1 kohm). Advisory here.
    indicator_rms_mA: float = 10.0
    indicator_rms_1kohm_V: float = 10.0
    # Design value: brackets the 200 and 600 us phases the stored profiles prescribe; 1000 us at
    # the 10 mA default ceiling is the 10 uC phase-charge bound.
    min_phase_width_us: float = 50.0
    max_phase_width_us: float = 1000.0
    # Design value: brackets the 2, 4 and 100 Hz of the cited protocols (Wang 2005; TCM texts).
    min_frequency_hz: float = 1.0
    max_frequency_hz: float = 200.0
    # Design value around the cited dwells: 3 s (Wang 2005, Exp Neurol 2005;192(1):156-162, Han's
    # laboratory) and 1.5 s (TCM texts). No source gives a 1-10 s range.
    min_dwell_s: float = 1.0
    max_dwell_s: float = 10.0
    # Design value: 10 mA default ceiling x 1000 us longest phase. No regulation cited here sets a
    # phase-charge number; Shannon k is checked separately as an advisory.
    max_phase_charge_uC: float = 10.0
    # Design value: every pulse biphasic, Q+ = Q- within 1 %. The principle: Cummings, Acupunct Med
    # 2011;29(2):147-151 (tissue damage with a waveform not completely charge-balanced).
    max_charge_imbalance: float = 0.01
    # Shannon RV, IEEE Trans Biomed Eng 1992;39(4):424-426: damage seen at k >= 1.85. Advisory.
    shannon_k_advisory: float = 1.85
    # IEC 60601-2-10:2012, additional instructions for use, item g): electrodes with current
    # densities above 2 mA/cm2 may require the operator's special attention. Advisory.
    current_density_advisory_mA_per_cm2: float = 2.0
    # FDA, Guidance Document for Powered Muscle Stimulator 510(k)s (9 June 1999): maximum power
    # density below 0.25 W/cm2 (thermal burns). Advisory.
    power_density_advisory_W_per_cm2: float = 0.25
    # Design value: live changes in small steps, one a second per channel (no cited source gives
    # an operator step size).
    max_operator_step_mA: float = 0.5
    min_operator_step_interval_s: float = 1.0
    # Design value: every start ramps from zero over 2-5 s (no cited source gives the range).
    min_start_ramp_s: float = 2.0
    max_start_ramp_s: float = 5.0
    # Design: heartbeat lease 200-1000 ms.
    min_lease_ms: int = 200
    max_lease_ms: int = 1000
    # Design value: twice the 30 min default (Wang SM et al., Anesth Analg 2009;109(3):932-935:
    # 30 min of 2/100 Hz EA was the most effective duration tested). No 60 min source was found.
    max_session_s: float = 3600.0


STANDARD = StandardLimits()
"""The standard layer in force."""

# Citations, as findings print them. The comments on StandardLimits give the same sources;
# docs/clinical-sources.md gives them in full (a test keeps the two in step).
_IEC_IFU = "IEC 60601-2-10:2012 additional instructions for use"
_DESIGN = "design value (docs/clinical-sources.md)"
_WANG_2005 = "Wang Y et al., Exp Neurol 2005;192(1):156-162 (3 s dwells)"
_LEASE = "design value: the heartbeat lease (docs/architecture.md, safety model)"

SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "max_intensity_mA": f"{_DESIGN}: twice the 10 mA default ceiling",
        "max_rms_500ohm_mA": "IEC 60601-2-10:1987 51.104: 50 mA rms into 500 Ω up to 400 Hz",
        "max_pulse_energy_500ohm_mJ": "IEC 60601-2-10:1987 51.104: 300 mJ per pulse into 500 Ω",
        "max_peak_output_open_circuit_V": ("IEC 60601-2-10:1987 51.104: 500 V peak, open circuit"),
        "indicator_rms_mA": f"{_IEC_IFU}, item f): maximum output values above 10 mA or 10 V",
        "indicator_rms_1kohm_V": f"{_IEC_IFU}, item f): maximum output values above 10 mA or 10 V",
        "min_phase_width_us": f"{_DESIGN}: brackets the 200-600 µs phases of the library",
        "max_phase_width_us": f"{_DESIGN}: brackets the 200-600 µs phases of the library",
        "min_frequency_hz": f"{_DESIGN}: brackets 2, 4 and 100 Hz",
        "max_frequency_hz": f"{_DESIGN}: brackets 2, 4 and 100 Hz",
        "min_dwell_s": f"{_DESIGN} around {_WANG_2005} and 1.5 s (TCM texts)",
        "max_dwell_s": f"{_DESIGN} around {_WANG_2005} and 1.5 s (TCM texts)",
        "max_phase_charge_uC": f"{_DESIGN}: 10 mA default ceiling × 1000 µs",
        "max_charge_imbalance": (
            f"{_DESIGN}: charge-balanced biphasic pulses (Cummings, Acupunct Med "
            "2011;29(2):147-151)"
        ),
        "shannon_k_advisory": "Shannon RV, IEEE Trans Biomed Eng 1992;39(4):424-426",
        "current_density_advisory_mA_per_cm2": f"{_IEC_IFU}, item g): above 2 mA/cm²",
        "power_density_advisory_W_per_cm2": (
            "FDA, Guidance Document for Powered Muscle Stimulator 510(k)s, 1999"
        ),
        "max_operator_step_mA": f"{_DESIGN}: small live steps",
        "min_operator_step_interval_s": f"{_DESIGN}: one live step a second",
        "min_start_ramp_s": f"{_DESIGN}: ramp from zero over 2-5 s",
        "max_start_ramp_s": f"{_DESIGN}: ramp from zero over 2-5 s",
        "min_lease_ms": _LEASE,
        "max_lease_ms": _LEASE,
        "max_session_s": (
            f"{_DESIGN}: twice the 30 min default (Wang SM et al., Anesth Analg "
            "2009;109(3):932-935)"
        ),
    }
)
"""The source of every StandardLimits figure, by field name (a test checks none is missing)."""

DEFAULT_PROFILE_CEILING_mA = 10.0
"""Profiles' default per-channel ceiling: a design value (docs/clinical-sources.md), twice the
5 mA of Wang SM et al., Anesth Analg 2009;109(3):932-935."""

DEFAULT_LEASE_ms = 500
"""Default heartbeat lease (design; PROTOCOL.md §3.5); heartbeats every ~100 ms."""

DEFAULT_SESSION_s = 1800.0
"""Default session length, 30 min: the most effective duration in Wang SM et al., Anesth Analg
2009;109(3):932-935; "EA is often applied for 20-30 min" (Cummings M, Acupunct Med
2011;29(2):83-85)."""

MAX_SESSION_s = STANDARD.max_session_s
"""Longest session, 60 min: a design value, twice the default (docs/clinical-sources.md)."""


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
