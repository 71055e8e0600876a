"""The profile as run, for the session record: the ``prescription`` dict of ``docs/records.md``.

Every stimulation value comes from the plan's ``Stimulation`` (``Step.stimulation()``, the one
mapping from profile keys to the API's), so the record says what the device was told, in the
key names of records schema 1 (``frequency_hz`` for half a; ``interphase_us`` and ``shape``
``symmetric``/``asymmetric``, the names the API used before ``Stimulation``: renaming them in
stored records needs a records migration, planned with the research-data work). Ceilings are
the effective ones: the highest intensity the operator could set, every layer applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from eacontrol.errors import Finding, Severity
from eacontrol.profiles import PatientContext, Profile, dumps_json
from eacontrol.session.plan import PlannedChannel, PlannedStep, SessionPlan
from eacontrol.stimulation import PulseShape

__all__ = ["build_prescription", "patient_flags", "profile_sha256"]

_RECORD_SHAPES = {
    PulseShape.SYMMETRIC_BIPHASIC: "symmetric",
    PulseShape.ASYMMETRIC_BIPHASIC: "asymmetric",
}


def profile_sha256(profile: Profile) -> str:
    """The sha256 of the profile's canonical JSON form (``dumps_json``), 64 hex digits."""
    return hashlib.sha256(dumps_json(profile).encode("utf-8")).hexdigest()


def patient_flags(patient: PatientContext | None) -> list[str]:
    """The patient layer's flags in words (pacemaker, ICD with any recorded clearance, pregnancy,
    calibrated maxima)."""
    if patient is None:
        return []
    flags = [name for name, on in (("pacemaker", patient.pacemaker), ("ICD", patient.icd)) if on]
    if flags and patient.implant_clearance is not None:  # issue 15: the clearance goes on record
        flags = [f"{name} {patient.implant_clearance}" for name in flags]
    if patient.pregnant:
        flags.append("pregnant")
    flags += [
        f"calibrated maximum {mA:g} mA on channel {ch}"
        for ch, mA in sorted(patient.calibrated_max_mA.items())
    ]
    return flags


def _prescribed_mA(c: PlannedChannel) -> float:
    if c.titration is not None:
        return float(c.titration.target_mA)
    if c.relative is not None:
        return float(c.relative.cap_mA)
    return float(c.stimulation.intensity_mA)


def _step(step: PlannedStep) -> dict[str, Any]:
    p = step.channels[0].stimulation  # the step's pulse settings are the same on every channel

    def opt(value: float | None) -> float | None:
        return None if value is None else float(value)

    return {
        "index": step.index,
        "name": step.label,
        "mode": p.mode,
        "channels": list(step.numbers),
        "duration_s": float(step.duration_s),
        "frequency_hz": float(p.frequency_hz),
        "phase_width_us": float(p.phase_width_us),
        "frequency_b_hz": opt(p.frequency_b_hz),
        "phase_width_b_us": opt(p.phase_width_b_us),
        "dwell_a_s": opt(p.dwell_a_s),
        "dwell_b_s": opt(p.dwell_b_s),
        "on_s": opt(p.on_s),
        "off_s": opt(p.off_s),
        "shape": _RECORD_SHAPES[p.shape],
        "asym_ratio": p.asym_ratio,
        "interphase_us": float(p.interphase_gap_us),
        # A titrated step's prescribed intensity is its target (guidance), a relative step's
        # the most its threshold may set; what START ramps to (the titration's start, the
        # threshold's multiple) and what was reached are in the step record and the events.
        "intensity_mA": {str(c.channel): _prescribed_mA(c) for c in step.channels},
        "intensity": step.channels[0].setting.value,
        "ceiling_mA": {str(c.channel): float(c.ceiling.value_mA) for c in step.channels},
        "ramp_up_s": float(p.ramp_up_s),
        "ramp_down_s": float(p.ramp_down_s),
    }


def build_prescription(
    profile: Profile,
    plan: SessionPlan,
    *,
    patient: PatientContext | None = None,
    findings: Sequence[Finding] = (),
) -> dict[str, Any]:
    """The prescription dict a session record holds (shape: ``docs/records.md``).

    Args:
        profile: the profile run.
        plan: its plan (programs and effective ceilings).
        patient: the patient layer, for flags and recorded overrides.
        findings: the checker's findings; the advisories shown are recorded.

    Returns:
        A JSON-ready dict that ``eacontrol.records.parse_prescription`` accepts.
    """
    overrides = [
        f"{o.point}: {o.reason} (authorised by {o.authorised_by}, recorded "
        f"{o.recorded_at.isoformat()})"
        for o in (patient.pregnancy_overrides if patient else ())
    ]
    return {
        "name": profile.name,
        "indication": profile.indication,
        "references": list(profile.references),
        "channels": [
            {
                "channel": ch.channel,
                "electrodes": [str(site) for site in ch.electrodes],
                "needle": None if ch.needle is None else ch.needle.model_dump(),
            }
            for ch in profile.channels
        ],
        "steps": [_step(step) for step in plan.steps],
        "patient_flags": patient_flags(patient),
        "overrides": overrides,
        "findings": [str(f) for f in findings if f.severity is Severity.ADVISORY],
    }
