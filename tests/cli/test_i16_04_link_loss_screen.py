"""Issue 16 item 4 on the screen: after the link to the device is lost, the live view shows no
channel as delivering (every row UNKNOWN, set and measured ``?``) and keeps an alarm in plain
words under the timer, on the ENDED screen too. 80×24, drawn into pyte (``vtscreen.py``)."""

from __future__ import annotations

from pathlib import Path

from vtscreen import console_run

from eacontrol.profiles import load_profile
from eacontrol.profiles.titration import IntensityMode
from eacontrol.records import Outcome, alarm_text

_HAN = load_profile("lbp_2_100hz_han")  # BL23–BL25 both sides, 2/100 Hz dense-disperse
# The stored profile titrates from zero (issue 16 item 1); these screens need its 3 mA target
# at once, so it runs here as a fixed step.
_FIXED = {"intensity": IntensityMode.FIXED, "start_intensity_mA": None, "sensation": None}
HAN = _HAN.model_copy(update={"steps": tuple(s.model_copy(update=_FIXED) for s in _HAN.steps)})
LOST = "connection to the device lost — outputs not confirmed off — use the device's own stop"


def _row(frame: list[str], channel: str) -> list[str]:
    return next(line for line in frame if line.lstrip(">").split()[:1] == [channel]).split()


def test_i16_04_link_lost_during_the_hold_shows_every_channel_unknown_under_an_alarm(
    tmp_path: Path,
) -> None:
    with console_run(HAN, tmp_path / "s.db", (80, 24), url="sim://?unplug_at=20") as run:
        frames, final, error = run.out.frames, run.out.display(), run.error
    assert error is not None
    # The link was lost during the hold: both channels were on at their 3 mA before.
    held = [f for f in frames if "Stimulating" in " ".join(f) and _row(f, "1")[-1] == "on"]
    assert held and _row(held[-1], "1")[-3:-1] == ["3.00", "3.00"]
    assert "ENDED" in final
    for channel in ("1", "2"):
        row = _row(final, channel)
        assert row[-1] == "UNKNOWN", row
        assert row[-3:-1] == ["?", "?"], row
        assert "3.00" not in row and "on" not in row
    folded = " ".join(line.strip() for line in final)
    assert f"*** ALARM: {LOST} ***" in folded
    # The alarm is its own banner above the channel table, not only the faults line.
    alarm_at = next(i for i, line in enumerate(final) if line.startswith("*** ALARM:"))
    table_at = next(i for i, line in enumerate(final) if line.lstrip().startswith("CH "))
    assert alarm_at < table_at
    assert all(len(line) < 80 for line in final)


def test_i16_04_only_endings_with_outputs_not_confirmed_off_raise_the_alarm() -> None:
    assert alarm_text(Outcome.LINK_LOST) == LOST
    assert alarm_text(Outcome.STOP_NOT_CONFIRMED) == (
        "the device did not confirm the stop — outputs not confirmed off — use the device's own "
        "stop"
    )
    for outcome in (Outcome.COMPLETED, Outcome.STOPPED, Outcome.EMERGENCY_STOP, Outcome.FAULT):
        assert alarm_text(outcome) == ""
