"""Issue 12 (one home per concept) for the tests' own helpers: one pseudo-terminal driver, one
profile builder, one scenario-file writer, all in ``tests/support``; a test waits
for a terminal's output on what the output does, never by sleeping."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def _sources() -> dict[Path, str]:
    """Every test source but this one (whose patterns would find themselves)."""
    here = Path(__file__).resolve()
    return {p: p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py") if p != here}


def test_i12_tests_01_one_pty_terminal_driver_and_no_sleep_to_wait_for_output() -> None:
    # A driver reads the controller side of a pty in a thread of its own.
    drivers = sorted(p.name for p, text in _sources().items() if "os.read(self.controller" in text)
    assert drivers == ["vtscreen.py"]
    for path in (*SUPPORT.glob("*.py"), *(TESTS / "cli").glob("test_run_terminal.py")):
        assert "time.sleep(" not in path.read_text(encoding="utf-8"), path


def test_i12_tests_02_one_two_channel_profile_builder() -> None:
    # A TOML literal of a profile's second channel, outside the builder, is a second builder.
    pattern = re.compile(r"""\[\[channels\]\][\s"',\\n]*channel = 2""")
    builders = sorted(
        str(p.relative_to(TESTS)) for p, text in _sources().items() if pattern.search(text)
    )
    assert builders == [], builders
    assert "profile_toml(" in (SUPPORT / "profile_text.py").read_text(encoding="utf-8")


def test_i12_tests_03_one_scenario_file_writer() -> None:
    prefix = re.compile(r"""["']schema_version = 1\\n["{]""")
    writers = sorted(
        str(p.relative_to(TESTS))
        for p, text in _sources().items()
        if prefix.search(text) and "scenario.toml" in text
    )
    assert writers == ["support/scenario_file.py"]


@pytest.mark.pty
@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
def test_i12_tests_01_the_terminal_ends_at_eof_and_a_wait_fails_showing_the_screen() -> None:
    from vtscreen import PtyTerminal, TIMEOUT_s

    lines = "import sys\nfor n in range(300): print(f'line {n}')\n"
    t = PtyTerminal([sys.executable, "-c", lines], 40, 5)
    try:
        assert t.exit_code() == 0
        # Every byte read once the child exited: the reader reached the end of the output.
        assert t.output().count("line ") == 300 and "line 299\r\n" in t.output()
        assert t.display()[-2] == "line 299"
        started = time.monotonic()
        with pytest.raises(AssertionError, match=r"(?s)the output ended without .*'never'.*299"):
            t.wait_for("never")
        assert time.monotonic() - started < TIMEOUT_s / 2  # failed at the end, not at the bound
    finally:
        t.close()
