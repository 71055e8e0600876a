"""The rules the checker applies, each turning a part of a profile into findings.

Hard limits that the operator can reach live (peak current, phase charge, rms current) are
checked at the effective **ceiling** of each channel; advisories (maximum-output disclosure,
Shannon k, densities) are computed at the **target** the profile prescribes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set

from eacontrol.errors import Finding, Layer, Severity
from eacontrol.profiles.derived import step_dose
from eacontrol.profiles.models import Needle, Profile
from eacontrol.profiles.steps import DenseDisperseStep, Step
from eacontrol.safety import Bound, LimitStack, Quantity
from eacontrol.safety.dose import LOAD_OHM, phase_charge_uC, pulse_energy_uJ, rms_current_mA
from eacontrol.safety.engine import DEVICE_SOURCE
from eacontrol.safety.limits import SOURCES
from eacontrol.safety.timing import (
    BOUNDARY_SOURCE,
    MIN_PULSE_GAP_us,
    boundary_shortfall,
    pulse_length_us,
)
from firmware_protocol.errors import UnitError
from firmware_protocol.units import hz_to_cHz, mA_to_uA, s_to_ms, us_to_wire

__all__ = [
    "WIRE_SOURCE",
    "against",
    "key_findings",
    "program_findings",
    "session_findings",
    "step_findings",
]

WIRE_SOURCE = "PROTOCOL.md §1 wire units (firmware_protocol.units)"
"""What a finding about a value the wire cannot carry cites."""


def against(
    bound: Bound | None, value: float, path: str, what: str, prefix: str = "", context: str = ""
) -> list[Finding]:
    """A refusal if ``value`` breaks ``bound``, naming the bound's layer and source.

    The message reads ``{prefix}{what} {value} {unit}{context} is above the {layer} limit``.
    """
    if bound is None or bound.allows(value):
        return []
    unit = f" {bound.quantity.unit}" if bound.quantity.unit else ""
    side = "above" if bound.upper else "below"
    return [
        Finding(
            Severity.REFUSE,
            path,
            f"{prefix}{what} {value:g}{unit}{context} is {side} the {bound.layer} limit",
            bound.layer,
            quantity=str(bound.quantity),
            value=value,
            allowed=bound.text,
            source=bound.source,
        )
    ]


def _advisory(
    path: str, message: str, layer: Layer, quantity: str, value: float, allowed: str, source: str
) -> Finding:
    return Finding(Severity.ADVISORY, path, message, layer, quantity, value, allowed, source)


# Each step key that has its own limit, the quantity it is limited as and how the wire carries
# it (firmware_protocol.units). Applied to valid steps and to the raw table of a step that failed
# validation, so that its out-of-range values are still reported.
_KEYS: dict[str, tuple[Quantity | None, Callable[[float, str], int] | None]] = {
    "frequency_hz": (Quantity.FREQUENCY, hz_to_cHz),
    "frequency_a_hz": (Quantity.FREQUENCY, hz_to_cHz),
    "frequency_b_hz": (Quantity.FREQUENCY, hz_to_cHz),
    "phase_width_us": (Quantity.PHASE_WIDTH, us_to_wire),
    "phase_width_a_us": (Quantity.PHASE_WIDTH, us_to_wire),
    "phase_width_b_us": (Quantity.PHASE_WIDTH, us_to_wire),
    "dwell_a_s": (Quantity.DWELL, s_to_ms),
    "dwell_b_s": (Quantity.DWELL, s_to_ms),
    "on_s": (Quantity.DWELL, s_to_ms),
    "off_s": (Quantity.DWELL, s_to_ms),
    "ramp_up_s": (Quantity.START_RAMP, s_to_ms),
    "ramp_down_s": (None, s_to_ms),
    "interphase_gap_us": (Quantity.INTERPHASE_GAP, us_to_wire),
    "asym_ratio": (Quantity.ASYM_RATIO, None),
    "duration_s": (Quantity.RUN, None),
    "intensity_mA": (None, mA_to_uA),  # its bounds depend on the channel: program_findings
    "ceiling_mA": (None, mA_to_uA),
}


def _words(key: str) -> str:
    """``phase_width_a_us`` → ``phase width a``."""
    return key.rsplit("_", 1)[0].replace("_", " ") if "_" in key else key


def key_findings(
    values: Mapping[str, object], at: str, stack: LimitStack, skip: Set[str] = frozenset()
) -> list[Finding]:
    """Per-key rules of a step: each limited key within its bounds, each value on the wire.

    Args:
        values: the step's keys and values (a model dump, or a raw table: non-numbers ignored).
        at: the step's path (``steps[2]``).
        stack: the limit layers.
        skip: paths already refused by the schema.
    """
    found: list[Finding] = []
    for key, (quantity, convert) in _KEYS.items():
        value, path = values.get(key), f"{at}.{key}"
        if path in skip or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if quantity is not None:
            what = _words(key)
            found += against(stack.lower(quantity), value, path, what)
            found += against(stack.upper(quantity), value, path, what)
        if convert is None:
            continue
        try:
            convert(value, key)
        except (UnitError, OverflowError) as err:
            # OverflowError: units scales before it range-checks, so a value near the float
            # maximum overflows there; it is as far off the wire as any UnitError.
            found.append(
                Finding(
                    Severity.REFUSE,
                    path,
                    "the device protocol cannot carry this value exactly",
                    Layer.SCHEMA,
                    quantity=key,
                    value=value,
                    allowed=getattr(err, "allowed", "a value that fits its wire field"),
                    source=WIRE_SOURCE,
                )
            )
    return found


def step_findings(step: Step, i: int, stack: LimitStack) -> list[Finding]:
    """Rules on a step's own settings, the same for every channel it drives."""
    at = f"steps[{i}]"
    found = key_findings(step.model_dump(), at, stack)
    if step.ramp_up_s > 0:
        slew = step.highest_target_mA / step.ramp_up_s
        found += against(stack.upper(Quantity.SLEW), slew, f"{at}.ramp_up_s", "start ramp slew")
    if isinstance(step, DenseDisperseStep):
        found += _boundary_findings(step, at)
    return found


def _boundary_findings(step: DenseDisperseStep, at: str) -> list[Finding]:
    """Each switch of halves at which the old half's last pulse would overlap the new half's
    first (PROTOCOL.md §3.9, issue 14 item 4), on the wire integers the device times by."""
    try:
        interphase_us = us_to_wire(step.interphase_gap_us, "interphase_gap_us")
        halves = [
            (
                half,
                hz_to_cHz(freq_hz, f"frequency_{half}_hz"),
                pulse_length_us(us_to_wire(phase_us, "phase_us"), interphase_us, step.asym_ratio),
                s_to_ms(dwell_s, f"dwell_{half}_s"),
            )
            for half, freq_hz, phase_us, dwell_s in (
                ("a", step.frequency_a_hz, step.phase_width_a_us, step.dwell_a_s),
                ("b", step.frequency_b_hz, step.phase_width_b_us, step.dwell_b_s),
            )
        ]
    except (UnitError, OverflowError):
        return []  # not on the wire: key_findings has refused the value already
    found = []
    for half, freq_cHz, pulse_us, dwell_ms in halves:
        boundary = boundary_shortfall(half, freq_cHz, dwell_ms, pulse_us) if freq_cHz else None
        if boundary is None:
            continue
        other, gap_us = "b" if half == "a" else "a", boundary.clearance_us
        how = f"overlaps by {-gap_us} µs" if gap_us < 0 else f"ends only {gap_us} µs before"
        found.append(
            Finding(
                Severity.REFUSE,
                f"{at}.dwell_{half}_s",
                f"the last pulse of half {half} {how} the first pulse of half {other} "
                f"(minimum gap {MIN_PULSE_GAP_us} µs)",
                Layer.SCHEMA,
                quantity="dense_disperse_boundary_us",
                value=step.dwell_a_s if half == "a" else step.dwell_b_s,
                allowed=boundary.allowed.replace(" us", " µs").replace("<= ", "≤ "),
                source=BOUNDARY_SOURCE,
            )
        )
    return found


def program_findings(
    step: Step,
    i: int,
    channel: int,
    ceiling: tuple[float, str],
    needle: Needle | None,
    stack: LimitStack,
) -> list[Finding]:
    """Rules on one channel in one step: intensity, ceiling, charge, rms and advisories.

    Args:
        step: the step.
        i: its index.
        channel: the channel number.
        ceiling: the profile's ceiling for the channel in this step, and the field it came from.
        needle: the channel's needle geometry, if given.
        stack: the limit layers.
    """
    at = f"steps[{i}]"
    ceiling_mA, ceiling_path = ceiling
    bound = stack.upper(Quantity.INTENSITY, channel)
    mine = f"channel {channel}: " if bound is not None and bound.channel is not None else ""
    target, target_at = step.target_mA(channel), f"{at}.{step.target_field(channel)}"
    found = against(bound, target, target_at, "target intensity", mine)
    mine_ceiling = Bound(
        Quantity.INTENSITY, ceiling_mA, Layer.PROFILE, f"the profile ({ceiling_path})"
    )
    found += against(mine_ceiling, target, target_at, "target intensity")
    effective = ceiling_mA
    if bound is not None and not bound.allows(ceiling_mA):
        effective = bound.value
        if bound.layer is Layer.STANDARD:
            found += against(bound, ceiling_mA, ceiling_path, "ceiling")
        else:
            found.append(
                _advisory(
                    ceiling_path,
                    f"{mine}ceiling {ceiling_mA:g} mA lowered to the {bound.layer} limit "
                    f"{bound.value:g} mA",
                    bound.layer,
                    str(Quantity.INTENSITY),
                    ceiling_mA,
                    bound.text,
                    bound.source,
                )
            )
    at_ceiling = f" at the {effective:g} mA ceiling"
    for train in step.trains():
        charge = phase_charge_uC(effective, train.phase_width_us)
        path = f"{at}.{train.phase_width_field}"
        found += against(
            stack.upper(Quantity.PHASE_CHARGE), charge, path, "phase charge", context=at_ceiling
        )
        rms = rms_current_mA(effective, train.phase_width_us, train.frequency_hz, step.asym_ratio)
        path, what = f"{at}.{train.frequency_field}", f"rms current into {LOAD_OHM:g} Ω"
        found += against(stack.upper(Quantity.RMS_500_OHM), rms, path, what, context=at_ceiling)
        energy_mJ = pulse_energy_uJ(effective, train.phase_width_us, step.asym_ratio) / 1000
        path, what = f"{at}.{train.phase_width_field}", f"pulse energy into {LOAD_OHM:g} Ω"
        found += against(
            stack.upper(Quantity.PULSE_ENERGY_500_OHM), energy_mJ, path, what, context=at_ceiling
        )
    device = stack.device
    if device is not None and effective * LOAD_OHM / 1000 > device.compliance_V:
        found.append(
            _advisory(
                ceiling_path,
                f"the device cannot drive {effective:g} mA into {LOAD_OHM:g} Ω "
                f"(compliance {device.compliance_V:g} V); it will limit the current",
                Layer.DEVICE,
                "compliance_V",
                effective * LOAD_OHM / 1000,
                f"≤ {device.compliance_V:g} V",
                DEVICE_SOURCE,
            )
        )
    return found + _advisories(step, i, channel, needle, stack)


def _advisories(
    step: Step, i: int, channel: int, needle: Needle | None, stack: LimitStack
) -> list[Finding]:
    """Advisories at the target: maximum-output disclosure, Shannon k, current and power density."""
    std = stack.standard
    dose = step_dose(step, index=i, channel=channel, needle=needle)
    path = f"steps[{i}].{step.target_field(channel)}"
    found = []
    volts_1k = dose.rms_mA  # 1 mA rms into 1 kΩ is 1 V rms
    if dose.rms_mA > std.indicator_rms_mA or volts_1k > std.indicator_rms_1kohm_V:
        found.append(
            _advisory(
                path,
                f"rms output {dose.rms_mA:.3g} mA ({volts_1k:.3g} V into 1 kΩ): the device's "
                "instructions for use must state its maximum output values",
                Layer.STANDARD,
                "rms_mA",
                dose.rms_mA,
                f"≤ {std.indicator_rms_mA:g} mA rms, ≤ {std.indicator_rms_1kohm_V:g} V into 1 kΩ",
                SOURCES["indicator_rms_mA"],
            )
        )
    if dose.needle is None:
        return found
    nd = dose.needle
    where = f"channel {channel} needles ({nd.area_cm2:.3g} cm² each, area model in derived): "
    checks = [
        ("shannon_k", nd.shannon_k, std.shannon_k_advisory, "Shannon k", "", "shannon_k_advisory"),
        (
            "current_density_mA_per_cm2",
            nd.current_density_mA_per_cm2,
            std.current_density_advisory_mA_per_cm2,
            "rms current density",
            " mA/cm²",
            "current_density_advisory_mA_per_cm2",
        ),
        (
            "power_density_W_per_cm2",
            nd.power_density_W_per_cm2,
            std.power_density_advisory_W_per_cm2,
            "power density",
            " W/cm²",
            "power_density_advisory_W_per_cm2",
        ),
    ]
    for quantity, value, limit, name, unit, field in checks:
        # Shannon: k >= 1.85 is the advisory; the densities: strictly above their figure.
        over = value >= limit if quantity == "shannon_k" else value > limit
        if over:
            relation = "<" if quantity == "shannon_k" else "≤"
            found.append(
                _advisory(
                    path,
                    f"{where}{name} {value:.3g}{unit} at the target",
                    Layer.STANDARD,
                    quantity,
                    value,
                    f"{relation} {limit:g}{unit}",
                    SOURCES[field],
                )
            )
    return found


def session_findings(profile: Profile, stack: LimitStack) -> list[Finding]:
    """Session length against the layers and the profile's own maximum."""
    bound = stack.upper(Quantity.SESSION)
    limit_s = profile.session.max_duration_s
    total_s = profile.total_duration_s
    found = against(bound, limit_s, "session.max_duration_s", "session maximum")
    found += against(bound, total_s, "steps", "total of the steps' durations")
    mine = Bound(Quantity.SESSION, limit_s, Layer.PROFILE, "the profile (session.max_duration_s)")
    found += against(mine, total_s, "steps", "total of the steps' durations")
    return found
