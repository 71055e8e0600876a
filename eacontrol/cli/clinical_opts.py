"""``eactl run`` options for the practitioner's account of a session: the intensity aim and the
STRICTA 2010 items software can hold (``eacontrol.records.ClinicalDetails``), and the session's
place in a study (``eacontrol.records.Study``: ``--condition``, ``--arm``, ``--tag``), recorded
with the session and printed in its report. Each is optional; one left out is not recorded.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eacontrol.records import ClinicalDetails, Study

__all__ = ["add_clinical_options", "clinical_from", "study_from"]

# (option, ClinicalDetails field, type, metavar, help)
_OPTIONS: tuple[tuple[str, str, type, str, str], ...] = (
    ("--aim", "intensity_aim", str, "TEXT", 'intensity aim, e.g. "strong but comfortable"'),
    ("--response-sought", "response_sought", str, "TEXT", "STRICTA 2d, e.g. de qi"),
    ("--needle-maker", "needle_maker", str, "TEXT", "STRICTA 2g: manufacturer (and model)"),
    ("--needle-material", "needle_material", str, "TEXT", "STRICTA 2g, e.g. stainless steel"),
    ("--needle-length", "needle_length_mm", float, "MM", "STRICTA 2g: needle length, mm"),
    ("--needle-diameter", "needle_diameter_mm", float, "MM", "STRICTA 2g: diameter, mm"),
    ("--insertion-depth", "insertion_depth_mm", float, "MM", "STRICTA 2c: depth, mm"),
    ("--insertions", "insertions", int, "N", "STRICTA 2a: needles inserted, if more than sites"),
    ("--retention", "retention_s", float, "SECONDS", "STRICTA 2f: needle retention time, s"),
    ("--practitioner", "practitioner", str, "TEXT", "STRICTA 5: the practitioner's background"),
)


def add_clinical_options(parser: argparse.ArgumentParser) -> None:
    """Add the clinical-record options (``--aim``, ``--needle-maker``, ...) to ``parser``."""
    group = parser.add_argument_group("clinical record (STRICTA 2010; printed in the report)")
    for option, field, kind, metavar, text in _OPTIONS:
        group.add_argument(option, dest=f"clinical_{field}", type=kind, metavar=metavar, help=text)
    study = parser.add_argument_group("study (recorded with the session and in its exports)")
    study.add_argument(
        "--condition", metavar="NAME", help="the condition delivered: verum, sham_0mA, ..."
    )
    study.add_argument("--arm", metavar="NAME", help="the participant's arm or group")
    study.add_argument(
        "--tag", action="append", default=[], metavar="LABEL", help="a label; repeatable"
    )
    study.add_argument(
        "--blind",
        action="store_true",
        help="blind the operator: the view shows no profile name, condition or intensity "
        "(the record keeps them; docs/research.md)",
    )


def clinical_from(args: argparse.Namespace) -> ClinicalDetails:
    """The options given, checked.

    Raises:
        ParameterError: empty or overlong text, a number not > 0 (exit 1, naming the field).
    """
    from eacontrol.records import ClinicalDetails

    return ClinicalDetails(**{f: getattr(args, f"clinical_{f}", None) for _, f, *_ in _OPTIONS})


def study_from(args: argparse.Namespace) -> Study:
    """``--condition``, ``--arm``, ``--tag`` and ``--blind``, checked.

    Raises:
        ParameterError: empty or overlong text, a tag with a comma or given twice (exit 1).
    """
    from eacontrol.records import Study

    return Study(
        condition=args.condition,
        arm=args.arm,
        tags=tuple(args.tag),
        blinded=bool(getattr(args, "blind", False)),
    )
