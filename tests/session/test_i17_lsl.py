"""Issue 17, data out: a session's events as Lab Streaming Layer markers, received by a
``pylsl.StreamInlet`` over a loopback-only LSL configuration; the marker strings, their order
and their timestamps (the record's session times on the LSL clock, one offset) are checked
against the record.

The LSL configuration is loopback-only (tests/support/lsl_loopback.py: discovery on 127.0.0.1
alone, a session id of the run's own); each test uses its own stream name and source id. The
session runs in virtual time; receiving is real time, with bounded timeouts and no sleeps.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pylsl
import pytest
from lsl_loopback import loopback_config

from eacontrol.errors import MissingExtra
from eacontrol.profiles import loads_profile
from eacontrol.session import EventKind, SessionEvent
from eacontrol.session.lsl import MARKERS, STREAM_TYPE, LslMarkers, marker_for

from .conftest import HUNDRED_HZ_STEP, Run, Script, two_channel_toml

TIMEOUT_s = 10.0  # bounded waits for discovery and delivery on the loopback (design value)


@pytest.fixture(scope="module", autouse=True)
def loopback_lsl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The loopback-only configuration, in force before this process first uses liblsl."""
    with loopback_config(tmp_path_factory.mktemp("lsl")) as path:
        yield path


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def inlet_for(markers: LslMarkers) -> Any:
    """A connected inlet of the outlet (resolved by its source id, on the loopback)."""
    found = pylsl.resolve_byprop("source_id", markers.source_id, 1, TIMEOUT_s)
    assert len(found) == 1, "the outlet was not found on the loopback"
    assert (found[0].name(), found[0].type()) == (markers.name, STREAM_TYPE)
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(TIMEOUT_s)
    assert markers.wait_for_consumers(TIMEOUT_s)
    return inlet


def received(inlet: Any, count: int) -> list[tuple[dict[str, Any], float]]:
    """``count`` markers (parsed) and their timestamps, each within the timeout."""
    got = []
    for _ in range(count):
        sample, timestamp = inlet.pull_sample(timeout=TIMEOUT_s)
        assert sample is not None, f"only {len(got)} of {count} markers arrived"
        got.append((json.loads(sample[0]), timestamp))
    assert inlet.pull_sample(timeout=0.0)[0] is None  # nothing more
    return got


def recorded_markers(run: Run) -> list[dict[str, Any]]:
    """The markers the record's events call for (the module's table), in recorded order."""
    assert run.session.session_id is not None
    events = [
        SessionEvent(e.t_s, EventKind(e.kind), e.channel, e.message, e.data)
        for e in run.store.events(run.session.session_id)
    ]
    found = [marker_for(e, run.session.plan, run.session.session_id) for e in events]
    return [m for m in found if m is not None]


def test_markers_of_a_session_arrive_in_order_at_the_session_times(
    session_on_sim: Callable[..., Run],
) -> None:
    profile = loads_profile(two_channel_toml(HUNDRED_HZ_STEP, duration_s=8))
    run = session_on_sim(profile, "seed=5")
    name = unique("ea-markers")
    with LslMarkers(run.session, name, source_id=unique("src"), lsl_clock=lambda: 5000.0) as out:
        inlet = inlet_for(out)
        script = Script((3.0, lambda s: s.adjust(1, +0.5)), (5.0, lambda s: s.note("de qi felt")))
        result = run.run(on_tick=script)
        expected = recorded_markers(run)
        got = received(inlet, len(expected))
        inlet.close_stream()
    assert [m for m, _ in got] == expected
    names = [m["marker"] for m, _ in got]
    assert names[0] == "session_start" and names[-1] == "session_end"
    assert names.count("step_start") == names.count("step_end") == 2
    assert set(names) <= set(MARKERS)
    assert {"intensity", "marker", "stop"} <= set(names)
    by_name = {m["marker"]: m for m, _ in got}
    assert by_name["session_start"]["session_id"] == result.session_id
    assert by_name["session_end"]["outcome"] == "completed"
    assert by_name["marker"]["text"] == "de qi felt"
    operator = [m for m, _ in got if m["marker"] == "intensity" and m["by"] == "operator"]
    assert [(m["channel"], m["from_mA"], m["to_mA"]) for m in operator] == [(1, 2.0, 2.5)]
    steps = [m for m, _ in got if m["marker"] == "step_start"]
    assert [(m["step_index"], m["name"], m["mode"]) for m in steps] == [
        (0, "2 Hz", "continuous"),
        (1, "100 Hz", "continuous"),
    ]
    # One offset: LSL time = start + t_s, the start fixed at the first event (clock 5000).
    first_t_s = got[0][0]["t_s"]
    assert out.start_lsl_s == 5000.0 - first_t_s
    assert [ts for _, ts in got] == [5000.0 - first_t_s + m["t_s"] for m, _ in got]
    stamps = [ts for _, ts in got]
    assert stamps == sorted(stamps)
    assert stamps[-1] - stamps[0] == pytest.approx(result.duration_s - first_t_s, abs=0.5)


def test_the_default_clock_puts_the_start_on_lsl_time(
    session_on_sim: Callable[..., Run], short_profile: Any
) -> None:
    run = session_on_sim(short_profile, "seed=6")
    with LslMarkers(run.session, unique("ea-clock"), source_id=unique("src")) as out:
        inlet = inlet_for(out)
        before = pylsl.local_clock()
        run.run()
        after = pylsl.local_clock()
        got = received(inlet, out.pushed)
        inlet.close_stream()
    assert out.start_lsl_s is not None
    assert before <= out.start_lsl_s + got[0][0]["t_s"] <= after
    assert [ts for _, ts in got] == [out.start_lsl_s + m["t_s"] for m, _ in got]


def test_events_that_are_not_markers_are_left_out(session_on_sim: Callable[..., Run]) -> None:
    run = session_on_sim(loads_profile(two_channel_toml(duration_s=6)))
    plan = run.session.plan
    assert (
        marker_for(SessionEvent(1.0, EventKind.IMPEDANCE, 1, "channel 1: open", {}), plan) is None
    )
    assert (
        marker_for(SessionEvent(1.0, EventKind.PROGRESS, None, "step 1: ramping down", {}), plan)
        is None
    )
    fault = SessionEvent(
        2.0, EventKind.FAULT, 2, "channel 2: electrode fault", {"device_uptime_s": 7.25}
    )
    assert marker_for(fault, plan) == {
        "marker": "fault",
        "t_s": 2.0,
        "channel": 2,
        "message": "channel 2: electrode fault",
        "device_uptime_s": 7.25,
    }


def test_without_pylsl_the_error_names_the_extra(
    session_on_sim: Callable[..., Run], short_profile: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    run = session_on_sim(short_profile)
    monkeypatch.setitem(sys.modules, "pylsl", None)
    with pytest.raises(MissingExtra, match=r'pip install "eacontrol\[lsl\]"'):
        LslMarkers(run.session)
