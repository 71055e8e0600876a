"""Pre-flight: everything checked before the first command that could stimulate.

In order, each refusal before anything but GET_STATUS is sent: the store can be written; the
device is the pinned one; the profile passes every limit layer, the connected device's
included; every output is off at zero and no channel of the profile has a latched fault
("every channel at 0": docs/architecture.md). Then the record's identity (``SessionMeta``) is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eacontrol import __version__
from eacontrol.device import Stimulator
from eacontrol.errors import (
    Finding,
    IdentityMismatch,
    ProfileRefused,
    RecordError,
    SessionError,
    Severity,
)
from eacontrol.profiles import PatientContext, Profile, SitePolicy, check_profile
from eacontrol.records import ClinicalDetails, RecordStore, SessionMeta, Study
from eacontrol.safety import LimitStack
from eacontrol.session.plan import SessionPlan
from eacontrol.session.prescription import build_prescription, profile_sha256

if TYPE_CHECKING:
    from eacontrol.session.script_meta import ScriptIdentity

__all__ = ["Identity", "preflight", "session_meta"]


@dataclass(frozen=True)
class Identity:
    """Who ran the session and where, for the record.

    Attributes:
        port: the port or URL the stimulator was connected on.
        simulated: True when the device is the simulator.
        operator_id / patient_id: identifiers as given, or None.
        profile_version: the profile's version text, or None for its short hash.
        clinical: the practitioner's account (intensity aim, STRICTA items), as given.
        study: the session's condition, arm and tags, as given.
    """

    port: str
    simulated: bool
    operator_id: str | None = None
    patient_id: str | None = None
    profile_version: str | None = None
    clinical: ClinicalDetails | None = None
    study: Study | None = None


def preflight(
    stim: Stimulator,
    profile: Profile,
    store: RecordStore,
    *,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
    device_serial: str | None = None,
) -> tuple[SessionPlan, list[Finding]]:
    """Check that the session may start, and lay out its plan with every layer's ceilings.

    Returns:
        The plan and the profile check's findings (advisories only).

    Raises:
        RecordError: the store was opened read-only.
        IdentityMismatch: the device is not the pinned serial number.
        ProfileRefused: the profile breaks a limit layer or a placement rule.
        SessionError: an output is not off at zero, or a channel of the profile has a latched
            fault.
    """
    if store.read_only:
        raise RecordError(
            f"session database {store.path}: opened read-only; a session needs a writable database"
        )
    info = stim.info
    if device_serial is not None and info.serial != device_serial:
        raise IdentityMismatch(
            f"connected device {info.model} has serial {info.serial!r}, not the pinned "
            f"{device_serial!r}; nothing was sent"
        )
    findings = check_profile(profile, device=stim.limits, site=site, patient=patient)
    refused = [f for f in findings if f.severity is Severity.REFUSE]
    if refused:
        raise ProfileRefused(refused)
    plan = SessionPlan.build(
        profile, LimitStack.build(device=stim.limits, site=site, patient=patient)
    )
    problems = []
    for r in stim.status().channels:
        if not r.output_off:
            problems.append(f"channel {r.channel} is {r.state.name} at {r.measured_mA:g} mA")
        if r.faults and r.channel in plan.channels:
            problems.append(f"channel {r.channel} has a latched fault ({', '.join(r.faults)})")
    if problems:
        raise SessionError(
            f"refusing to start: {'; '.join(problems)}. Every output must be off at zero and "
            "every channel of the profile free of faults (fix the cause, then clear the fault) "
            "before a session starts; nothing was sent"
        )
    return plan, findings


def session_meta(
    stim: Stimulator,
    profile: Profile,
    plan: SessionPlan,
    identity: Identity,
    *,
    patient: PatientContext | None,
    findings: list[Finding],
    started_at: datetime,
) -> SessionMeta:
    """The record's identity: profile as run, device, people, start time."""
    digest = profile_sha256(profile)
    return SessionMeta(
        profile_name=profile.name,
        profile_version=identity.profile_version or digest[:12],
        profile_hash=digest,
        prescription=build_prescription(profile, plan, patient=patient, findings=findings),
        port=identity.port,
        simulated=identity.simulated,
        **shared_fields(stim, identity, started_at),
    )


def shared_fields(
    stim: Stimulator, people: Identity | ScriptIdentity, started_at: datetime
) -> dict[str, Any]:
    """The record's fields (``SessionMeta``) a profile's session and a recorded script take
    alike: the people, the start, the clinical account and study (empty when not given), and
    the device and software, from the connected device."""
    info = stim.info
    return {
        "operator_id": people.operator_id,
        "patient_id": people.patient_id,
        "started_at": started_at,
        "clinical": people.clinical or ClinicalDetails(),
        "study": people.study or Study(),
        "device_model": info.model,
        "device_serial": info.serial,
        "firmware_version": info.firmware,
        "boot_id": info.boot_id,
        "compliance_V": info.limits.compliance_V,
        "software_version": __version__,
    }
