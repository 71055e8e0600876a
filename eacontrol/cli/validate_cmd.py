"""``eactl validate PATH...``: every finding of every profile, and exit 1 if any is refused.

Each finding is one line, ``FILE:LINE: FIELD: message [severity: value; allowed; layer;
source]``, then a summary line per profile. With ``--json``, one object per profile.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import ExitCode
from eacontrol.cli.layers import add_layer_options, layers_from
from eacontrol.cli.table import count_text

if TYPE_CHECKING:
    from eacontrol.errors import Finding
    from eacontrol.profiles import Validation

__all__ = ["finding_record", "register", "summary_line"]


def summary_line(source: str, result: Validation) -> str:
    """``SOURCE: valid``, ``SOURCE: valid, 1 advisory`` or ``SOURCE: REFUSED: 2 refusals…``."""
    advisories = count_text(len(result.advisories), "advisory", "advisories")
    extra = f", {advisories}" if result.advisories else ""
    if result.refused:
        refusals = count_text(max(len(result.refusals), 1), "refusal", "refusals")
        return f"{source}: REFUSED: {refusals}{extra}"
    return f"{source}: valid{extra}"


def finding_record(finding: Finding) -> dict[str, Any]:
    """A finding as JSON-ready fields (the value as text when it is not a JSON scalar)."""
    value = finding.value
    if value is not None and not isinstance(value, str | int | float | bool):
        value = str(value)
    return {
        "severity": str(finding.severity),
        "file": finding.file,
        "line": finding.line,
        "field": finding.path,
        "message": finding.message,
        "value": value,
        "allowed": finding.allowed,
        "layer": str(finding.layer),
        "quantity": finding.quantity,
        "source": finding.source,
    }


def _validate(args: argparse.Namespace) -> int:
    """Check profiles and print every finding (exit 1 if any is refused).

    Check profile files (or stored profiles by name) against every limit layer and placement
    rule. Every finding is printed with its file, line, field, value, allowed range, layer and
    source. Exit 0 if all are valid, 1 if any is refused.
    """
    from eacontrol.profiles import validate_file

    layers = layers_from(args)
    refused = False
    reports: list[dict[str, Any]] = []
    for source in args.paths:
        result = validate_file(source, site=layers.site, patient=layers.patient)
        refused |= result.refused
        if args.json:
            reports.append(
                {
                    "profile": source,
                    "file": result.origin.file,
                    "valid": not result.refused,
                    "findings": [finding_record(f) for f in result.findings],
                }
            )
            continue
        for finding in result.findings:
            print(finding)
        print(summary_line(source, result))
    if args.json:
        print(json.dumps(reports, indent=2, ensure_ascii=False))
    return int(ExitCode.REFUSED if refused else ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``validate`` to the command parsers."""
    parser = add_command(commands, "validate", _validate)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a profile file or stored name")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    add_layer_options(parser)
