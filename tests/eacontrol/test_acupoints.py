"""Tests of the acupoint registry: WHO codes and counts, lookup, suggestions, needle sites,
body regions and loading through importlib.resources."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import eacontrol
from eacontrol.anatomy import acupoints
from eacontrol.anatomy.acupoints import (
    ALIASES,
    MERIDIAN_COUNTS,
    NeedleSite,
    Region,
    Side,
    all_points,
    lookup,
    parse_site,
)
from eacontrol.errors import EAError, InvalidNeedleSite, UnknownAcupoint

# WHO Standard Acupuncture Point Locations in the Western Pacific Region (2008), in book order,
# written as in docs/architecture.md.
WHO_2008_COUNTS = {
    meridian: int(count)
    for meridian, count in re.findall(
        r"([A-Z]{2})(\d+)", "LU11 LI20 ST45 SP21 HT9 SI19 BL67 KI27 PC9 TE23 GB44 LR14 GV28 CV24"
    )
}

# The WHO 1991 extra points, less EX-HN12 Jinjin and EX-HN13 Yuye (one fixed side each).
EXTRA_CODES = (
    [f"EX-HN{n}" for n in range(1, 16) if n not in (12, 13)]
    + ["EX-CA1"]
    + [f"EX-B{n}" for n in range(1, 10)]
    + [f"EX-UE{n}" for n in range(1, 12)]
    + [f"EX-LE{n}" for n in range(1, 13)]
)

MIDLINE_EXTRAS = {"EX-HN1", "EX-HN3", "EX-HN10", "EX-HN11", "EX-B5", "EX-B8", "EX-B9"}


def codes(meridian: str, first: int, last: int) -> list[str]:
    return [f"{meridian}{n}" for n in range(first, last + 1)]


def meridian_points() -> list[acupoints.Acupoint]:
    return [p for p in all_points() if p.meridian in WHO_2008_COUNTS]


# --- the registry ------------------------------------------------------------------------------


def test_361_who_points_with_the_who_counts_per_meridian() -> None:
    points = meridian_points()
    assert len(points) == 361
    for meridian, count in WHO_2008_COUNTS.items():
        numbers = [p.number for p in points if p.meridian == meridian]
        assert numbers == list(range(1, count + 1)), meridian
    assert dict(MERIDIAN_COUNTS) == WHO_2008_COUNTS
    assert list(MERIDIAN_COUNTS) == list(WHO_2008_COUNTS)


def test_registry_order_is_who_book_order_then_extra_points() -> None:
    points = all_points()
    meridians = list(dict.fromkeys(p.meridian for p in points))
    assert meridians == [*WHO_2008_COUNTS, "EX-HN", "EX-CA", "EX-B", "EX-UE", "EX-LE"]
    assert (points[0].code, points[360].code) == ("LU1", "CV24")
    assert [p.code for p in points[361:]] == EXTRA_CODES


def test_every_code_is_unique_and_is_meridian_plus_number() -> None:
    points = all_points()
    assert len({p.code for p in points}) == len(points)
    for p in points:
        assert p.code == f"{p.meridian}{p.number}"
        assert re.fullmatch(r"[A-Z][a-z]+", p.name), p


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("EX-HN3", "Yintang"),
        ("EX-HN5", "Taiyang"),
        ("EX-B2", "Jiaji"),
        ("EX-LE4", "Neixiyan"),
        ("EX-LE5", "Xiyan"),
        ("EX-UE9", "Baxie"),
        ("EX-LE10", "Bafeng"),
        ("EX-HN1", "Sishencong"),
        ("EX-CA1", "Zigong"),
    ],
)
def test_extra_points_present(code: str, name: str) -> None:
    assert lookup(code).name == name


@pytest.mark.parametrize("code", ["EX-HN12", "EX-HN13", "EX-HN16", "EX-CA2", "GV30"])
def test_points_outside_the_registry_are_unknown(code: str) -> None:
    with pytest.raises(UnknownAcupoint):
        lookup(code)


@pytest.mark.parametrize(
    ("code", "name"),
    [("LU1", "Zhongfu"), ("LI4", "Hegu"), ("ST36", "Zusanli"), ("SP6", "Sanyinjiao"),
     ("BL4", "Qucha"), ("BL23", "Shenshu"), ("BL61", "Pucan"), ("PC6", "Neiguan"),
     ("TE18", "Chimai"), ("GB20", "Fengchi"), ("LR3", "Taichong"), ("GV20", "Baihui"),
     ("GV26", "Shuigou"), ("CV17", "Danzhong")],
)  # fmt: skip
def test_names_are_the_who_spellings(code: str, name: str) -> None:
    assert lookup(code).name == name


def test_midline_points_are_exactly_gv_cv_and_the_midline_extra_points() -> None:
    midline = {p.code for p in all_points() if p.midline}
    expected = set(codes("GV", 1, 28)) | set(codes("CV", 1, 24)) | MIDLINE_EXTRAS
    assert midline == expected


def test_points_and_mappings_are_immutable() -> None:
    point = lookup("BL23")
    with pytest.raises(dataclasses.FrozenInstanceError):
        point.region = Region.CHEST  # type: ignore[misc]
    with pytest.raises(TypeError):
        MERIDIAN_COUNTS["BL"] = 68  # type: ignore[index]
    with pytest.raises(TypeError):
        ALIASES["XX"] = "BL"  # type: ignore[index]


def isort_key(name: str) -> tuple[int, str]:
    """The order of ruff's RUF022: constants, then classes, then functions."""
    kind = 0 if name.isupper() else 1 if name[0].isupper() else 2
    return kind, name


def test_public_api_is_sorted_and_complete() -> None:
    assert acupoints.__all__ == sorted(acupoints.__all__, key=isort_key)
    # Complete: every public name the module defines (not imports) is exported.
    names: set[str] = set()
    for node in ast.parse(Path(acupoints.__file__).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    assert set(acupoints.__all__) == {n for n in names if not n.startswith("_")}


# --- body regions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "region"),
    [
        # front of the neck: carotid sheath, larynx, supraclavicular fossa (WHO anterior neck)
        ("ST9", Region.FRONT_OF_NECK), ("ST10", Region.FRONT_OF_NECK),
        ("ST11", Region.FRONT_OF_NECK), ("ST12", Region.FRONT_OF_NECK),
        ("CV22", Region.FRONT_OF_NECK), ("CV23", Region.FRONT_OF_NECK),
        ("LI17", Region.FRONT_OF_NECK), ("LI18", Region.FRONT_OF_NECK),
        ("SI16", Region.FRONT_OF_NECK), ("SI17", Region.FRONT_OF_NECK),
        ("TE16", Region.FRONT_OF_NECK), ("TE17", Region.FRONT_OF_NECK),
        ("GB12", Region.FRONT_OF_NECK), ("EX-HN14", Region.FRONT_OF_NECK),
        # back of the neck
        ("GB20", Region.BACK_OF_NECK), ("GB21", Region.BACK_OF_NECK),
        ("GV14", Region.BACK_OF_NECK), ("GV15", Region.BACK_OF_NECK),
        ("GV16", Region.BACK_OF_NECK), ("BL10", Region.BACK_OF_NECK),
        ("EX-HN15", Region.BACK_OF_NECK),
        # head and face
        ("GV20", Region.HEAD), ("EX-HN3", Region.HEAD), ("EX-HN5", Region.HEAD),
        ("ST6", Region.HEAD), ("CV24", Region.HEAD), ("GV28", Region.HEAD),
        # chest down to the xiphisternal junction
        ("LU1", Region.CHEST), ("KI27", Region.CHEST), ("CV16", Region.CHEST),
        ("LR14", Region.CHEST), ("GB24", Region.CHEST), ("SP21", Region.CHEST),
        ("PC1", Region.CHEST),
        # abdomen from below the xiphisternal junction, groin, perineum in front of the anus
        ("CV15", Region.ABDOMEN), ("CV12", Region.ABDOMEN), ("KI21", Region.ABDOMEN),
        ("ST19", Region.ABDOMEN), ("LR13", Region.ABDOMEN), ("ST30", Region.ABDOMEN),
        ("CV1", Region.ABDOMEN),
        # back: T1..T12 upper, L1 down lower
        ("BL11", Region.UPPER_BACK), ("BL15", Region.UPPER_BACK), ("BL17", Region.UPPER_BACK),
        ("BL21", Region.UPPER_BACK), ("SI11", Region.UPPER_BACK), ("SI15", Region.UPPER_BACK),
        ("EX-B2", Region.UPPER_BACK),
        ("BL22", Region.LOWER_BACK), ("BL23", Region.LOWER_BACK), ("BL32", Region.LOWER_BACK),
        ("BL35", Region.LOWER_BACK), ("BL54", Region.LOWER_BACK), ("GV1", Region.LOWER_BACK),
        ("GV4", Region.LOWER_BACK),
        # limbs
        ("LI4", Region.UPPER_LIMB), ("PC6", Region.UPPER_LIMB), ("HT1", Region.UPPER_LIMB),
        ("LI15", Region.UPPER_LIMB),
        ("ST36", Region.LOWER_LIMB), ("SP6", Region.LOWER_LIMB), ("GB30", Region.LOWER_LIMB),
        ("BL36", Region.LOWER_LIMB), ("BL40", Region.LOWER_LIMB), ("EX-LE4", Region.LOWER_LIMB),
    ],
)  # fmt: skip
def test_safety_relevant_regions(code: str, region: Region) -> None:
    assert lookup(code).region is region


@pytest.mark.parametrize(
    ("region", "points"),
    [
        # WHO upper back region: T1..T12 levels
        (Region.UPPER_BACK, codes("BL", 11, 21) + codes("BL", 41, 50) + codes("GV", 6, 13)),
        # WHO lumbar, sacral and coccygeal points
        (Region.LOWER_BACK, codes("BL", 22, 35) + codes("BL", 51, 54) + codes("GV", 1, 5)),
        # WHO anterior thoracic region
        (
            Region.CHEST,
            codes("CV", 16, 21) + codes("KI", 22, 27) + codes("ST", 13, 18) + codes("SP", 17, 21),
        ),
        # WHO upper and lower abdomen
        (
            Region.ABDOMEN,
            codes("CV", 1, 15) + codes("KI", 11, 21) + codes("ST", 19, 30) + codes("SP", 12, 16),
        ),
    ],
)
def test_trunk_levels(region: Region, points: list[str]) -> None:
    assert {lookup(c).region for c in points} == {region}


def test_trunk_points_above_the_diaphragm_are_chest_or_upper_back() -> None:
    trunk = {Region.CHEST, Region.UPPER_BACK, Region.LOWER_BACK, Region.ABDOMEN}
    for p in all_points():
        if p.region in trunk:
            assert p.above_diaphragm == (p.region in {Region.CHEST, Region.UPPER_BACK}), p


@pytest.mark.parametrize(
    ("region", "above"),
    [
        (Region.HEAD, True),
        (Region.FRONT_OF_NECK, True),
        (Region.BACK_OF_NECK, True),
        (Region.CHEST, True),
        (Region.UPPER_BACK, True),
        (Region.UPPER_LIMB, True),
        (Region.LOWER_BACK, False),
        (Region.ABDOMEN, False),
        (Region.LOWER_LIMB, False),
    ],
)
def test_above_diaphragm(region: Region, above: bool) -> None:
    points = [p for p in all_points() if p.region is region]
    assert points
    assert {p.above_diaphragm for p in points} == {above}


def test_region_values() -> None:
    assert [r.value for r in Region] == [
        "head",
        "front_of_neck",
        "back_of_neck",
        "chest",
        "upper_back",
        "lower_back",
        "abdomen",
        "upper_limb",
        "lower_limb",
    ]


# --- lookup --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("BL23", "BL23"), ("bl23", "BL23"), ("bl 23", "BL23"), ("BL-23", "BL23"),
        ("BL.23", "BL23"), ("BL_23", "BL23"), (" Bl 23 ", "BL23"), ("BL023", "BL23"),
        ("ub23", "BL23"), ("Ren17", "CV17"), ("du20", "GV20"), ("sj5", "TE5"), ("LV3", "LR3"),
        ("G.B.20", "GB20"), ("ex-hn3", "EX-HN3"), ("EXHN3", "EX-HN3"), ("EX HN 3", "EX-HN3"),
        ("ex-le10", "EX-LE10"), ("EX-B2", "EX-B2"), ("P6", "PC6"),
    ],
)  # fmt: skip
def test_lookup_is_tolerant_and_normalises_to_who_codes(text: str, code: str) -> None:
    assert lookup(text).code == code


def test_every_point_is_found_by_its_code_in_any_case_and_spacing() -> None:
    for p in all_points():
        assert lookup(p.code) is p
        assert lookup(p.code.lower()) is p
        spaced = re.sub(r"(\d+)$", r" \1", p.code)
        assert lookup(spaced) is p
        assert lookup(p.code.replace("-", "")) is p


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias(alias: str) -> None:
    meridian = ALIASES[alias]
    assert meridian in MERIDIAN_COUNTS
    assert lookup(f"{alias}1").code == f"{meridian}1"
    assert lookup(f"{alias.lower()}-{MERIDIAN_COUNTS[meridian]}").meridian == meridian


def test_the_common_aliases_are_there() -> None:
    expected = {"UB": "BL", "SJ": "TE", "TW": "TE", "LV": "LR", "DU": "GV", "REN": "CV"}
    assert expected.items() <= ALIASES.items()
    assert not set(ALIASES) & set(MERIDIAN_COUNTS)


@pytest.mark.parametrize(
    ("text", "first", "expected"),
    [
        ("BL68", "BL67", ("BL67", "BL66", "BL65")),
        ("LU12", "LU11", ("LU11", "LU10", "LU9")),
        ("ST46", "ST45", ("ST45", "ST44", "ST43")),
        ("ub68", "BL67", ("BL67", "BL66", "BL65")),
        ("BL2e", "BL23", ("BL23", "BL24", "BL2")),  # e sits under 3 and 4 on the keyboard
        ("BK23", "BL23", None),  # K is next to L
        ("LB23", "BL23", None),  # swapped letters
        ("GB200", "GB44", None),
        ("EX-HN12", "EX-HN11", None),
    ],
)
def test_suggestions_for_misspelt_codes(
    text: str, first: str, expected: tuple[str, ...] | None
) -> None:
    with pytest.raises(UnknownAcupoint) as info:
        lookup(text)
    err = info.value
    assert err.code == text
    assert err.suggestions[0] == first
    assert len(err.suggestions) <= 3
    if expected is not None:
        assert err.suggestions == expected
    assert first in str(err)


@pytest.mark.parametrize("text", ["", "hello", "XX23", "Q", "BL23" * 1000])
def test_no_suggestions_for_text_far_from_any_code(text: str) -> None:
    with pytest.raises(UnknownAcupoint) as info:
        lookup(text)
    assert info.value.suggestions == ()


def test_unknown_acupoint_is_a_value_error_in_the_tree() -> None:
    with pytest.raises(UnknownAcupoint) as info:
        lookup("BL68")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, EAError)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.text(alphabet="ABCEGHIKLNOPRSTUVX0123456789 -._abelr", max_size=10))
def test_lookup_and_parse_site_raise_only_their_own_errors(text: str) -> None:
    try:
        point = lookup(text)
    except UnknownAcupoint as err:
        assert all(lookup(s).code == s for s in err.suggestions)
        assert len(err.suggestions) <= 3
    else:
        assert point in all_points()
    try:
        site = parse_site(text)
    except (InvalidNeedleSite, UnknownAcupoint):
        pass
    else:
        assert parse_site(str(site)) == site


# --- needle sites --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "side", "written"),
    [
        ("BL23-L", "BL23", Side.L, "BL23-L"),
        ("bl23-r", "BL23", Side.R, "BL23-R"),
        ("BL23 L", "BL23", Side.L, "BL23-L"),
        ("BL23L", "BL23", Side.L, "BL23-L"),
        ("BL-23-left", "BL23", Side.L, "BL23-L"),
        ("  BL23-L" + " " * 60, "BL23", Side.L, "BL23-L"),
        ("ub23 Right", "BL23", Side.R, "BL23-R"),
        ("GV20", "GV20", None, "GV20"),
        (" du 20 ", "GV20", None, "GV20"),
        ("EX-HN3", "EX-HN3", None, "EX-HN3"),
        ("ex-le10-r", "EX-LE10", Side.R, "EX-LE10-R"),
        ("EX-B2 L", "EX-B2", Side.L, "EX-B2-L"),
    ],
)
def test_parse_site(text: str, code: str, side: Side | None, written: str) -> None:
    site = parse_site(text)
    assert site.point is lookup(code)
    assert site.side is side
    assert str(site) == written


def test_every_site_round_trips_through_its_text() -> None:
    for p in all_points():
        for side in [None] if p.midline else [Side.L, Side.R]:
            site = NeedleSite(p, side)
            assert parse_site(str(site)) == site


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("GV20-L", "midline"),  # a side on a midline point
        ("CV12 R", "midline"),
        ("EX-HN3-R", "midline"),
        ("BL23", "both sides"),  # no side on a bilateral point
        ("ST36", "both sides"),
        ("BL23-X", "must be L or R"),  # bad syntax
        ("BL23-up", "must be L or R"),
        ("BL23-", "not a needle site"),
        ("", "not a needle site"),
        ("   ", "not a needle site"),
        ("-L", "not a needle site"),
        ("L", "not a needle site"),
        ("BL23-L" * 10, "too long"),
    ],
)
def test_parse_site_refuses_invalid_sites(text: str, reason: str) -> None:
    with pytest.raises(InvalidNeedleSite, match=reason) as info:
        parse_site(text)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("text", ["BL68-L", "XY1", "LU12 R", "EX-HN12-L"])
def test_parse_site_refuses_unknown_codes(text: str) -> None:
    with pytest.raises(UnknownAcupoint):
        parse_site(text)


def test_needle_site_checks_its_side() -> None:
    with pytest.raises(InvalidNeedleSite, match="midline"):
        NeedleSite(lookup("GV20"), Side.L)
    with pytest.raises(InvalidNeedleSite, match="both sides"):
        NeedleSite(lookup("BL23"), None)
    assert str(NeedleSite(lookup("BL23"), Side.L)) == "BL23-L"
    assert str(NeedleSite(lookup("GV20"), None)) == "GV20"


# --- package data --------------------------------------------------------------------------


def test_data_file_is_package_data_with_its_sources() -> None:
    data = resources.files("eacontrol.anatomy.data").joinpath("acupoints.csv")
    assert data.is_file()
    header = data.read_text(encoding="utf-8")
    assert "WHO Standard Acupuncture Point Locations in the Western Pacific Region" in header
    assert "A Proposed Standard International Acupuncture Nomenclature" in header


def test_registry_is_loaded_once() -> None:
    assert all_points() is all_points()
    assert lookup("BL23") is lookup("ub 23")


def test_registry_loads_from_a_zip_through_importlib_resources(tmp_path: Path) -> None:
    # A zip has no files on disk: reading the data through a path next to __file__ would fail.
    package = Path(eacontrol.__file__).parent
    archive = tmp_path / "eacontrol.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in package.rglob("*"):
            if (
                path.suffix in (".py", ".csv", ".json", ".typed")
                and "__pycache__" not in path.parts
            ):
                zf.write(path, Path("eacontrol") / path.relative_to(package))
    script = (
        "import sys, zipimport\n"
        f"sys.path.insert(0, {str(archive)!r})\n"
        "import eacontrol.anatomy.acupoints as a\n"
        "assert isinstance(a.__spec__.loader, zipimport.zipimporter), a.__spec__\n"
        "print(len(a.all_points()), a.lookup('ub 23').code, a.parse_site('GV20'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(all_points())), "BL23", "GV20"]


def bundled_text() -> str:
    return (
        resources.files("eacontrol.anatomy.data")
        .joinpath("acupoints.csv")
        .read_text(encoding="utf-8")
    )


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("code,meridian,number", "code,channel,number", "header"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,BL,23,Shenshu,nowhere,no", "bad region"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,BL,23,Shenshu,lower_back,maybe", "midline"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,BL,24,Shenshu,lower_back,no", "not meridian"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,BL,23,Shenshu,lower_back", "fields"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,XX,23,Shenshu,lower_back,no", "unknown"),
        ("BL23,BL,23,Shenshu,lower_back,no", "BL23,BL,23,Shenshu,lower_back,yes", "midline"),
        ("BL23,BL,23,Shenshu,lower_back,no\n", "", "BL must hold points 1..67"),
        ("BL24,BL,24,Qihaishu,lower_back,no", "BL23,BL,23,Shenshu,lower_back,no", "duplicate"),
    ],
)
def test_a_corrupt_registry_file_is_refused(old: str, new: str, message: str) -> None:
    text = bundled_text()
    assert old in text
    with pytest.raises(RuntimeError, match=message):
        acupoints._parse(text.replace(old, new), "acupoints.csv")
