"""A script's session record: how it is told apart, and its programs as the report's steps.

A script driving a ``Stimulator`` directly (``eacontrol.session.script.recorded``) has no
profile: nothing was prescribed ahead. Its record says so with ``prescription["source"] ==
"script"`` (a key ``parse_prescription`` ignores, so no schema change: a profile record has no
such key) and an empty ``steps`` list; each program the script sent is a step record (one
channel, from its SET_PROGRAM until the channel was programmed again or the record ended) whose
``parameters["channels"]`` holds the ``Stimulation`` fields as sent, the program CRC the device
acknowledged and the highest intensity the limits allowed. :func:`sent_steps` turns those into
the prescription's step shape, so the report, its tables and its Methods paragraph describe the
programs sent ("as sent by the script").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from eacontrol.records.model import SessionMeta, StepRecord
from eacontrol.records.prescription import PrescribedStep, Prescription

if TYPE_CHECKING:  # the report imports this module
    from eacontrol.records.report import ProfilePart

__all__ = [
    "SCRIPT_SOURCE",
    "is_script",
    "is_script_report",
    "profile_part",
    "sent_steps",
    "steps_as_run",
]

SCRIPT_SOURCE = "script"
"""``prescription["source"]`` of a script's record."""

_SHAPES = {"symmetric_biphasic": "symmetric", "asymmetric_biphasic": "asymmetric"}
"""``Stimulation.shape`` → the prescription's ``shape`` (records schema 1's names)."""

_OPTIONAL = ("frequency_b_hz", "phase_width_b_us", "dwell_a_s", "dwell_b_s", "on_s", "off_s")
_STEP: TypeAdapter[PrescribedStep] = TypeAdapter(PrescribedStep)


def is_script(prescription: Mapping[str, Any]) -> bool:
    """Whether a session's stored prescription is a script's (see the module)."""
    return prescription.get("source") == SCRIPT_SOURCE


def is_script_report(report: Mapping[str, Any]) -> bool:
    """Whether a report (``build_report``'s, or its saved JSON) is of a script's record (a
    report saved before version 6 has no ``profile.source``: a profile's)."""
    profile = report.get("profile")
    return isinstance(profile, Mapping) and profile.get("source") == SCRIPT_SOURCE


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


def _step(r: StepRecord) -> PrescribedStep | None:
    channels = r.parameters.get("channels")
    if not isinstance(channels, dict) or len(channels) != 1:
        return None
    (name, p), *_ = channels.items()
    ended = r.started_s if r.ended_s is None else r.ended_s
    try:
        return _STEP.validate_python(
            {
                "index": r.index,
                "name": r.name,
                "mode": r.mode,
                "channels": [int(name)],
                "duration_s": float(ended - r.started_s),
                "frequency_hz": float(p["frequency_hz"]),
                "phase_width_us": float(p["phase_width_us"]),
                **{key: _opt(p.get(key)) for key in _OPTIONAL},
                "shape": _SHAPES.get(str(p.get("shape")), ""),
                "asym_ratio": int(p.get("asym_ratio", 1)),
                "interphase_us": float(p.get("interphase_gap_us", 0.0)),
                "intensity_mA": {name: float(p["intensity_mA"])},
                "ceiling_mA": {name: float(p["ceiling_mA"])},
                "ramp_up_s": float(p["ramp_up_s"]),
                "ramp_down_s": float(p["ramp_down_s"]),
            }
        )
    except (KeyError, TypeError, ValueError, ValidationError):
        return None


def sent_steps(records: Sequence[StepRecord]) -> list[PrescribedStep]:
    """The programs a script sent, in the prescription's step shape, by step index.

    A step's ``duration_s`` is how long its program was in force (0 while the record has no
    end for it); ``intensity_mA`` the program's target and ``ceiling_mA`` the highest the limits
    allowed. A step record without the script's shape (one channel's program) is left out.

    Args:
        records: the session's step records.
    """
    found = (_step(r) for r in sorted(records, key=lambda r: r.index))
    return [step for step in found if step is not None]


def steps_as_run(
    prescription: Mapping[str, Any], prescribed: list[PrescribedStep], records: Sequence[StepRecord]
) -> list[PrescribedStep]:
    """The report's steps: a profile's prescribed steps, or the programs a script sent."""
    return sent_steps(records) if is_script(prescription) else prescribed


def profile_part(meta: SessionMeta, rx: Prescription) -> ProfilePart:
    """The report's ``profile``: what ran, and its ``source`` (``profile`` or ``script``)."""
    return {
        "source": "script" if is_script(meta.prescription) else "profile",
        "name": meta.profile_name,
        "version": meta.profile_version,
        "sha256": meta.profile_hash,
        "indication": rx["indication"],
        "references": rx["references"],
    }
