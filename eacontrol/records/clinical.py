"""What the practitioner says about a session that no device can measure: the intensity aim,
the STRICTA 2010 items software can hold, and annotations (adverse events, notes).

STRICTA 2010 (MacPherson et al., PLoS Med 2010;7(6):e1000261) asks a report for the needle
type (item 2g: diameter, length, manufacturer or material), the depth of insertion (2c), the
response sought (2d), the needle retention time (2f), the number of needle insertions (2a) and
the practitioner's background (item 5). :class:`ClinicalDetails` holds what the practitioner
gives (``eactl run`` options); each item left out is reported as *not recorded*, never guessed.

An :class:`Annotation` is added during the session (from another terminal, or the live view)
or after it (``eactl annotate``): the only record an ended session still takes, itself stamped
with the time it was added. It is an adverse event, or a note: free text, the patient's
response (:class:`Response`: de qi, a muscle twitch, comfort), or both.
:func:`new_annotation` builds one from what was given (the one builder for every caller).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eacontrol.errors import Layer, ParameterError

__all__ = [
    "RESPONSE_WORDS",
    "Annotation",
    "AnnotationKind",
    "ClinicalDetails",
    "Response",
    "Severity",
    "clean_text",
    "known_keys",
    "new_annotation",
    "schema_refusal",
]

MAX_TEXT = 500
"""Longest free text of a clinical field or annotation, characters (a design value: a sentence
or two for a clinical record, not a document)."""


def schema_refusal(parameter: str, value: object, allowed: str) -> ParameterError:
    """A record field refused (schema layer): ``parameter`` is its path."""
    return ParameterError(parameter, value, allowed, layer=Layer.SCHEMA)


def known_keys(name: str, cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a record's JSON) if it holds only fields of the dataclass ``cls``.

    Raises:
        ParameterError: an unknown key (a newer eacontrol's record), naming ``name``.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise schema_refusal(name, unknown, f"keys among {sorted(names)}")
    return data


def clean_text(owner: str, name: str, value: object) -> str | None:
    """``value`` with its white space collapsed (None stays None).

    Raises:
        ParameterError: not text, empty, or longer than ``MAX_TEXT``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise schema_refusal(f"{owner}.{name}", value, "text")
    cleaned = " ".join(value.split())
    if not cleaned or len(cleaned) > MAX_TEXT:
        raise schema_refusal(f"{owner}.{name}", value, f"text of 1 to {MAX_TEXT} characters")
    return cleaned


def _positive(owner: str, name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise schema_refusal(f"{owner}.{name}", value, "a finite number > 0")


_TEXT_FIELDS = frozenset(
    {"intensity_aim", "response_sought", "needle_maker", "needle_material", "practitioner"}
)


@dataclass(frozen=True)
class ClinicalDetails:
    """The practitioner's account of a session (every field optional; None: not given).

    Attributes:
        intensity_aim: the intensity sought, in words ("strong but comfortable", "visible
            muscle twitch", "sensory threshold").
        response_sought: STRICTA 2d, e.g. "de qi".
        needle_maker: STRICTA 2g, the needle's manufacturer (and model).
        needle_material: STRICTA 2g, e.g. "stainless steel".
        needle_length_mm: STRICTA 2g, the needle's length (the profile holds only the length
            in tissue).
        needle_diameter_mm: STRICTA 2g, when the profile gives none.
        insertion_depth_mm: STRICTA 2c, the depth of insertion, when the profile gives none.
        insertions: STRICTA 2a, needle insertions per session, when more needles were inserted
            than the stimulated sites.
        retention_s: STRICTA 2f, needle retention time (insertion to removal).
        practitioner: STRICTA 5, the practitioner's background (training, years of practice).

    Raises:
        ParameterError: empty or overlong text, a number not finite and > 0.
    """

    intensity_aim: str | None = None
    response_sought: str | None = None
    needle_maker: str | None = None
    needle_material: str | None = None
    needle_length_mm: float | None = None
    needle_diameter_mm: float | None = None
    insertion_depth_mm: float | None = None
    insertions: int | None = None
    retention_s: float | None = None
    practitioner: str | None = None

    def __post_init__(self) -> None:
        owner = "ClinicalDetails"
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name in _TEXT_FIELDS:
                if not isinstance(value, str):
                    raise schema_refusal(f"{owner}.{f.name}", value, "text")
                object.__setattr__(self, f.name, clean_text(owner, f.name, value))
            elif f.name == "insertions":
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise schema_refusal(f"{owner}.insertions", value, "a whole number >= 1")
            else:
                _positive(owner, f.name, value)

    def to_json(self) -> dict[str, Any]:
        """The fields given (None left out), JSON-ready."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClinicalDetails:
        """From :meth:`to_json` (unknown keys are refused: a newer writer's record)."""
        return cls(**known_keys("clinical", cls, data))


class AnnotationKind(enum.StrEnum):
    """What an annotation is."""

    ADVERSE_EVENT = "adverse_event"
    NOTE = "note"


class Severity(enum.StrEnum):
    """An adverse event's severity (the mild/moderate/severe grading of trial reports)."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


class Response(enum.StrEnum):
    """The patient's response, from a small vocabulary (free text goes in the note).

    The responses STRICTA 2010 item 2d names ("de qi or muscle twitch response") and the
    patient's comfort, which the practitioner titrates to (a design vocabulary: short enough
    to pick in the treatment room; anything else is a note).
    """

    DE_QI = "de_qi"
    NO_DE_QI = "no_de_qi"
    TWITCH = "twitch"
    COMFORTABLE = "comfortable"
    UNCOMFORTABLE = "uncomfortable"
    TOO_STRONG = "too_strong"


RESPONSE_WORDS = {
    Response.DE_QI: "de qi",
    Response.NO_DE_QI: "no de qi",
    Response.TWITCH: "muscle twitch",
    Response.COMFORTABLE: "comfortable",
    Response.UNCOMFORTABLE: "uncomfortable",
    Response.TOO_STRONG: "too strong",
}
"""Each response in words, for reports."""


@dataclass(frozen=True)
class Annotation:
    """An adverse event or a note, added at or after the session.

    Attributes:
        kind: adverse event or note.
        added_at: when it was added (UTC, timezone-aware; the store checks it is not before
            the session's start).
        t_s: the session time it refers to (may be after the session's end: a bruise found
            later), or None when not given.
        event: the adverse event's kind in words ("bleeding", "haematoma", "syncope"); None
            for a note.
        severity: the adverse event's severity; None for a note.
        note: free text ("" for none).
        response: the patient's response (a note only), or None.
        id: the record's id (0 before it is stored).

    Raises:
        ParameterError: an adverse event without event kind or severity, or with a response; a
            note with them, or with neither text nor response; a negative or infinite
            ``t_s``; overlong text.
    """

    kind: AnnotationKind
    added_at: datetime
    t_s: float | None = None
    event: str | None = None
    severity: Severity | None = None
    note: str = ""
    response: Response | None = None
    id: int = 0

    def __post_init__(self) -> None:
        owner = "Annotation"
        for name, kind in (
            ("kind", AnnotationKind),
            ("severity", Severity),
            ("response", Response),
        ):
            value = getattr(self, name)
            if value is not None and value not in set(kind):
                raise schema_refusal(f"{owner}.{name}", value, f"one of {[k.value for k in kind]}")
            object.__setattr__(self, name, None if value is None else kind(value))
        if self.t_s is not None and (not math.isfinite(self.t_s) or self.t_s < 0):
            raise schema_refusal(f"{owner}.t_s", self.t_s, "session time, a finite number >= 0 s")
        object.__setattr__(self, "event", clean_text(owner, "event", self.event))
        object.__setattr__(self, "note", clean_text(owner, "note", self.note or None) or "")
        adverse = self.kind is AnnotationKind.ADVERSE_EVENT
        if adverse and (self.event is None or self.severity is None):
            raise schema_refusal(
                f"{owner}.event", self.event, "an adverse event's kind and severity"
            )
        if not adverse and (self.event is not None or self.severity is not None):
            raise schema_refusal(f"{owner}.severity", self.severity, "none for a note")
        if adverse and self.response is not None:
            raise schema_refusal(f"{owner}.response", self.response, "none for an adverse event")
        if not adverse and not self.note and self.response is None:
            raise schema_refusal(
                f"{owner}.note", self.note, "the note's text or the patient's response"
            )


def new_annotation(
    added_at: datetime,
    *,
    note: str | None = None,
    response: Response | None = None,
    adverse_event: str | None = None,
    severity: Severity | None = None,
    t_s: float | None = None,
) -> Annotation:
    """An annotation from what was given: an adverse event when ``adverse_event`` is given (with
    ``severity``, and ``note`` as its details), else a note (text, response or both).

    The one builder for ``eactl annotate`` and the live view; store it with
    :meth:`RecordStore.add_annotation <eacontrol.records.store.RecordStore.add_annotation>`
    (during the session from the session's record writer's thread or another process, or
    after it).

    Args:
        added_at: now (timezone-aware).
        note: free text.
        response: the patient's response.
        adverse_event: the adverse event in words ("haematoma").
        severity: the adverse event's severity.
        t_s: the session time it refers to, or None when not given.

    Raises:
        ParameterError: naming the field and what it takes (:class:`Annotation`).
    """
    adverse = adverse_event is not None
    return Annotation(
        kind=AnnotationKind.ADVERSE_EVENT if adverse else AnnotationKind.NOTE,
        added_at=added_at,
        t_s=t_s,
        event=adverse_event,
        severity=severity,
        note=note or "",
        response=response,
    )
