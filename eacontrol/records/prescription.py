"""The prescription a session ran: the profile as a JSON-ready dict, and its check.

The session runner fills this shape from the profile model (``docs/records.md`` shows it with
an example); the report reads points, needles and stimulation parameters from it. It is checked
when a session begins, before anything is stimulated, so a report can always be built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

# pydantic reads TypedDicts on Python < 3.12 only from typing_extensions (a pydantic dependency).
from typing_extensions import TypedDict

from eacontrol.errors import Layer, ParameterError

__all__ = [
    "NeedleRecord",
    "PrescribedChannel",
    "PrescribedStep",
    "Prescription",
    "check_prescription",
    "is_titration",
    "parse_prescription",
]


# Strict: a number given as text, or a bool as a number, is a mapping mistake, not data.
_STRICT = ConfigDict(strict=True, allow_inf_nan=False)


@with_config(_STRICT)
class NeedleRecord(TypedDict):
    """The needles of one channel."""

    diameter_mm: float
    inserted_length_mm: float


@with_config(_STRICT)
class PrescribedChannel(TypedDict):
    """One output channel and the needle sites it connects (``BL23-L``, ``GV20``)."""

    channel: int
    electrodes: list[str]
    needle: NeedleRecord | None


@with_config(_STRICT)
class PrescribedStep(TypedDict):
    """One step of the timeline as prescribed. Keys a mode does not use are None."""

    index: int
    name: str
    mode: Literal["continuous", "dense_disperse", "intermittent"]
    channels: list[int]
    duration_s: float
    frequency_hz: float
    phase_width_us: float
    frequency_b_hz: float | None
    phase_width_b_us: float | None
    dwell_a_s: float | None
    dwell_b_s: float | None
    on_s: float | None
    off_s: float | None
    shape: Literal["symmetric", "asymmetric"]
    asym_ratio: int
    interphase_us: float
    intensity_mA: dict[str, float]
    ceiling_mA: dict[str, float]
    ramp_up_s: float
    ramp_down_s: float
    # how the step sets its intensity (the profile's ``intensity``); absent in older records
    intensity: NotRequired[str]


@with_config(_STRICT)
class Prescription(TypedDict):
    """The profile as run, with the advisories shown and the overrides recorded."""

    name: str
    indication: str
    references: list[str]
    channels: list[PrescribedChannel]
    steps: list[PrescribedStep]
    patient_flags: list[str]
    overrides: list[str]
    findings: list[str]


_ADAPTER: TypeAdapter[Prescription] = TypeAdapter(Prescription)


def _refuse(path: str, value: object, allowed: str) -> ParameterError:
    return ParameterError(f"prescription{path}", value, allowed, layer=Layer.SCHEMA)


def _consistency(rx: Prescription) -> None:
    defined = [c["channel"] for c in rx["channels"]]
    for i, ch in enumerate(rx["channels"]):
        if defined.count(ch["channel"]) > 1:
            raise _refuse(f".channels[{i}].channel", ch["channel"], "each channel once")
        if len(ch["electrodes"]) != 2:
            raise _refuse(f".channels[{i}].electrodes", ch["electrodes"], "two needle sites")
    for i, step in enumerate(rx["steps"]):
        for ch_number in step["channels"]:
            if ch_number not in defined:
                raise _refuse(f".steps[{i}].channels", ch_number, f"one of {defined}")
        for key, per_channel in (
            ("intensity_mA", step["intensity_mA"]),
            ("ceiling_mA", step["ceiling_mA"]),
        ):
            for name in per_channel:
                if not name.isdigit() or int(name) not in step["channels"]:
                    raise _refuse(f".steps[{i}].{key}", name, f"keys among {step['channels']}")


def parse_prescription(data: Mapping[str, Any]) -> Prescription:
    """Check a prescription and return it typed.

    Args:
        data: the prescription dict (keys beyond the documented ones are ignored).

    Returns:
        The prescription with the documented keys.

    Raises:
        ParameterError: a key is missing, has the wrong type, or names an undefined channel;
            ``.parameter`` is the path, e.g. ``prescription.steps[0].frequency_hz``.
    """
    try:
        rx = _ADAPTER.validate_python(data)
    except ValidationError as err:
        first = err.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        message = first["msg"]
        value = "(missing)" if first["type"] == "missing" else first.get("input")
        raise _refuse(path, value, message[:1].lower() + message[1:]) from err
    _consistency(rx)
    return rx


def check_prescription(data: Mapping[str, Any]) -> None:
    """Check a prescription (see :func:`parse_prescription`).

    Raises:
        ParameterError: as :func:`parse_prescription`.
    """
    parse_prescription(data)


def is_titration(prescription: Mapping[str, Any]) -> bool:
    """True for a titration session: every step a ``threshold`` step (it finds thresholds and
    treats nothing, so it is not counted among a patient's treatment sessions)."""
    steps = prescription.get("steps") or []
    return bool(steps) and all(step.get("intensity") == "threshold" for step in steps)
