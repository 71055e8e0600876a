"""The checker: a profile against every limit layer and placement rule, as a list of findings.

:func:`check_profile` is the one entry point for a parsed profile; :func:`check_parts` checks
the parts of a document that failed as a whole (every step and channel that is valid on its
own), so that a file with a misspelt key still reports its 500 Hz step in the same run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from typing import Any

from pydantic import TypeAdapter, ValidationError

from eacontrol.errors import Finding
from eacontrol.profiles.channel_rules import (
    calibration_findings,
    channel_findings,
    patient_findings,
    shared_pair_findings,
)
from eacontrol.profiles.context import PatientContext, SitePolicy
from eacontrol.profiles.models import (
    Channel,
    Profile,
    SessionLimits,
    channel_structure,
    resolve_ceiling,
    step_structure,
    structure_findings,
)
from eacontrol.profiles.rules import (
    key_findings,
    program_findings,
    session_findings,
    step_findings,
)
from eacontrol.profiles.sourcemap import SourceMap
from eacontrol.profiles.steps import Step
from eacontrol.safety import LimitStack
from eacontrol.safety.limits import STANDARD, DeviceLimits, StandardLimits

__all__ = ["check_parts", "check_profile"]

_STEP: TypeAdapter[Step] = TypeAdapter(Step)


def _unique(findings: Iterable[Finding], origin: SourceMap | None) -> list[Finding]:
    """Drop repeats (a rule met on several channels alike), keep order, fill file and line."""
    seen: set[tuple[object, ...]] = set()
    out = []
    for f in findings:
        key = (f.severity, f.path, f.message, f.layer)
        if key not in seen:
            seen.add(key)
            out.append(origin.locate(f) if origin else f)
    return out


def check_profile(
    profile: Profile,
    *,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
    origin: SourceMap | None = None,
    standard: StandardLimits = STANDARD,
) -> list[Finding]:
    """Check a profile against every layer: refusals and advisories, all at once.

    Args:
        profile: the profile.
        device: the connected device's limits (device layer), if any.
        site: the clinic's policy (site layer), if any.
        patient: the patient's flags and calibrated maxima (patient layer), if any.
        origin: the file the profile came from, to fill in file and line.
        standard: the standard layer (the built-in table; other values are for tests).

    Returns:
        Every finding; the profile may run only if none has severity ``refuse``.
    """
    stack = LimitStack.build(standard=standard, device=device, site=site, patient=patient)
    found = structure_findings(profile) + patient_findings(patient)
    for k, channel in enumerate(profile.channels):
        found += channel_findings(channel, k, stack, site, patient)
    found += shared_pair_findings(list(enumerate(profile.channels)))
    others = LimitStack.build(standard=standard, device=device, site=site)
    found += calibration_findings([c.channel for c in profile.channels], patient, others)
    needles = {ch.channel: ch.needle for ch in profile.channels}
    for i, step in enumerate(profile.steps):
        found += step_findings(step, i, stack)
        for number in step.channels:
            ceiling = profile.ceiling(i, number)
            found += program_findings(step, i, number, ceiling, needles.get(number), stack)
    found += session_findings(profile, stack)
    return _unique(found, origin)


def check_parts(
    raw: Mapping[str, Any],
    *,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
    origin: SourceMap | None = None,
    standard: StandardLimits = STANDARD,
    skip: Set[str] = frozenset(),
) -> list[Finding]:
    """Check the valid parts of a document whose whole did not validate.

    Every ``[[channels]]`` table and every ``[[steps]]`` table that validates on its own is
    checked like :func:`check_profile` would (ceilings from the step, the channel or the session
    table when those are valid, else the default). A step that does not validate still has each
    of its numeric keys checked against its bounds (:func:`~eacontrol.profiles.rules.key_findings`).

    Args:
        raw: the parsed document.
        device / site / patient / origin / standard: as for :func:`check_profile`.
        skip: field paths the schema already refused (not reported twice).
    """
    stack = LimitStack.build(standard=standard, device=device, site=site, patient=patient)
    found = patient_findings(patient)
    try:
        session = SessionLimits.model_validate(raw.get("session", {}))
    except ValidationError:
        session = SessionLimits()
    channels: list[tuple[int, Channel]] = []
    raw_channels = _items(raw.get("channels"))
    for k, item in enumerate(raw_channels):
        try:
            channel = Channel.model_validate(item)
        except ValidationError:
            continue
        channels.append((k, channel))
        found += channel_findings(channel, k, stack, site, patient)
    found += channel_structure(channels) + shared_pair_findings(channels)
    # A raw channel number may be any TOML value (a list, a table): keep the integers only.
    numbers = (c.get("channel") for c in raw_channels if isinstance(c, dict))
    defined = {n for n in numbers if isinstance(n, int) and not isinstance(n, bool)}
    needles = {ch.channel: ch.needle for _, ch in reversed(channels)}
    for i, item in enumerate(_items(raw.get("steps"))):
        try:
            step = _STEP.validate_python(item)
        except ValidationError:
            if isinstance(item, dict):
                found += key_findings(item, f"steps[{i}]", stack, skip)
            continue
        found += step_structure(step, i, defined)
        found += step_findings(step, i, stack)
        for number in step.channels:
            ceiling = resolve_ceiling(step, i, number, channels, session)
            found += program_findings(step, i, number, ceiling, needles.get(number), stack)
    return _unique(found, origin)


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else []
