"""Placement rules on the two needles of a channel (eacontrol.safety.placement)."""

from __future__ import annotations

import pytest

from eacontrol.anatomy.acupoints import parse_site
from eacontrol.errors import Severity
from eacontrol.safety.placement import (
    PREGNANCY_POINTS,
    RULE_SOURCES,
    PlacementRule,
    check_pair,
)

NECK = PlacementRule.FRONT_OF_NECK
BRAIN = PlacementRule.TRANSCEREBRAL
LUMBAR = PlacementRule.ACROSS_LUMBAR_SPINE
CHEST = PlacementRule.ACROSS_CHEST
SPINE = PlacementRule.ACROSS_SPINE
CONTRA = PlacementRule.CONTRALATERAL


@pytest.mark.parametrize(
    ("first", "second", "rules"),
    [
        ("BL23-L", "BL25-L", []),  # paravertebral, one side
        ("ST36-L", "ST40-L", []),
        ("LI4-L", "LI11-L", []),  # one arm
        ("GB20-L", "GB21-L", []),  # back of the neck, one side
        ("GV4", "BL23-L", []),  # midline to one side is not left-right
        ("BL15-L", "BL23-L", []),  # vertical along one side of the back
        ("BL23-L", "BL23-R", [LUMBAR]),  # below the cord: an advisory (issue 15)
        ("GB20-L", "GB20-R", [CHEST, SPINE]),  # across the cervical spine, above the diaphragm
        ("BL25-L", "BL40-R", [SPINE]),  # back to the opposite leg
        ("PC6-L", "PC6-R", [CHEST]),  # hand to hand
        ("ST16-L", "ST16-R", [CHEST]),
        ("LI4-L", "ST36-L", [CHEST]),  # arm to leg crosses the thorax
        ("LI4-L", "ST36-R", [CHEST]),
        ("CV17", "CV12", [CHEST]),  # chest to abdomen
        ("CV17", "PC6-L", [CHEST]),
        ("GV20", "GB20-L", [BRAIN]),  # head to the neck
        ("ST9-L", "GB20-L", [NECK]),  # front of the neck
        ("ST36-L", "ST36-R", [CONTRA]),
        ("SP6-L", "ST25-R", [CONTRA]),
    ],
)
def test_rules(first: str, second: str, rules: list[PlacementRule]) -> None:
    issues = check_pair(parse_site(first), parse_site(second))
    assert [i.rule for i in issues] == rules
    for issue in issues:
        assert issue.source == RULE_SOURCES[issue.rule]
        expected = Severity.ADVISORY if issue.rule in (CONTRA, LUMBAR) else Severity.REFUSE
        assert issue.severity is expected


def test_head_rule_names_the_needle() -> None:
    issues = check_pair(parse_site("BL23-L"), parse_site("GV20"))
    assert [(i.rule, i.electrode) for i in issues] == [(BRAIN, 1)]
    assert "GV20" in issues[0].message


def test_every_rule_has_a_source() -> None:
    assert set(RULE_SOURCES) == set(PlacementRule)
    cited = {r: s for r, s in RULE_SOURCES.items() if r is not PlacementRule.SHARED_PAIR}
    assert all("Cummings 2011" in s or "IEC 60601-2-10" in s or "ITM" in s for s in cited.values())
    # No publication found for it: labelled a design value, with its reason (placement.py).
    assert RULE_SOURCES[PlacementRule.SHARED_PAIR].startswith("design value: ")


def test_pregnancy_points() -> None:
    # AACP 2012: LI4, SP6, BL60, BL67, BL31-BL34, GB21.
    assert {
        "LI4",
        "SP6",
        "BL60",
        "BL67",
        "BL31",
        "BL32",
        "BL33",
        "BL34",
        "GB21",
    } == PREGNANCY_POINTS
