"""docs/research.md runs as written: its Python blocks, in order, as one script (issue 17's
two-arm sham-controlled example: profiles built in Python, titration first, a blinded record,
Parquet and BIDS exports that reload equal to the records, checked by the example itself)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "research.md"


def blocks(text: str) -> list[str]:
    """The ``python`` code blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_docs_research_example_runs_and_its_checks_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = blocks(DOC.read_text(encoding="utf-8"))
    assert len(code) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "research_example"}
    exec(compile("\n".join(code), str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert out.count("completed") == 4  # every participant's session ran to its end
    assert {"verum", "sham"} <= set(namespace["allocation"].values())  # type: ignore[attr-defined]
    assert (tmp_path / "dataset" / "samples.parquet").is_file()
    assert sorted(p.name for p in tmp_path.glob("bids/sub-P01/ses-1/beh/*")) == [
        "sub-P01_ses-1_task-ea_events.json",
        "sub-P01_ses-1_task-ea_events.tsv",
    ]
