"""A simulator scenario file for one test: the ``scenario=PATH`` option of a ``sim://`` URL."""

from __future__ import annotations

from pathlib import Path

__all__ = ["scenario"]


def scenario(tmp_path: Path, text: str) -> str:
    """Write ``text`` (scenario tables: ``[[fault]]``, ``[[event]]``, …) after the scenario
    format's ``schema_version = 1`` to ``tmp_path/scenario.toml``; return ``scenario=PATH``."""
    path = tmp_path / "scenario.toml"
    path.write_text(f"schema_version = 1\n{text}\n", encoding="utf-8")
    return f"scenario={path}"
