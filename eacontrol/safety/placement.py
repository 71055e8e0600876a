"""Placement rules for the two needles of a channel, and the points refused in pregnancy.

Current flows between the two needles of a channel, so the rules look at the pair, using the
body regions and sides of :mod:`eacontrol.anatomy.acupoints` (whose module docstring says how
regions were assigned, border points to the protective side). Each rule names its source:

========================  ========  ======================================================
rule                      severity  refuses or warns on
========================  ========  ======================================================
head_or_front_of_neck     refuse    a needle on the head or the front of the neck
                                    (transcerebral current; carotid sinus, larynx)
across_chest              refuse    a path through the thorax: the needles on opposite
                                    sides with one above the diaphragm (hand to hand, arm
                                    to opposite leg, left to right chest); an upper limb
                                    paired with a point below the diaphragm; a chest point
                                    paired with a point off the chest
across_spine              refuse    the needles on opposite sides with one on the back
                                    (neck, upper or lower back): the path crosses the spine
contralateral             advisory  any other left-right pair (e.g. ST36-L with ST36-R):
                                    ipsilateral pairs keep the current path short
shared_pair               advisory  two or more channels on the same pair of needles (in
                                    either order): their currents add in one path, which
                                    no per-channel limit sees (:func:`shared_pairs`; one
                                    advisory per pair, on its second channel)
========================  ========  ======================================================

A midline point (GV, CV) has no side, so a midline-to-side pair is never "opposite sides".
Sources: IEC 60601-2-10 instructions-for-use warnings (electrodes near the thorax, transcerebral
and carotid sinus placement); BMAS guidance, Cummings M, Safety aspects of electroacupuncture,
Acupunct Med 2011;29(2):83-85; AACP 2012 guidelines for safe practice.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from eacontrol.anatomy.acupoints import NeedleSite, Region
from eacontrol.errors import Severity

__all__ = [
    "IMPLANT_SOURCE",
    "PREGNANCY_POINTS",
    "PREGNANCY_SOURCE",
    "RULE_SOURCES",
    "PlacementIssue",
    "PlacementRule",
    "check_pair",
    "shared_pairs",
]

_CUMMINGS = "Cummings 2011, Acupunct Med 2011;29(2):83-85 (BMAS)"
_IEC_IFU = "IEC 60601-2-10 instructions-for-use warnings"

PREGNANCY_POINTS = frozenset({"LI4", "SP6", "BL60", "BL67", "BL31", "BL32", "BL33", "BL34", "GB21"})
"""Points refused in pregnancy unless an override is recorded (AACP 2012)."""

PREGNANCY_SOURCE = "AACP 2012 guidelines for safe practice (points avoided in pregnancy)"
"""The source of :data:`PREGNANCY_POINTS`."""

IMPLANT_SOURCE = f"{_IEC_IFU} (implanted electronic devices); {_CUMMINGS}"
"""Why a pacemaker or ICD refuses electrical stimulation."""


class PlacementRule(enum.StrEnum):
    """A placement rule (module docstring)."""

    HEAD_OR_FRONT_OF_NECK = "head_or_front_of_neck"
    ACROSS_CHEST = "across_chest"
    ACROSS_SPINE = "across_spine"
    CONTRALATERAL = "contralateral"
    SHARED_PAIR = "shared_pair"


RULE_SOURCES = {
    PlacementRule.HEAD_OR_FRONT_OF_NECK: f"{_IEC_IFU} (transcerebral, carotid sinus); AACP 2012",
    PlacementRule.ACROSS_CHEST: f"{_IEC_IFU} (electrodes near the thorax); {_CUMMINGS}",
    PlacementRule.ACROSS_SPINE: f"{_CUMMINGS}; AACP 2012",
    PlacementRule.CONTRALATERAL: _CUMMINGS,
    # Design value: every limit (peak, rms, charge, density) is checked per channel; channels on
    # one pair of needles drive the same tissue path, so their currents add beyond what any one
    # channel's limit allows (issue 14 item 14). An advisory, since a deliberate multi-channel
    # montage is possible, but never silent.
    PlacementRule.SHARED_PAIR: "design value: limits are per channel; currents on one pair add",
}
"""The source of each rule."""

_HEAD_NECK = frozenset({Region.HEAD, Region.FRONT_OF_NECK})
_BACK = frozenset({Region.BACK_OF_NECK, Region.UPPER_BACK, Region.LOWER_BACK})
_BELOW_DIAPHRAGM = frozenset({Region.ABDOMEN, Region.LOWER_BACK, Region.LOWER_LIMB})


@dataclass(frozen=True)
class PlacementIssue:
    """One broken placement rule.

    Attributes:
        rule: the rule.
        severity: refuse or advisory.
        message: what is wrong with the pair, in words.
        source: the rule's source.
        electrode: 0 or 1 when one needle alone breaks the rule, None for the pair.
    """

    rule: PlacementRule
    severity: Severity
    message: str
    source: str
    electrode: int | None = None


def _issue(
    rule: PlacementRule, message: str, electrode: int | None = None, *, refuse: bool = True
) -> PlacementIssue:
    severity = Severity.REFUSE if refuse else Severity.ADVISORY
    return PlacementIssue(rule, severity, message, RULE_SOURCES[rule], electrode)


def _crosses_chest(a: NeedleSite, b: NeedleSite, opposite: bool) -> str | None:
    regions = {a.point.region, b.point.region}
    if opposite and (a.point.above_diaphragm or b.point.above_diaphragm):
        return "left to right above the diaphragm"
    if Region.UPPER_LIMB in regions and regions & _BELOW_DIAPHRAGM:
        return "from an upper limb to below the diaphragm"
    if Region.CHEST in regions and len(regions) > 1:
        return "from the chest to outside it"
    return None


def check_pair(first: NeedleSite, second: NeedleSite) -> list[PlacementIssue]:
    """Check the two needles of one channel against every placement rule.

    Args:
        first: the first needle site.
        second: the second needle site.

    Returns:
        Every broken rule (empty for an acceptable pair).
    """
    issues: list[PlacementIssue] = []
    for index, site in enumerate((first, second)):
        if site.point.region in _HEAD_NECK:
            where = site.point.region.value.replace("_", " ")
            issues.append(
                _issue(
                    PlacementRule.HEAD_OR_FRONT_OF_NECK,
                    f"{site} is on the {where}: no electroacupuncture current there",
                    index,
                )
            )
    opposite = first.side is not None and second.side is not None and first.side != second.side
    pair = f"{first} and {second}"
    crossing = _crosses_chest(first, second, opposite)
    if crossing:
        issues.append(
            _issue(
                PlacementRule.ACROSS_CHEST,
                f"the current path {pair} crosses the chest ({crossing})",
            )
        )
    if opposite and (first.point.region in _BACK or second.point.region in _BACK):
        issues.append(
            _issue(
                PlacementRule.ACROSS_SPINE,
                f"the current path {pair} crosses the spine (left to right on the back)",
            )
        )
    if opposite and not issues:
        issues.append(
            _issue(
                PlacementRule.CONTRALATERAL,
                f"{pair} are on opposite sides: prefer an ipsilateral pair",
                refuse=False,
            )
        )
    return issues


def shared_pairs(
    pairs: Sequence[tuple[int, tuple[NeedleSite, NeedleSite]]],
) -> list[tuple[int, PlacementIssue]]:
    """Pairs of needles used by more than one channel (in either order): one advisory each.

    Args:
        pairs: (channel number, its two needle sites), in the profile's order.

    Returns:
        For each shared pair: (the position in ``pairs`` of its second channel, an advisory
        naming every channel on that pair).
    """
    users: dict[frozenset[NeedleSite], list[int]] = {}
    for position, (_, sites) in enumerate(pairs):
        users.setdefault(frozenset(sites), []).append(position)
    issues: list[tuple[int, PlacementIssue]] = []
    for positions in users.values():
        if len(positions) < 2:
            continue
        first, second = pairs[positions[0]][1]
        channels = ", ".join(str(pairs[p][0]) for p in positions)
        message = (
            f"channels {channels} all use the needles {first} and {second}: their currents "
            f"add in one path (up to {len(positions)} × one channel's), which no per-channel "
            "limit covers"
        )
        issues.append((positions[1], _issue(PlacementRule.SHARED_PAIR, message, refuse=False)))
    return sorted(issues, key=lambda item: item[0])
