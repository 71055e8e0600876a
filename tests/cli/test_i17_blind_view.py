"""Issue 17: the blinded operator view (``eactl run --blind``). A verum and a true 0 mA sham
session, run with the same keys, draw the same screens frame for frame: no profile name,
intensity, ceiling, step name or condition shows, and every intensity key is answered in the
same words (a sham's raise is refused by its 0 mA ceiling; a verum's is carried out). The record
keeps everything, and says the operator was blinded."""

from __future__ import annotations

from pathlib import Path

import profile_text
from vtscreen import console_run

from eacontrol.profiles import loads_profile
from eacontrol.records import Study, build_report, render_markdown

STEP = profile_text.CONTINUOUS_2_HZ | {"label": "arm", "intensity_mA": 2, "duration_s": 20}
STEP |= {"ramp_up_s": 2, "ramp_down_s": 2}
UP, DOWN = b"\x1b[A", b"\x1b[B"
KEYS = [(5.0, UP), (6.5, UP), (8.0, DOWN), (9.0, b"t"), (11.0, b"0"), (12.0, b"2"), (12.5, UP)]


def _frames(tmp_path: Path, name: str, **keys: object) -> tuple[list[list[str]], object]:
    profile = loads_profile(profile_text.profile_toml(f"Trial {name}", STEP | keys))
    with console_run(profile, tmp_path / f"{name}.db", (120, 40), KEYS, blind=True) as run:
        assert run.error is None, run.error
        result = run.session.result
        assert result is not None
        delivered = max(t.peak_mA for t in run.store.totals(result.session_id))
        return run.out.frames, delivered


def _by_second(frames: list[list[str]]) -> dict[str, list[str]]:
    """The first frame drawn in each second of elapsed time, its progress bar left out (the
    redraws fall at other instants of a ramp-down: a bar's 93 % against 94 % within a
    second)."""
    out: dict[str, list[str]] = {}
    for frame in frames:
        timer = next((line for line in frame if line.startswith("elapsed ")), None)
        if timer is not None:
            second = timer.split("   ")[0]
            out.setdefault(second, [line.split("   [")[0] for line in frame])
    return out


def test_i17_a_blinded_verum_and_sham_draw_the_same_screens(tmp_path: Path) -> None:
    verum, verum_peak = _frames(tmp_path, "verum")
    sham, sham_peak = _frames(tmp_path, "sham", intensity="sham_zero")
    assert verum_peak > 2.0 and sham_peak == 0.0  # what was delivered did differ
    assert verum[-1] == sham[-1]  # the end, as the operator is left with it
    by_second_v, by_second_s = _by_second(verum), _by_second(sham)
    assert by_second_v.keys() == by_second_s.keys() and len(by_second_v) >= 20
    # Every second but the last, in which a verum's ramp-down is confirmed up to a heartbeat
    # or two later than the sham's planned end (its last frames, compared above, are the same).
    for second, frame in list(by_second_v.items())[:-1]:
        assert frame == by_second_s[second], (second, frame, by_second_s[second])
    shown = "\n".join(line for frame in verum for line in frame)
    assert "blinded session" in shown and "•••" in shown
    for hidden in ("Trial", "verum", "sham", " mA:", "2.0", "ceiling"):
        assert hidden not in shown, hidden
    assert "channel 1: raise asked for" in shown


def test_i17_the_blinded_record_keeps_the_condition_and_says_so(tmp_path: Path) -> None:
    from vtscreen import ScreenOut  # noqa: F401 - the same support module

    from eacontrol.device import connect
    from eacontrol.records import RecordStore
    from eacontrol.session import Session

    profile = loads_profile(
        profile_text.profile_toml("Trial sham", STEP | {"intensity": "sham_zero"})
    )
    study = Study(condition="sham_0mA", arm="B", blinded=True)
    with RecordStore.open(tmp_path / "r.db") as store, connect("sim://") as stim:
        result = Session(stim, profile, store=store, study=study).run()
        report = build_report(store, result.session_id)
        md = render_markdown(report)
    assert report["study"] == {"condition": "sham_0mA", "arm": "B", "blinded": True}
    assert "| Operator | blinded: the live view hid the condition and every intensity |" in md
    assert "sham: 0 mA (the device on, no current)" in md


def test_i17_t_marks_the_next_threshold_in_a_threshold_step(tmp_path: Path) -> None:
    """In a threshold step the live view's ``t`` marks the selected channel's sensory, then its
    motor threshold; the view lists them and the record has them."""
    step = STEP | {"label": "thresholds", "intensity": "threshold", "intensity_mA": 4}
    profile = loads_profile(profile_text.profile_toml("Thresholds", step))
    keys = [(3.0, UP), (4.2, UP), (5.0, b"t"), (5.5, UP), (6.7, UP), (7.5, b"t")]
    with console_run(profile, tmp_path / "t.db", (120, 40), keys) as run:
        assert run.error is None, run.error
        shown = "\n".join(line for frame in run.out.frames for line in frame)
        result = run.session.result
        assert result is not None
        marks = [e for e in run.store.events(result.session_id) if e.kind == "threshold"]
    assert "channel 1: 1 mA marked as its sensory threshold" in shown
    assert "channel 1: 2 mA marked as its motor threshold" in shown
    assert "thresholds marked: ch 1 sensory 1 mA, ch 1 motor 2 mA (t marks the next)" in shown
    assert [(e.data["threshold"], e.data["intensity_mA"]) for e in marks] == [
        ("sensory", 1.0),
        ("motor", 2.0),
    ]
