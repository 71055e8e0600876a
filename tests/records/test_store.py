"""Every record type round-trips; writes are checked; queries order and filter."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from eacontrol.device import ChannelDose
from eacontrol.errors import ParameterError, RecordError
from eacontrol.records import (
    ChannelTotals,
    EventRecord,
    Outcome,
    ProcessOwner,
    RecordStore,
    Sample,
    SessionMeta,
    StepRecord,
    UnknownSession,
)

MakeMeta = Callable[..., SessionMeta]


def test_session_meta_round_trips(store: RecordStore, make_meta: MakeMeta) -> None:
    meta = make_meta(operator_id=None, patient_id=None, simulated=True, port="sim://")
    session_id = store.begin_session(meta)
    summary = store.session(session_id)
    assert summary.meta == meta
    assert summary.outcome is Outcome.RUNNING
    assert summary.ended_at is None and summary.duration_s is None and summary.detail == ""
    assert summary.owner == ProcessOwner.current()


def test_started_at_is_stored_in_utc(store: RecordStore, make_meta: MakeMeta) -> None:
    plus_two = timezone(timedelta(hours=2))
    meta = make_meta(started_at=datetime(2025, 3, 4, 11, 30, tzinfo=plus_two))
    assert meta.started_at == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    assert store.session(store.begin_session(meta)).meta.started_at.tzinfo == UTC


def test_naive_datetimes_are_refused(store: RecordStore, make_meta: MakeMeta) -> None:
    with pytest.raises(ParameterError, match="started_at"):
        make_meta(started_at=datetime(2025, 3, 4, 9, 30))
    session_id = store.begin_session(make_meta())
    with pytest.raises(ParameterError, match="ended_at"):
        store.end_session(session_id, Outcome.COMPLETED, datetime(2025, 3, 4, 10, 0))


def test_bad_profile_hash_is_refused(make_meta: MakeMeta) -> None:
    with pytest.raises(ParameterError, match="profile_hash"):
        make_meta(profile_hash="ABC")


def test_steps_round_trip_and_a_later_record_replaces(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())
    started = StepRecord(0, "2/100 Hz", "dense_disperse", 0.0, None, {"crc": 1, "ch": [1, 2]})
    store.record_step(session_id, started)
    assert store.steps(session_id) == [started]
    ended = replace(started, ended_s=1200.0)
    second = StepRecord(1, "2 Hz", "continuous", 1200.0, 1500.0)
    store.record_step(session_id, second)
    store.record_step(session_id, ended)
    assert store.steps(session_id) == [ended, second]


def test_events_round_trip_in_recorded_order(store: RecordStore, make_meta: MakeMeta) -> None:
    session_id = store.begin_session(make_meta())
    events = [
        EventRecord(5.0, "fault", 2, "electrode open", {"faults": ["ELECTRODE"], "n": 1.5}),
        EventRecord(1.0, "operator", None, "patient: tingling ✓", {}),  # out of time order
        EventRecord(5.0, "device_event", None, "", {"nested": {"a": [1, None, True]}}),
    ]
    for event in events:
        store.record_event(session_id, event)
    assert store.events(session_id) == events


def test_samples_round_trip_by_time_then_channel(store: RecordStore, make_meta: MakeMeta) -> None:
    session_id = store.begin_session(make_meta())
    late = [Sample(2.0, 2, 1.5, 1.49, None), Sample(2.0, 1, 2.0, 1.98, 812.5)]
    early = [Sample(1.0, 1, 0.5, 0.5, 1000.0)]
    store.record_samples(session_id, late)
    store.record_samples(session_id, early)
    store.record_samples(session_id, [])
    assert store.samples(session_id) == [early[0], late[1], late[0]]


def test_totals_round_trip_and_replace_per_step_and_channel(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())
    first = ChannelTotals(1, 10, 500, 5.0, 5.0, 330.0, 329.9, 0.1, 3.0, 0.5, 10.0, 0)
    unknown_step = ChannelTotals(2, 4, 0, 2.0, 0.0, 7.2, 7.2, 0.0, 2.5, 0.1, 2.0, None)
    store.record_totals(session_id, [first, unknown_step])
    later = replace(first, pulses_a=20, time_a_s=10.0)
    later_unknown = replace(unknown_step, pulses_a=8)
    step_1 = replace(first, step_index=1, pulses_b=0)
    store.record_totals(session_id, [later, later_unknown, step_1])
    assert store.totals(session_id) == [later, step_1, later_unknown]


def test_totals_from_the_devices_dose_keep_its_charges_net_and_total() -> None:
    dose = ChannelDose(
        channel=0,  # the wire's index
        pulses_a=1200,
        pulses_b=60000,
        time_a_s=600.0,
        time_b_s=600.0,
        charge_pos_uC=38_160.0,
        charge_neg_uC=38_159.99,
        peak_mA=3.5,
        rms_mA=0.61,
        on_time_s=1195.0,
    )
    totals = ChannelTotals.from_dose(dose, channel=1, step_index=0)
    assert totals.charge_pos_uC == 38160.0
    assert totals.net_charge_uC == dose.net_charge_uC == 0.01  # exact: the device's 1 nC
    assert totals.total_charge_uC == dose.total_charge_uC == pytest.approx(76_319.99)
    assert (totals.channel, totals.step_index, totals.pulses_b) == (1, 0, 60000)
    assert totals.imbalance_pct == pytest.approx(0.01 / 38160.0 * 100)


def test_end_session_records_outcome_and_end(store: RecordStore, make_meta: MakeMeta) -> None:
    meta = make_meta()
    session_id = store.begin_session(meta)
    store.end_session(
        session_id, Outcome.FAULT, meta.started_at + timedelta(seconds=90.5), "ELECTRODE ch 2"
    )
    summary = store.session(session_id)
    assert summary.outcome is Outcome.FAULT
    assert summary.detail == "ELECTRODE ch 2"
    assert summary.ended_at == meta.started_at + timedelta(seconds=90.5)
    assert summary.duration_s == 90.5


def test_end_session_refuses_running_and_an_end_before_the_start(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    meta = make_meta()
    session_id = store.begin_session(meta)
    with pytest.raises(ParameterError, match="outcome"):
        store.end_session(session_id, Outcome.RUNNING, meta.started_at)
    with pytest.raises(ParameterError, match="ended_at"):
        store.end_session(session_id, Outcome.COMPLETED, meta.started_at - timedelta(seconds=1))
    assert store.session(session_id).outcome is Outcome.RUNNING


def test_an_ended_session_takes_no_more_records(store: RecordStore, make_meta: MakeMeta) -> None:
    meta = make_meta()
    session_id = store.begin_session(meta)
    store.end_session(session_id, Outcome.STOPPED, meta.started_at, "operator stop")
    with pytest.raises(RecordError, match=r"session \d+ has ended \(stopped\)"):
        store.record_event(session_id, EventRecord(1.0, "warning", None, "late"))
    with pytest.raises(RecordError, match="has ended"):
        store.end_session(session_id, Outcome.COMPLETED, meta.started_at)
    assert store.events(session_id) == []
    assert store.session(session_id).outcome is Outcome.STOPPED


def test_unknown_session_is_a_record_error_and_a_key_error(store: RecordStore) -> None:
    for call in (
        lambda: store.session(99),
        lambda: store.events(99),
        lambda: store.record_event(99, EventRecord(0.0, "progress", None, "x")),
    ):
        with pytest.raises(UnknownSession) as caught:
            call()
        assert isinstance(caught.value, RecordError) and isinstance(caught.value, KeyError)
        assert caught.value.session_id == 99
        assert str(caught.value) == f"session database {store.path}: no session 99"


def test_records_for_undefined_channels_are_refused(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())  # channels 1 and 2
    with pytest.raises(ParameterError, match=r"channel=3 .*\[1, 2\]"):
        store.record_samples(session_id, [Sample(0.0, 1, 0, 0, None), Sample(0.0, 3, 0, 0, None)])
    with pytest.raises(ParameterError, match="channel"):
        store.record_totals(session_id, [ChannelTotals(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)])
    with pytest.raises(ParameterError, match="channel"):
        store.record_event(session_id, EventRecord(0.0, "fault", 4, "x"))
    assert store.samples(session_id) == []  # the batch was refused as a whole


@pytest.mark.parametrize(
    "make",
    [
        lambda: Sample(0.0, 0, 1.0, 1.0, None),  # the wire's 0-based index, not a channel
        lambda: Sample(float("nan"), 1, 1.0, 1.0, None),
        lambda: Sample(0.0, 1, 1.0, float("inf"), None),
        lambda: EventRecord(0.0, "", None, "no kind"),
        lambda: StepRecord(-1, "x", "continuous", 0.0),
        lambda: ChannelTotals(1, 0, 0, 0.0, 0.0, float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0),
    ],
)
def test_malformed_records_are_refused_on_construction(make: Callable[[], object]) -> None:
    with pytest.raises(ParameterError):
        make()


def test_data_that_is_not_json_is_refused(store: RecordStore, make_meta: MakeMeta) -> None:
    session_id = store.begin_session(make_meta())
    with pytest.raises(ParameterError, match=r"EventRecord\.data"):
        store.record_event(session_id, EventRecord(0.0, "x", None, "", {"s": {1, 2}}))
    with pytest.raises(ParameterError, match=r"StepRecord\.parameters"):
        store.record_step(session_id, StepRecord(0, "x", "continuous", 0.0, None, {"v": 1e999}))


def test_sessions_newest_first_with_patient_filter_and_limit(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    start = make_meta().started_at
    ids = {}
    for day, patient in [(0, "P-1"), (2, "P-2"), (1, "P-1"), (3, None)]:
        meta = make_meta(patient_id=patient, started_at=start + timedelta(days=day))
        ids[day] = store.begin_session(meta)
    assert [s.id for s in store.sessions()] == [ids[3], ids[2], ids[1], ids[0]]
    assert [s.id for s in store.sessions(patient_id="P-1")] == [ids[1], ids[0]]
    assert [s.id for s in store.sessions(limit=2)] == [ids[3], ids[2]]
    assert store.sessions(patient_id="nobody") == []


def test_events_are_committed_when_recorded(
    db_path: Path, store: RecordStore, make_meta: MakeMeta
) -> None:
    session_id = store.begin_session(make_meta())
    store.record_event(session_id, EventRecord(0.5, "progress", None, "ramp"))
    reader = sqlite3.connect(db_path)  # another connection sees it at once
    try:
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    finally:
        reader.close()


def test_close_is_safe_twice_and_a_closed_store_says_so(db_path: Path) -> None:
    store = RecordStore.open(db_path)
    store.close()
    store.close()
    with pytest.raises(RecordError, match="closed"):
        store.sessions()


def test_bad_prescription_is_refused_before_a_session(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        rx = make_meta().prescription
        change(rx)
        return rx

    cases = [
        (lambda rx: rx["steps"][0].pop("frequency_hz"), r"steps\[0\]\.frequency_hz"),
        (lambda rx: rx["steps"][0].update(frequency_hz="2"), "valid number"),
        (lambda rx: rx["steps"][0].update(mode="burst"), r"steps\[0\]\.mode"),
        (lambda rx: rx["steps"][1].update(channels=[3]), r"steps\[1\]\.channels"),
        (lambda rx: rx["steps"][0]["intensity_mA"].update({"4": 1.0}), "intensity_mA"),
        (lambda rx: rx["channels"][1].update(channel=1), "each channel once"),
        (lambda rx: rx["channels"][0].update(electrodes=["BL23-L"]), "two needle sites"),
    ]
    for change, match in cases:
        with pytest.raises(ParameterError, match=match):
            store.begin_session(make_meta(prescription=broken(change)))
    assert store.sessions() == []
