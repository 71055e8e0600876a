"""Rules on a channel's needles and on the patient: placement, site policy, pregnancy, implants."""

from __future__ import annotations

from collections.abc import Sequence

from eacontrol.errors import Finding, Layer, Severity
from eacontrol.profiles.context import PatientContext, SitePolicy
from eacontrol.profiles.models import Channel
from eacontrol.profiles.rules import against
from eacontrol.safety import LimitStack, Quantity
from eacontrol.safety.placement import (
    IMPLANT_CLEARANCE_SOURCE,
    IMPLANT_SOURCE,
    PREGNANCY_SOURCE,
    check_pair,
    implant_permits,
    pregnancy_reason,
    shared_pairs,
)

__all__ = [
    "calibration_findings",
    "channel_findings",
    "patient_findings",
    "shared_pair_findings",
]


def channel_findings(
    channel: Channel,
    k: int,
    stack: LimitStack,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> list[Finding]:
    """Rules on a channel: the device's channel count, placement, site, pregnancy, implants.

    Args:
        channel: the channel.
        k: its index in ``channels``.
        stack: the limit layers.
        site: the site policy (its refused points), if any.
        patient: the patient (pregnancy and its overrides, an implant clearance), if any.
    """
    at = f"channels[{k}]"
    found = against(stack.upper(Quantity.CHANNEL), channel.channel, f"{at}.channel", "channel")
    pair = " – ".join(str(s) for s in channel.electrodes)
    for issue in check_pair(*channel.electrodes):
        where = "" if issue.electrode is None else f"[{issue.electrode}]"
        found.append(
            Finding(
                issue.severity,
                f"{at}.electrodes{where}",
                issue.message,
                Layer.STANDARD,
                quantity=f"placement: {issue.rule}",
                value=pair,
                source=issue.source,
            )
        )
    for j, needle_site in enumerate(channel.electrodes):
        code, path = needle_site.point.code, f"{at}.electrodes[{j}]"
        if site is not None and code in site.refused_points:
            message = f"{code} is refused by the site policy"
            found.append(
                _point(Severity.REFUSE, path, message, Layer.SITE, str(needle_site), site.authority)
            )
        reason = pregnancy_reason(needle_site) if patient and patient.pregnant else None
        if patient is None or reason is None:
            continue
        override = patient.override_for(code)
        if override is None:
            message = f"{reason} (an override must be recorded for {code} to use it)"
            severity = Severity.REFUSE
        else:
            message = (
                f"{code} in pregnancy: override by {override.authorised_by} recorded "
                f"{override.recorded_at.isoformat()}: {override.reason}"
            )
            severity = Severity.ADVISORY
        found.append(
            _point(severity, path, message, Layer.PATIENT, str(needle_site), PREGNANCY_SOURCE)
        )
    if patient is not None and patient.implant_clearance is not None:
        found.append(_cleared(patient, channel, at, pair))
    return found


def _cleared(patient: PatientContext, channel: Channel, at: str, pair: str) -> Finding:
    """The channel under a recorded pacemaker/ICD clearance: permitted (advisory) or refused."""
    clearance = patient.implant_clearance
    implant = " and ".join(
        n for n, on in (("pacemaker", patient.pacemaker), ("ICD", patient.icd)) if on
    )
    if implant_permits(*channel.electrodes):
        severity, verdict = Severity.ADVISORY, "permitted"
    else:
        severity, verdict = Severity.REFUSE, "refused: not a distal pair on one lower limb"
    message = f"{pair} with the patient's {implant}, {clearance}: {verdict}"
    return Finding(
        severity,
        f"{at}.electrodes",
        message,
        Layer.PATIENT,
        quantity="implant",
        value=pair,
        source=IMPLANT_CLEARANCE_SOURCE,
    )


def shared_pair_findings(channels: Sequence[tuple[int, Channel]]) -> list[Finding]:
    """An advisory on each channel that shares its pair of needles with an earlier one.

    Args:
        channels: (index in ``channels``, channel), in the profile's order.
    """
    pairs = [(ch.channel, ch.electrodes) for _, ch in channels]
    found = []
    for position, issue in shared_pairs(pairs):
        k, channel = channels[position]
        found.append(
            Finding(
                issue.severity,
                f"channels[{k}].electrodes",
                issue.message,
                Layer.STANDARD,
                quantity=f"placement: {issue.rule}",
                value=" – ".join(str(s) for s in channel.electrodes),
                source=issue.source,
            )
        )
    return found


def _point(
    severity: Severity, path: str, message: str, layer: Layer, site: str, source: str
) -> Finding:
    return Finding(severity, path, message, layer, quantity="point", value=site, source=source)


def patient_findings(patient: PatientContext | None) -> list[Finding]:
    """A pacemaker or an ICD refuses electrical stimulation altogether, unless a clearance is
    recorded (then each channel is checked: :func:`channel_findings`)."""
    if patient is None or patient.implant_clearance is not None:
        return []
    implants = {"pacemaker": patient.pacemaker, "ICD": patient.icd}
    return [
        Finding(
            Severity.REFUSE,
            "",
            f"the patient has an implanted {name}: no electrical stimulation",
            Layer.PATIENT,
            quantity="implant",
            value=name,
            source=IMPLANT_SOURCE,
        )
        for name, present in implants.items()
        if present
    ]


def calibration_findings(
    numbers: Sequence[int], patient: PatientContext | None, others: LimitStack
) -> list[Finding]:
    """A calibrated maximum must name a channel the profile drives and keep within the other
    layers' maximum (``others``: standard, device, site). Either mistake would otherwise pass
    silently: the channel meant stays uncalibrated, and 600 (for 6 mA, or µA) limits nothing."""
    if patient is None:
        return []
    found: list[Finding] = []
    used = ", ".join(str(n) for n in numbers)
    for channel, value in sorted(patient.calibrated_max_mA.items()):
        path = f"patient.calibrated_max_mA[{channel}]"
        if channel not in numbers:
            found.append(
                Finding(
                    Severity.REFUSE,
                    path,
                    f"a calibrated maximum for channel {channel}, which the profile does not use "
                    f"(it drives channel(s) {used})",
                    Layer.PATIENT,
                    quantity="channel",
                    value=channel,
                    allowed=used,
                )
            )
        bound = others.upper(Quantity.INTENSITY, channel)
        found += against(bound, value, path, "the calibrated maximum", context=" for this patient")
    return found
