"""A corpus of malformed and unsafe profiles: each must be refused, with the right exception,
field path and layer, every finding located (file, and line for TOML), and no traceback.

Each ``corpus/*.toml`` file starts with comment lines ``# raises: <error>`` and one
``# expect: <path> <layer>`` per required refusal (``-`` for the file as a whole); JSON cases
keep the same lines in ``<name>.json.expect``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eacontrol import errors
from eacontrol.errors import Layer, Severity
from eacontrol.profiles import load_profile, validate_file

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(p for p in CORPUS.iterdir() if p.suffix in {".toml", ".json"})


def _header(case: Path) -> tuple[str, list[tuple[str, str]]]:
    source = case.with_name(case.name + ".expect") if case.suffix == ".json" else case
    lines = source.read_bytes().decode("latin-1").splitlines()
    raises = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("# raises:"))
    expects = []
    for line in lines:
        if line.startswith("# expect:"):
            path, layer = line.split(":", 1)[1].split()
            expects.append(("" if path == "-" else path, layer))
    return raises, expects


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_with_path_and_layer(case: Path) -> None:
    raises, expects = _header(case)
    error = getattr(errors, raises)
    with pytest.raises(errors.ProfileError) as caught:
        load_profile(case)
    assert type(caught.value) is error, str(caught.value)
    refusals = {
        (f.path, str(f.layer)) for f in caught.value.findings if f.severity is Severity.REFUSE
    }
    for expected in expects:
        assert expected in refusals, f"{expected} not in {sorted(refusals)}"
    assert caught.value.file == str(case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_finding_is_located_and_sourced(case: Path) -> None:
    validation = validate_file(case)
    assert validation.refused
    text = case.read_bytes().decode("utf-8", errors="replace").splitlines()
    for finding in validation.findings:
        assert finding.file == str(case)
        assert finding.source, finding
        assert isinstance(finding.layer, Layer)
        top_level = "." not in finding.path and "[" not in finding.path
        if case.suffix == ".json" or (top_level and finding.line is None):
            continue  # JSON has no line map; a missing top-level key has no line of its own
        assert finding.line is not None, finding
        line = text[finding.line - 1]
        key = finding.path.rsplit(".", 1)[-1].split("[")[0]
        # The line names the key, or is the header of the table the path falls back to.
        assert key in line or line.lstrip().startswith("[") or finding.path == "", (finding, line)
