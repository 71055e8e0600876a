"""Any valid event or sample reads back exactly as recorded (hypothesis, derandomized)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eacontrol.records import EventRecord, RecordStore, Sample, SessionMeta

MakeMeta = Callable[..., SessionMeta]

finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
events = st.builds(
    EventRecord,
    t_s=finite,
    kind=st.text(min_size=1, max_size=20),
    channel=st.none() | st.sampled_from([1, 2]),
    message=st.text(max_size=80),
    data=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)
samples = st.builds(
    Sample,
    t_s=finite,
    channel=st.sampled_from([1, 2]),
    set_mA=finite,
    measured_mA=finite,
    impedance_ohm=st.none() | finite,
)


# make_meta is a stateless factory, so sharing it across examples is safe.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path: Path = tmp_path_factory.mktemp("roundtrip") / "s.sqlite3"
    with RecordStore.open(path) as store:
        yield store


@SETTINGS
@given(recorded=st.lists(events, max_size=6))
def test_events_round_trip(
    shared_store: RecordStore, make_meta: MakeMeta, recorded: list[EventRecord]
) -> None:
    session_id = shared_store.begin_session(make_meta())
    for event in recorded:
        shared_store.record_event(session_id, event)
    assert shared_store.events(session_id) == recorded


@SETTINGS
@given(recorded=st.lists(samples, max_size=8))
def test_samples_round_trip(
    shared_store: RecordStore, make_meta: MakeMeta, recorded: list[Sample]
) -> None:
    session_id = shared_store.begin_session(make_meta())
    shared_store.record_samples(session_id, recorded)
    ordered = sorted(enumerate(recorded), key=lambda p: (p[1].t_s, p[1].channel, p[0]))
    assert shared_store.samples(session_id) == [s for _, s in ordered]
