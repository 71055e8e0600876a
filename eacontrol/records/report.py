"""The session report: identity, STRICTA items, prescribed and delivered stimulation, events.

STRICTA 2010 (MacPherson et al., PLoS Med 7(6):e1000261) lists what a trial report must say
about an acupuncture intervention. The software knows items 2a (needle insertions: distinct
needle sites), 2b (points and sides), 2c (inserted length, when the profile gives it),
2e (electrical stimulation, with every parameter), 2f (retention: at least the stimulation
time), 2g (needle diameter) and 3a/3b (sessions of the patient id in this database, this
session's duration, days since the previous one), and what the practitioner gave
(:class:`~eacontrol.records.clinical.ClinicalDetails`: intensity aim, 2c depth, 2d response
sought, 2f retention, 2g needle length, maker and material, 5 practitioner background). The
rest is listed as not recorded, so a methods section knows what to add. What was delivered over
time (intensity ranges, operator changes, pauses, stops, missing samples, phase charges) is
``course`` (:mod:`eacontrol.records.course`); adverse events and notes are ``annotations``.

The report is a JSON-ready dict (:class:`Report`); :func:`render_json` writes it and
``render_markdown`` (:mod:`eacontrol.records.markdown`) turns it into prose and tables.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal, TypedDict

from eacontrol.anatomy.acupoints import parse_site
from eacontrol.errors import EAError, RecordError
from eacontrol.records.alarm import alarm_text
from eacontrol.records.clinical import Annotation, ClinicalDetails
from eacontrol.records.course import Course, course
from eacontrol.records.delivered import ChannelDelivery, channel_delivery
from eacontrol.records.intensity import ChannelIntensity, channel_intensities
from eacontrol.records.model import Outcome, SessionSummary, StepRecord
from eacontrol.records.prescription import (
    PrescribedStep,
    Prescription,
    is_titration,
    parse_prescription,
)
from eacontrol.records.rows import iso
from eacontrol.records.scripted import profile_part, steps_as_run
from eacontrol.records.store import RecordStore

__all__ = [
    "REPORT_VERSION",
    "ROUTINE_EVENT_KINDS",
    "AnnotationItem",
    "DevicePart",
    "EventItem",
    "NeedleItem",
    "PatientSessions",
    "PointItem",
    "ProfilePart",
    "Report",
    "SessionPart",
    "SiteItem",
    "StepItem",
    "Stricta",
    "build_report",
    "render_json",
]

REPORT_VERSION = 7
"""Version of the report's JSON layout (3: ``clinical``, ``course``, ``annotations``, the
device's output mode and compliance voltage; 4: ``session.alarm``, the patient's sessions
without the simulated ones (``patient_sessions.number`` null for a simulated session), an
annotation's ``response`` and ``added_s``, annotations in time order; 5: each step's
``intensity``, per channel how it was set (fixed or titrated) and its treatment intensity, and
``study``: the session's condition, arm and tags as given; 6: ``profile.source``; 7: each
channel's delivered ``total_charge_uC`` beside its ``net_charge_uC``)."""

OUTPUT_MODE = "constant current"
"""The output every eacontrol device has: a current source (PROTOCOL.md §3.10: COMPLIANCE when
it cannot drive the set current; the program sets currents, never voltages)."""

ROUTINE_EVENT_KINDS = frozenset({"progress", "intensity", "impedance", "marker"})
"""Event kinds counted, not listed, in the report's timeline (the exports hold every event; a
``marker``'s note is listed with the annotations)."""

NOT_RECORDED = (
    ("1a-1c acupuncture rationale", None),
    ("2d response sought (de qi, muscle twitch)", "response_sought"),
    ("2g needle length", "needle_length_mm"),
    ("2g needle manufacturer", "needle_maker"),
    ("2g needle material", "needle_material"),
    ("4a-4b other components of treatment, setting and context", None),
    ("5 practitioner background", "practitioner"),
    ("6a-6b control or comparator interventions", None),
)
"""STRICTA items the software cannot know unless the practitioner gives them (the
``ClinicalDetails`` field that holds each, or None); the report names those missing."""

Laterality = Literal["bilateral", "left", "right", "midline", "unknown"]


class SessionPart(TypedDict):
    """The session's identity and end."""

    id: int
    outcome: str
    detail: str
    alarm: str | None
    started_at: str
    ended_at: str | None
    duration_s: float | None
    duration_at_least: bool
    operator_id: str | None
    patient_id: str | None
    software_version: str


class ProfilePart(TypedDict):
    """The profile that ran; ``source`` ``script``: a script's own calls, whose ``steps`` are the
    programs it sent (``eacontrol.records.scripted``)."""

    source: Literal["profile", "script"]
    name: str
    version: str
    sha256: str
    indication: str
    references: list[str]


class DevicePart(TypedDict):
    """The stimulator."""

    model: str
    serial: str
    firmware_version: str
    boot_id: int
    port: str
    simulated: bool
    output_mode: str
    compliance_V: float | None


class PatientSessions(TypedDict):
    """This session among the patient id's sessions in the database (by start time): the
    treatment sessions, without those run on the simulator unless ``include_simulated``.

    ``number`` is None for a simulated session left out (it is no treatment session) and for a
    titration (every step a threshold step: ``is_titration``), which is never counted;
    ``simulated_left_out`` counts the patient's simulated sessions not counted,
    ``titrations_left_out`` their titrations.
    """

    patient_id: str
    number: int | None
    include_simulated: bool
    simulated_left_out: int
    titration: bool
    titrations_left_out: int
    total: int
    completed_before: int
    previous_started_at: str | None
    days_since_previous: float | None


class SiteItem(TypedDict):
    """One needle site and the channels that use it."""

    site: str
    code: str
    name: str | None
    side: str | None
    channels: list[int]


class PointItem(TypedDict):
    """One acupoint with the sides needled."""

    code: str
    name: str | None
    laterality: Laterality


class NeedleItem(TypedDict):
    """Needle geometry of one channel."""

    channel: int
    diameter_mm: float
    inserted_length_mm: float


class Stricta(TypedDict):
    """STRICTA items known to the software."""

    needle_count: int
    points: list[PointItem]
    sites: list[SiteItem]
    needles: list[NeedleItem]
    needle_stimulation: str
    stimulation_time_s: float | None
    stimulation_time_at_least: bool
    prescribed_time_s: float
    not_recorded: list[str]


class StepItem(TypedDict):
    """A prescribed step and when it actually ran (None: it did not start or end)."""

    prescribed: PrescribedStep
    started_s: float | None
    ended_s: float | None
    ran_s: float | None
    intensity: list[ChannelIntensity]


class EventItem(TypedDict):
    """A notable event."""

    t_s: float
    kind: str
    channel: int | None
    message: str


class AnnotationItem(TypedDict):
    """An adverse event or a note, added at or after the session."""

    id: int
    kind: str
    added_at: str
    t_s: float | None
    event: str | None
    severity: str | None
    note: str
    response: str | None
    added_s: float


class Report(TypedDict):
    """Everything a methods section needs about one session."""

    report_version: int
    session: SessionPart
    profile: ProfilePart
    device: DevicePart
    patient_sessions: PatientSessions | None
    stricta: Stricta
    clinical: dict[str, float | int | str | None]
    study: dict[str, Any]
    steps: list[StepItem]
    delivered: list[ChannelDelivery]
    course: Course
    annotations: list[AnnotationItem]
    events: list[EventItem]
    routine_event_counts: dict[str, int]
    patient_flags: list[str]
    overrides: list[str]
    findings: list[str]


def _site_item(text: str) -> SiteItem:
    try:
        site = parse_site(text)
    except EAError:  # an unknown code in an old record: show it as written
        return SiteItem(site=text, code=text, name=None, side=None, channels=[])
    side = None if site.side is None else site.side.value
    return SiteItem(
        site=str(site), code=site.point.code, name=site.point.name, side=side, channels=[]
    )


def _sites(rx: Prescription) -> list[SiteItem]:
    """Distinct needle sites (a site two channels share is one needle), with their channels."""
    found: dict[str, SiteItem] = {}
    for ch in rx["channels"]:
        for text in ch["electrodes"]:
            item = _site_item(text)
            found.setdefault(item["site"], item)["channels"].append(ch["channel"])
    return list(found.values())


def _points(sites: list[SiteItem]) -> list[PointItem]:
    sides: dict[str, set[str | None]] = {}
    names: dict[str, str | None] = {}
    for s in sites:
        sides.setdefault(s["code"], set()).add(s["side"])
        names[s["code"]] = s["name"]
    points: list[PointItem] = []
    for code, found in sides.items():
        laterality: Laterality
        if found == {None}:
            laterality = "midline" if names[code] is not None else "unknown"
        elif found >= {"L", "R"}:
            laterality = "bilateral"
        else:
            laterality = "left" if "L" in found else "right"
        points.append(PointItem(code=code, name=names[code], laterality=laterality))
    return points


def _annotations(notes: list[Annotation], summary: SessionSummary) -> list[AnnotationItem]:
    """In time order: the session time each refers to, else when it was added (``added_s``:
    seconds after the session's start), the order added breaking ties."""
    items = [
        AnnotationItem(
            id=a.id,
            kind=a.kind.value,
            added_at=iso(a.added_at),
            t_s=a.t_s,
            event=a.event,
            severity=None if a.severity is None else a.severity.value,
            note=a.note,
            response=None if a.response is None else a.response.value,
            added_s=(a.added_at - summary.meta.started_at).total_seconds(),
        )
        for a in notes
    ]
    return sorted(items, key=lambda i: (i["added_s"] if i["t_s"] is None else i["t_s"], i["id"]))


def _stricta(
    rx: Prescription,
    steps: list[StepRecord],
    known_until_s: float | None,
    given: ClinicalDetails,
) -> Stricta:
    """``known_until_s``: an interrupted session's last record (its unended step ran at least
    until then); None for a session that ended."""
    sites = _sites(rx)
    needles = [
        NeedleItem(channel=c["channel"], **c["needle"])
        for c in rx["channels"]
        if c["needle"] is not None
    ]
    # First step start to last step end (or start, for a step that did not end; or the last
    # record of an interrupted session: it ran at least until then).
    last = known_until_s
    ends = [
        s.ended_s if s.ended_s is not None else max(s.started_s, last or s.started_s) for s in steps
    ]
    ran = max(ends) - min(s.started_s for s in steps) if steps else None
    return {
        "needle_count": len(sites),
        "points": _points(sites),
        "sites": sites,
        "needles": needles,
        "needle_stimulation": "electrical",
        "stimulation_time_s": ran,
        "stimulation_time_at_least": last is not None,
        "prescribed_time_s": sum(s["duration_s"] for s in rx["steps"]),
        "not_recorded": [
            item for item, name in NOT_RECORDED if name is None or getattr(given, name) is None
        ],
    }


def _steps(rx: Prescription, records: list[StepRecord]) -> list[StepItem]:
    by_index = {r.index: r for r in records}
    items: list[StepItem] = []
    for step in rx["steps"]:
        rec = by_index.get(step["index"])
        started = None if rec is None else rec.started_s
        ended = None if rec is None else rec.ended_s
        ran = None if started is None or ended is None else ended - started
        params = None if rec is None else rec.parameters
        intensity = channel_intensities(step, params, ended=ended is not None)
        items.append(
            StepItem(
                prescribed=step, started_s=started, ended_s=ended, ran_s=ran, intensity=intensity
            )
        )
    return items


def _patient_sessions(
    store: RecordStore, summary: SessionSummary, include_simulated: bool
) -> PatientSessions | None:
    patient = summary.meta.patient_id
    if patient is None:
        return None
    every = sorted(store.sessions(patient_id=patient), key=lambda s: (s.meta.started_at, s.id))
    treatments = [s for s in every if not is_titration(s.meta.prescription)]
    history = [s for s in treatments if include_simulated or not s.meta.simulated]
    # A simulated session left out, or a titration, is no treatment session: it has no number.
    titration = is_titration(summary.meta.prescription)
    counted = (include_simulated or not summary.meta.simulated) and not titration
    position = next((i for i, s in enumerate(history) if s.id == summary.id), None)
    if position is None:  # where it would fall: the sessions before it
        position = sum(
            1 for s in history if (s.meta.started_at, s.id) < (summary.meta.started_at, summary.id)
        )
    before = history[:position]
    previous = before[-1] if before else None
    days = None
    if previous is not None:
        days = (summary.meta.started_at - previous.meta.started_at).total_seconds() / 86400
    return {
        "patient_id": patient,
        "number": position + 1 if counted else None,
        "include_simulated": include_simulated,
        "simulated_left_out": len(treatments) - len(history),
        "titration": titration,
        "titrations_left_out": len(every) - len(treatments),
        "total": len(history),
        "completed_before": sum(1 for s in before if s.outcome is Outcome.COMPLETED),
        "previous_started_at": None if previous is None else iso(previous.meta.started_at),
        "days_since_previous": days,
    }


def build_report(store: RecordStore, session_id: int, *, include_simulated: bool = False) -> Report:
    """Build the report of one session (finished, aborted or still running).

    Args:
        store: the open store.
        session_id: the session.
        include_simulated: count the patient's sessions run on the simulator among their
            sessions (``patient_sessions``); by default only treatment sessions count, and a
            simulated session has no number among them.

    Returns:
        The report, JSON-ready.

    Raises:
        UnknownSession: no such session.
        RecordError: the stored prescription cannot be read.
    """
    summary = store.session(session_id)
    meta = summary.meta
    try:
        rx = parse_prescription(meta.prescription)
    except EAError as err:
        raise RecordError(
            f"session {session_id}: its stored prescription is unreadable: {err}"
        ) from err
    # An interrupted session (aborted, or still recorded as running) is known only up to its
    # last record: its length is a lower bound.
    interrupted = summary.outcome in (Outcome.ABORTED, Outcome.RUNNING)
    known_until_s = summary.duration_s if interrupted else None
    step_records = store.steps(session_id)
    rx["steps"] = steps_as_run(meta.prescription, rx["steps"], step_records)
    totals = store.totals(session_id)
    samples = store.samples(session_id)
    events = store.events(session_id)
    notable: list[EventItem] = []
    routine: dict[str, int] = {}
    for e in events:
        if e.kind in ROUTINE_EVENT_KINDS:
            routine[e.kind] = routine.get(e.kind, 0) + 1
        else:
            notable.append(EventItem(t_s=e.t_s, kind=e.kind, channel=e.channel, message=e.message))
    return {
        "report_version": REPORT_VERSION,
        "session": {
            "id": summary.id,
            "outcome": summary.outcome.value,
            "detail": summary.detail,
            "alarm": alarm_text(summary.outcome) or None,
            "started_at": iso(meta.started_at),
            "ended_at": None if summary.ended_at is None else iso(summary.ended_at),
            "duration_s": summary.duration_s,
            "duration_at_least": interrupted,
            "operator_id": meta.operator_id,
            "patient_id": meta.patient_id,
            "software_version": meta.software_version,
        },
        "profile": profile_part(meta, rx),
        "device": {
            "model": meta.device_model,
            "serial": meta.device_serial,
            "firmware_version": meta.firmware_version,
            "boot_id": meta.boot_id,
            "port": meta.port,
            "simulated": meta.simulated,
            "output_mode": OUTPUT_MODE,
            "compliance_V": meta.compliance_V,
        },
        "patient_sessions": _patient_sessions(store, summary, include_simulated),
        "stricta": _stricta(rx, step_records, known_until_s, meta.clinical),
        "clinical": dataclasses.asdict(meta.clinical),
        "study": meta.study.to_json(),
        "steps": _steps(rx, step_records),
        "delivered": [channel_delivery(rx, c["channel"], totals, samples) for c in rx["channels"]],
        "course": course(rx, step_records, events, samples, store.gaps(session_id)),
        "annotations": _annotations(store.annotations(session_id), summary),
        "events": notable,
        "routine_event_counts": routine,
        "patient_flags": rx["patient_flags"],
        "overrides": rx["overrides"],
        "findings": rx["findings"],
    }


def render_json(report: Report) -> str:
    """The report as indented JSON text (UTF-8 friendly, ending in a newline)."""
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
