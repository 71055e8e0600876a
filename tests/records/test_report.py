"""The report of a finished session lists every parameter a methods section needs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from zone import local_zone

from eacontrol.errors import RecordError
from eacontrol.records import (
    REPORT_VERSION,
    EventRecord,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    UnknownSession,
    build_report,
    render_json,
    render_markdown,
)

MakeMeta = Callable[..., SessionMeta]
THIN = "\u2009"


@pytest.fixture
def markdown(store: RecordStore, finished: Any) -> str:
    with local_zone("UTC"):  # the times below as read in UTC
        return render_markdown(build_report(store, finished.id))


@pytest.fixture
def methods(markdown: str) -> str:
    """The methods paragraph."""
    return markdown.split("## Methods\n\n", 1)[1].split("\n", 1)[0]


def test_methods_paragraph_names_sites_needles_device_and_software(methods: str) -> None:
    for text in (
        "Electroacupuncture was delivered at 4 needle sites",
        "bilateral BL23 Shenshu and BL25 Dachangshu",
        "needles of 0.25 mm diameter inserted 20 mm",
        "through 2 channels of the stimulator (EA-4, serial SN0042, firmware 1.2.0)",
        "controlled by eacontrol 0.1.0",
        "profile “Low back pain 2/100 Hz” (version 3) for chronic non-specific low back pain",
    ):
        assert text in methods


def test_methods_paragraph_gives_every_electrical_parameter_of_each_step(methods: str) -> None:
    step_1 = (
        "Step 1 (2/100 Hz): dense-disperse 2/100 Hz (phase width 600/200 µs), alternating 3 s "
        "at 2 Hz and 3 s at 100 Hz, symmetric charge-balanced biphasic rectangular pulses, "
        "interphase gap 50 µs; target intensity 3 mA on channel 1 and 2.5 mA on channel 2, "
        "ramped up over 3 s and down over 2 s; prescribed for 20 min."
    )
    step_2 = (
        "Step 2 (2 Hz wind-down): continuous 2 Hz (phase width 600 µs), asymmetric "
        "charge-balanced biphasic rectangular pulses (recovery phase at 1/4 of the amplitude "
        "for 4 times the phase width), interphase gap 0 µs; target intensity 2 mA on channel 1, "
        "ramped up over 3 s and down over 3 s; prescribed for 5 min."
    )
    assert step_1 in methods
    assert step_2 in methods


def test_methods_paragraph_gives_delivery_sessions_and_outcome(methods: str) -> None:
    for text in (
        "Stimulation lasted 25 min (prescribed 25 min).",
        "The measured current while on ranged 0.098–2.94 mA on channel 1 (median 2.94 mA) "
        "and 0.1–2.4 mA on channel 2 (median 2.4 mA).",
        "net charge of 10 nC on channel 1 (0.000026 % of the phase charge; total charge "
        "77.8 mC) and 100 nC on channel 2 (0.00031 % of the phase charge; total charge 63.6 mC)",
        "This was session 2 of 2 recorded for patient P-017 (1 completed before it; the "
        "previous one was 7 days earlier).",
        "The session ended as prescribed (completed: all steps ran).",
    ):
        assert text in methods


def test_stricta_table_lists_the_items_the_software_knows(markdown: str) -> None:
    for row in (
        "| 2a needle insertions per session | 4 (distinct needle sites) |",
        "| 2b points used (uni/bilateral) | BL23 Shenshu (bilateral); BL25 Dachangshu "
        "(bilateral) |",
        "| 2b needle sites | BL23-L (ch 1), BL25-L (ch 1), BL23-R (ch 2), BL25-R (ch 2) |",
        "| 2c depth of insertion | 20 mm (channel 1); 20 mm (channel 2) |",
        "| 2e needle stimulation | electrical (parameters below) |",
        "| 2f needle retention time | at least 25 min (stimulation time;",
        "| 2g needle type | diameter 0.25 mm (channel 1); 0.25 mm (channel 2); length not "
        "recorded |",
        "| 3a number of treatment sessions | session 2 of 2 recorded for patient P-017 |",
        "| 3b frequency and duration of sessions | this session 25 min 2 s; previous session "
        "7 days earlier |",
    ):
        assert row in markdown
    assert "Not recorded: 1a-1c acupuncture rationale; 2d response sought" in (markdown)


def test_identity_table(markdown: str) -> None:
    for row in (
        "| Outcome | completed — all steps ran |",
        "| Started | 2025-03-04 09:30:00 UTC (+00:00) |",
        "| Ended | 2025-03-04 09:55:02 UTC (+00:00) (duration 25 min 2 s) |",
        "| Patient id | P-017 (session 2 of 2) |",
        "| Operator id | OP-2 |",
        f"| Profile | Low back pain 2/100 Hz, version 3, sha256 {'3f' * 32} |",
        "| Device | EA-4, serial SN0042, firmware 1.2.0, boot id 4660, port /dev/ttyUSB0 |",
        "| Software | eacontrol 0.1.0 |",
        "| References | Han JS. Acupuncture: neuropeptide release",
    ):
        assert row in markdown


def test_steps_table_has_prescribed_and_run_times(markdown: str) -> None:
    assert (
        "| 1 2/100 Hz | dense-disperse, alternating 3 s at 2 Hz and 3 s at 100 Hz | 1, 2 | "
        "2/100 Hz (phase width 600/200 µs) | symmetric charge-balanced biphasic rectangular "
        "pulses, interphase gap 50 µs | 3 mA on channel 1 and 2.5 mA on channel 2 | not recorded "
        "on channels 1 and 2 | 10 mA on "
        "channel 1 and 10 mA on channel 2 | up 3 s, down 2 s | 20 min | 20 min |"
    ) in markdown


def test_delivered_tables_per_channel(markdown: str) -> None:
    # Channel 1: 1200 + 600 pulses at 2 Hz over both steps, 60 000 at 100 Hz; total charge
    # beside the net: (38 160 + 720) + (38 159.99 + 720) µC = 77.8 mC.
    assert (
        f"| 1 (BL23-L – BL25-L) | 2 Hz: 1{THIN}800 pulses in 15 min; 100 Hz: 60{THIN}000 "
        "pulses in 10 min | 38.9 mC | 38.9 mC | 10 nC | 77.8 mC | 0.000026 % | 3.5 mA | 0.547 mA | "
        "24 min 52 s |"
    ) in markdown
    assert f"| 2 (BL23-R – BL25-R) | 2 Hz: 1{THIN}200 pulses in 10 min;" in markdown
    assert "| 1 | 150 | 3 mA | 2.94 mA | 2.94 mA | 820 Ω – 835 Ω | 0 |" in markdown
    assert "| 2 | 120 | 2.5 mA | 2.4 mA | 2.4 mA | 1.1 kΩ – 1.1 kΩ | 1 |" in markdown


def test_events_timeline_lists_notable_events_and_counts_routine_ones(markdown: str) -> None:
    assert "| 5:00.0 | operator | 1 | intensity 3.0 -> 3.5 mA |" in markdown
    assert "| 10:00.0 | warning | 2 | compliance: 2.4 mA delivered of 2.5 mA |" in markdown
    assert "| 25:00.0 | stop | — | all outputs confirmed off |" in markdown
    assert "step 1 started" not in markdown
    assert "Routine events not listed: progress ×2 (all are in the export)." in markdown


def test_advisories_overrides_and_flags(markdown: str) -> None:
    assert "Patient flags: diabetes." in markdown
    assert "Overrides recorded: none." in markdown
    assert "Advisories shown: channel 1: current density advisory" in markdown


def test_report_dict_keeps_full_precision(store: RecordStore, finished: Any) -> None:
    report = build_report(store, finished.id)
    assert report["report_version"] == REPORT_VERSION
    ch1 = report["delivered"][0]
    assert ch1["by_frequency"] == [
        {"frequency_hz": 2.0, "pulses": 1800, "time_s": 900.0},
        {"frequency_hz": 100.0, "pulses": 60000, "time_s": 600.0},
    ]
    assert ch1["charge_pos_uC"] == 38160.0 + 720.0
    assert ch1["net_charge_uC"] == pytest.approx(0.01)
    assert ch1["total_charge_uC"] == 77759.99  # both phases: 38 880 + 38 879.99, at 1 nC
    assert report["delivered"][1]["total_charge_uC"] == 63599.9  # 31 800 + 31 799.9
    # rms over on-time: sqrt((0.61² · 1195 + 0.06² · 297) / 1492)
    assert ch1["rms_mA"] == pytest.approx(((0.61**2 * 1195 + 0.06**2 * 297) / 1492) ** 0.5)
    assert report["stricta"]["stimulation_time_s"] == 1500.0
    assert report["stricta"]["prescribed_time_s"] == 1500.0
    assert report["patient_sessions"] == {
        "patient_id": "P-017",
        "number": 2,
        "include_simulated": False,
        "simulated_left_out": 0,
        "titration": False,
        "titrations_left_out": 0,
        "total": 2,
        "completed_before": 1,
        "previous_started_at": "2025-02-25T09:30:00.000000+00:00",
        "days_since_previous": 7.0,
    }


def test_json_report_parses_back_and_renders_the_same(store: RecordStore, finished: Any) -> None:
    report = build_report(store, finished.id)
    text = render_json(report)
    assert text.endswith("\n")
    parsed = json.loads(text)
    assert parsed == report
    assert render_markdown(parsed) == render_markdown(report)


def test_simulated_session_says_no_patient_was_stimulated(
    store: RecordStore, make_meta: MakeMeta, record_session: Callable[..., int]
) -> None:
    session_id = record_session(store, make_meta(simulated=True, port="sim://", patient_id=None))
    markdown = render_markdown(build_report(store, session_id))
    assert markdown.startswith(f"# Session {session_id}: Low back pain 2/100 Hz (simulated)\n")
    assert "ran on the eacontrol device simulator (no patient was stimulated)" in markdown
    assert "| Device | SIMULATOR — no patient was stimulated" in markdown
    assert "| 3a number of treatment sessions | no patient id given |" in markdown
    assert "recorded for patient" not in markdown


def test_aborted_session_report(db_path: Any, make_meta: MakeMeta) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta(patient_id="P-9"))
        store.record_samples(session_id, [Sample(10.0, 1, 1.5, 1.5, 700.0)])
        store.record_event(session_id, EventRecord(42.0, "fault", 2, "electrode open on ch 2"))
        store._connection().execute(  # as if it ran on another PC, which lost power
            "UPDATE sessions SET owner_host = 'clinic-pc-2' WHERE id = ?", (session_id,)
        )
        store.mark_aborted(session_id, "the PC lost power")
        markdown = render_markdown(build_report(store, session_id))
    assert "The session was interrupted: its controlling process ended without closing it " in (
        markdown
    )
    assert "(aborted: the PC lost power; last record at t = 42.0 s)" in markdown
    assert "Step 1 (2/100 Hz): " in markdown and "it did not run." in markdown
    assert "The device's delivered totals are unknown (not recorded)." in markdown
    assert "| 0:42.0 | fault | 2 | electrode open on ch 2 |" in markdown
    assert "This was session 1 of 1 recorded for patient P-9 (0 completed before it)." in markdown


def test_running_session_report_is_provisional(store: RecordStore, make_meta: MakeMeta) -> None:
    session_id = store.begin_session(make_meta())
    markdown = render_markdown(build_report(store, session_id))
    assert "The session is still running (this report is provisional) (running)." in markdown
    assert "ranged unknown on channel 1 (no sample recorded)" in markdown
    assert "No faults, stops, warnings or operator actions were recorded." in markdown
    assert "| Ended | not yet (still recorded as running; its length is not known) |" in markdown


def test_session_count_follows_start_time_not_insertion_order(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    start = make_meta().started_at
    later = store.begin_session(make_meta(started_at=start + timedelta(days=14)))
    store.end_session(later, Outcome.COMPLETED, start + timedelta(days=14, minutes=30))
    earlier = store.begin_session(make_meta(started_at=start))
    store.end_session(earlier, Outcome.STOPPED, start + timedelta(minutes=3))
    first = build_report(store, earlier)["patient_sessions"]
    second = build_report(store, later)["patient_sessions"]
    assert first is not None and second is not None
    assert (first["number"], first["total"], first["days_since_previous"]) == (1, 2, None)
    assert (second["number"], second["completed_before"], second["days_since_previous"]) == (
        2,
        0,
        14.0,
    )


def test_unknown_and_midline_points(store: RecordStore, make_meta: MakeMeta) -> None:
    rx = make_meta().prescription
    rx["channels"][0]["electrodes"] = ["GV20", "EX-HN3"]
    rx["channels"][1]["electrodes"] = ["LI4-L", "ZZ99-L"]  # unknown code in an old record
    rx["channels"][1]["needle"] = None
    session_id = store.begin_session(make_meta(prescription=rx))
    report = build_report(store, session_id)
    points = {p["code"]: p["laterality"] for p in report["stricta"]["points"]}
    assert points == {"GV20": "midline", "EX-HN3": "midline", "LI4": "left", "ZZ99-L": "unknown"}
    markdown = render_markdown(report)
    assert "(left LI4 Hegu; midline GV20 Baihui and EX-HN3 Yintang; side not known: ZZ99-L)" in (
        markdown
    )
    assert "| 2c depth of insertion | 20 mm (channel 1) |" in markdown


def test_unknown_session(store: RecordStore) -> None:
    with pytest.raises(UnknownSession):
        build_report(store, 7)


def test_unreadable_stored_prescription_is_a_record_error(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())
    store._connection().execute(
        "UPDATE sessions SET prescription_json = ? WHERE id = ?",
        (json.dumps({"name": "old layout"}), session_id),
    )
    with pytest.raises(RecordError, match="stored prescription"):
        build_report(store, session_id)


def test_a_site_two_channels_share_is_one_needle(store: RecordStore, make_meta: MakeMeta) -> None:
    rx = make_meta().prescription
    rx["channels"][1]["electrodes"] = ["BL25-L", "BL40-L"]  # BL25-L also on channel 1
    report = build_report(store, store.begin_session(make_meta(prescription=rx)))
    stricta = report["stricta"]
    assert stricta["needle_count"] == 3
    assert [(s["site"], s["channels"]) for s in stricta["sites"]] == [
        ("BL23-L", [1]),
        ("BL25-L", [1, 2]),
        ("BL40-L", [2]),
    ]
    assert "| 2b needle sites | BL23-L (ch 1), BL25-L (ch 1, 2), BL40-L (ch 2) |" in (
        render_markdown(report)
    )


def test_intermittent_step_is_described_with_its_trains(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    rx = make_meta().prescription
    rx["steps"][1].update(mode="intermittent", on_s=1.5, off_s=1.5, shape="symmetric")
    markdown = render_markdown(build_report(store, store.begin_session(make_meta(prescription=rx))))
    assert (
        "Step 2 (2 Hz wind-down): intermittent 2 Hz (phase width 600 µs), trains of 1.5 s on "
        "and 1.5 s off, symmetric charge-balanced biphasic rectangular pulses" in markdown
    )
    assert "| 2 2 Hz wind-down | intermittent, trains of 1.5 s on and 1.5 s off | 1 |" in markdown
    assert "it did not run." in markdown
