"""Issue 16 items 1, 3 and 11 in the live view, and the "Done when" run.

- Done when: a titrated two-channel run on ``sim://`` in which the operator raises channel 1 to
  4 mA, drops it to zero in one key, loses the lead on channel 2 and re-clips it, and ends
  normally; its report shows all of it in order.
- The new elements of the view (titration guidance, a held channel's alarm, the note prompt)
  at 120×40, 80×24 and 60×15.

The keys go through the live console (``LiveConsole``) into a VT100 screen
(``vtscreen.ScreenOut``, pyte), in virtual time, decoded by one ``KeyDecoder`` (so the note
prompt's text mode holds across reads, as on a terminal).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import profile_text
import pytest
from vtscreen import ConsoleRun, console_run

from eacontrol.cli.keys import Action, KeyDecoder
from eacontrol.profiles import loads_profile
from eacontrol.records import Outcome, build_report, render_markdown

TITRATED = loads_profile(
    profile_text.profile_toml(
        "Titrated 2 Hz on two channels",
        {
            "label": "2 Hz",
            "mode": "continuous",
            "frequency_hz": 2,
            "phase_width_us": 300,
            "intensity_mA": 4,
            "intensity": "titrate",
            "sensation": "strong but comfortable tingling",
            "ceiling_mA": 6,
            "ramp_up_s": 2,
            "ramp_down_s": 2,
            "duration_s": 60,
        },
    )
)


UP = b"\x1b[A"
RAISE_CH1 = [(3.0 + 1.2 * i, UP) for i in range(8)]  # 0 → 4 mA by 11.4 s
KEYS = [
    *RAISE_CH1,
    (13.0, b"t"),  # 4 mA is the sensation: marked as channel 1's treatment intensity
    (15.0, b"0"),  # channel 1 to zero in one key
    (16.0, b"2"),
    (16.5, UP),
    (17.7, UP),  # channel 2 at 1 mA; its lead comes off at 20 s, is re-clipped at 25 s
    (27.0, b"r"),  # resume channel 2: self-test, START from zero (its titration start)
    (30.0, UP),  # and raise it again
    (32.0, b"n"),
    (32.5, b"de qi, mild ache"),
    (33.0, b"\r"),
]


def test_i16_done_titrated_run_raise_zero_lead_lost_reclipped_report_in_order(
    tmp_path: Path,
) -> None:
    with console_run(
        TITRATED,
        tmp_path / "s.db",
        (120, 40),
        KEYS,
        url="sim://?electrode_off=2@20&electrode_on=2@25",
    ) as run:
        _done_when_holds(run)


def _done_when_holds(run: ConsoleRun) -> None:
    assert run.error is None, run.error
    result = run.session.result
    assert result is not None and result.outcome is Outcome.COMPLETED
    sid = result.session_id
    report = build_report(run.store, sid)
    markdown = render_markdown(report)

    changes = [
        (c["channel"], c["from_mA"], c["to_mA"]) for c in report["course"]["operator_changes"]
    ]
    ch1 = [(a, b) for n, a, b in changes if n == 1]
    assert ch1 == [(0.5 * i, 0.5 * (i + 1)) for i in range(8)] + [(4.0, 0.0)]
    assert [(a, b) for n, a, b in changes if n == 2] == [(0, 0.5), (0.5, 1.0), (0.0, 0.5)]

    listed = [(e["t_s"], e["channel"], e["message"]) for e in report["events"]]
    assert listed == sorted(listed, key=lambda e: e[0])  # in time order
    order = [
        (1, "4 mA marked as the treatment intensity"),
        (2, "held at zero: lead open or loose (ELECTRODE)"),
        (2, "restarted after its fault: self-test passed"),
        (1, "treatment intensity 4 mA (marked)"),
        (2, "treatment intensity 0.5 mA"),  # held 30-60 s; 1 mA only 2 s
        (None, "session ended (completed)"),
    ]
    found = [
        next(i for i, (_, ch, msg) in enumerate(listed) if ch == n and text in msg)
        for n, text in order
    ]
    assert found == sorted(found), listed
    lost = next(t for t, ch, msg in listed if ch == 2 and "held at zero" in msg)
    assert 19.9 <= lost < 20.5  # the device's clock runs a little ahead
    (note,) = report["annotations"]
    assert note["kind"] == "note" and note["note"] == "de qi, mild ache"
    assert note["t_s"] is not None and 33.0 <= note["t_s"] < 33.5

    # The report's text, in its order: the changes, the lead lost and resumed, the note.
    for text in (
        "4 mA marked as the treatment intensity",
        "channel 2 held at zero",
        "channel 2 restarted after its fault",
        "channel 1: treatment intensity 4 mA (marked)",
        "de qi, mild ache",
    ):
        assert text in markdown, text
    positions = [markdown.index(t) for t in ("held at zero", "restarted after its fault")]
    assert positions == sorted(positions)

    # The prescription says the intensity was titrated, and what each channel reached.
    (step,) = report["steps"]
    reached = [(i["setting"], i["treatment_mA"], i["treatment_how"]) for i in step["intensity"]]
    assert reached == [("titrate", 4.0, "marked"), ("titrate", 0.5, "held")]
    titrated = "titrated from 0 mA to “strong but comfortable tingling” (guidance 4 mA)"
    treatment = (
        "4 mA (marked) on channel 1 and 0.5 mA (the highest level held for 10 s) on channel 2"
    )
    assert f"| {titrated} on channels 1 and 2 | {treatment} |" in markdown  # the steps' table
    methods = markdown.split("## Methods", 1)[1].split("##", 1)[0]
    assert f"intensity {titrated} on channels 1 and 2 by the practitioner" in methods
    assert f"reaching a treatment intensity of {treatment}" in methods
    assert "| 2e intensity aim | “strong but comfortable tingling” (the profile's titration) |" in (
        markdown
    )


SIZES = [(120, 40), (80, 24), (60, 15)]
LEAD_LOST = "sim://?electrode_off=2@20&electrode_on=2@25"


def _has(frame: list[str], needle: str) -> bool:
    return any(needle in line for line in frame)


def _row(frame: list[str], channel: str) -> list[str]:
    return next(line for line in frame if line.lstrip(">").split()[:1] == [channel]).split()


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def screens(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleRun]:
    size: tuple[int, int] = request.param
    db = tmp_path_factory.mktemp("screens") / "s.db"
    with console_run(TITRATED, db, size, KEYS, url=LEAD_LOST) as ran:
        yield ran


def _fits(ran: ConsoleRun) -> None:
    columns = ran.out.screen.columns
    for frame in ran.out.frames:
        assert all(len(line) < columns for line in frame), frame  # nothing fills a line


def test_i16_01_titration_guidance_and_sensation_on_screen(screens: ConsoleRun) -> None:
    _fits(screens)
    columns, lines = screens.out.screen.columns, screens.out.screen.lines
    running = [f for f in screens.out.frames if _has(f, "Stimulating")]
    # Before the first raise (3 s): running at zero, not ramping to the profile's 4 mA.
    early = [f for f in running if any(_has(f, f"elapsed 00:0{n}") for n in (0, 1, 2))]
    assert early
    zero = [_row(f, "1") for f in early if _row(f, "1")[-1] == "on"]
    assert zero and all(row.count("0.00") >= 2 for row in zero), zero
    guidance = "ch 1, 2: titrate → target 4 mA (guidance), sensation: strong but comfortable"
    if lines >= 24:
        assert any(_has(f, guidance) for f in running)
        marked = [f for f in running if _has(f, "treatment intensity marked: ch 1 4 mA")]
        assert marked
    else:  # 60×15: the guidance line is cut to the width, or dropped before the intensities
        assert all(_has(f, "Esc/space EMERGENCY STOP") for f in running)
        assert all(_has(f, "elapsed") for f in running)
    if columns >= 80:
        assert any(_has(f, "> channel 1: 4 mA marked as its treatment intensity") for f in running)


def test_i16_03_held_channel_shows_held_and_an_alarm(screens: ConsoleRun) -> None:
    held = [f for f in screens.out.frames if _has(f, "ALARM: channel 2 held at zero")]
    assert held, screens.out.frames[-1]
    for frame in held:
        assert _row(frame, "2")[-1] == "HELD"
        assert _row(frame, "1")[-1] == "on"  # the other channel goes on
        assert _has(frame, "elapsed")  # the timer stays
    folded = " ".join(line.strip() for line in held[-1])
    assert "re-clip it, select 2 and press r" in folded
    after = [f for f in screens.out.frames if _has(f, "self-test, then restarting from zero")]
    assert after and not _has(after[-1], "ALARM: channel 2 held")
    assert _row(after[-1], "2")[-1] != "HELD"


def test_i16_11_note_key_opens_a_prompt_and_records_an_annotation(screens: ConsoleRun) -> None:
    typing = [f for f in screens.out.frames if _has(f, "note: de qi, mild ache_")]
    assert typing
    assert any(_has(f, "> note recorded at 00:33: de qi") for f in screens.out.frames)
    sid = screens.session.session_id
    assert sid is not None
    (note,) = screens.store.annotations(sid)
    assert note.note == "de qi, mild ache" and note.t_s is not None and note.t_s >= 33.0
    # While the prompt was open the letters were text, not keys: nothing paused or stopped.
    assert not [e for e in screens.store.events(sid) if e.message.startswith("paused")]


def test_i16_11_note_prompt_keys_are_text_but_esc_still_stops() -> None:
    decoder = KeyDecoder()
    assert [c.action for c in decoder.decode(b"n")] == [Action.NOTE]
    decoder.text_mode = True
    typed = decoder.decode("ps qé\x7f\r".encode())
    assert [(c.action, c.key) for c in typed] == [
        (Action.TEXT, "p"),
        (Action.TEXT, "s"),
        (Action.TEXT, " "),
        (Action.TEXT, "q"),
        (Action.TEXT, "é"),
        (Action.TEXT_BACK, ""),
        (Action.TEXT_DONE, ""),
    ]
    assert [c.action for c in decoder.decode(b"\x1b")] == [Action.EMERGENCY]
