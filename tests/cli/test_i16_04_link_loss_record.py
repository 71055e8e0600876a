"""Issue 16 item 4, the record half: after the device vanished mid-session (sim:// with an
unplug), the record carries an alarm event in plain words, the report opens with it (Markdown
and HTML), ``eactl log show`` prints it, and nothing after the last STATUS is called delivered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.records import ALARM_KIND, Outcome, RecordStore

Run = Callable[..., Any]

ALARM = "connection to the device lost — outputs not confirmed off — use the device's own stop"


@pytest.fixture
def lost(eactl: Run, two_channel_file: Callable[..., Path], tmp_path: Path) -> Path:
    """A database with one session whose device was unplugged at 8 s of a 20 s step."""
    profile = two_channel_file("p.toml", "link loss", {"duration_s": 20})
    db = tmp_path / "s.sqlite3"
    result = eactl(
        "run", str(profile), "--fast", "--db", str(db), "--patient", "P-1",
        "--sim-option", "unplug_at=8",
    )  # fmt: skip
    assert result.code != 0
    return db


def test_i16_04_the_record_carries_the_link_loss_alarm_in_plain_words(lost: Path) -> None:
    with RecordStore.open(lost, read_only=True) as store:
        (session,) = store.sessions()
        events = store.events(session.id)
        last_sample_s = max(s.t_s for s in store.samples(session.id))
    assert session.outcome is Outcome.LINK_LOST
    alarms = [e for e in events if e.kind == ALARM_KIND]
    assert [a.message for a in alarms] == [ALARM]
    (alarm,) = alarms
    assert alarm.channel is None and alarm.t_s >= last_sample_s
    assert events[-1] == alarm  # recorded with the end, after the link and stop events


def test_i16_04_the_report_opens_with_the_alarm_and_calls_nothing_later_delivered(
    eactl: Run, lost: Path
) -> None:
    md = eactl("report", "1", "--db", str(lost)).out
    lines = md.splitlines()
    assert lines[2].startswith(f"> **ALARM: {ALARM}. The device confirmed its outputs up to 0:")
    assert "the outputs were not confirmed off" in lines[2]
    methods = md.split("## Methods\n\n")[1].split("\n")[0]
    for sentence in re.split(r"(?<=\.) ", methods):
        if re.search(r"\bdeliver", sentence) and "delivered totals" not in sentence:
            assert "as confirmed by the device up to 0:" in sentence, sentence
    assert "Stimulation lasted" not in methods
    events = md.split("## Events\n")[1]
    assert f"| alarm | — | {ALARM} |" in events
    html = eactl("report", "1", "--db", str(lost), "--format", "html").out
    assert f'<p class="alarm">ALARM: {ALARM.replace(chr(39), "&#x27;")}.' in html
    shown = eactl("log", "show", "1", "--db", str(lost)).out
    assert f"  ALARM:    {ALARM}" in shown.splitlines()


def test_i16_04_a_completed_session_has_no_alarm(
    eactl: Run, two_channel_file: Callable[..., Path], tmp_path: Path
) -> None:
    profile = two_channel_file("p.toml", "fine", {"duration_s": 6})
    db = tmp_path / "s.sqlite3"
    assert eactl("run", str(profile), "--fast", "--db", str(db)).code == 0
    with RecordStore.open(db, read_only=True) as store:
        assert ALARM_KIND not in {e.kind for e in store.events(1)}
    md = eactl("report", "1", "--db", str(db)).out
    assert "ALARM" not in md
