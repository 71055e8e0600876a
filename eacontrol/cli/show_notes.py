"""What ``eactl show`` says beside the tables: the profile's contraindications and its
titration note.

Profiles carry no contraindication text of their own: the contraindications are the patient
layer's rules (``eacontrol.safety.placement``, sources in docs/clinical-sources.md), applied to
this profile's needle pairs, so what ``show`` lists is exactly what ``eactl run
--patient-flags`` refuses. A titrated step (the practitioner raises each channel from its start
level to a named sensation) is shown with its start, sensation and target; a step reports its
titration through ``titration()`` (:class:`Titrated`), and a profile format without titration
has none to show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from eacontrol.cli.output import printable
from eacontrol.cli.table import number

if TYPE_CHECKING:
    from eacontrol.profiles import Profile

__all__ = ["Titrated", "TitrationNote", "contraindication_lines", "titration_lines"]


@runtime_checkable
class TitrationNote(Protocol):
    """A titrated step's settings (``eacontrol.profiles`` ``Titration``)."""

    start_mA: float
    target_mA: float
    sensation: str


@runtime_checkable
class Titrated(Protocol):
    """A step that says how its intensity is titrated (None: fixed intensity)."""

    def titration(self) -> TitrationNote | None:
        """The step's titration, or None for a fixed step."""


def contraindication_lines(profile: Profile) -> list[str]:
    """The patient layer's contraindications for this profile's channels, one line each.

    Args:
        profile: the profile shown.
    """
    from eacontrol.safety.placement import (
        IMPLANT_SOURCE,
        PREGNANCY_SOURCE,
        implant_permits,
        pregnancy_reason,
    )

    permitted = [c.channel for c in profile.channels if implant_permits(*c.electrodes)]
    cleared = (
        "channel" + ("s " if len(permitted) > 1 else " ") + ", ".join(map(str, permitted))
        if permitted
        else "none of its channels"
    )
    lines = [
        "  pacemaker or ICD: no electrical stimulation; a recorded clearance "
        f"(--implant-clearance) permits {cleared} (distal pairs on one lower limb only)",
        f"    source: {IMPLANT_SOURCE}",
    ]
    refused = [
        (c.channel, reasons)
        for c in profile.channels
        if (reasons := [r for r in map(pregnancy_reason, c.electrodes) if r is not None])
    ]
    if refused:
        lines.append("  pregnancy: refused unless an override is recorded for the point")
        lines += [f"    channel {ch}: {'; '.join(reasons)}" for ch, reasons in refused]
    else:
        lines.append("  pregnancy: none of its points is refused")
    lines.append(f"    source: {PREGNANCY_SOURCE}")
    return lines


def titration_lines(steps: Sequence[object]) -> list[str]:
    """Each titrated step's note: start level, the sensation sought, the target as guidance.

    Args:
        steps: the profile's steps (``profile.steps``), numbered from 0 as findings name them.

    Returns:
        One line per titrated step; none when every step has a fixed intensity.
    """
    lines = []
    for index, step in enumerate(steps, start=1):
        titration = step.titration() if isinstance(step, Titrated) else None
        if titration is None:
            continue
        lines.append(
            f"  step {index}: starts at {number(titration.start_mA)} mA; raise each channel to "
            f"“{printable(titration.sensation)}” (target {number(titration.target_mA)} mA is "
            "guidance, the ceiling the most that can be set)"
        )
    return lines
