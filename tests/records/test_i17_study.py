"""Issue 17: a session's condition, arm and tags (``records/study.py``) are recorded, checked,
migrated into older files as "not given", and shown in the report and the JSON export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.errors import ParameterError
from eacontrol.records import RecordStore, SessionMeta, Study, build_report, render_markdown
from eacontrol.records.export import session_export

MakeMeta = Callable[..., SessionMeta]
SHAM = Study(condition="sham_0mA", arm="B", tags=("pilot", "visit-1"))


def test_i17_the_study_is_recorded_and_read_back(store: RecordStore, make_meta: MakeMeta) -> None:
    sid = store.begin_session(make_meta(study=SHAM))
    assert store.session(sid).meta.study == SHAM
    plain = store.begin_session(make_meta())
    assert store.session(plain).meta.study == Study() and not Study().given


def test_i17_the_report_and_the_export_say_condition_arm_and_tags(
    store: RecordStore, make_meta: MakeMeta
) -> None:
    sid = store.begin_session(make_meta(study=SHAM))
    report = build_report(store, sid)
    assert report["study"] == {"condition": "sham_0mA", "arm": "B", "tags": ["pilot", "visit-1"]}
    markdown = render_markdown(report)
    for row in ("| Condition | sham_0mA |", "| Arm | B |", "| Tags | pilot, visit-1 |"):
        assert row in markdown
    exported = json.loads(json.dumps(session_export(store, sid)))
    assert exported["session"]["study"]["condition"] == "sham_0mA"
    bare = render_markdown(build_report(store, store.begin_session(make_meta())))
    assert "| Condition |" not in bare and "| Tags |" not in bare  # nothing invented


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({"condition": "  "}, "text of 1 to"),
        ({"tags": ("a,b",)}, "no comma"),
        ({"tags": ("pilot", "pilot")}, "each tag once"),
        ({"tags": "pilot"}, "a sequence of tags"),
        ({"arm": 3}, "text"),
    ],
)
def test_i17_bad_study_fields_are_refused_naming_the_field(
    fields: dict[str, Any], allowed: str
) -> None:
    with pytest.raises(ParameterError) as refused:
        Study(**fields)
    assert refused.value.parameter.startswith("Study.") and allowed in refused.value.allowed


def test_i17_a_version_4_file_migrates_with_no_study_given(
    tmp_path: Path, make_meta: MakeMeta
) -> None:
    path = tmp_path / "v4.sqlite3"
    with RecordStore.open(path) as store:
        sid = store.begin_session(make_meta(study=SHAM))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE sessions DROP COLUMN study_json")  # as version 4 wrote it
    conn.execute("ALTER TABLE events DROP COLUMN device_uptime_s")  # (version 6's)
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    with RecordStore.open(path) as store:
        meta = store.session(sid).meta
        assert meta.study == Study() and meta == make_meta()  # every other field kept
        again = store.begin_session(make_meta(study=SHAM))
        assert store.session(again).meta.study == SHAM


def test_i17_a_newer_records_study_key_is_refused_not_dropped() -> None:
    assert Study.from_json(SHAM.to_json()) == SHAM
    with pytest.raises(ParameterError) as refused:
        Study.from_json({"condition": "verum", "masked": True})
    assert refused.value.parameter == "study" and "keys among" in refused.value.allowed
