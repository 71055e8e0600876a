"""Layered limits: the bounds of every layer in force, and their intersection.

DESIGN.md §4: the effective host limit is the intersection of the standard, device, site,
patient and profile layers, and a refusal names the binding layer and its source. A
:class:`LimitStack` holds the bounds of the first four (the profile layer is the profile's own
ceilings and session length, read from the profile by the checker). The tightest bound wins; on
a tie the more fundamental layer is named (standard, then device, site, patient).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eacontrol.errors import Layer
from eacontrol.profiles.context import PatientContext, SitePolicy
from eacontrol.profiles.steps import ChannelParams
from eacontrol.safety.limits import SOURCES, STANDARD, DeviceLimits, StandardLimits

__all__ = ["DEVICE_SOURCE", "Bound", "LimitStack", "Quantity"]

DEVICE_SOURCE = "the connected device's reported limits (HELLO_ACK)"
"""What a device-layer finding cites."""

_TOLERANCE = 1e-9  # relative: absorbs binary floating point in derived figures (0.1 * 3)


class Quantity(enum.StrEnum):
    """The quantities limits apply to, named with their units."""

    INTENSITY = "intensity_mA"
    RMS_500_OHM = "rms_500ohm_mA"
    PHASE_WIDTH = "phase_width_us"
    FREQUENCY = "frequency_hz"
    DWELL = "dwell_s"
    PHASE_CHARGE = "phase_charge_uC"
    START_RAMP = "ramp_up_s"
    SESSION = "session_s"
    RUN = "run_s"
    INTERPHASE_GAP = "interphase_gap_us"
    ASYM_RATIO = "asym_ratio"
    SLEW = "slew_mA_per_s"
    CHANNEL = "channel"

    @property
    def unit(self) -> str:
        """The unit as printed (``µs``), or ``""``."""
        units = {"_mA": "mA", "_us": "µs", "_hz": "Hz", "_s": "s", "_uC": "µC", "_per_s": "mA/s"}
        suffix = next((s for s in sorted(units, key=len, reverse=True) if self.endswith(s)), "")
        return units.get(suffix, "")


@dataclass(frozen=True)
class Bound:
    """One limit of one layer.

    Attributes:
        quantity: what it limits.
        value: the limit.
        layer: where it comes from.
        source: the standard, paper, device report, policy or calibration behind it.
        upper: True for a maximum, False for a minimum.
        channel: the channel it applies to (1-based), or None for all.
    """

    quantity: Quantity
    value: float
    layer: Layer
    source: str
    upper: bool = True
    channel: int | None = None

    def allows(self, value: float) -> bool:
        """Whether ``value`` keeps to this bound (with a tolerance for floating point)."""
        slack = abs(self.value) * _TOLERANCE
        return value <= self.value + slack if self.upper else value >= self.value - slack

    @property
    def text(self) -> str:
        """The bound as findings print it: ``≤ 10 µC``."""
        unit = f" {self.quantity.unit}" if self.quantity.unit else ""
        return f"{'≤' if self.upper else '≥'} {self.value:g}{unit}"


def _standard(limits: StandardLimits) -> list[Bound]:
    spec = [
        (Quantity.INTENSITY, "max_intensity_mA", True),
        (Quantity.RMS_500_OHM, "max_rms_500ohm_mA", True),
        (Quantity.PHASE_WIDTH, "min_phase_width_us", False),
        (Quantity.PHASE_WIDTH, "max_phase_width_us", True),
        (Quantity.FREQUENCY, "min_frequency_hz", False),
        (Quantity.FREQUENCY, "max_frequency_hz", True),
        (Quantity.DWELL, "min_dwell_s", False),
        (Quantity.DWELL, "max_dwell_s", True),
        (Quantity.PHASE_CHARGE, "max_phase_charge_uC", True),
        (Quantity.START_RAMP, "min_start_ramp_s", False),
        (Quantity.START_RAMP, "max_start_ramp_s", True),
        (Quantity.SESSION, "max_session_s", True),
    ]
    return [
        Bound(q, float(getattr(limits, name)), Layer.STANDARD, SOURCES[name], upper)
        for q, name, upper in spec
    ]


def _bounds(
    spec: list[tuple[Quantity, float | None, bool]], layer: Layer, source: str
) -> list[Bound]:
    """Bounds from (quantity, value or None if the layer sets none, is upper) triples."""
    return [Bound(q, float(v), layer, source, upper) for q, v, upper in spec if v is not None]


def _device(device: DeviceLimits) -> list[Bound]:
    spec: list[tuple[Quantity, float | None, bool]] = [
        (Quantity.CHANNEL, device.channel_count, True),
        (Quantity.INTENSITY, device.max_intensity_mA, True),
        (Quantity.PHASE_WIDTH, device.min_phase_width_us, False),
        (Quantity.PHASE_WIDTH, device.max_phase_width_us, True),
        (Quantity.FREQUENCY, device.min_frequency_hz, False),
        (Quantity.FREQUENCY, device.max_frequency_hz, True),
        (Quantity.PHASE_CHARGE, device.max_phase_charge_uC, True),
        (Quantity.INTERPHASE_GAP, device.max_interphase_us, True),
        (Quantity.ASYM_RATIO, device.max_asym_ratio, True),
        (Quantity.RUN, device.max_run_s, True),
        (Quantity.SLEW, device.max_slew_mA_per_s, True),
    ]
    return _bounds(spec, Layer.DEVICE, DEVICE_SOURCE)


def _site(site: SitePolicy) -> list[Bound]:
    spec: list[tuple[Quantity, float | None, bool]] = [
        (Quantity.INTENSITY, site.max_intensity_mA, True),
        (Quantity.PHASE_CHARGE, site.max_phase_charge_uC, True),
        (Quantity.SESSION, site.max_session_s, True),
        (Quantity.FREQUENCY, site.min_frequency_hz, False),
        (Quantity.FREQUENCY, site.max_frequency_hz, True),
        (Quantity.PHASE_WIDTH, site.min_phase_width_us, False),
        (Quantity.PHASE_WIDTH, site.max_phase_width_us, True),
    ]
    return _bounds(spec, Layer.SITE, site.authority)


def _patient(patient: PatientContext) -> list[Bound]:
    return [
        Bound(Quantity.INTENSITY, v, Layer.PATIENT, "the patient's calibrated maximum", True, ch)
        for ch, v in sorted(patient.calibrated_max_mA.items())
    ]


@dataclass(frozen=True)
class LimitStack:
    """The limit layers in force and their bounds.

    Attributes:
        bounds: every bound, in layer order (standard, device, site, patient).
        standard: the standard layer (its advisory thresholds are read directly).
        device: the connected device's limits, if any.
        site: the site policy, if any.
        patient: the patient's flags, if any.
    """

    bounds: tuple[Bound, ...]
    standard: StandardLimits = STANDARD
    device: DeviceLimits | None = None
    site: SitePolicy | None = None
    patient: PatientContext | None = None

    @classmethod
    def build(
        cls,
        *,
        standard: StandardLimits = STANDARD,
        device: DeviceLimits | None = None,
        site: SitePolicy | None = None,
        patient: PatientContext | None = None,
    ) -> LimitStack:
        """Collect the bounds of every layer given."""
        bounds = _standard(standard)
        bounds += _device(device) if device else []
        bounds += _site(site) if site else []
        bounds += _patient(patient) if patient else []
        return cls(tuple(bounds), standard, device, site, patient)

    def _tightest(self, quantity: Quantity, upper: bool, channel: int | None) -> Bound | None:
        matching = [
            b
            for b in self.bounds
            if b.quantity is quantity and b.upper is upper and b.channel in (None, channel)
        ]
        if not matching:
            return None
        pick = min if upper else max
        return pick(matching, key=lambda b: b.value)  # the first (most fundamental) on a tie

    def upper(self, quantity: Quantity, channel: int | None = None) -> Bound | None:
        """The effective maximum of a quantity (for a channel), or None if no layer sets one."""
        return self._tightest(quantity, True, channel)

    def lower(self, quantity: Quantity, channel: int | None = None) -> Bound | None:
        """The effective minimum of a quantity (for a channel), or None if no layer sets one."""
        return self._tightest(quantity, False, channel)

    def ceiling_mA(self, params: ChannelParams) -> float:
        """The effective ceiling of a channel in a step: the profile's, capped by every layer."""
        bound = self.upper(Quantity.INTENSITY, params.channel)
        return params.ceiling_mA if bound is None else min(params.ceiling_mA, bound.value)
