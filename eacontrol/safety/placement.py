"""Placement rules for the two needles of a channel, and the patient's placement rules.

Current flows between the two needles of a channel, so the rules look at the pair, using the
body regions and sides of :mod:`eacontrol.anatomy.acupoints` (whose module docstring says how
regions were assigned, border points to the protective side). Each rule names its source
(:data:`RULE_SOURCES`; what each source says: ``docs/clinical-sources.md``, placement rules):

===================  ========  =============================================================
rule                 severity  refuses or warns on
===================  ========  =============================================================
front_of_neck        refuse    a needle on the front of the neck (carotid sinus, larynx)
transcerebral        refuse    a path through the head: a head needle paired with one off the
                               head (head to body), or two head needles on opposite sides
head_pair            advisory  both needles on the head, on one side or the midline (GV20 to
                               EX-HN3, as in published EA trials): no path across the head
across_chest         refuse    a path on or through the thorax: any needle on the chest
                               (anterior and lateral thorax, the precordium within it); the
                               needles on opposite sides with one above the diaphragm (hand to
                               hand, left to right across the back of the neck); an upper limb
                               paired with a point below the diaphragm; the upper back paired
                               with the abdomen (front to back)
across_spine         refuse    the needles on opposite sides with one on the back (neck, upper
                               or lower back), except the lumbar pair below
across_lumbar_spine  advisory  both needles on the lower back, on opposite sides, at L2 and
                               below (below the end of the spinal cord, L1-L2)
contralateral        advisory  any other left-right pair (e.g. ST36-L with ST36-R)
shared_pair          advisory  two or more channels on the same pair of needles (either order):
                               their currents add in one path, which no per-channel limit sees
                               (:func:`shared_pairs`; one advisory per pair, on its second)
===================  ========  =============================================================

A midline point (GV, CV) has no side, so a midline-to-side pair is never "opposite sides".

The patient layer (``eacontrol.profiles.channel_rules``) adds two rules that need only anatomy:
:func:`pregnancy_reason` (the abdomen, the lumbosacral region and :data:`PREGNANCY_POINTS`) and
:func:`implant_permits` (the pairs a recorded pacemaker/ICD clearance allows).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from eacontrol.anatomy.acupoints import NeedleSite, Region
from eacontrol.errors import Severity

__all__ = [
    "CORD_LEVEL_POINTS",
    "IMPLANT_CLEARANCE_SOURCE",
    "IMPLANT_SOURCE",
    "PREGNANCY_POINTS",
    "PREGNANCY_REGIONS",
    "PREGNANCY_SOURCE",
    "RULE_SOURCES",
    "PlacementIssue",
    "PlacementRule",
    "check_pair",
    "implant_permits",
    "pregnancy_reason",
    "shared_pairs",
]

_CUMMINGS = "Cummings 2011, Acupunct Med 2011;29(2):83-85 (BMAS)"
_IEC_IFU = "IEC 60601-2-10 instructions-for-use warnings"
_ITM = "Dharmananda, Electro-acupuncture (ITM)"

PREGNANCY_POINTS = frozenset({"LI4", "SP6", "BL60", "BL67", "BL31", "BL32", "BL33", "BL34", "GB21"})
"""Points refused in pregnancy unless an override is recorded: the distal points traditionally
contraindicated (LI4, SP6, BL60, GB21; BL67 in Maciocia) and the sacral foramina BL31-BL34 (also
inside :data:`PREGNANCY_REGIONS`)."""

PREGNANCY_REGIONS = frozenset({Region.ABDOMEN, Region.LOWER_BACK})
"""Regions refused in pregnancy unless an override is recorded for the point: the abdomen and
the lumbosacral region."""

PREGNANCY_SOURCE = (
    "AACP 2012 guidelines for safe practice; traditional forbidden points (lower abdomen, "
    "lumbosacral, LI4, SP6, BL60, BL67, GB21), reviewed in Carr DJ, Acupunct Med 2015;33(5):413-419"
)
"""The source of :data:`PREGNANCY_POINTS` and :data:`PREGNANCY_REGIONS`."""

IMPLANT_SOURCE = f"{_IEC_IFU} (implanted electronic devices); {_CUMMINGS}"
"""Why a pacemaker or ICD refuses electrical stimulation (without a recorded clearance)."""

IMPLANT_CLEARANCE_SOURCE = (
    "Cummings, TENS in patients with ICDs, BMAS blog 2023 (needle pairs close together in a limb "
    "probably safe, across the chest not); Prutchi & Norris 2005 (upper limb and shoulder an "
    "absolute contraindication; lower limb with caution, checked by a cardiologist)"
)
"""Why a recorded clearance permits same-side lower-limb pairs and nothing else."""

CORD_LEVEL_POINTS = frozenset({"BL22", "BL51", "GV5", "EX-B4"})
"""Lower-back points at L1 (WHO: at the spinous process of L1), over the end of the spinal cord
(the conus medullaris ends at L1-L2): a pair across the spine there stays refused."""

# Buttock and hip points of the lower-limb region (module doc of eacontrol.anatomy.acupoints):
# by the pelvis, not distal.
_PROXIMAL_LOWER_LIMB = frozenset({"GB29", "GB30", "BL36"})


class PlacementRule(enum.StrEnum):
    """A placement rule (module docstring)."""

    FRONT_OF_NECK = "front_of_neck"
    TRANSCEREBRAL = "transcerebral"
    HEAD_PAIR = "head_pair"
    ACROSS_CHEST = "across_chest"
    ACROSS_SPINE = "across_spine"
    ACROSS_LUMBAR_SPINE = "across_lumbar_spine"
    CONTRALATERAL = "contralateral"
    SHARED_PAIR = "shared_pair"


RULE_SOURCES = {
    PlacementRule.FRONT_OF_NECK: f"{_IEC_IFU} (carotid sinus, neck and mouth); AACP 2012",
    PlacementRule.TRANSCEREBRAL: f"{_IEC_IFU} (not transcerebrally)",
    PlacementRule.HEAD_PAIR: (
        f"{_IEC_IFU} (not transcerebrally); GV20-EX-HN3 EA in published trials "
        "(docs/clinical-sources.md, head_pair)"
    ),
    PlacementRule.ACROSS_CHEST: (
        f"{_IEC_IFU} (not transthoracically, near the chest); {_CUMMINGS}; {_ITM}"
    ),
    PlacementRule.ACROSS_SPINE: f"{_ITM} (both sides of the spinal cord); {_CUMMINGS}",
    PlacementRule.ACROSS_LUMBAR_SPINE: (
        f"{_ITM} (the caution is the spinal cord); the adult cord ends at L1-L2 (conus medullaris)"
    ),
    PlacementRule.CONTRALATERAL: _CUMMINGS,
    # Design value: every limit (peak, rms, charge, density) is checked per channel; channels on
    # one pair of needles drive the same tissue path, so their currents add beyond what any one
    # channel's limit allows (issue 14 item 14). An advisory, since a deliberate multi-channel
    # montage is possible, but never silent.
    PlacementRule.SHARED_PAIR: "design value: limits are per channel; currents on one pair add",
}
"""The source of each rule."""

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


def _opposite(a: NeedleSite, b: NeedleSite) -> bool:
    return a.side is not None and b.side is not None and a.side != b.side


def _crosses_chest(a: NeedleSite, b: NeedleSite) -> str | None:
    regions = {a.point.region, b.point.region}
    if Region.CHEST in regions:
        return "lies on the chest wall, over the heart and lungs (the precordium)"
    if regions == {Region.HEAD}:
        return None  # a path within the head: the head rules
    if _opposite(a, b) and (a.point.above_diaphragm or b.point.above_diaphragm):
        return "crosses the chest from left to right above the diaphragm"
    if Region.UPPER_LIMB in regions and regions & _BELOW_DIAPHRAGM:
        return "crosses the chest from an upper limb to below the diaphragm"
    if regions == {Region.UPPER_BACK, Region.ABDOMEN}:
        return "crosses the thorax from the upper back to the front of the trunk"
    return None


def _head(first: NeedleSite, second: NeedleSite) -> list[PlacementIssue]:
    on_head = [s.point.region is Region.HEAD for s in (first, second)]
    pair = f"{first} and {second}"
    if all(on_head):
        if _opposite(first, second):
            message = f"the current path {pair} crosses the head from left to right"
            return [_issue(PlacementRule.TRANSCEREBRAL, message)]
        message = (
            f"{pair} are both on the head, on one side or the midline: no path across the head, "
            "but the current is close to it; keep it at a comfortable sensory level"
        )
        return [_issue(PlacementRule.HEAD_PAIR, message, refuse=False)]
    if any(on_head):
        index = on_head.index(True)
        message = f"the current path {pair} runs from the head to the body"
        return [_issue(PlacementRule.TRANSCEREBRAL, message, index)]
    return []


def _spine(first: NeedleSite, second: NeedleSite) -> PlacementIssue | None:
    sites = (first, second)
    if not _opposite(first, second) or not any(s.point.region in _BACK for s in sites):
        return None
    pair = f"{first} and {second}"
    lumbar = all(
        s.point.region is Region.LOWER_BACK and s.point.code not in CORD_LEVEL_POINTS for s in sites
    )
    if lumbar:
        message = (
            f"the current path {pair} crosses the lumbar spine below the spinal cord (L2 and "
            "below: the cauda equina, not the cord): prefer an ipsilateral pair"
        )
        return _issue(PlacementRule.ACROSS_LUMBAR_SPINE, message, refuse=False)
    message = f"the current path {pair} crosses the spine (left to right on the back)"
    return _issue(PlacementRule.ACROSS_SPINE, message)


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
        if site.point.region is Region.FRONT_OF_NECK:
            message = f"{site} is on the front of the neck: no electroacupuncture current there"
            issues.append(_issue(PlacementRule.FRONT_OF_NECK, message, index))
    issues += _head(first, second)
    pair = f"{first} and {second}"
    crossing = _crosses_chest(first, second)
    if crossing:
        message = f"the current path {pair} {crossing}"
        issues.append(_issue(PlacementRule.ACROSS_CHEST, message))
    spine = _spine(first, second)
    if spine is not None:
        issues.append(spine)
    if _opposite(first, second) and not issues:
        issues.append(
            _issue(
                PlacementRule.CONTRALATERAL,
                f"{pair} are on opposite sides: prefer an ipsilateral pair",
                refuse=False,
            )
        )
    return issues


def pregnancy_reason(site: NeedleSite) -> str | None:
    """Why a needle site is refused in pregnancy (None if it is not).

    The patient layer refuses it unless an override is recorded for its point; source
    :data:`PREGNANCY_SOURCE`.
    """
    point = site.point
    if point.code in PREGNANCY_POINTS:
        return f"{point.code} is a point traditionally avoided in pregnancy"
    if point.region in PREGNANCY_REGIONS:
        where = "abdomen" if point.region is Region.ABDOMEN else "lumbosacral region"
        return f"{site} is on the {where}: no electroacupuncture there in pregnancy"
    return None


def implant_permits(first: NeedleSite, second: NeedleSite) -> bool:
    """Whether a recorded pacemaker/ICD clearance permits this pair.

    Only a distal pair on one lower limb: both needles on the same side's lower limb, neither at
    the hip or buttock (GB29, GB30, BL36). Never the trunk, neck, head or an upper limb (source:
    :data:`IMPLANT_CLEARANCE_SOURCE`).
    """
    sites = (first, second)
    return first.side == second.side and all(
        s.point.region is Region.LOWER_LIMB and s.point.code not in _PROXIMAL_LOWER_LIMB
        for s in sites
    )


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
