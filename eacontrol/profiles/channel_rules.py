"""Rules on a channel's needles and on the patient: placement, site policy, pregnancy, implants."""

from __future__ import annotations

from collections.abc import Sequence

from eacontrol.errors import Finding, Layer, Severity
from eacontrol.profiles.context import PatientContext, SitePolicy
from eacontrol.profiles.models import Channel
from eacontrol.profiles.rules import against
from eacontrol.safety import LimitStack, Quantity
from eacontrol.safety.placement import (
    IMPLANT_SOURCE,
    PREGNANCY_POINTS,
    PREGNANCY_SOURCE,
    check_pair,
    shared_pairs,
)

__all__ = ["channel_findings", "patient_findings", "shared_pair_findings"]


def channel_findings(
    channel: Channel,
    k: int,
    stack: LimitStack,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> list[Finding]:
    """Rules on a channel: the device's channel count, placement, site and pregnancy points.

    Args:
        channel: the channel.
        k: its index in ``channels``.
        stack: the limit layers.
        site: the site policy (its refused points), if any.
        patient: the patient (pregnancy and its overrides), if any.
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
        if patient is None or not patient.pregnant or code not in PREGNANCY_POINTS:
            continue
        override = patient.override_for(code)
        if override is None:
            message = f"{code} is avoided in pregnancy (an override must be recorded to use it)"
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
    return found


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
    """A pacemaker or an ICD refuses electrical stimulation altogether."""
    if patient is None:
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
