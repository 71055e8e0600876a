"""Loading: syntax errors with lines, the line map, stored names, exceptions, Validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from eacontrol.errors import Layer, ProfileError, ProfileRefused, ProfileSyntaxError, Severity
from eacontrol.profiles import (
    SourceMap,
    dumps_json,
    load_profile,
    loads_profile,
    stored_profile_names,
    validate_file,
    validate_text,
)


def test_valid_text_loads(minimal_toml: str) -> None:
    profile = loads_profile(minimal_toml)
    assert profile.name == "test profile"
    validation = validate_text(minimal_toml, file="x.toml")
    assert not validation.refused
    assert validation.refusals == validation.advisories == ()
    assert validation.origin.file == "x.toml"


def test_toml_syntax_error_has_its_line(minimal_toml: str) -> None:
    broken = minimal_toml.replace("frequency_hz = 2", "frequency_hz = ")
    with pytest.raises(ProfileSyntaxError) as caught:
        loads_profile(broken, file="broken.toml")
    [finding] = caught.value.findings
    assert (finding.file, finding.line, finding.layer) == ("broken.toml", 11, Layer.SCHEMA)
    assert finding.message.startswith("malformed TOML")
    assert "broken.toml:11" in str(caught.value)


def test_json_syntax_error_has_its_line() -> None:
    with pytest.raises(ProfileSyntaxError) as caught:
        loads_profile('{\n  "schema_version": 1,\n  "name": \n}', fmt="json")
    assert caught.value.findings[0].line == 4


def test_not_utf8_is_a_syntax_error_with_a_line() -> None:
    with pytest.raises(ProfileSyntaxError) as caught:
        loads_profile(b'schema_version = 1\nname = "\xff"\n')
    assert caught.value.findings[0].line == 2


def test_other_schema_versions_are_refused_alone(minimal_toml: str) -> None:
    newer = minimal_toml.replace("schema_version = 1", "schema_version = 3") + "colour = 1\n"
    validation = validate_text(newer)
    [finding] = validation.findings
    assert (finding.path, finding.value, finding.line) == ("schema_version", 3, 1)
    assert "version 1" in finding.message
    with pytest.raises(ProfileError):
        validation.raise_for_refusals()


def test_every_problem_is_reported_at_once(minimal_toml: str) -> None:
    text = (
        minimal_toml.replace("intensity_mA = 3", "intensity_ma = 3")
        .replace("frequency_hz = 2", "frequency_hz = 500")
        .replace('"BL25-L"', '"BL25-R"')
    )
    with pytest.raises(ProfileError) as caught:
        loads_profile(text)
    assert type(caught.value) is ProfileError  # schema problems: not merely refused
    found = {(f.path, f.layer, f.line) for f in caught.value.findings}
    assert {
        ("steps[0].intensity_ma", Layer.SCHEMA, 13),
        ("steps[0].intensity_mA", Layer.SCHEMA, 8),  # missing: the step's header line
        ("steps[0].frequency_hz", Layer.STANDARD, 11),  # the step failed, its values are checked
        ("channels[0].electrodes", Layer.STANDARD, 6),  # across the spine
    } <= found


def test_limit_refusals_raise_profile_refused(minimal_toml: str) -> None:
    with pytest.raises(ProfileRefused) as caught:
        loads_profile(minimal_toml.replace("frequency_hz = 2", "frequency_hz = 500"))
    assert [f.path for f in caught.value.findings] == ["steps[0].frequency_hz"]


def test_json_profiles_load(tmp_path: Path) -> None:
    profile = load_profile("lbp_2hz")
    path = tmp_path / "copy.json"
    path.write_text(dumps_json(profile))
    assert load_profile(path) == profile


def test_stored_names_and_unknown_names() -> None:
    names = stored_profile_names()
    assert len(names) >= 8
    assert "lbp_2_100hz_han" in names
    with pytest.raises(ProfileError) as caught:
        load_profile("lbp_2_100hz")
    assert "lbp_2_100hz_han" in str(caught.value)  # a suggestion


def test_a_missing_file_is_a_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError) as caught:
        load_profile(tmp_path / "nothing.toml")
    assert caught.value.findings[0].file == str(tmp_path / "nothing.toml")


def test_advisories_do_not_refuse() -> None:
    validation = validate_file("research_template")
    assert not validation.refused
    assert validation.advisories
    assert all(f.severity is Severity.ADVISORY for f in validation.advisories)
    assert validation.raise_for_refusals() is validation.profile


def test_line_map() -> None:
    text = (
        'name = "x"\n'  # 1
        'description = """\n'  # 2
        "steps = 3\n"  # 3: inside a multi-line string
        '"""\n'  # 4
        "[session]\n"  # 5
        "ceiling_mA = 8\n"  # 6
        "[[channels]]\n"  # 7
        "needle = { diameter_mm = 0.2, inserted_length_mm = 10 }\n"  # 8
        "[[channels]]\n"  # 9
        "needle.diameter_mm = 0.3\n"  # 10
        "electrodes = [\n"  # 11
        '  "BL23-L",\n'  # 12
        "]\n"  # 13
        "[channels.extra]\n"  # 14
        '"quoted key" = 1\n'  # 15
    )
    lines = SourceMap.from_toml(text, "f.toml")
    assert lines.line("description") == 2
    assert lines.line("steps") is None
    assert lines.line("session.ceiling_mA") == 6
    assert lines.line("session.max_duration_s") == 5  # missing: the table header
    assert lines.line("channels") == 7
    assert lines.line("channels[0].needle.diameter_mm") == 8  # inline table: the key's line
    assert lines.line("channels[1].needle.diameter_mm") == 10  # dotted key
    assert lines.line("channels[1].electrodes[0]") == 11
    assert lines.line("channels[1].extra.quoted key") == 15
    assert lines.line("") is None
