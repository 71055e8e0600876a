"""Issue 15, Placement, done-when: ``eactl validate`` on the named clinical cases."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from profile_text import CONTINUOUS_2_HZ, profile_toml

from eacontrol.profiles import stored_profile_names

Run = Callable[..., Any]
Write = Callable[[str, str], Path]


CLEARANCE = "Dr A Khan, cardiology;2026-11-30;clinic letter EP-2291"


def _profile(a: str, b: str, **changes: object) -> str:
    """One channel on ``a``–``b``, one 2 Hz step (``CONTINUOUS_2_HZ`` with ``changes``)."""
    step = CONTINUOUS_2_HZ | changes
    return profile_toml("placement case", step, electrodes=[(a, b)], indication=None, references=())


def _case(profile_file: Write, a: str, b: str) -> str:
    return str(profile_file(f"{a}_{b}.toml", _profile(a, b)))


@pytest.mark.parametrize(("a", "b"), [("CV17", "CV21"), ("KI22-L", "KI27-L")])
def test_i15_placement_validate_refuses_the_precordium(
    eactl: Run, profile_file: Write, a: str, b: str
) -> None:
    result = eactl("validate", _case(profile_file, a, b))
    assert result.code == 1
    assert "lies on the chest wall, over the heart and lungs (the precordium)" in result.out


@pytest.mark.parametrize(("a", "b"), [("BL23-L", "BL25-L"), ("CV4", "ST36-L"), ("LI4-L", "LI11-L")])
def test_i15_placement_validate_refuses_in_pregnancy(
    eactl: Run, profile_file: Write, a: str, b: str
) -> None:
    path = _case(profile_file, a, b)
    assert eactl("validate", path).code == 0 or a == "CV4"
    result = eactl("validate", path, "--patient-flags", "pregnant")
    assert result.code == 1
    assert "pregnancy" in result.out


def test_i15_placement_validate_accepts_distal_limb_in_pregnancy(
    eactl: Run, profile_file: Write
) -> None:
    result = eactl(
        "validate", _case(profile_file, "ST36-L", "ST40-L"), "--patient-flags", "pregnant"
    )
    assert result.code == 0, result.out


def test_i15_placement_validate_accepts_gv20_yintang_with_an_advisory(
    eactl: Run, profile_file: Write
) -> None:
    result = eactl("validate", _case(profile_file, "GV20", "EX-HN3"))
    assert result.code == 0, result.out
    assert "are both on the head, on one side or the midline" in result.out
    assert "valid, 1 advisory" in result.out


def test_i15_placement_validate_reads_gv29_as_yintang(eactl: Run, profile_file: Write) -> None:
    result = eactl("validate", _case(profile_file, "GV20", "GV29"))
    assert result.code == 0, result.out
    assert "EX-HN3" in result.out


def test_i15_placement_validate_lumbar_across_the_spine_is_an_advisory(
    eactl: Run, profile_file: Write
) -> None:
    result = eactl("validate", _case(profile_file, "BL23-L", "BL23-R"))
    assert result.code == 0, result.out
    assert "crosses the lumbar spine below the spinal cord" in result.out
    assert "valid, 1 advisory" in result.out


def test_i15_placement_validate_pacemaker_refused_without_clearance(
    eactl: Run, profile_file: Write
) -> None:
    result = eactl(
        "validate", _case(profile_file, "ST36-L", "ST40-L"), "--patient-flags", "pacemaker"
    )
    assert result.code == 1
    assert "pacemaker" in result.out


@pytest.mark.parametrize(
    ("a", "b", "code"),
    [
        ("ST36-L", "ST40-L", 0),
        ("LI4-L", "LI11-L", 1),
        ("BL23-L", "BL25-L", 1),
        ("ST36-L", "ST36-R", 1),
    ],
)
def test_i15_placement_validate_pacemaker_clearance_permits_distal_same_limb_only(
    eactl: Run, profile_file: Write, a: str, b: str, code: int
) -> None:
    path = _case(profile_file, a, b)
    result = eactl(
        "validate", path, "--patient-flags", "pacemaker,icd", "--implant-clearance", CLEARANCE
    )
    assert result.code == code, result.out
    assert "Dr A Khan" in result.out
    assert "EP-2291" in result.out


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        ("", CLEARANCE),
        ("pacemaker", "Dr A Khan;not a date;letter"),
        ("icd", "Dr A Khan;2026-11-30"),
    ],
)
def test_i15_placement_validate_bad_clearance_is_a_usage_error(
    eactl: Run, profile_file: Write, flags: str, text: str
) -> None:
    path = _case(profile_file, "ST36-L", "ST40-L")
    result = eactl("validate", path, "--patient-flags", flags, "--implant-clearance", text)
    assert result.code == 2
    assert "--implant-clearance" in result.err


def test_i15_placement_validate_stored_profiles_still_pass(eactl: Run) -> None:
    result = eactl("validate", *stored_profile_names())
    assert result.code == 0, result.out


def test_i15_placement_clearance_is_recorded_and_printed_in_the_report(
    eactl: Run, profile_file: Write, tmp_path: Path
) -> None:
    path = str(profile_file("cleared.toml", _profile("ST36-L", "ST40-L", duration_s=20)))
    db = str(tmp_path / "s.sqlite3")
    argv = ("--patient-flags", "pacemaker", "--implant-clearance", CLEARANCE)
    result = eactl("run", path, "--fast", "--db", db, *argv)
    assert result.code == 0, result.out + result.err
    report = eactl("report", "1", "--db", db)
    assert report.code == 0, report.err
    flags = next(line for line in report.out.splitlines() if line.startswith("Patient flags:"))
    assert "pacemaker cleared by Dr A Khan, cardiology on 2026-11-30" in flags
    assert "(reference clinic letter EP-2291)" in flags
