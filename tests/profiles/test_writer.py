"""Writing profiles back (TOML, JSON) and the JSON Schema export."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from eacontrol.profiles import (
    STORED_PACKAGE,
    Profile,
    dumps_json,
    dumps_toml,
    load_profile,
    loads_profile,
    profile_json_schema,
    save_profile,
    stored_profile_names,
)

NAMES = stored_profile_names()


def stored_table(name: str) -> dict[str, Any]:
    text = resources.files(STORED_PACKAGE).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


@pytest.mark.parametrize("name", NAMES)
def test_toml_and_json_round_trip(name: str) -> None:
    profile = load_profile(name)
    assert loads_profile(dumps_toml(profile)) == profile
    assert loads_profile(dumps_json(profile), fmt="json") == profile
    assert Profile.model_validate_json(dumps_json(profile)) == profile


def test_written_toml_reads_like_the_format(tmp_path: Path) -> None:
    profile = load_profile("lbp_2_100hz_han")
    text = dumps_toml(profile)
    assert text.startswith('schema_version = 1\nname = "Low back pain')
    assert '[[channels]]\nchannel = 1\nelectrodes = ["BL23-L", "BL25-L"]' in text
    assert '[[steps]]\nlabel = "2/100 Hz"\nchannels = [1, 2]\nmode = "dense_disperse"' in text
    assert "shape" not in text  # the documented default is left out
    path = tmp_path / "copy.toml"
    save_profile(profile, path)
    assert load_profile(path) == profile
    save_profile(profile, tmp_path / "copy.json")
    assert json.loads((tmp_path / "copy.json").read_text())["steps"][0]["dwell_a_s"] == 3.0


def test_strings_are_escaped(make_profile: Any) -> None:
    profile = make_profile(description='quote " backslash \\ tab \t del \x7f newline \n end')
    assert loads_profile(dumps_toml(profile)) == profile


def test_schema_shape() -> None:
    schema = profile_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["schema_version"]["const"] == 1
    definitions = schema["$defs"]
    for name in ("Channel", "ContinuousStep", "DenseDisperseStep", "IntermittentStep", "Needle"):
        assert definitions[name]["additionalProperties"] is False
    steps = schema["properties"]["steps"]["items"]
    assert steps["discriminator"]["propertyName"] == "mode"
    assert "intensity_mA" in definitions["ContinuousStep"]["required"]


@pytest.mark.parametrize("name", NAMES)
def test_stored_profiles_validate_against_the_exported_schema(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = profile_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(stored_table(name), schema)
    jsonschema.validate(json.loads(dumps_json(load_profile(name))), schema)


def test_the_schema_refuses_what_the_model_refuses() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = profile_json_schema()
    table = stored_table("lbp_2hz")
    table["steps"][0]["intensity_ma"] = table["steps"][0].pop("intensity_mA")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(table, schema)
    table = stored_table("lbp_2hz")
    table["steps"][0]["mode"] = "burst"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(table, schema)
