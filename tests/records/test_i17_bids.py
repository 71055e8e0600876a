"""Issue 17, data out: a session's BIDS-style events.tsv, read back with the csv module
(tab-delimited) and compared equal to the store's steps, operator changes, stops, faults and
annotations; the events.json sidecar describes every column."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from eacontrol.errors import ParameterError
from eacontrol.records import (
    BIDS_COLUMNS,
    TRIAL_TYPES,
    AnnotationKind,
    EventRecord,
    Outcome,
    RecordStore,
    Response,
    Severity,
    StepRecord,
    UnknownSession,
    bids_events,
    events_sidecar,
    new_annotation,
    write_bids_events,
)
from eacontrol.records.clinical import Annotation

Finished = Any  # tests/records/conftest.py's Finished: .id, .meta of the recorded session
SimRun = Any  # tests/records/conftest.py's SimRun: .path and .session_id of a sim:// run


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert tuple(rows[0]) == BIDS_COLUMNS
    assert all(len(r) == len(BIDS_COLUMNS) for r in rows)
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def parsed(row: dict[str, str]) -> dict[str, Any]:
    """A TSV row with n/a as None and numbers as numbers."""
    numbers = {"onset", "duration", "intensity_mA", "previous_intensity_mA", "device_uptime_s"}
    ints = {"step_index", "channel"}
    out: dict[str, Any] = {}
    for column, cell in row.items():
        if cell == "n/a":
            out[column] = None
        elif column in numbers:
            out[column] = float(cell)
        elif column in ints:
            out[column] = int(cell)
        else:
            out[column] = cell
    return out


def expected_rows(store: RecordStore, session_id: int) -> list[dict[str, Any]]:
    """The rows the store's records call for (docs/records.md, "BIDS events"), built here from
    the read API: steps, operator changes, stops and faults (with the device time the device
    told), annotations, by onset; each with its ``utc``."""
    none = dict.fromkeys(BIDS_COLUMNS)
    start = store.session(session_id).meta.started_at
    rows = [
        none
        | {"onset": s.started_s, "trial_type": "step", "step_index": s.index, "mode": s.mode}
        | {"duration": None if s.ended_s is None else s.ended_s - s.started_s, "message": s.name}
        for s in store.steps(session_id)
    ]
    for e in store.events(session_id):
        operator = e.data.get("by") == "operator" or e.kind == "operator"
        if operator and "to_mA" in e.data and e.channel is not None:
            rows.append(
                none
                | {"onset": e.t_s, "duration": 0.0, "trial_type": "intensity_change"}
                | {"channel": e.channel, "intensity_mA": e.data["to_mA"]}
                | {"previous_intensity_mA": e.data.get("from_mA")}
            )
        elif e.kind in {"stop", "fault", "link"} or (e.kind == "operator" and "stop" in e.message):
            rows.append(
                none
                | {"onset": e.t_s, "duration": 0.0, "channel": e.channel, "message": e.message}
                | {"trial_type": "fault" if e.kind == "fault" else "stop", "event_kind": e.kind}
                | {"device_uptime_s": e.device_uptime_s}
            )
    words = {Response.DE_QI: "de qi", Response.TWITCH: "muscle twitch"}
    for a in store.annotations(session_id):
        parts = [a.event, None if a.response is None else words[a.response], a.note]
        rows.append(
            none
            | {"duration": 0.0, "trial_type": "marker", "annotation_kind": a.kind.value}
            | {"onset": a.t_s if a.t_s is not None else (a.added_at - start).total_seconds()}
            | {"severity": None if a.severity is None else a.severity.value}
            | {"response": None if a.response is None else a.response.value}
            | {"message": "; ".join(p for p in parts if p) or None}
        )
    for row in rows:  # the wall clock: the session's start plus the onset, with its offset
        row["utc"] = (start + timedelta(seconds=row["onset"])).isoformat(timespec="microseconds")
    order = list(TRIAL_TYPES)
    return sorted(rows, key=lambda r: (r["onset"], order.index(r["trial_type"])))


@pytest.fixture
def annotated(store: RecordStore, make_meta: Any) -> int:
    """A session of two steps with operator changes, a fault, a link loss, an operator stop and
    a final stop, and annotations: an adverse event at 600 s, a response at 310.5 s, a note with
    no time added at 1510 s."""
    meta = make_meta()
    sid = store.begin_session(meta)
    store.record_step(sid, StepRecord(0, "2/100 Hz", "dense_disperse", 0.0))
    for event in (
        EventRecord(0.0, "progress", None, "step 1 started", {"step": 0}),
        EventRecord(
            300.0, "operator", 1, "intensity 3.0 -> 3.5 mA", {"from_mA": 3.0, "to_mA": 3.5}
        ),
        EventRecord(
            700.0, "fault", 2, "electrode open\ton channel 2", {"faults": ["open"]}, 712.25
        ),
        EventRecord(800.0, "link", None, 'link lost: "no STATUS"', {}),
        EventRecord(900.0, "operator", None, "operator stop", {}),
        EventRecord(950.0, "intensity", 1, "channel 1: 3.5 → 3 mA", {"by": "operator", "to_mA": 3}),
        EventRecord(1000.0, "intensity", 2, "ramp to 2 mA", {"by": "prescription", "to_mA": 2}),
    ):
        store.record_event(sid, event)
    store.record_step(sid, StepRecord(0, "2/100 Hz", "dense_disperse", 0.0, 1200.0))
    store.record_step(sid, StepRecord(1, "2 Hz wind-down", "continuous", 1200.0, 1500.5))
    store.record_event(sid, EventRecord(1500.5, "stop", None, "all outputs confirmed off", {}))
    store.end_session(sid, Outcome.COMPLETED, meta.started_at + timedelta(seconds=1502))
    added = meta.started_at + timedelta(seconds=1600)
    store.add_annotation(
        sid,
        Annotation(
            AnnotationKind.ADVERSE_EVENT, added, t_s=600.0, event="haematoma",
            severity=Severity.MILD, note="at BL23-L",
        ),
    )  # fmt: skip
    store.add_annotation(sid, new_annotation(added, response=Response.DE_QI, t_s=310.5))
    store.add_annotation(
        sid, new_annotation(meta.started_at + timedelta(seconds=1510), note="well")
    )
    return sid


def test_events_tsv_holds_every_step_change_stop_fault_and_marker(
    store: RecordStore, annotated: int, tmp_path: Path
) -> None:
    tsv, sidecar = write_bids_events(store, annotated, tmp_path / "bids")
    assert (tsv.name, sidecar.name) == ("events.tsv", "events.json")
    rows = [parsed(r) for r in read_tsv(tsv)]
    assert rows == expected_rows(store, annotated)
    kinds = [r["trial_type"] for r in rows]
    assert kinds.count("step") == 2 and kinds.count("marker") == 3 and kinds.count("fault") == 1
    assert kinds.count("intensity_change") == 2 and kinds.count("stop") == 3
    onsets = [r["onset"] for r in rows]
    assert onsets == sorted(onsets)
    fault = next(r for r in rows if r["trial_type"] == "fault")
    assert fault["message"] == "electrode open\ton channel 2"  # a tab inside survives, quoted
    assert fault["device_uptime_s"] == 712.25  # the device's time, as it told it
    assert fault["utc"] == "2025-03-04T09:41:40.000000+00:00"  # 09:30 + 700 s
    assert all(r["device_uptime_s"] is None for r in rows if r is not fault)
    marker = next(r for r in rows if r["annotation_kind"] == "adverse_event")
    assert (marker["onset"], marker["severity"], marker["message"]) == (
        600.0,
        "mild",
        "haematoma; at BL23-L",
    )
    note = next(r for r in rows if r["message"] == "well")
    assert note["onset"] == 1510.0  # no time given: when it was added, in session time


def test_a_step_that_did_not_end_has_duration_na(
    store: RecordStore, make_meta: Any, tmp_path: Path
) -> None:
    sid = store.begin_session(make_meta())
    store.record_step(sid, StepRecord(0, "", "continuous", 0.25))
    out = tmp_path / "bids"
    rows = read_tsv(write_bids_events(store, sid, out, prefix="sub-01_ses-2_task-ea")[0])
    assert rows == [
        dict.fromkeys(BIDS_COLUMNS, "n/a")
        | {"onset": "0.25", "trial_type": "step", "step_index": "0", "mode": "continuous"}
        | {"utc": "2025-03-04T09:30:00.250000+00:00"}
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "sub-01_ses-2_task-ea_events.json",
        "sub-01_ses-2_task-ea_events.tsv",
    ]


def test_the_sidecar_describes_every_column(
    store: RecordStore, finished: Finished, tmp_path: Path
) -> None:
    _, path = write_bids_events(store, finished.id, tmp_path)
    sidecar = json.loads(path.read_text(encoding="utf-8"))
    assert sidecar == events_sidecar()
    assert tuple(sidecar) == BIDS_COLUMNS
    assert all(entry["LongName"] and entry["Description"] for entry in sidecar.values())
    assert sidecar["onset"]["Units"] == sidecar["duration"]["Units"] == "s"
    assert sidecar["intensity_mA"]["Units"] == "mA"
    assert set(sidecar["trial_type"]["Levels"]) == {
        "condition",
        "step",
        "marker",
        "intensity_change",
        "stop",
        "fault",
    }


def test_bad_input_writes_nothing(store: RecordStore, finished: Finished, tmp_path: Path) -> None:
    with pytest.raises(UnknownSession):
        write_bids_events(store, 99, tmp_path / "a")
    with pytest.raises(ParameterError, match="prefix"):
        write_bids_events(store, finished.id, tmp_path / "b", prefix="../sub-01")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_real_session_on_the_simulator(sim_run: SimRun, tmp_path: Path) -> None:
    with RecordStore.open(sim_run.path, read_only=True) as store:
        tsv, _ = write_bids_events(store, sim_run.session_id, tmp_path)
        rows = [parsed(r) for r in read_tsv(tsv)]
        assert rows == expected_rows(store, sim_run.session_id)
        (step,) = store.steps(sim_run.session_id)
        start = store.session(sim_run.session_id).meta.started_at
    assert rows[0] == dict.fromkeys(BIDS_COLUMNS) | {
        "onset": step.started_s,
        "duration": step.ended_s - step.started_s if step.ended_s is not None else None,
        "trial_type": "step",
        "step_index": 0,
        "mode": "continuous",
        "message": "2 Hz",
        "utc": (start + timedelta(seconds=step.started_s)).isoformat(timespec="microseconds"),
    }
    (change,) = [r for r in rows if r["trial_type"] == "intensity_change"]
    assert (change["onset"], change["channel"], change["intensity_mA"]) == (3.0, 1, 2.5)
    assert change["previous_intensity_mA"] == 2.0
    (marker,) = [r for r in rows if r["trial_type"] == "marker"]
    assert (marker["onset"], marker["message"]) == (4.0, "heaviness at BL23-L")
    assert [r["trial_type"] for r in rows][-1] == "stop"


def test_the_study_condition_is_a_row_over_the_whole_session(
    store: RecordStore, make_meta: Any, tmp_path: Path
) -> None:
    from eacontrol.records import Study

    sid = store.begin_session(make_meta(study=Study(condition="sham_0mA", arm="B")))
    store.record_step(sid, StepRecord(0, "", "continuous", 0.25, 30.25))
    running = bids_events(store, sid)
    assert running[0]["trial_type"] == "condition" and running[0]["duration"] is None
    started = store.session(sid).meta.started_at
    store.end_session(sid, Outcome.COMPLETED, started + timedelta(seconds=30.5), "done")
    (condition, step) = bids_events(store, sid)
    assert condition | {"utc": None} == dict.fromkeys(BIDS_COLUMNS) | {
        "onset": 0.0, "duration": 30.5, "trial_type": "condition", "message": "sham_0mA; arm B"
    }  # fmt: skip
    assert step["trial_type"] == "step"
    rows = read_tsv(write_bids_events(store, sid, tmp_path)[0])
    assert rows[0]["trial_type"] == "condition" and rows[0]["message"] == "sham_0mA; arm B"
