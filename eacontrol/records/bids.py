"""A session's timeline as a BIDS-style ``events.tsv`` with its ``events.json`` sidecar.

BIDS (the Brain Imaging Data Structure) describes events in a tab-separated file whose first
columns are ``onset`` and ``duration`` in seconds, then ``trial_type``; unknown or not
applicable values are ``n/a``, and a JSON sidecar describes each column. Onsets here are
session time (seconds from the session's start, ``t_s`` in the records), so aligning them with
another recording means adding that recording's offset to the session's ``started_at``.

One row per:

============== ====================================================================
``trial_type`` from
============== ====================================================================
condition      the study's condition (``Study.condition``), if given: onset 0, duration
               the session's (``n/a`` until it ended), ``message`` the condition and the
               arm (``verum; arm A``)
step           each step as it ran: onset its start, duration end − start (``n/a``
               for a step that did not end), ``message`` its label, with ``step_index``
               and ``mode``
marker         each annotation (adverse event, note, patient response): duration 0, onset
               the session time it refers to, else the time it was added
intensity_change each operator intensity change (``course.event_course``): duration 0,
               ``channel``, ``intensity_mA`` (to) and ``previous_intensity_mA`` (from)
stop           each stop, link loss and operator stop (``event_kind`` says which):
               duration 0
fault          each ``fault`` event: duration 0
============== ====================================================================

Each row also has two extra columns (BIDS allows any, described in the sidecar): ``utc``, the
onset's wall-clock time (the session's ``started_at`` plus the onset, ISO 8601 with its offset:
``export.session_utc``), and ``device_uptime_s``, the device's uptime at the onset where the
device told it (a stop or fault the device reported; ``n/a`` for steps, markers and the host's
own events).

Rows are in onset order (ties in the order of the table above). Numbers are written at full
precision (Python's shortest round-trip form); a text holding a tab, a line end or a double
quote is double-quoted, as the csv module does.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from eacontrol.errors import Layer, ParameterError
from eacontrol.records.clinical import RESPONSE_WORDS
from eacontrol.records.course import event_course
from eacontrol.records.export import session_utc
from eacontrol.records.rows import iso
from eacontrol.records.store import RecordStore

__all__ = [
    "BIDS_COLUMNS",
    "TRIAL_TYPES",
    "bids_events",
    "events_sidecar",
    "write_bids_events",
]

BIDS_COLUMNS = (
    "onset",
    "duration",
    "trial_type",
    "step_index",
    "mode",
    "channel",
    "intensity_mA",
    "previous_intensity_mA",
    "annotation_kind",
    "severity",
    "response",
    "event_kind",
    "message",
    "utc",
    "device_uptime_s",
)
"""Columns of ``events.tsv``, in order."""

TRIAL_TYPES = {
    "condition": "the study condition the session delivered (message; the arm after it), "
    "from its start to its end",
    "step": "a step of the session's timeline, from its start to its end",
    "marker": "an annotation: an adverse event, a note or the patient's response",
    "intensity_change": "the operator changed a channel's intensity",
    "stop": "stimulation stopped: a stop, a lost link or the operator's stop",
    "fault": "a device fault stopped channels",
}
"""The ``trial_type`` values, each in words (the sidecar's ``Levels``)."""

_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

_SIDECAR: dict[str, tuple[str, str, str | None]] = {
    "onset": ("Onset", "Session time at which the event began: seconds from the start", "s"),
    "duration": ("Duration", "Seconds the event lasted; 0 for an instant, n/a: not ended", "s"),
    "trial_type": ("Event type", "What the row is (Levels)", None),
    "step_index": ("Step index", "The step's index in the prescription, from 0", None),
    "mode": ("Step mode", "continuous, dense_disperse or intermittent", None),
    "channel": ("Channel", "The stimulator channel, numbered from 1 as on the device", None),
    "intensity_mA": ("Intensity", "The intensity the operator set (peak current)", "mA"),
    "previous_intensity_mA": (
        "Previous intensity",
        "The intensity before the change; n/a: not recorded",
        "mA",
    ),
    "annotation_kind": ("Annotation kind", "adverse_event or note", None),
    "severity": ("Severity", "An adverse event's severity: mild, moderate or severe", None),
    "response": (
        "Patient response",
        "de_qi, no_de_qi, twitch, comfortable, uncomfortable or too_strong",
        None,
    ),
    "event_kind": ("Recorded kind", "The recorded event's kind: stop, fault, link, operator", None),
    "message": ("Message", "In words: a step's label, an annotation, an event's message", None),
    "utc": (
        "Wall-clock time",
        "The onset in UTC, ISO 8601 with its offset: the session's start plus the onset (under "
        "the simulator's virtual clock, virtual time from the real start)",
        None,
    ),
    "device_uptime_s": (
        "Device time",
        "The stimulator's uptime at the onset as the device reported it; n/a: not told",
        "s",
    ),
}


def _marker_text(event: str | None, response: str | None, note: str) -> str | None:
    words = [w for w in (event, response, note) if w]
    return "; ".join(words) if words else None


def bids_events(store: RecordStore, session_id: int) -> list[dict[str, Any]]:
    """The rows of ``events.tsv`` for one session (None where ``n/a``), in onset order.

    Raises:
        UnknownSession: no such session.
    """
    summary = store.session(session_id)
    empty: dict[str, Any] = dict.fromkeys(BIDS_COLUMNS)
    found: list[dict[str, Any]] = []
    study = summary.meta.study
    if study.condition is not None:  # the whole session, as the protocol named it
        arm = "" if study.arm is None else f"; arm {study.arm}"
        found.append(
            empty
            | {"onset": 0.0, "duration": summary.duration_s, "trial_type": "condition"}
            | {"message": f"{study.condition}{arm}"}
        )
    for step in store.steps(session_id):
        ran = None if step.ended_s is None else step.ended_s - step.started_s
        found.append(
            empty
            | {"onset": step.started_s, "duration": ran, "trial_type": "step"}
            | {"step_index": step.index, "mode": step.mode, "message": step.name or None}
        )
    events = store.events(session_id)
    # A stop's device time is its event's (event_course keeps its time, kind, channel, message).
    told = {(e.t_s, e.kind, e.channel, e.message): e.device_uptime_s for e in events}
    changes, _pauses, stops = event_course(events)
    for change in changes:
        found.append(
            empty
            | {"onset": change["t_s"], "duration": 0.0, "trial_type": "intensity_change"}
            | {"channel": change["channel"], "intensity_mA": change["to_mA"]}
            | {"previous_intensity_mA": change["from_mA"]}
        )
    for stop in stops:
        kind = "fault" if stop["kind"] == "fault" else "stop"
        found.append(
            empty
            | {"onset": stop["t_s"], "duration": 0.0, "trial_type": kind}
            | {"channel": stop["channel"], "event_kind": stop["kind"], "message": stop["message"]}
            | {"device_uptime_s": told[stop["t_s"], stop["kind"], stop["channel"], stop["message"]]}
        )
    for a in store.annotations(session_id):
        added_s = (a.added_at - summary.meta.started_at).total_seconds()
        response = None if a.response is None else RESPONSE_WORDS[a.response]
        found.append(
            empty
            | {"onset": added_s if a.t_s is None else a.t_s, "duration": 0.0}
            | {"trial_type": "marker", "annotation_kind": a.kind.value}
            | {"severity": None if a.severity is None else a.severity.value}
            | {"response": None if a.response is None else a.response.value}
            | {"message": _marker_text(a.event, response, a.note)}
        )
    for row in found:
        row["utc"] = iso(session_utc(summary.meta.started_at, row["onset"]))
    order = list(TRIAL_TYPES)
    return sorted(found, key=lambda row: (row["onset"], order.index(row["trial_type"])))


def events_sidecar() -> dict[str, dict[str, Any]]:
    """The ``events.json`` sidecar: each column's ``LongName``, ``Description``, ``Units``
    (where it has one) and, for ``trial_type``, its ``Levels``."""
    sidecar: dict[str, dict[str, Any]] = {}
    for column, (name, description, units) in _SIDECAR.items():
        entry: dict[str, Any] = {"LongName": name, "Description": description}
        if units is not None:
            entry["Units"] = units
        sidecar[column] = entry
    sidecar["trial_type"]["Levels"] = dict(TRIAL_TYPES)
    return sidecar


def _tsv_cell(value: object) -> str:
    return "n/a" if value is None else str(value)


def write_bids_events(
    store: RecordStore, session_id: int, out_dir: str | Path, prefix: str = ""
) -> tuple[Path, Path]:
    """Write one session's ``events.tsv`` and ``events.json`` into ``out_dir``.

    Args:
        store: the session records.
        session_id: the session.
        out_dir: the folder (created if missing); the two files in it are replaced.
        prefix: BIDS entities to name the files by, e.g. ``sub-01_ses-02_task-ea``
            (``sub-01_ses-02_task-ea_events.tsv``); empty: ``events.tsv``.

    Returns:
        The paths of the TSV and of the JSON sidecar.

    Raises:
        UnknownSession: no such session (nothing is written).
        ParameterError: a prefix that is not letters, digits, ``-`` and ``_``.
        OSError: the folder or a file cannot be written.
    """
    if prefix and not _PREFIX.fullmatch(prefix):
        allowed = "BIDS entities: letters, digits, '-' and '_' (sub-01_ses-02_task-ea)"
        raise ParameterError("prefix", prefix, allowed, layer=Layer.SCHEMA)
    found = bids_events(store, session_id)
    stem = f"{prefix}_events" if prefix else "events"
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tsv, sidecar = folder / f"{stem}.tsv", folder / f"{stem}.json"
    with tsv.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(BIDS_COLUMNS)
        writer.writerows([_tsv_cell(row[c]) for c in BIDS_COLUMNS] for row in found)
    sidecar.write_text(
        json.dumps(events_sidecar(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return tsv, sidecar
