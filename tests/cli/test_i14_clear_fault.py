"""Issue 14 item 3: ``eactl clear-fault`` shows the device's faults and clears them only after the
device's output self-test passes; a failing self-test is refused with exit code 3.

The device is the built-in simulator on ``sim://`` in virtual time. A scenario makes channel 2's
output stage stick at 5 mA from the start: the device finds it at its first check (10 ms),
opens the relay and latches STUCK_OUTPUT, well before eactl's HELLO has been answered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eacontrol.cli.exitcodes import ExitCode

Eactl = Callable[..., Any]  # the ``eactl`` fixture of tests/cli/conftest.py: code, out, err

STUCK = """\
schema_version = 1

[[event]]
at_s = 0.0
kind = "stuck_output"
channel = 2
current_uA = 5000
"""

# The same stage sticks for a moment only (a wet connector that dried): found at the first
# check, repaired at 15 ms, so the self-test finds a sound stage when eactl clears it.
TRANSIENT = (
    STUCK
    + """
[[event]]
at_s = 0.015
kind = "stuck_output"
channel = 2
current_uA = 0
"""
)


def _port(tmp_path: Path, scenario: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(scenario, encoding="utf-8")
    return f"sim://?scenario={path}"


def test_i14_03_clear_fault_refused_when_the_self_test_fails(eactl: Eactl, tmp_path: Path) -> None:
    result = eactl("clear-fault", "--port", _port(tmp_path, STUCK))
    assert result.code == ExitCode.DEVICE == 3
    lines = result.out.splitlines()
    assert "SIMULATED DEVICE" in lines[0]
    before = next(line for line in lines if line.lstrip().startswith("2 "))
    assert "FAULT" in before and "STUCK_OUTPUT" in before
    assert "channel 2: SELF-TEST FAILED: 5 mA measured with the relay open" in result.out
    after = result.out.split("after:")[1]
    row = next(line for line in after.splitlines() if line.lstrip().startswith("2 "))
    assert "STUCK_OUTPUT" in row and row.split()[-1] == "0"  # still latched, nothing flows
    assert "refused: channel 2 failed its self-test" in result.err and "power-cycled" in result.err
    assert "Traceback" not in result.err


def test_i14_03_clear_fault_clears_after_a_passing_self_test(eactl: Eactl, tmp_path: Path) -> None:
    result = eactl("clear-fault", "--port", _port(tmp_path, TRANSIENT))
    assert result.code == ExitCode.OK, result.err
    assert "channel 2: self-test passed (no current with the relay open); cleared" in result.out
    after = result.out.split("after:")[1]
    row = next(line for line in after.splitlines() if line.lstrip().startswith("2 "))
    assert "STUCK_OUTPUT" not in row and "IDLE" in row


def test_i14_03_clear_fault_without_faults_and_a_named_channel(
    eactl: Eactl, tmp_path: Path
) -> None:
    result = eactl("clear-fault")
    assert result.code == ExitCode.OK
    assert "no latched faults: nothing to clear" in result.out
    result = eactl("clear-fault", "--port", _port(tmp_path, STUCK), "--channel", "1")
    assert result.code == ExitCode.OK
    assert "channel 1: no latched fault, nothing to clear" in result.out


def test_i14_03_clear_fault_bad_channel_is_a_clear_error(eactl: Eactl) -> None:
    result = eactl("clear-fault", "--channel", "9")
    assert result.code == ExitCode.REFUSED
    assert "channel" in result.err and "1..6" in result.err
    assert "Traceback" not in result.err


class _AckNamesNothing:
    """A Stimulator whose device acknowledges CLEAR_FAULT but names no channel cleared."""

    def clear_fault(self, channel: int) -> tuple[int, ...]:
        return ()


def test_i13_a_faulted_channel_the_ack_does_not_name_is_not_cleared() -> None:
    """Major 2: every device self-tests and its ACK names what it cleared; a faulted channel
    left out is reported NOT CLEARED (and fails the command), never "cleared"."""
    from eacontrol.cli.clear_fault_cmd import _clear_one

    line, why = _clear_one(_AckNamesNothing(), 2, True)  # type: ignore[arg-type]
    assert line.startswith("channel 2: NOT CLEARED") and "stays latched" in line
    assert why == "was not confirmed cleared by the device"
    line, why = _clear_one(_AckNamesNothing(), 3, False)  # type: ignore[arg-type]
    assert why is None and line == "channel 3: no latched fault, nothing to clear"
