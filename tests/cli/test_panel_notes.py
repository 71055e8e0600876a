"""eactl panel (issue 19): notes and the patient's response from the page, and the history
filtered by patient, with Starlette's TestClient and real sessions on the built-in simulator."""

from __future__ import annotations

import re
from pathlib import Path

from panel_pages import Page, notes_of, page_on, pages_on

from eacontrol.cli.panel.server import NOTE_MAX


def _ended(page: Page) -> dict[str, object]:
    ended = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
    return dict(ended["result"])


def test_a_note_is_recorded_with_its_origin_running_and_paused(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with pages_on(db) as (page, viewer):
        page.start(patient="P-017")
        page.send(type="note", text="  de qi on channel 2, comfortable  ")
        reply = page.reply()
        assert reply["ok"], reply
        assert re.fullmatch(
            r"note recorded at 00:0\d: de qi on channel 2, comfortable", reply["text"]
        )
        # the session's marker event, on every page (as the terminal view lists it)
        viewer.until(
            lambda m: m["type"] == "view" and any("de qi" in e for e in m.get("events", []))
        )
        viewer.send(type="note", text="written on the viewing page")
        assert (
            viewer.reply()["text"] == "refused: this page is view only (another browser controls)"
        )
        page.send(type="pause")
        assert page.reply()["ok"]
        page.until(lambda m: m["type"] == "view" and m.get("state") == "paused")
        page.send(type="note", text="patient asked for a pause: too strong")
        assert page.reply()["ok"]  # paused, as eactl run's n
        page.send(type="stop")
        assert page.reply()["ok"]
        result = _ended(page)
        page.send(type="note", text="after the stop")  # eactl annotate's, not the session's
        assert page.reply()["text"] == "refused: no session is running"
    origin = f"browser {page.hello['client']} at testclient"
    notes = notes_of(db, int(str(result["session_id"])))
    assert f"panel: note by {origin}: de qi on channel 2, comfortable" in notes
    assert f"panel: note by {origin}: patient asked for a pause: too strong" in notes
    assert not any("viewing page" in n or "after the stop" in n for n in notes)
    assert not any(n.startswith("panel: note channel") for n in notes)  # one record per note


def test_a_bad_note_is_refused_in_words_and_nothing_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db) as page:
        page.send(type="note", text="before any session")
        assert page.reply()["text"] == "refused: no session is running"
        page.start()
        longest = "x" * NOTE_MAX
        for text in (
            "",
            "   ",
            "de qi\x1b[2J",
            "line\nbreak",
            "\u202eevil",
            "x" * (NOTE_MAX + 1),
            5,
        ):
            page.send(type="note", text=text)
            reply = page.reply()
            assert not reply["ok"]
            assert (
                reply["text"] == f"refused: a note is printable text of 1 to {NOTE_MAX} characters"
            )
        page.send(type="note", text=longest)  # the longest fits the record with its origin
        assert page.reply()["ok"]
        page.send(type="stop")
        result = _ended(page)
    notes = notes_of(db, int(str(result["session_id"])))
    written = [n for n in notes if n.startswith("panel: note by ")]
    assert len(written) == 1
    assert written[0].endswith(longest)


def test_the_history_is_filtered_by_patient(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db) as page:
        for patient in ("P-017", "P-018", "P-017"):
            page.start(patient=patient)
            page.send(type="stop")
            _ended(page)
        page.send(type="history", patient="p-017")  # any case, as the record's query
        found = page.until(lambda m: m["type"] == "history")
        assert found["patient"] == "p-017"
        assert [s["patient"] for s in found["sessions"]] == ["P-017", "P-017"]
        assert [s["session_id"] for s in found["sessions"]] == [3, 1]  # newest first
        page.send(type="history", patient="P-999")
        assert page.until(lambda m: m["type"] == "history")["sessions"] == []
        page.send(type="history", patient="")
        assert len(page.until(lambda m: m["type"] == "history")["sessions"]) == 3
        for bad in ("P\x1b[2J", "x" * 65, 17):
            page.send(type="history", patient=bad)
            reply = page.reply()
            assert not reply["ok"]
            assert "patient id must be printable text of at most 64" in reply["text"]
