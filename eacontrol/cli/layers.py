"""Command-line options for the site and patient limit layers, shared by the profile commands.

``--site FILE`` reads a clinic's policy (``eacontrol.profiles.load_site_policy``);
``--patient-flags pacemaker,icd,pregnant``, ``--implant-clearance "WHO;YYYY-MM-DD;REFERENCE"``
and ``--calibrated-max CH=mA`` build the patient layer (``eacontrol.profiles.PatientContext``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from eacontrol.cli.exitcodes import UsageError

if TYPE_CHECKING:
    from eacontrol.profiles import PatientContext, SitePolicy
    from eacontrol.profiles.context import ImplantClearance

__all__ = ["PATIENT_FLAGS", "Layers", "add_layer_options", "layers_from"]

PATIENT_FLAGS = ("pacemaker", "icd", "pregnant")
"""The patient flags ``--patient-flags`` takes."""


@dataclass(frozen=True)
class Layers:
    """The site and patient layers asked for on the command line (None when not given)."""

    site: SitePolicy | None
    patient: PatientContext | None


def add_layer_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--site``, ``--patient-flags``, ``--implant-clearance`` and ``--calibrated-max``."""
    group = parser.add_argument_group("limit layers")
    group.add_argument("--site", metavar="FILE", help="the clinic's site policy file (TOML/JSON)")
    group.add_argument(
        "--patient-flags",
        metavar="FLAGS",
        default="",
        help=f"comma-separated patient flags: {', '.join(PATIENT_FLAGS)}",
    )
    group.add_argument(
        "--implant-clearance",
        metavar="WHO;DATE;REF",
        help="a recorded pacemaker/ICD clearance: who gave it, its date (YYYY-MM-DD) and its "
        "reference; it permits distal pairs on one lower limb only",
    )
    group.add_argument(
        "--calibrated-max",
        metavar="CH=mA",
        action="append",
        default=[],
        help="the patient's calibrated maximum for channel CH, in mA; repeatable",
    )


def _flags(text: str) -> set[str]:
    flags = {f.strip().lower() for f in text.split(",") if f.strip()}
    unknown = sorted(flags - set(PATIENT_FLAGS))
    if unknown:
        raise UsageError(
            f"--patient-flags: unknown flag(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(PATIENT_FLAGS)}"
        )
    return flags


def _clearance(text: str | None, flags: set[str]) -> ImplantClearance | None:
    from eacontrol.profiles.context import ImplantClearance

    if text is None:
        return None
    parts = [p.strip() for p in text.split(";")]
    try:
        who, when, reference = parts
        cleared_on = date.fromisoformat(when)
    except ValueError:
        who = ""
    if not who or not reference:
        raise UsageError(
            f"--implant-clearance {text!r}: expected WHO;YYYY-MM-DD;REFERENCE, e.g. "
            "'Dr A Khan, cardiology;2026-11-30;letter EP-2291'"
        )
    if not flags & {"pacemaker", "icd"}:
        raise UsageError("--implant-clearance needs pacemaker or icd in --patient-flags")
    return ImplantClearance(cleared_by=who, cleared_on=cleared_on, reference=reference)


def _calibrated(items: list[str]) -> dict[int, float]:
    found: dict[int, float] = {}
    for item in items:
        channel, sep, value = item.partition("=")
        try:
            number, limit = int(channel), float(value)
        except ValueError:
            number, limit = 0, 0.0
        # The same physical bounds as a profile's fields (eacontrol.profiles.fields).
        if not sep or not 1 <= number <= 255 or not 0 < limit <= 1000:
            raise UsageError(
                f"--calibrated-max {item!r}: expected CH=mA with a channel 1..255 and a "
                "current above 0 and at most 1000 mA, e.g. 1=6.5"
            )
        found[number] = limit
    return found


def layers_from(args: argparse.Namespace) -> Layers:
    """The layers the parsed options ask for.

    Raises:
        UsageError: an unknown patient flag, a malformed ``--calibrated-max`` or
            ``--implant-clearance``, or a clearance without a pacemaker or ICD flag.
        ProfileError: the site policy file is unreadable or invalid.
    """
    from eacontrol.profiles import PatientContext, load_site_policy

    site = load_site_policy(args.site) if args.site else None
    flags = _flags(args.patient_flags)
    calibrated = _calibrated(args.calibrated_max)
    clearance = _clearance(args.implant_clearance, flags)
    patient = None
    if flags or calibrated:
        patient = PatientContext(
            pacemaker="pacemaker" in flags,
            icd="icd" in flags,
            implant_clearance=clearance,
            pregnant="pregnant" in flags,
            calibrated_max_mA=calibrated,
        )
    return Layers(site, patient)
