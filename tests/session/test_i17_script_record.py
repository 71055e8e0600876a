"""Issue 17: a script driving the ``Stimulator`` directly is recorded too (``recorded()``).

Every command the script sends is an event, samples come from the STATUS the Stimulator polls,
each program is a step record with the device's totals, and the end is recorded with its cause
after a confirmed stop. The record is told apart as a script's and its report says so. All on
``sim://`` in virtual time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eacontrol.device import Stimulator, connect
from eacontrol.errors import (
    DeviceFault,
    LinkLost,
    ParameterError,
    RecordError,
    SessionError,
    SessionStopped,
)
from eacontrol.profiles import Profile
from eacontrol.records import Outcome, RecordStore, build_report, render_markdown
from eacontrol.records.scripted import is_script
from eacontrol.session import ScriptRecord, recorded
from eacontrol.stimulation import Stimulation

from .conftest import Run

START = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
SITES = {1: ("LI4-L", "LI11-L"), 2: ("ST36-R", "ST37-R")}
TWO_HZ = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_up_s=2)
HAN = Stimulation(
    mode="dense_disperse",
    frequency_hz=2,
    phase_width_us=600,
    frequency_b_hz=100,
    phase_width_b_us=200,
    dwell_a_s=3,
    dwell_b_s=3,
    intensity_mA=1.5,
    ramp_up_s=2,
    ramp_down_s=1,
)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    with RecordStore.open(tmp_path / "sessions.sqlite3") as opened:
        yield opened


def _record(stim: Stimulator, store: RecordStore, **kwargs: Any) -> ScriptRecord:
    return recorded(stim, store, sites=SITES, utc_now=lambda: START, **kwargs)


def _two_hz_on_1(stim: Stimulator, wait_s: float) -> None:
    """Channel 1 programmed at :data:`TWO_HZ`, started, and run for ``wait_s``."""
    stim.program(1, TWO_HZ)
    stim.start(1)
    stim.wait(wait_s)


def _commands(store: RecordStore, sid: int) -> list[tuple[str, int | None]]:
    return [(e.data["command"], e.channel) for e in store.events(sid) if "command" in e.data]


def test_i17_a_script_is_recorded_commands_samples_totals_and_its_end(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=17") as stim:
        with _record(stim, store, patient_id="P-07", name="pilot") as rec:
            crcs = {1: stim.program(1, TWO_HZ), 2: stim.program(2, HAN)}
            stim.start([1, 2])
            stim.wait(5)
            stim.set_intensity(1, 3.0)  # raise: 2 s at 0.5 mA/s
            stim.set_intensity(2, 1.0)  # lower
            stim.wait(5)
            stim.stop(2)
            stim.wait(3)
        doses = {n: stim.dose(n) for n in (1, 2)}
        assert stim.status().outputs_off()
    sid = rec.session_id
    assert sid is not None and rec.outcome is Outcome.COMPLETED
    summary = store.session(sid)
    assert summary.outcome is Outcome.COMPLETED and summary.detail == "the script ended normally"
    assert summary.meta.profile_name == "script: pilot" and is_script(summary.meta.prescription)
    assert summary.meta.patient_id == "P-07"

    # Every command, in the order sent; the final stop is the record's, of every output.
    assert _commands(store, sid) == [
        ("program", 1),
        ("program", 2),
        ("start", 1),
        ("start", 2),
        ("set_intensity", 1),
        ("set_intensity", 2),
        ("stop", None),
        ("stop", None),
    ]
    events = store.events(sid)
    changes = [e.data for e in events if e.data.get("command") == "set_intensity"]
    assert [(c["from_mA"], c["to_mA"], c["by"]) for c in changes] == [
        (2.0, 3.0, "script"),
        (1.5, 1.0, "script"),
    ]
    stops = [e for e in events if e.data.get("command") == "stop"]
    assert all(e.data["confirmed"] for e in stops)
    assert [e.data["immediate"] for e in stops] == [False, False]
    assert events[-1].message == "script ended (completed): the script ended normally"

    # Each program is a step record holding what was sent and the CRC the device acknowledged.
    steps = store.steps(sid)
    assert [(s.index, s.mode) for s in steps] == [(0, "continuous"), (1, "dense_disperse")]
    sent = [s.parameters["channels"] for s in steps]
    assert sent[0]["1"]["program_crc"] == f"0x{crcs[1]:08X}"
    assert sent[1]["2"]["program_crc"] == f"0x{crcs[2]:08X}"
    assert sent[1]["2"]["frequency_b_hz"] == 100 and sent[1]["2"]["intensity_mA"] == 1.5
    assert all(s.ended_s is not None for s in steps)

    # Samples once a second, with what was set and measured on each channel.
    samples = store.samples(sid)
    by_time = {(round(s.t_s), s.channel): s for s in samples}
    assert len({round(s.t_s) for s in samples}) >= 12
    for t, one, two in ((4, 2.0, 1.5), (9, 3.0, 1.0), (12, 3.0, 0.0)):
        assert by_time[(t, 1)].set_mA == one and by_time[(t, 1)].measured_mA == pytest.approx(one)
        assert by_time[(t, 2)].set_mA == two
        assert by_time[(t, 2)].measured_mA == pytest.approx(two, abs=0.01)
    assert all(s.device_uptime_s is not None for s in samples)

    # Totals: what Stimulator.dose reports, to the nC.
    totals = {t.channel: t for t in store.totals(sid)}
    for n in (1, 2):
        assert totals[n].charge_pos_uC == doses[n].charge_pos_uC > 0
        assert totals[n].net_charge_uC == doses[n].net_charge_uC
        assert totals[n].total_charge_uC == doses[n].total_charge_uC
        assert totals[n].pulses_a + totals[n].pulses_b == doses[n].pulses_a + doses[n].pulses_b


def test_i17_an_exception_mid_script_is_its_recorded_cause_with_outputs_confirmed_off(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=18") as stim:
        with pytest.raises(RuntimeError, match="analysis failed"), _record(stim, store) as rec:
            _two_hz_on_1(stim, 4)
            raise RuntimeError("analysis failed")
        assert stim.last_status is not None and stim.status().outputs_off()
        dose = stim.dose(1)
    assert rec.session_id is not None
    summary = store.session(rec.session_id)
    assert summary.outcome is Outcome.ERROR
    assert summary.detail == "RuntimeError: analysis failed"
    events = store.events(rec.session_id)
    stop = next(e for e in events if e.data.get("command") == "stop")
    assert stop.data["immediate"] is True and stop.data["confirmed"] is True
    # the cause is recorded before the stop it called for
    cause = next(e for e in events if e.message == "RuntimeError: analysis failed")
    assert events.index(cause) < events.index(stop)
    (totals,) = store.totals(rec.session_id)
    assert totals.charge_pos_uC == dose.charge_pos_uC > 0


def _stopped_by_a_fault() -> SessionStopped:
    try:
        raise DeviceFault("lead off", 1, ("ELECTRODE",))
    except DeviceFault as fault:
        stopped = SessionStopped("ended early")
        stopped.__cause__ = fault
        return stopped


@pytest.mark.parametrize(
    ("raised", "outcome", "detail"),
    [
        (KeyboardInterrupt(), Outcome.STOPPED, "interrupted (Ctrl-C): every output cut at once"),
        (_stopped_by_a_fault(), Outcome.FAULT, "channel 1 stopped by a latched fault (ELECTRODE)"),
        (ValueError("bad threshold"), Outcome.ERROR, "ValueError: bad threshold"),
    ],
)
def test_i17_each_way_out_of_a_script_is_recorded_as_the_session_ending_table_says(
    store: RecordStore, raised: BaseException, outcome: Outcome, detail: str
) -> None:
    with connect("sim://?seed=25") as stim:
        with pytest.raises(type(raised)), _record(stim, store) as rec:
            _two_hz_on_1(stim, 3)
            raise raised
        assert stim.status().outputs_off()
    assert rec.session_id is not None
    summary = store.session(rec.session_id)
    assert summary.outcome is outcome and summary.detail.startswith(detail)


def test_i17_a_fault_and_a_lost_link_end_a_script_record_with_their_cause(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=19") as stim:
        with pytest.raises(DeviceFault) as fault, _record(stim, store) as rec:
            _two_hz_on_1(stim, 3)
            stim.clock.sleep(0.8)  # the script blocks longer than the lease (0.5 s)
            stim.wait(1)
        # Protocol major 2: the expired lease closed the device's session (LEASE named).
        assert fault.value.faults == ("NO_SESSION",) and "(LEASE)" in str(fault.value)
    assert rec.session_id is not None
    assert store.session(rec.session_id).outcome is Outcome.FAULT
    assert "LEASE" in store.session(rec.session_id).detail
    stop = next(e for e in store.events(rec.session_id) if e.data.get("command") == "stop")
    assert stop.data["confirmed"] is True and stop.data["immediate"] is True

    with (
        connect("sim://?seed=20&unplug_at=3") as stim,
        pytest.raises(LinkLost),
        _record(stim, store) as lost,
    ):
        _two_hz_on_1(stim, 10)
    assert lost.session_id is not None
    assert store.session(lost.session_id).outcome is Outcome.LINK_LOST


def test_i17_reprogramming_records_the_earlier_programs_totals_first(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=21") as stim, _record(stim, store) as rec:
        _two_hz_on_1(stim, 6)
        stim.stop(1)
        first = stim.dose(1)
        stim.program(1, HAN)  # resets the device's totals
        stim.start(1)
        stim.wait(4)
    assert rec.session_id is not None
    totals = {t.step_index: t for t in store.totals(rec.session_id)}
    assert sorted(totals) == [0, 1]
    assert totals[0].charge_pos_uC == first.charge_pos_uC > 0
    assert totals[1].charge_pos_uC > 0
    steps = store.steps(rec.session_id)
    assert steps[0].ended_s is not None and steps[0].ended_s <= steps[1].started_s


def test_i17_what_the_record_could_not_hold_is_refused_before_anything_is_sent(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=22") as stim:
        stim.program(2, TWO_HZ)  # before the record began
        with _record(stim, store) as rec:
            with pytest.raises(ParameterError, match=r"needle sites in recorded\(sites"):
                stim.program(3, TWO_HZ)
            with pytest.raises(ParameterError, match=r"programmed inside the recorded\(\) block"):
                stim.start(2)
            assert stim.status().outputs_off()
        assert rec.outcome is Outcome.COMPLETED
        assert rec.session_id is not None and _commands(store, rec.session_id) == [("stop", None)]

        _two_hz_on_1(stim, 3)
        with pytest.raises(SessionError, match="Every output must be off"):
            _record(stim, store).__enter__()
    for sites, needle in (({9: ("LI4-L", "LI11-L")}, "1..6"), ({1: ("LI4-L",)}, "two")):
        with connect("sim://?seed=23") as stim, pytest.raises(ParameterError, match=needle):
            recorded(stim, store, sites=sites)


def test_i17_the_report_of_a_script_says_so_and_lists_the_programs_sent(
    store: RecordStore,
) -> None:
    with connect("sim://?seed=24") as stim, _record(stim, store) as rec:
        stim.program(1, TWO_HZ)
        stim.program(2, HAN)
        stim.start([1, 2])
        stim.wait(5)
    assert rec.session_id is not None
    report = build_report(store, rec.session_id)
    assert report["profile"]["source"] == "script"
    prescribed = [s["prescribed"] for s in report["steps"]]
    assert [(p["mode"], p["channels"], p["intensity_mA"]) for p in prescribed] == [
        ("continuous", [1], {"1": 2.0}),
        ("dense_disperse", [2], {"2": 1.5}),
    ]
    assert prescribed[1]["ceiling_mA"] == {"2": pytest.approx(10 / 600 * 1000)}  # 10 µC / 600 µs
    text = render_markdown(report)
    assert "controlled by a Python script through eacontrol" in text
    assert "## Stimulation parameters (as sent by the script)" in text
    assert "ran to the script's end (completed" in text


def test_i17_a_profile_sessions_report_says_profile(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    result = run.run()
    assert not is_script(run.store.session(result.session_id).meta.prescription)
    assert build_report(run.store, result.session_id)["profile"]["source"] == "profile"


def test_i17_the_recording_example_in_docs_scripting_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (ROOT / "docs" / "scripting.md").read_text(encoding="utf-8")
    section = text.split("## Recording a script", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/scripting.md", "exec"), namespace)  # our own docs' example
    with RecordStore.open(tmp_path / "sessions.sqlite3") as opened:
        (summary,) = opened.sessions()
        assert summary.outcome is Outcome.COMPLETED and is_script(summary.meta.prescription)
        assert opened.totals(summary.id) and opened.samples(summary.id)


def test_i17_a_failing_database_stops_a_recorded_script_at_its_next_wait(
    store: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with connect("sim://?seed=26") as stim:
        with pytest.raises(RecordError, match="disk full"), _record(stim, store) as rec:
            _two_hz_on_1(stim, 2)
            # The writer reports the database failing (as after STALL_BOUND_s of refusals).
            writer = rec._recorder.writer  # type: ignore[union-attr]
            monkeypatch.setattr(writer, "problem", lambda: RecordError("disk full (test)"))
            stim.wait(5)
        assert stim.status().outputs_off()
    assert rec.session_id is not None and rec.outcome is Outcome.RECORDS_UNAVAILABLE
    summary = store.session(rec.session_id)
    assert summary.outcome is Outcome.RECORDS_UNAVAILABLE
    stops = [e for e in store.events(rec.session_id) if e.data.get("command") == "stop"]
    assert [e.data["immediate"] for e in stops] == [True]
    assert max(s.t_s for s in store.samples(rec.session_id)) < 4  # it did not go on for 5 s


def test_i17_needles_without_current_a_record_with_no_program_says_none_was_delivered(
    store: RecordStore,
) -> None:
    from eacontrol.records import Study

    with connect("sim://?seed=14") as stim:
        study = Study(condition="needles_only")
        with _record(stim, store, study=study) as rec:
            stim.wait(60)  # the needles in, nothing programmed
        assert stim.last_status is not None
        assert all(c.set_mA == 0 for c in stim.last_status.channels)
    assert rec.outcome is Outcome.COMPLETED and not store.totals(rec.session_id)
    md = render_markdown(build_report(store, rec.session_id))
    assert "no program was sent, so no current was delivered. No step ran." in md
    assert "| Condition | needles_only |" in md
