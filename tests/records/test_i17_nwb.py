"""Issue 17, data out: one session as an NWB file, read back with ``pynwb.NWBHDF5IO`` and
compared equal to the store's samples (values, timestamps, counts), steps, events and
annotations; a step that never ended is flagged, not given a made-up end."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pynwb
import pytest

from eacontrol.errors import MissingExtra, UnknownSession
from eacontrol.records import (
    ChannelTotals,
    EventRecord,
    RecordStore,
    Sample,
    SessionMeta,
    Severity,
    StepRecord,
    Study,
    new_annotation,
)
from eacontrol.records.nwb import NWB_CURRENT_CONVERSION, nwb_identifier, write_nwb

Finished = Any  # tests/records/conftest.py's Finished: .id, .meta of the recorded session
SimRun = Any  # tests/records/conftest.py's SimRun: .path and .session_id of a sim:// run


def read_back(path: Path) -> dict[str, Any]:
    """Everything the checks need, copied out of the file while it is open."""
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        nwb = io.read()
        series = {
            name: {
                "data": list(ts.data[:]),
                "timestamps": list(ts.timestamps[:]),
                "unit": ts.unit,
                "conversion": ts.conversion,
            }
            for name, ts in nwb.stimulus.items()
        }
        tables = {
            name: table.to_dataframe().to_dict("records") for name, table in nwb.intervals.items()
        }
        device = nwb.devices["stimulator"]
        totals = (
            nwb.processing["stimulation"]["delivered_totals"].to_dataframe().to_dict("records")
            if "stimulation" in nwb.processing
            else None
        )
        return {
            "totals": totals,
            "series": series,
            "tables": tables,
            "start": nwb.session_start_time,
            "identifier": nwb.identifier,
            "session_id": nwb.session_id,
            "experimenter": None if nwb.experimenter is None else list(nwb.experimenter),
            "subject": None if nwb.subject is None else nwb.subject.subject_id,
            "protocol": nwb.protocol,
            "experiment_description": nwb.experiment_description,
            "keywords": None if nwb.keywords is None else list(nwb.keywords[:]),
            "device": (device.description, device.serial_number),
        }


def test_a_real_session_on_the_simulator_reads_back_equal(sim_run: SimRun, tmp_path: Path) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        out = write_nwb(store, sim_run.session_id, tmp_path / "session.nwb")
        summary = store.session(sim_run.session_id)
        samples = store.samples(sim_run.session_id)
        steps = store.steps(sim_run.session_id)
        events = store.events(sim_run.session_id)
        (note,) = store.annotations(sim_run.session_id)
    got = read_back(out)
    assert got["start"] == summary.meta.started_at
    assert got["identifier"] == nwb_identifier(summary)
    assert got["session_id"] == str(sim_run.session_id)
    channels = sorted({s.channel for s in samples})
    assert channels == [1, 2]
    expected_names = {
        f"channel_{n}_{what}"
        for n in channels
        for what in ("set_current", "measured_current", "impedance", "device_uptime")
    }
    assert set(got["series"]) == expected_names
    for n in channels:
        mine = [s for s in samples if s.channel == n]
        assert len(mine) == len(samples) // 2 >= 5  # a sample a second of each channel
        set_ts = got["series"][f"channel_{n}_set_current"]
        measured = got["series"][f"channel_{n}_measured_current"]
        impedance = got["series"][f"channel_{n}_impedance"]
        assert set_ts["data"] == [s.set_mA for s in mine]
        assert measured["data"] == [s.measured_mA for s in mine]
        for ts in (set_ts, measured, impedance):
            assert ts["timestamps"] == [s.t_s for s in mine]
        assert (set_ts["unit"], set_ts["conversion"]) == ("amperes", NWB_CURRENT_CONVERSION)
        assert impedance["unit"] == "ohms"
        # NaN where the impedance is unknown (at 0 mA, nothing to measure it by)
        assert [None if math.isnan(x) else x for x in impedance["data"]] == [
            s.impedance_ohm for s in mine
        ]
        assert any(x is not None for x in [s.impedance_ohm for s in mine])
        uptime = got["series"][f"channel_{n}_device_uptime"]
        assert (uptime["data"], uptime["unit"]) == ([s.device_uptime_s for s in mine], "seconds")
        peak = max(set_ts["data"])
        assert peak > 2.0 if n == 1 else peak == 2.0  # the operator raised channel 1 at 3 s
    (step,) = steps
    assert got["tables"]["steps"] == [
        {
            "start_time": step.started_s,
            "stop_time": step.ended_s,
            "step_index": 0,
            "step_name": "2 Hz",
            "mode": "continuous",
            "ended": True,
        }
    ]
    assert got["tables"]["events"] == [
        {
            "start_time": e.t_s,
            "stop_time": e.t_s,
            "kind": e.kind,
            "channel": e.channel or 0,
            "message": e.message,
            "data_json": json.dumps(e.data, sort_keys=True, ensure_ascii=False),
        }
        for e in events
    ]
    kinds = {row["kind"] for row in got["tables"]["events"]}
    assert {"progress", "intensity", "stop"} <= kinds
    added_s = (note.added_at - summary.meta.started_at).total_seconds()
    assert got["tables"]["annotations"] == [
        {
            "start_time": added_s,
            "stop_time": added_s,
            "kind": "note",
            "event": "",
            "severity": "",
            "response": "",
            "note": "heaviness at BL23-L",
            "time_given": False,
        }
    ]
    assert got["device"] == (
        f"{summary.meta.device_model} stimulator, firmware {summary.meta.firmware_version}",
        summary.meta.device_serial,
    )


def test_identity_and_study_are_the_records(
    store: RecordStore, make_meta: Callable[..., SessionMeta], tmp_path: Path
) -> None:
    study = Study(condition="sham_ramp_off", arm="B", tags=("pilot", "visit-3"))
    meta = make_meta(study=study)
    session_id = store.begin_session(meta)
    got = read_back(write_nwb(store, session_id, tmp_path / "s.nwb"))
    assert got["experimenter"] == ["OP-2"]
    assert got["subject"] == "P-017"
    assert got["experiment_description"] == "condition: sham_ramp_off; arm: B"
    assert got["keywords"] == ["pilot", "visit-3"]
    assert got["protocol"] == f"Low back pain 2/100 Hz (version 3, sha256 {meta.profile_hash})"


def test_what_is_not_recorded_is_left_out(
    store: RecordStore, make_meta: Callable[..., SessionMeta], tmp_path: Path
) -> None:
    session_id = store.begin_session(make_meta(operator_id=None, patient_id=None))
    got = read_back(write_nwb(store, session_id, tmp_path / "s.nwb"))
    assert got["experimenter"] is None and got["subject"] is None
    assert got["experiment_description"] is None and got["keywords"] is None
    assert got["series"] == {} and got["tables"] == {}  # no samples, steps, events, notes
    assert got["totals"] is None


def test_a_step_that_never_ended_is_flagged_and_bounded_by_the_session_end(
    store: RecordStore, make_meta: Callable[..., SessionMeta], tmp_path: Path
) -> None:
    """A session found still running (its process gone): the step's end is not known; the
    last time recorded in the session bounds it and ``ended`` says so."""
    meta = make_meta()
    session_id = store.begin_session(meta)
    store.record_step(session_id, StepRecord(0, "warm-up", "continuous", 0.0, 30.0))
    store.record_step(session_id, StepRecord(1, "2/100 Hz", "dense_disperse", 30.0))
    store.record_samples(session_id, [Sample(41.5, 1, 2.0, 1.98, None, 1041.5)])
    store.record_event(session_id, EventRecord(44.0, "operator", 1, "paused", {}))
    store.record_totals(
        session_id, [ChannelTotals(1, 80, 0, 40.0, 0.0, 1.5, 1.5, 0.0, 2.0, 0.1, 40.0)]
    )
    store.add_annotation(
        session_id,
        new_annotation(
            meta.started_at + timedelta(seconds=50),
            t_s=12.0,
            adverse_event="haematoma",
            severity=Severity.MILD,
        ),
    )
    got = read_back(write_nwb(store, session_id, tmp_path / "s.nwb"))
    rows = got["tables"]["steps"]
    assert [(r["start_time"], r["stop_time"], r["ended"]) for r in rows] == [
        (0.0, 30.0, True),
        (30.0, 44.0, False),
    ]
    assert math.isnan(got["series"]["channel_1_impedance"]["data"][0])  # open or unknown
    (adverse,) = got["tables"]["annotations"]
    assert (adverse["start_time"], adverse["kind"], adverse["event"]) == (
        12.0,
        "adverse_event",
        "haematoma",
    )
    assert (adverse["severity"], adverse["time_given"]) == ("mild", True)
    assert got["tables"]["events"][0]["channel"] == 1
    assert [(r["step_index"], r["pulses_a"]) for r in got["totals"]] == [(-1, 80)]  # unknown step


def test_the_delivered_totals_are_the_records(
    finished: Finished, store: RecordStore, tmp_path: Path
) -> None:
    got = read_back(write_nwb(store, finished.id, tmp_path / "s.nwb"))
    assert got["totals"] == [
        dataclasses.asdict(t) | {"total_charge_uC": t.total_charge_uC}
        for t in store.totals(finished.id)
    ]
    assert sorted(r["step_index"] for r in got["totals"]) == [0, 0, 1]


def test_an_unknown_session_writes_nothing(finished: Finished, tmp_path: Path) -> None:
    with RecordStore.open(tmp_path / "other.sqlite3") as store, pytest.raises(UnknownSession):
        write_nwb(store, 99, tmp_path / "s.nwb")
    assert not (tmp_path / "s.nwb").exists()


def test_without_pynwb_the_error_names_the_extra(
    store: RecordStore,
    make_meta: Callable[..., SessionMeta],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session_id = store.begin_session(make_meta())
    monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb: ImportError
    with pytest.raises(MissingExtra, match=r'pip install "eacontrol\[nwb\]"'):
        write_nwb(store, session_id, tmp_path / "s.nwb")
    assert not (tmp_path / "s.nwb").exists()
