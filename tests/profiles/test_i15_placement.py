"""Issue 15, Placement: the rules on a channel's two needles, from named clinical cases."""

from __future__ import annotations

import pytest

from eacontrol.anatomy.acupoints import lookup, parse_site
from eacontrol.errors import Severity
from eacontrol.safety import placement
from eacontrol.safety.placement import RULE_SOURCES, check_pair

R = Severity.REFUSE
A = Severity.ADVISORY


def _issues(first: str, second: str) -> list[tuple[str, Severity]]:
    return [(str(i.rule), i.severity) for i in check_pair(parse_site(first), parse_site(second))]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("CV17", "CV21"),  # on the sternum, over the precordium
        ("KI22-L", "KI27-L"),  # left parasternal, the precordium
        ("ST16-L", "ST18-L"),  # left chest wall
        ("CV17", "GV10"),  # front to back through the thorax
        ("BL15-L", "ST21-L"),  # upper back to the front of the trunk
        ("PC6-L", "PC6-R"),  # hand to hand, across the thorax
        ("LI4-L", "ST36-L"),  # arm to leg through the thorax
    ],
)
def test_i15_placement_heart_refuses_the_chest_and_the_thorax(first: str, second: str) -> None:
    assert ("across_chest", R) in _issues(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [("LI4-L", "LI11-L"), ("ST36-L", "ST40-L"), ("BL15-L", "BL23-L"), ("SI11-L", "LI11-L")],
)
def test_i15_placement_heart_accepts_a_limb_and_one_side_of_the_back(
    first: str, second: str
) -> None:
    assert _issues(first, second) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [("GV20", "EX-HN3"), ("GV20", "GV24"), ("GB8-L", "GB4-L"), ("ST4-L", "ST6-L")],
)
def test_i15_placement_head_midline_and_same_side_scalp_pairs_are_an_advisory(
    first: str, second: str
) -> None:
    assert _issues(first, second) == [("head_pair", A)]


@pytest.mark.parametrize(
    ("first", "second", "rules"),
    [
        ("GB8-L", "GB8-R", ["transcerebral"]),  # left to right across the head
        ("EX-HN5-L", "EX-HN5-R", ["transcerebral"]),  # Taiyang to Taiyang
        ("GV20", "GB20-L", ["transcerebral"]),  # head to the neck
        ("GV20", "LI4-L", ["transcerebral"]),  # head to the body
        ("ST9-L", "GB20-L", ["front_of_neck"]),  # carotid sinus
    ],
)
def test_i15_placement_head_refuses_transcerebral_paths(
    first: str, second: str, rules: list[str]
) -> None:
    issues = _issues(first, second)
    assert [rule for rule, _ in issues] == rules
    assert all(severity is R for _, severity in issues)


def test_i15_placement_head_names_the_head_needle() -> None:
    issues = check_pair(parse_site("BL23-L"), parse_site("GV20"))
    assert [(str(i.rule), i.electrode) for i in issues] == [("transcerebral", 1)]


@pytest.mark.parametrize(
    ("first", "second"), [("BL23-L", "BL23-R"), ("BL25-L", "BL25-R"), ("BL52-L", "BL26-R")]
)
def test_i15_placement_spine_below_the_cord_is_an_advisory(first: str, second: str) -> None:
    assert _issues(first, second) == [("across_lumbar_spine", A)]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("BL22-L", "BL22-R"),  # L1: over the end of the cord
        ("BL23-L", "BL22-R"),
        ("BL18-L", "BL18-R"),  # thoracic
        ("EX-B2-L", "EX-B2-R"),  # Jiaji, T1 to L5 in one code: thoracic, protective
        ("BL25-L", "BL40-R"),  # back to the opposite leg
    ],
)
def test_i15_placement_spine_at_and_above_the_cord_is_refused(first: str, second: str) -> None:
    assert ("across_spine", R) in _issues(first, second)


def test_i15_placement_spine_cervical_stays_refused() -> None:
    assert _issues("GB20-L", "GB20-R") == [("across_chest", R), ("across_spine", R)]


def test_i15_placement_every_rule_has_a_source() -> None:
    assert set(RULE_SOURCES) == set(placement.PlacementRule)
    assert all(RULE_SOURCES.values())


@pytest.mark.parametrize(
    ("site", "refused"),
    [
        ("LI4-L", True),
        ("SP6-R", True),
        ("BL60-L", True),
        ("BL67-L", True),
        ("GB21-L", True),
        ("CV4", True),  # lower abdomen
        ("ST25-L", True),  # abdomen
        ("BL23-L", True),  # lumbar
        ("GV4", True),
        ("BL32-L", True),  # sacral
        ("ST36-L", False),
        ("PC6-L", False),
        ("GB20-L", False),
    ],
)
def test_i15_placement_pregnancy_regions_and_points(site: str, refused: bool) -> None:
    assert (placement.pregnancy_reason(parse_site(site)) is not None) is refused


@pytest.mark.parametrize(
    ("first", "second", "permitted"),
    [
        ("ST36-L", "ST40-L", True),
        ("SP9-L", "SP10-L", True),
        ("ST36-L", "ST36-R", False),  # two limbs
        ("GB30-L", "GB34-L", False),  # the hip
        ("LI4-L", "LI11-L", False),  # upper limb: an absolute contraindication
        ("BL23-L", "BL25-L", False),  # trunk
        ("GV20", "EX-HN3", False),  # head
    ],
)
def test_i15_placement_implant_clearance_permits_distal_same_limb_pairs_only(
    first: str, second: str, permitted: bool
) -> None:
    assert placement.implant_permits(parse_site(first), parse_site(second)) is permitted


@pytest.mark.parametrize("code", ["GV29", "Du29", "du 29", "GV-29"])
def test_i15_placement_gv29_is_yintang(code: str) -> None:
    assert lookup(code).code == "EX-HN3"
