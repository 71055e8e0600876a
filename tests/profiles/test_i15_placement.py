"""Issue 15, Placement: the rules on a channel's two needles, from named clinical cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from eacontrol.anatomy.acupoints import lookup, parse_site
from eacontrol.errors import Layer, Severity
from eacontrol.profiles import PatientContext, PointOverride, check_profile, load_profile
from eacontrol.profiles.context import ImplantClearance
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


def _lbp_findings(patient: PatientContext) -> list[tuple[Severity, str]]:
    found = check_profile(load_profile("lbp_2hz"), patient=patient)
    return [(f.severity, f.message) for f in found if f.layer is Layer.PATIENT]


def test_i15_placement_pregnancy_refuses_the_lumbar_profile() -> None:
    found = _lbp_findings(PatientContext(pregnant=True))
    refused = [m for s, m in found if s is Severity.REFUSE]
    assert len(refused) == 4  # BL23 and BL25 on each side
    assert all("lumbosacral region" in m for m in refused)


def test_i15_placement_pregnancy_override_makes_a_region_point_an_advisory() -> None:
    overrides = tuple(
        PointOverride(
            point=code,
            reason="pelvic girdle pain, obstetrician consulted",
            authorised_by="Dr B",
            recorded_at=datetime(2026, 12, 1, tzinfo=UTC),
        )
        for code in ("BL23", "BL25")
    )
    found = _lbp_findings(PatientContext(pregnant=True, pregnancy_overrides=overrides))
    assert [s for s, _ in found] == [Severity.ADVISORY] * 4
    assert all("override by Dr B" in m for _, m in found)


def test_i15_placement_clearance_needs_an_implant() -> None:
    clearance = ImplantClearance(cleared_by="Dr C", cleared_on=date(2026, 11, 30), reference="L1")
    with pytest.raises(ValidationError):
        PatientContext(implant_clearance=clearance)
    cleared = PatientContext(icd=True, implant_clearance=clearance)
    assert check_profile(load_profile("tcm_dense_disperse"), patient=cleared)
    assert not any(
        f.severity is Severity.REFUSE
        for f in check_profile(load_profile("tcm_dense_disperse"), patient=cleared)
    )
    refused = check_profile(load_profile("lbp_2hz"), patient=cleared)
    assert {f.path for f in refused if f.severity is Severity.REFUSE} == {
        "channels[0].electrodes",
        "channels[1].electrodes",
    }  # BL23-BL25 on the back refused; BL40-BL57 on one leg permitted


def test_i15_placement_every_rule_has_a_row_in_clinical_sources() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "clinical-sources.md"
    text = doc.read_text(encoding="utf-8")
    section = text[text.index("## Placement rules") : text.index("## Citations removed")]
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in section.splitlines()
        if line.startswith("| `")
    }
    wanted = {str(r) for r in placement.PlacementRule} | {
        "pregnancy",
        "implant",
        "implant_clearance",
    }
    assert wanted <= rows, sorted(wanted - rows)
