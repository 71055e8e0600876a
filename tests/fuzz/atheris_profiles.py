"""Coverage-guided fuzzing of the profile loader with atheris, for runs longer than CI's.

Not a pytest module (pytest collects ``test_*.py`` only) and not needed by the test suite: it
runs only where atheris is installed (``pip install atheris``). Seed it with the stored profiles,
copied so libFuzzer's additions stay out of the checkout (``docs/fuzzing.md``)::

    mkdir -p /tmp/profiles-corpus && cp profiles/*.toml /tmp/profiles-corpus/
    python tests/fuzz/atheris_profiles.py -max_total_time=3600 /tmp/profiles-corpus

Each input is a document: TOML, or JSON when it starts with ``{`` or ``[`` after blanks.
``validate_text`` must return (it raises nothing), ``raise_for_refusals`` (what
``loads_profile`` does with it) may raise only ``ProfileError`` and its subclasses, and an
accepted profile must survive ``dumps_toml`` → ``loads_profile`` unchanged. Anything else is a
finding: atheris stops and writes the input to ``crash-…``.
"""

from __future__ import annotations

import sys
from typing import Literal

import atheris  # type: ignore[import-untyped]

with atheris.instrument_imports():
    from eacontrol.errors import ProfileError
    from eacontrol.profiles import dumps_toml, loads_profile, validate_text


def test_one_input(data: bytes) -> None:
    """Load one document; raise on anything the loader must never do."""
    fmt: Literal["toml", "json"] = "json" if data.lstrip()[:1] in (b"{", b"[") else "toml"
    validation = validate_text(data, fmt=fmt)
    try:
        profile = validation.raise_for_refusals()
    except ProfileError:
        return
    if loads_profile(dumps_toml(profile)) != profile:
        raise AssertionError("an accepted profile changed through dumps_toml and back")


def main() -> None:
    """Run libFuzzer with the process arguments (corpus folders, ``-max_total_time=…``)."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
