"""Findings: one problem with a profile or a parameter, with where it is and on whose authority.

Every refusal and advisory in eacontrol is a ``Finding``: it names the quantity, the value, the
allowed range, the limit layer (DESIGN.md §4) and the source of the limit, and — for files — the
file, field path and line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Finding", "Layer", "Severity"]


class Severity(enum.StrEnum):
    """A refusal stops the profile; an advisory is shown and recorded."""

    REFUSE = "refuse"
    ADVISORY = "advisory"


class Layer(enum.StrEnum):
    """Where a rule comes from. The effective limit is the intersection of all layers."""

    SCHEMA = "schema"  # the file's syntax, types, units and structure
    STANDARD = "standard"  # built-in table: IEC 60601-2-10, clinical literature
    DEVICE = "device"  # the connected device's reported capability
    SITE = "site"  # the clinic's policy file
    PATIENT = "patient"  # patient flags and calibrated maxima
    PROFILE = "profile"  # the profile's own ceilings


@dataclass(frozen=True)
class Finding:
    """One problem found in a profile or parameter.

    Attributes:
        severity: refuse or advisory.
        path: field path in the profile, e.g. ``steps[1].intensity_mA`` (``""`` for the file).
        message: what is wrong, in words a practitioner understands.
        layer: the limit layer the rule belongs to.
        quantity: the physical quantity checked (``phase_charge_uC``), if any.
        value: the offending value, if any.
        allowed: the allowed range as text, e.g. ``"≤ 10 µC"``.
        source: the standard or paper behind the limit.
        file: the file the value came from.
        line: the 1-based line in that file, where known.
    """

    severity: Severity
    path: str
    message: str
    layer: Layer = Layer.SCHEMA
    quantity: str | None = None
    value: object = None
    allowed: str | None = None
    source: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: " if where else ""
        field = f"{self.path}: " if self.path else ""
        parts = [f"{head}{field}{self.message}"]
        details = []
        if self.value is not None:
            details.append(f"value {self.value!r}")
        if self.allowed:
            details.append(f"allowed {self.allowed}")
        details.append(f"layer {self.layer}")
        if self.source:
            details.append(f"source {self.source}")
        parts.append(f" [{self.severity}: {'; '.join(details)}]")
        return "".join(parts)
