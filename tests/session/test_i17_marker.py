"""Issue 17: a note added during a session is a time-stamped marker in the event stream as
well as the record's annotation (``Session.note``)."""

from __future__ import annotations

from collections.abc import Callable

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
