"""Write profiles as TOML or JSON, and export the profile format as JSON Schema.

The writer leaves out keys at their documented defaults (``shape`` when symmetric, an empty
``label``, a default ``[session]``), so a written file reads like a hand-written one; loading
it gives back an equal profile (a test checks the round trip for every stored profile).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eacontrol.profiles.document import Format
from eacontrol.profiles.models import Profile
from eacontrol.profiles.steps import ContinuousStep, DenseDisperseStep

__all__ = ["dumps_json", "dumps_toml", "profile_json_schema", "save_profile"]

_STEP_FIRST = ("label", "channels", "mode")
# Keys every mode has; a written step puts its mode's own keys right after ``mode``.
_COMMON = set(ContinuousStep.model_fields) & set(DenseDisperseStep.model_fields)
_JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _plain(profile: Profile) -> dict[str, Any]:
    data = profile.model_dump(mode="json", exclude_defaults=True)
    data["schema_version"] = profile.schema_version  # required: always written
    data["steps"] = [
        {
            **{k: step[k] for k in _STEP_FIRST if k in step},
            **{k: v for k, v in step.items() if k not in _COMMON},
            **step,
        }
        for step in data["steps"]
    ]
    return data


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # 2, not 2.0: integers are accepted wherever numbers are
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes are TOML basic-string escapes; TOML also wants DEL escaped.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_table(table: dict[str, Any]) -> list[str]:
    return [f"{key} = {_toml_value(value)}" for key, value in table.items()]


def dumps_toml(profile: Profile) -> str:
    """The profile as TOML text, in the layout of ``profiles/README.md``."""
    data = _plain(profile)
    scalars = {k: v for k, v in data.items() if k not in {"session", "channels", "steps"}}
    lines = _toml_table(scalars)
    if "session" in data:
        lines += ["", "[session]", *_toml_table(data["session"])]
    for name in ("channels", "steps"):
        for table in data[name]:
            lines += ["", f"[[{name}]]", *_toml_table(table)]
    return "\n".join(lines) + "\n"


def dumps_json(profile: Profile) -> str:
    """The profile as JSON text (the same structure as the TOML form)."""
    return json.dumps(_plain(profile), indent=2, ensure_ascii=False) + "\n"


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> None:
    """Write a profile to a file: JSON for a ``.json`` suffix, TOML otherwise."""
    target = Path(path)
    fmt: Format = "json" if target.suffix.lower() == ".json" else "toml"
    text = dumps_json(profile) if fmt == "json" else dumps_toml(profile)
    target.write_text(text, encoding="utf-8")


def profile_json_schema() -> dict[str, Any]:
    """The profile format as a JSON Schema (draft 2020-12).

    It covers keys, types and structure; the limit layers, placement rules and cross-field
    rules are the checker's, so a document the schema accepts may still be refused.
    """
    schema = Profile.model_json_schema(mode="validation")
    return {"$schema": _JSON_SCHEMA_DIALECT, **schema}
