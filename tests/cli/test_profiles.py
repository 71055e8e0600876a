"""eactl profiles, validate, show and schema, through main(argv)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.profiles import stored_profile_names

Run = Callable[..., Any]
Write = Callable[[str, str], Path]


# --- profiles ------------------------------------------------------------------------------------


def test_profiles_lists_every_stored_profile_with_indication_and_duration(eactl: Run) -> None:
    result = eactl("profiles")
    assert result.code == 0
    lines = result.out.splitlines()
    headers = ["PROFILE", "FROM", "INDICATION", "DURATION", "CH", "POINTS", "STATUS"]
    assert lines[0].split() == headers
    for name in stored_profile_names():
        assert any(line.startswith(name + " ") for line in lines), name
    han = next(line for line in lines if line.startswith("lbp_2_100hz_han "))
    assert "stored" in han
    assert "Chronic non-specific low back pain" in han
    assert "30:00" in han
    assert " 2  BL23, BL25 " in han  # issue 16 item 15: channel count and points
    assert han.endswith("ok")


def test_profiles_lists_local_files_with_their_status(
    eactl: Run, profile_file: Write, valid_toml: str, refused_toml: str, tmp_path: Path
) -> None:
    good = profile_file("good.toml", valid_toml)
    bad = profile_file("bad.toml", refused_toml)
    (tmp_path / "notes.txt").write_text("not a profile")
    result = eactl("profiles", "--dir", str(tmp_path))
    assert result.code == 0
    good_line = next(line for line in result.out.splitlines() if line.startswith(str(good)))
    bad_line = next(line for line in result.out.splitlines() if line.startswith(str(bad)))
    assert "local" in good_line and "testing eactl" in good_line and "10:00" in good_line
    assert good_line.endswith("ok")
    assert bad_line.endswith("REFUSED (2)")  # above the standard 20 mA and the profile 10 mA
    assert "notes.txt" not in result.out
    assert f"local profiles are read from: {tmp_path}" in result.out


def test_profiles_reads_the_environment_folder(
    eactl: Run,
    profile_file: Write,
    valid_toml: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = profile_file("mine.toml", valid_toml)
    monkeypatch.setenv("EACONTROL_PROFILES", str(tmp_path))
    assert str(local) in eactl("profiles").out


def test_profiles_default_folder_is_under_xdg_data_home(eactl: Run, tmp_path: Path) -> None:
    assert f"read from: {tmp_path / 'xdg' / 'eacontrol' / 'profiles'}" in eactl("profiles").out


def test_profiles_json(eactl: Run, profile_file: Write, refused_toml: str, tmp_path: Path) -> None:
    profile_file("bad.toml", refused_toml)
    result = eactl("profiles", "--json", "--dir", str(tmp_path))
    records = json.loads(result.out)
    by_name = {r["name"]: r for r in records}
    assert by_name["lbp_2hz"]["origin"] == "stored"
    assert by_name["lbp_2hz"]["duration_s"] == 1500
    assert by_name["lbp_2hz"]["refusals"] == 0
    bad = by_name[str(tmp_path / "bad.toml")]
    assert bad["origin"] == "local"
    assert bad["refusals"] == 2
    assert bad["status"] == "REFUSED (2)"


# --- validate ------------------------------------------------------------------------------------


def test_validate_valid_file_exits_0(eactl: Run, profile_file: Write, valid_toml: str) -> None:
    path = profile_file("good.toml", valid_toml)
    result = eactl("validate", str(path))
    assert result.code == 0
    assert result.out == f"{path}: valid\n"


def test_validate_refused_file_names_file_line_field_range_layer_and_source(
    eactl: Run, profile_file: Write, refused_toml: str
) -> None:
    path = profile_file("bad.toml", refused_toml)
    result = eactl("validate", str(path))
    assert result.code == 1
    standard, profile, summary = result.out.splitlines()
    assert standard == (
        f"{path}:15: steps[0].intensity_mA: target intensity 25 mA is above the standard limit "
        "[refuse: value 25.0; allowed ≤ 20 mA; layer standard; "
        "source design value (docs/clinical-sources.md): twice the 10 mA default ceiling]"
    )
    assert profile.startswith(f"{path}:15: steps[0].intensity_mA: ")
    assert "allowed ≤ 10 mA; layer profile; source the profile (session.ceiling_mA)" in profile
    assert summary == f"{path}: REFUSED: 2 refusals"


def test_validate_several_paths_exits_1_if_any_is_refused(
    eactl: Run, profile_file: Write, valid_toml: str, refused_toml: str
) -> None:
    good = profile_file("good.toml", valid_toml)
    bad = profile_file("bad.toml", refused_toml)
    result = eactl("validate", str(good), "research_template", str(bad))
    assert result.code == 1
    assert f"{good}: valid\n" in result.out
    assert "research_template: valid, 1 advisory\n" in result.out
    assert f"{bad}: REFUSED" in result.out


def test_validate_syntax_error_names_the_line(eactl: Run, profile_file: Write) -> None:
    path = profile_file("broken.toml", 'schema_version = 1\nname = "x\n')
    result = eactl("validate", str(path))
    assert result.code == 1
    assert f"{path}:2:" in result.out


def test_validate_unknown_name_suggests(eactl: Run) -> None:
    result = eactl("validate", "lbp_2hx")
    assert result.code == 1
    assert "no profile file or stored profile named 'lbp_2hx'; did you mean lbp_2hz" in result.out


def test_validate_patient_layer(eactl: Run) -> None:
    result = eactl("validate", "lbp_2hz", "--patient-flags", "pacemaker")
    assert result.code == 1
    assert "pacemaker" in result.out
    assert "layer patient" in result.out


def test_validate_calibrated_maximum(eactl: Run) -> None:
    result = eactl("validate", "lbp_2hz", "--calibrated-max", "1=2")
    assert result.code == 1
    assert "layer patient" in result.out
    assert "calibrated" in result.out


@pytest.mark.parametrize("item", ["1", "x=2", "0=2", "1=-3", "1=5000", "1=nan"])
def test_validate_bad_calibrated_maximum_is_usage(eactl: Run, item: str) -> None:
    result = eactl("validate", "lbp_2hz", "--calibrated-max", item)
    assert result.code == 2
    assert f"--calibrated-max {item!r}" in result.err


def test_validate_site_policy(eactl: Run, profile_file: Write) -> None:
    policy = profile_file(
        "site.toml",
        'schema_version = 1\nname = "clinic"\nsource = "Policy EA-03"\nrefused_points = ["BL23"]\n',
    )
    result = eactl("validate", "lbp_2_100hz_han", "--site", str(policy))
    assert result.code == 1
    assert "layer site" in result.out
    assert "source Policy EA-03" in result.out


def test_validate_broken_site_policy_is_refused(eactl: Run, profile_file: Write) -> None:
    policy = profile_file("site.toml", "schema_version = 1\nmax_intensity_mA = 3\n")
    result = eactl("validate", "lbp_2hz", "--site", str(policy))
    assert result.code == 1
    assert result.err.startswith(f"eactl: profile {policy}:")
    assert "name" in result.err


def test_validate_json(eactl: Run, profile_file: Write, refused_toml: str) -> None:
    path = profile_file("bad.toml", refused_toml)
    result = eactl("validate", "--json", str(path), "lbp_2hz")
    assert result.code == 1
    reports = json.loads(result.out)
    assert [r["valid"] for r in reports] == [False, True]
    finding = reports[0]["findings"][0]
    assert finding == {
        "severity": "refuse",
        "file": str(path),
        "line": 15,
        "field": "steps[0].intensity_mA",
        "message": "target intensity 25 mA is above the standard limit",
        "value": 25.0,
        "allowed": "≤ 20 mA",
        "layer": "standard",
        "quantity": "intensity_mA",
        "source": "design value (docs/clinical-sources.md): twice the 10 mA default ceiling",
    }


# --- show ----------------------------------------------------------------------------------------


def _row(out: str, start: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith(start)).split()


def test_show_parameters_and_derived_per_step_and_channel(eactl: Run) -> None:
    result = eactl("show", "lbp_2_100hz_han")
    assert result.code == 0
    out = result.out
    assert out.startswith("Low back pain, 2/100 Hz dense-disperse (Han)\n")
    assert "channel 1:  BL23-L – BL25-L" in out
    params, derived = out.split("\nDerived")
    rows = [line.split() for line in params.splitlines() if line.startswith("0 ")]
    # step label, channel, mode, rates, widths, dwells, shape, gap, target, ceiling, ramps, length
    expected = (
        "0 2/100 Hz {} dense_disperse 2/100 600/200 dwell_a=3 dwell_b=3 symmetric 0 3 10 3/2 30:00"
    )
    assert rows == [expected.format(ch).split() for ch in ("1", "2")]
    # 900 s at 2 Hz (1800 pulses) + 900 s at 100 Hz (90 000); Q = 3 mA x 600 us = 1.8 uC;
    # Irms at 100 Hz = 3 * sqrt(200e-6 * 100 * 2) = 0.6 mA.
    first = _row(derived.split("\n", 2)[2], "0     1")
    assert first[:8] == ["0", "1", "91800", "1.8", "0", "0.6", "0.437", "100"]
    assert first[8:10] == ["2Hz:900", "100Hz:900"]
    assert first[10:] == ["-", "-", "-"]


def test_show_needle_densities_and_advisories(eactl: Run) -> None:
    result = eactl("show", "research_template")
    assert result.code == 0
    derived = result.out.split("\nDerived")[1]
    row = _row(derived.split("\n", 2)[2], "1")
    assert row[-3] != "-"  # Shannon k from the needle geometry
    assert "\nAdvisories\n" in result.out
    assert "research_template.toml:48: steps[1].intensity_mA" in result.out


def test_show_lowered_ceiling_names_its_layer(eactl: Run) -> None:
    result = eactl("show", "lbp_2hz", "--calibrated-max", "1=6")
    assert result.code == 0
    assert "6 (patient)" in result.out  # channel 1: the profile's 8 mA, lowered
    assert result.out.count("(patient)") == 1


def test_show_refused_profile_exits_1_with_findings(
    eactl: Run, profile_file: Write, refused_toml: str
) -> None:
    path = profile_file("bad.toml", refused_toml)
    result = eactl("show", str(path))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(f"eactl: profile {path}: 2 problem(s)\n")
    assert f"{path}:15: steps[0].intensity_mA" in result.err


# --- schema --------------------------------------------------------------------------------------


def test_schema_is_the_profile_json_schema(eactl: Run) -> None:
    result = eactl("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"schema_version", "name", "channels", "steps"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


def test_i16_15_profiles_json_has_channels_and_points_and_show_has_the_description(
    eactl: Run,
) -> None:
    listed = {e["name"]: e for e in json.loads(eactl("profiles", "--json").out)}
    assert listed["lbp_2hz"]["channels"] == 4
    assert listed["lbp_2hz"]["points"] == ["BL23", "BL25", "BL40", "BL57"]
    shown = eactl("show", "lbp_2_100hz_han").out.splitlines()
    assert any(line.startswith("  about:      Alternates 3 s of 2 Hz") for line in shown)
