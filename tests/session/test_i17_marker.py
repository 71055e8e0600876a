"""Issue 17: a note added during a session is a time-stamped marker in the event stream as
well as the record's annotation (``Session.note``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eacontrol.profiles import Profile
from eacontrol.records import build_report
from eacontrol.session import EventKind

from .conftest import Run, Script


def test_i17_a_note_is_an_annotation_and_a_marker_at_the_same_session_time(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=3")
    script = Script((5.0, lambda s: s.note("needles checked")))
    result = run.run(on_tick=script)
    (annotation,) = run.store.annotations(result.session_id)
    markers = [e for e in run.events if e.kind is EventKind.MARKER]
    assert [(e.message, e.data) for e in markers] == [
        ("note: needles checked", {"annotation": "note"})
    ]
    assert annotation.note == "needles checked" and annotation.t_s == markers[0].t_s
    assert 5.0 <= markers[0].t_s < 5.2
    recorded = [e for e in run.store.events(result.session_id) if e.kind == "marker"]
    assert [e.t_s for e in recorded] == [markers[0].t_s]
    report = build_report(run.store, result.session_id)
    assert report["routine_event_counts"]["marker"] == 1  # listed once, with the annotations
    assert all(e["kind"] != "marker" for e in report["events"])


def test_i17_an_annotation_added_by_another_program_reaches_the_event_stream_once(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    """``eactl annotate`` from another terminal writes to the record through its own
    connection; the running session finds it within a second and publishes it as a marker,
    once, and does not relay its own notes a second time."""
    from datetime import timedelta

    from eacontrol.records import RecordStore, Severity, new_annotation

    run = session_on_sim(short_profile, "seed=4")

    def elsewhere(session: object) -> None:  # another process's connection to the database
        with RecordStore.open(run.store.path) as other:
            (sid,) = [s.id for s in other.sessions()]
            started = other.session(sid).meta.started_at
            added = started + timedelta(seconds=6)
            other.add_annotation(
                sid, new_annotation(added, adverse_event="pain", severity=Severity.MILD)
            )

    def writer_done(session: Any) -> None:  # the look queued after 6 s has run (real time;
        assert session._recorder.writer.drain(10.0)  # the virtual clock waits meanwhile)

    script = Script(
        (3.0, lambda s: s.note("needles checked")), (6.0, elsewhere), (6.8, writer_done)
    )
    result = run.run(on_tick=script)
    markers = [e for e in run.events if e.kind is EventKind.MARKER]
    assert [e.message for e in markers] == [
        "note: needles checked",
        "adverse event added from another program: mild pain",
    ]
    # found by the first look after it was added (within a second of 6 s, done by 6.8 s),
    # published at the next relay, a second later
    assert markers[1].data["elsewhere"] is True and 7.0 <= markers[1].t_s < 8.0
    assert len(run.store.annotations(result.session_id)) == 2
