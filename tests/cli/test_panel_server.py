"""eactl panel, server side (issue 19): every endpoint and message with Starlette's TestClient.

The sessions run on the built-in simulator paced to real time, as ``eactl panel`` runs them:
each test stops its session (or lets the panel's shutdown stop it) within a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from panel_pages import (
    ORIGIN,
    PROFILE,
    TOKEN,
    WS,
    client,
    make_server,
    notes_of,
    page_on,
    pages_on,
)
from starlette.websockets import WebSocketDisconnect

from eacontrol.records import Outcome, RecordStore

START = {"type": "start", "profile": PROFILE, "placement": [1, 2]}


def _outcome(db: Path, session_id: int) -> Outcome:
    with RecordStore.open(db) as store:
        return store.session(session_id).outcome


# --- the page and its files ----------------------------------------------------------------------


def test_the_page_needs_the_token(tmp_path: Path) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        page = http.get(f"/?token={TOKEN}")
        assert page.status_code == 200
        assert 'id="stop"' in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert http.get("/").status_code == 403
        assert http.get("/?token=wrong").status_code == 403


def test_the_static_files_are_served_from_the_package(tmp_path: Path) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        for name, kind in (("panel.js", "javascript"), ("panel.css", "text/css")):
            answer = http.get(f"/static/{name}")
            assert answer.status_code == 200
            assert kind in answer.headers["content-type"]
        assert "http" not in http.get("/static/panel.css").text  # no CDN, nothing remote


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1:9999", "attacker.test"])
def test_a_wrong_host_is_refused_dns_rebinding(tmp_path: Path, host: str) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        answer = http.get(f"/?token={TOKEN}", headers={"host": host})
        assert answer.status_code == 403
        assert "wrong Host" in answer.text
        assert http.get("/static/panel.js", headers={"host": host}).status_code == 403
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            http.websocket_connect(f"{WS}/ws?token={TOKEN}", headers={"host": host, **ORIGIN}),
        ):
            pass
        assert refused.value.code == 1008


def test_every_loopback_name_is_answered(tmp_path: Path) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
            assert http.get(f"/?token={TOKEN}", headers={"host": host}).status_code == 200


def test_a_cross_site_origin_is_refused(tmp_path: Path) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        answer = http.get(f"/?token={TOKEN}", headers={"origin": "http://evil.example"})
        assert answer.status_code == 403
        assert "wrong Origin" in answer.text
        for headers in ({"origin": "http://evil.example"}, {"origin": "null"}, {}):
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                http.websocket_connect(f"{WS}/ws?token={TOKEN}", headers=headers),
            ):
                pass
            assert refused.value.code == 1008


@pytest.mark.parametrize("query", ["", "?token=", "?token=wrong"])
def test_the_websocket_needs_the_token(tmp_path: Path, query: str) -> None:
    with client(make_server(tmp_path / "r.db")) as http:
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            http.websocket_connect(f"{WS}/ws{query}", headers=ORIGIN),
        ):
            pass
        assert refused.value.code == 1008


# --- the WebSocket ------------------------------------------------------------------------------


def test_hello_offers_the_stored_profiles_with_their_plan(tmp_path: Path) -> None:
    with page_on(tmp_path / "r.db") as page:
        assert page.role == "controller"
        offered = {p["name"]: p for p in page.hello["profiles"]}
        lbp = offered[PROFILE]
        assert lbp["duration_s"] == 1800
        assert [c["points"] for c in lbp["channels"]] == ["BL23-L – BL25-L", "BL23-R – BL25-R"]
        assert lbp["steps"][0]["mode"] == "2/100 Hz dense-disperse"
        assert "titrate" in lbp["steps"][0]["intensity"]
        dose = {(d["step"], d["channel"]): d for d in lbp["dose"]}  # as eactl show derives it
        assert dose[0, 1]["phase_charge_uC"] == pytest.approx(1.8)
        assert dose[0, 2]["net_charge_uC"] == 0
        assert offered["research_template"]["advisories"]  # every advisory shown before start
        idle = page.until(lambda m: m["type"] == "view")
        assert idle["phase"] == "idle"
        assert idle["role"] == "controller"


def test_a_second_browser_is_view_only_but_may_stop(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with pages_on(db) as (controller, viewer):
        assert (controller.role, viewer.role) == ("controller", "viewer")
        for message in (
            {"type": "start", "profile": PROFILE},
            {"type": "raise", "channel": 1},
            {"type": "lower", "channel": 1},
            {"type": "zero_all"},
            {"type": "pause"},
            {"type": "resume"},
        ):
            viewer.send(**message)
            reply = viewer.reply()
            assert not reply["ok"]
            assert "view only" in reply["text"]
        controller.start()
        seen = viewer.until(lambda m: m["type"] == "view" and m.get("state") == "running")
        assert seen["role"] == "viewer"
        assert [c["channel"] for c in seen["channels"]] == [1, 2]
        viewer.send(type="raise", channel=1)
        assert "view only" in viewer.reply()["text"]
        viewer.send(type="stop")  # ... but a stop is never refused, whoever asks
        assert viewer.reply()["ok"]
        ended = controller.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        assert ended["result"]["outcome"] == "emergency_stop"
    notes = notes_of(db, ended["result"]["session_id"])
    assert notes[-1] == f"panel: STOP by browser {viewer.hello['client']} at testclient"
    assert not any("raise" in n for n in notes)


def test_bad_messages_are_refused_in_words(tmp_path: Path) -> None:
    with page_on(tmp_path / "r.db") as page:
        page.ws.send_text("not json")
        assert page.reply()["text"] == "refused: not JSON"
        cases = [
            ({"type": "launch"}, "unknown message"),
            ({"type": "start", "profile": "../../etc/passwd"}, "stored profiles"),
            ({"type": "start", "profile": PROFILE}, "placement of channel 1 (BL23-L – BL25-L)"),
            ({"type": "start", "profile": PROFILE, "placement": [1]}, "placement of channel 2"),
            ({"type": "start", "profile": PROFILE, "placement": 12}, "placement of channel 1"),
            ({**START, "patient": "P\x1b[2J"}, "printable"),
            ({**START, "operator": "x" * 65}, "at most 64"),
            ({"type": "raise"}, "which channel"),
            ({"type": "raise", "channel": "1"}, "which channel"),
            ({"type": "mark"}, "which channel"),
            ({"type": "resume_channel", "channel": 0}, "which channel"),
            ({"type": "pause"}, "no session is running"),
        ]
        for message, words in cases:
            page.send(**message)
            reply = page.reply()
            assert not reply["ok"]
            assert words in reply["text"], reply


def test_raise_lower_zero_pause_resume_and_stop_confirmed(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db) as page:
        view = page.start(patient="P-017", operator="OP-2")
        assert (view["patient"], view["operator"]) == ("P-017", "OP-2")
        assert view["simulated"] is True
        assert view["step"]["count"] == 1
        assert view["total_s"] == 1800
        page.send(type="raise", channel=1)
        assert page.reply()["text"] == "channel 1: target 0.5 mA"
        page.send(type="raise", channel=1)  # the session's rule: one increase a second
        refused = page.reply()
        assert not refused["ok"]
        assert "to raise channel 1 again" in refused["text"]
        page.until(lambda m: m["type"] == "view" and m["channels"][0]["set_mA"] > 0)
        page.send(type="lower", channel=1)
        assert page.reply()["text"] == "channel 1: target 0 mA"
        page.send(type="lower", channel=1)
        assert page.reply()["text"] == "channel 1 is already at zero"
        page.send(type="raise", channel=2)
        assert page.reply()["ok"]
        page.send(type="zero_all")
        assert page.reply()["text"] == "every channel: to zero at once"
        page.send(type="pause")
        assert page.reply()["ok"]
        page.until(lambda m: m["type"] == "view" and m.get("state") == "paused")
        page.send(type="resume")
        assert page.reply()["ok"]
        page.running()
        page.send(type="stop")
        assert page.reply()["ok"]
        ended = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        result = ended["result"]
        assert result["outcome"] == "emergency_stop"
        assert result["confirmed"] is True
        session_id = result["session_id"]
    assert _outcome(db, session_id) is Outcome.EMERGENCY_STOP
    notes = notes_of(db, session_id)
    origin = f"by browser {page.hello['client']} at testclient"
    assert notes[0] == (
        f"panel: session started {origin}; electrode placement confirmed: "
        "channel 1 BL23-L – BL25-L; channel 2 BL23-R – BL25-R"
    )
    assert f"panel: raise channel 1 {origin}: channel 1: target 0.5 mA" in notes
    assert any(n.startswith(f"panel: raise channel 1 {origin}: refused: wait") for n in notes)
    for what in ("lower channel 1", "zero all", "pause", "resume"):
        assert any(n.startswith(f"panel: {what} {origin}") for n in notes), what
    assert notes[-1] == f"panel: STOP {origin}"


def test_views_come_at_least_ten_times_a_second(tmp_path: Path) -> None:
    with page_on(tmp_path / "r.db", start=True) as page:
        times: list[float] = []
        page.until(lambda m: m["type"] == "view" and not times.append(m["t_s"]) and len(times) > 30)
        # per second of session time (paced to the wall clock): a view at every tick of the loop
        # (one a heartbeat period, 0.1 s) and more while the tick waits for the wall clock
        assert len(times) / (times[-1] - times[0]) >= 10
        assert times == sorted(times)
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")


def test_silent_controller_pauses_the_session_within_two_seconds(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db, start=True) as page:
        page.send(type="raise", channel=1)
        assert page.reply()["ok"]
        page.until(lambda m: m["type"] == "view" and m["channels"][0]["set_mA"] > 0)
        page.beating = False  # the page hangs: its socket stays open, its heartbeat stops
        # 2 s after its last beat (sent at most 0.25 s ago), plus the ramp-down's confirmation
        paused = page.until(lambda m: m["type"] == "view" and m.get("state") == "paused", 3.0)
        assert any("sent no heartbeat for 2." in a for a in paused["alarms"])
        # ... then every output ramps to zero over the step's ramp-down (2 s), confirmed
        page.until(lambda m: {c["set_mA"] for c in m["channels"]} == {0}, 3.0)
        page.beating = True
        page.send(type="resume")  # only the controlling page resumes it
        assert page.reply()["ok"]
        resumed = page.running()
        assert not any("heartbeat" in a for a in resumed["alarms"])
        page.send(type="stop")
        session_id = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")[
            "session_id"
        ]
    assert any("paused unattended" in n and "no heartbeat" in n for n in notes_of(db, session_id))


def test_a_closed_controller_pauses_the_session_at_once_and_another_takes_over(
    tmp_path: Path,
) -> None:
    db = tmp_path / "r.db"
    with pages_on(db) as (page, viewer):
        assert viewer.role == "viewer"
        page.start()
        page.ws.close()  # the controlling page is closed
        paused = viewer.until(lambda m: m["type"] == "view" and m.get("state") == "paused", 2.0)
        assert any("no controlling browser" in a for a in paused["alarms"])
        assert paused["controlled"] is False
        viewer.send(type="take_control")
        assert viewer.reply()["ok"]
        viewer.until(lambda m: m["type"] == "view" and m["role"] == "controller")
        viewer.send(type="resume")
        assert viewer.reply()["ok"]
        viewer.running()
        viewer.send(type="stop")
        ended = viewer.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
    notes = notes_of(db, ended["session_id"])
    assert any("paused unattended: no controlling browser" in n for n in notes)
    assert notes[-1] == f"panel: STOP by browser {viewer.hello['client']} at testclient"


def test_closing_the_panel_stops_a_running_session(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db) as page:
        session_id = page.start()["session_id"]
    assert _outcome(db, session_id) is Outcome.EMERGENCY_STOP


def test_a_second_start_is_refused_while_one_runs(tmp_path: Path) -> None:
    with page_on(tmp_path / "r.db", start=True) as page:
        page.send(**START)
        assert "already running" in page.reply()["text"]
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        page.start()  # a new one, once the last ended
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")


def test_a_device_fault_is_shown_as_an_alarm(tmp_path: Path) -> None:
    url = "sim://?seed=1&electrode_off=1@2"
    with page_on(tmp_path / "r.db", url, start=True) as page:
        page.send(type="raise", channel=1)
        assert page.reply()["ok"]
        held = page.until(lambda m: m["type"] == "view" and m.get("alarms"), 8.0)
        assert any("channel 1" in a for a in held["alarms"]), held["alarms"]
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")


def test_a_session_refused_before_its_record_began_says_nothing_was_stimulated(
    tmp_path: Path,
) -> None:
    with page_on(tmp_path / "r.db", "socket://127.0.0.1:9") as page:  # nobody there
        page.send(**START)
        assert page.reply()["ok"]
        ended = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        assert ended["result"]["not_started"] is True
        assert ended["result"]["text"]


def test_control_passes_to_another_page_only_when_the_controller_accepts(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with pages_on(db) as (controller, asker):
        session_id = controller.start()["session_id"]
        asker.send(type="take_control")
        assert "once it accepts" in asker.reply()["text"]
        asked = controller.until(lambda m: m["type"] == "handover")
        assert asked["from"] == f"browser {asker.hello['client']} at testclient"
        controller.send(type="refuse_handover")
        assert controller.reply()["text"] == "this page keeps control"
        assert "keeps control" in asker.reply()["text"]
        asker.send(type="raise", channel=1)
        assert "view only" in asker.reply()["text"]
        asker.send(type="take_control")
        controller.until(lambda m: m["type"] == "handover")
        controller.send(type="accept_handover")
        assert controller.reply()["text"].startswith("control handed to browser")
        assert asker.until(lambda m: m["type"] == "view" and m["role"] == "controller")
        controller.send(type="raise", channel=1)
        assert "view only" in controller.reply()["text"]
        controller.send(type="accept_handover")  # nobody asks any more
        assert not controller.reply()["ok"]
        asker.send(type="raise", channel=1)
        assert asker.reply()["text"] == "channel 1: target 0.5 mA"
        # the old controller may go: the new one is attended, nothing pauses
        controller.ws.close()
        asker.send(type="stop")
        ended = asker.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        assert ended["result"]["outcome"] == "emergency_stop"
    notes = notes_of(db, session_id)
    assert any(n.startswith("panel: control handed by browser ") for n in notes)
    assert not any("paused unattended" in n for n in notes)


def test_mark_a_level_and_end_with_a_ramp_down(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with page_on(db, start=True) as page:
        page.send(type="mark", channel=1)  # at zero: the session refuses it
        assert not page.reply()["ok"]
        page.send(type="raise", channel=1)
        assert page.reply()["ok"]
        page.send(type="mark", channel=1)
        assert page.reply()["text"] == "channel 1: 0.5 mA marked as its treatment intensity"
        page.send(type="resume_channel", channel=1)  # not held
        assert not page.reply()["ok"]
        page.send(type="end")
        assert page.reply()["text"] == "ending: ramping every output down"
        ended = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        assert ended["result"]["outcome"] == "stopped"
        assert ended["result"]["confirmed"] is True
    with RecordStore.open(db) as store:
        marks = [e for e in store.events(1) if e.kind == "treatment"]
    assert any(e.data.get("marked_mA") == 0.5 for e in marks)


def test_a_held_channel_is_resumed_once_re_clipped(tmp_path: Path) -> None:
    url = "sim://?seed=1&electrode_off=1@2&electrode_on=1@3"
    with page_on(tmp_path / "r.db", url, start=True) as page:
        page.send(type="raise", channel=1)
        assert page.reply()["ok"]
        page.until(lambda m: m["type"] == "view" and m["channels"][0]["state"] == "HELD", 8.0)
        page.until(lambda m: m["type"] == "view" and m["t_s"] > 3.5, 8.0)  # the lead is back
        page.send(type="resume_channel", channel=1)
        reply = page.reply()
        assert reply["text"] == "channel 1: device self-test, then restarting from zero", reply
        page.until(lambda m: m["type"] == "view" and m["channels"][0]["state"] != "HELD", 8.0)
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")


def test_the_history_lists_the_sessions_and_shows_a_report(tmp_path: Path) -> None:
    with pages_on(tmp_path / "r.db") as (page, viewer):
        page.send(type="history")
        assert page.until(lambda m: m["type"] == "history")["sessions"] == []  # no database yet
        page.start(patient="P-017")
        page.send(type="stop")
        page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
        viewer.send(type="history")  # reading the record: a viewing page too
        (listed,) = viewer.until(lambda m: m["type"] == "history")["sessions"]
        assert listed["patient"] == "P-017"
        assert listed["outcome"] == "emergency_stop"
        assert listed["simulated"] is True
        viewer.send(type="report", session_id=listed["session_id"])
        report = viewer.until(lambda m: m["type"] == "report")
        assert "P-017" in report["markdown"]
        viewer.send(type="report", session_id=99)
        assert not viewer.reply()["ok"]
        viewer.send(type="report", session_id="1")
        assert viewer.reply()["text"] == "refused: which session?"
