"""The limit engine: the bounds of every layer in force, their intersection, and the checks.

docs/architecture.md: the effective host limit is the intersection of the standard, device, site,
patient and profile layers, and a refusal names the binding layer and its source. A
:class:`LimitStack` holds the bounds of the first four (the profile layer is the profile's own
ceilings and session length, read from the profile by the checker). The tightest bound wins; on
a tie the more fundamental layer is named (standard, then device, site, patient).

Two kinds of caller use the one engine:

- the profile checker asks for the binding bound (``upper``/``lower``) and turns a crossing into
  a :class:`~eacontrol.errors.Finding` with the field's path (``eacontrol.profiles.rules``);
- the Stimulator API and live control call :meth:`LimitStack.check`, which raises the first
  crossing as a :class:`~eacontrol.errors.ParameterError` naming the layer and its source
  (``eacontrol.device.program``). Its texts are ASCII (``us``, ``uC``) so that they print on any
  console; findings use ``µ``.

The site and patient layers come from ``eacontrol.profiles`` (``SitePolicy``,
``PatientContext``, loaded from files); the engine reads only their numbers, through the
protocols below, so that safety depends on nothing above it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from eacontrol.errors import Layer, ParameterError
from eacontrol.safety.limits import SOURCES, STANDARD, DeviceLimits, StandardLimits
from firmware_protocol import UnitError

__all__ = [
    "DEVICE_SOURCE",
    "PROTOCOL_SOURCE",
    "Bound",
    "Converter",
    "LimitStack",
    "PatientLimits",
    "Quantity",
    "SiteLimits",
    "check_number",
    "to_wire",
]

DEVICE_SOURCE = "the connected device's reported limits (HELLO_ACK)"
"""What a device-layer finding cites."""

PROTOCOL_SOURCE = "PROTOCOL.md §3.9"
"""What a bound set by the wire format cites (a u16 of ms, the 100..60000 ms windows)."""

Converter = Callable[[float, str], int]
"""A ``firmware_protocol.units`` conversion: (API value, parameter name) → wire integer."""

_TOLERANCE = 1e-9  # relative: absorbs binary floating point in derived figures (0.1 * 3)


class Quantity(enum.StrEnum):
    """The quantities limits apply to, named with their units."""

    INTENSITY = "intensity_mA"
    RMS_500_OHM = "rms_500ohm_mA"
    PULSE_ENERGY_500_OHM = "pulse_energy_500ohm_mJ"
    PEAK_OUTPUT = "peak_output_open_circuit_V"
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
    WINDOW = "window_s"
    RAMP_DOWN = "ramp_down_s"
    LEASE = "lease_ms"

    @property
    def unit(self) -> str:
        """The unit as printed (``µs``), or ``""``."""
        units = {
            "_mA": "mA",
            "_us": "µs",
            "_hz": "Hz",
            "_s": "s",
            "_ms": "ms",
            "_uC": "µC",
            "_mJ": "mJ",
            "_V": "V",
            "_per_s": "mA/s",
        }
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
        (Quantity.PULSE_ENERGY_500_OHM, "max_pulse_energy_500ohm_mJ", True),
        (Quantity.PEAK_OUTPUT, "max_peak_output_open_circuit_V", True),
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
        (Quantity.RUN, "max_session_s", True),  # the device's own shut-off: never beyond it
        (Quantity.LEASE, "min_lease_ms", False),
        (Quantity.LEASE, "max_lease_ms", True),
    ]
    bounds = [
        Bound(q, float(getattr(limits, name)), Layer.STANDARD, SOURCES[name], upper)
        for q, name, upper in spec
    ]
    # A current is never negative: the floor of the standard's range (0..20 mA).
    bounds.append(
        Bound(Quantity.INTENSITY, 0.0, Layer.STANDARD, SOURCES["max_intensity_mA"], False)
    )
    return bounds


def _protocol() -> list[Bound]:
    """What the wire format can carry (PROTOCOL.md §3.9): always in force, device layer."""
    spec: list[tuple[Quantity, float | None, bool]] = [
        (Quantity.WINDOW, 0.1, False),  # dwell and on/off windows: 100..60000 ms
        (Quantity.WINDOW, 60.0, True),
        (Quantity.RAMP_DOWN, 0.0, False),
        (Quantity.RAMP_DOWN, 65.535, True),  # a u16 of ms
        (Quantity.INTERPHASE_GAP, 0.0, False),
    ]
    return _bounds(spec, Layer.DEVICE, PROTOCOL_SOURCE)


def _bounds(
    spec: list[tuple[Quantity, float | None, bool]], layer: Layer, source: str
) -> list[Bound]:
    """Bounds from (quantity, value or None if the layer sets none, is upper) triples."""
    return [Bound(q, float(v), layer, source, upper) for q, v, upper in spec if v is not None]


def _device(device: DeviceLimits, source: str) -> list[Bound]:
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
        (Quantity.LEASE, device.min_lease_ms, False),
        (Quantity.LEASE, device.max_lease_ms, True),
    ]
    return _bounds(spec, Layer.DEVICE, source)


class SiteLimits(Protocol):
    """What the engine reads of a site policy (``eacontrol.profiles.SitePolicy``)."""

    @property
    def authority(self) -> str: ...
    @property
    def max_intensity_mA(self) -> float | None: ...
    @property
    def max_phase_charge_uC(self) -> float | None: ...
    @property
    def max_session_s(self) -> float | None: ...
    @property
    def min_frequency_hz(self) -> float | None: ...
    @property
    def max_frequency_hz(self) -> float | None: ...
    @property
    def min_phase_width_us(self) -> float | None: ...
    @property
    def max_phase_width_us(self) -> float | None: ...


class PatientLimits(Protocol):
    """What the engine reads of a patient (``eacontrol.profiles.PatientContext``)."""

    @property
    def calibrated_max_mA(self) -> Mapping[int, float]: ...


def _site(site: SiteLimits) -> list[Bound]:
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


def _patient(patient: PatientLimits) -> list[Bound]:
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
    """

    bounds: tuple[Bound, ...]
    standard: StandardLimits = STANDARD
    device: DeviceLimits | None = None

    @classmethod
    def build(
        cls,
        *,
        standard: StandardLimits = STANDARD,
        device: DeviceLimits | None = None,
        site: SiteLimits | None = None,
        patient: PatientLimits | None = None,
        device_source: str = DEVICE_SOURCE,
    ) -> LimitStack:
        """Collect the bounds of every layer given (and what the wire format can carry).

        ``device_source`` names the device in its bounds (model and serial, for the API).
        """
        bounds = _standard(standard)
        bounds += _device(device, device_source) if device else []
        bounds += _protocol()
        bounds += _site(site) if site else []
        bounds += _patient(patient) if patient else []
        return cls(tuple(bounds), standard, device)

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

    def check(
        self,
        parameter: str,
        value: object,
        quantity: Quantity,
        *extra: Bound,
        channel: int | None = None,
    ) -> float:
        """Check an API value against every layer's bounds on ``quantity`` and return it.

        Args:
            parameter: the API parameter's name, with its unit (``frequency_hz``).
            value: the value given.
            quantity: what it is limited as.
            extra: bounds that hold for this parameter only (a symmetric pulse's ratio of 1);
                on a tie the stack's bound is named.
            channel: the channel number, for per-channel (patient) bounds.

        Raises:
            ParameterError: not a finite number, or outside the intersection; names the layer
                whose bound was crossed and its source, and gives the whole effective range.
        """
        unit = _ascii(quantity.unit)
        number = check_number(parameter, value, unit)
        stack = LimitStack(self.bounds + tuple(b for b in extra if b.quantity is quantity))
        low, high = stack.lower(quantity, channel), stack.upper(quantity, channel)
        for bound in (low, high):
            if bound is not None and not bound.allows(number):
                raise ParameterError(
                    parameter, value, _allowed(low, high, unit), bound.layer, bound.source
                )
        return number


def _ascii(unit: str) -> str:
    return unit.replace("µ", "u")


def _allowed(low: Bound | None, high: Bound | None, unit: str) -> str:
    lo = None if low is None else low.value
    hi = None if high is None else high.value
    if lo is not None and hi is not None:
        if lo > hi:
            return f"nothing (the layers' ranges {lo:g} and {hi:g} {unit} do not overlap)"
        return f"{lo:g}..{hi:g} {unit}".rstrip()
    if lo is not None:
        return f">= {lo:g} {unit}".rstrip()
    return f"<= {hi:g} {unit}".rstrip() if hi is not None else f"any number of {unit}"


def check_number(parameter: str, value: object, unit: str) -> float:
    """Return ``value`` if it is a finite real number (not a bool).

    Raises:
        ParameterError: anything else (layer ``schema``).
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParameterError(parameter, value, f"a finite number of {unit}", Layer.SCHEMA)
    return float(value)


def to_wire(parameter: str, value: float, convert: Converter) -> int:
    """Convert an API value with a ``firmware_protocol.units`` function.

    Raises:
        ParameterError: the value is not a multiple of the wire resolution or does not fit the
            wire field (layer ``schema``, the message says which).
    """
    try:
        return convert(value, parameter)
    except UnitError as err:
        raise ParameterError(
            parameter, value, err.allowed, Layer.SCHEMA, "wire units, PROTOCOL.md §1"
        ) from err
