"""Issue 16 item 11: notes and the patient's response (a small vocabulary plus free text) are
added during the session, from another process while it records into the same database (as
from another terminal), and after it; the report lists them in time order."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eacontrol.cli import annotate_cmd
from eacontrol.device import connect
from eacontrol.errors import ParameterError
from eacontrol.profiles import loads_profile
from eacontrol.records import (
    AnnotationKind,
    Outcome,
    RecordStore,
    Response,
    build_report,
    new_annotation,
    render_markdown,
)
from eacontrol.session import Session

Script = Callable[..., subprocess.CompletedProcess[str]]


def test_i16_11_annotate_while_the_session_runs_and_after_it_in_time_order(
    script: Script, two_channel_profile: Callable[..., str], tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite3"
    profile = loads_profile(two_channel_profile("annotated", {"duration_s": 20}))
    added: dict[float, subprocess.CompletedProcess[str]] = {}
    during = {
        5.0: ("--response", "de_qi", "--note", "heaviness at BL23-L", "--at", "5"),
        8.0: ("--note", "patient relaxed, asleep", "--at", "8"),
    }

    def tick(session: Session) -> None:
        for t, options in during.items():
            if session.t_s >= t and t not in added:  # the session is running and recording
                assert session.session_id is not None
                added[t] = script("annotate", str(session.session_id), *options, "--db", str(db))

    with RecordStore.open(db) as store:
        stim = connect("sim://?seed=1")
        try:
            session = Session(stim, profile, store=store)
            session.run(on_tick=tick)
        finally:
            stim.close()
        sid = session.session_id
        assert sid is not None
        assert store.session(sid).outcome is Outcome.COMPLETED
    assert [(r.returncode, r.stderr) for r in added.values()] == [(0, ""), (0, "")]
    assert "patient response (de qi) added as annotation 1" in added[5.0].stdout
    after = [
        ("--response", "twitch", "--at", "25"),
        ("--adverse-event", "pain", "--severity", "mild", "--at", "2", "--note", "on insertion"),
    ]
    for options in after:
        done = script("annotate", str(sid), *options, "--db", str(db))
        assert (done.returncode, done.stderr) == (0, "")
    with RecordStore.open(db, read_only=True) as store:
        notes = store.annotations(sid)
        assert notes[0].response is Response.DE_QI and notes[0].kind is AnnotationKind.NOTE
        report = build_report(store, sid)
    assert [a["t_s"] for a in report["annotations"]] == [2.0, 5.0, 8.0, 25.0]
    section = render_markdown(report).split("## Adverse events and notes\n")[1].split("## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[:2] for row in rows[1:]] == [
        ["| adverse event", "0:02.0"],
        ["| patient response", "0:05.0"],
        ["| note", "0:08.0"],
        ["| patient response", "0:25.0"],
    ]
    assert "| de qi | heaviness at BL23-L |" in rows[2]
    assert "| muscle twitch | — |" in rows[4]


def test_i16_11_one_builder_for_every_annotation() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    response = new_annotation(now, response=Response.COMFORTABLE)
    assert (response.kind, response.note, response.response) == (
        AnnotationKind.NOTE,
        "",
        Response.COMFORTABLE,
    )
    with pytest.raises(ParameterError, match="note's text or the patient's response"):
        new_annotation(now)
    # The command's choices are the vocabulary's words (its help is built without the records).
    assert set(annotate_cmd._RESPONSES) == {r.value for r in Response}
