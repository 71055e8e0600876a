"""Issue 14, item 8: the record writer keeps order, keeps a record whose failure can clear, and
names a record refused for good (the session then stops as records_unavailable)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from eacontrol.errors import RecordError
from eacontrol.records import EventRecord, RecordStore, SessionMeta
from eacontrol.records.writer import RecordWriter

MakeMeta = Callable[..., SessionMeta]


def _busy_once() -> Callable[[RecordStore], None]:
    failed: list[bool] = []

    def action(store: RecordStore) -> None:
        if not failed:
            failed.append(True)
            try:
                raise sqlite3.OperationalError("database is locked")
            except sqlite3.OperationalError as err:
                raise RecordError("recording an event failed (locked)") from err

    return action


def test_i14_08_writer_keeps_order_and_retries_what_can_clear(
    db_path: Path, make_meta: MakeMeta
) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
    writer = RecordWriter(RecordStore.open(db_path, threaded=True))
    writer.submit("busy once", _busy_once())
    for i in range(20):
        event = EventRecord(float(i), "progress", None, f"event {i}")
        writer.submit("event", lambda st, e=event: st.record_event(session_id, e))
    assert writer.drain(30.0)
    assert writer.problem() is None and writer.failures == []
    assert writer.close() == 0
    with RecordStore.open(db_path, read_only=True) as store:
        assert [e.message for e in store.events(session_id)] == [f"event {i}" for i in range(20)]


def test_i14_08_writer_names_a_record_refused_for_good(db_path: Path, make_meta: MakeMeta) -> None:
    with RecordStore.open(db_path) as store:
        session_id = store.begin_session(make_meta())
    writer = RecordWriter(RecordStore.open(db_path, threaded=True))
    bad = EventRecord(1.0, "progress", 9, "channel 9 is not in the prescription")
    good = EventRecord(2.0, "progress", None, "recorded after the refusal")
    writer.submit("event", lambda st: st.record_event(session_id, bad))
    writer.submit("event", lambda st: st.record_event(session_id, good))
    assert writer.drain(30.0)
    problem = writer.problem()
    assert problem is not None and "refused" in str(problem) and "channel" in str(problem)
    assert len(writer.failures) == 1
    assert writer.close() == 0
    with RecordStore.open(db_path, read_only=True) as store:
        assert [e.message for e in store.events(session_id)] == [good.message]
