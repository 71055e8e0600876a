"""Issue 17: ``eactl run --lsl [NAME]`` streams the session's events as LSL markers through
``eacontrol.session.lsl.LslMarkers`` (its markers and their reception by an inlet are tested in
tests/session/test_i17_lsl.py); here, the wiring: the outlet is made with the name given before
the session runs, sees every event from the session's start to its end, and is closed; a
missing extra or a bad name is refused before anything is stimulated."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from eacontrol.cli.run_cmd import LSL_STREAM_NAME
from eacontrol.records import RecordStore
from eacontrol.session import lsl

Run = Callable[..., Any]


@pytest.fixture(scope="module", autouse=True)
def loopback_lsl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The loopback-only LSL configuration of tests/session/test_i17_lsl.py."""
    from lsl_loopback import loopback_config

    with loopback_config(tmp_path_factory.mktemp("lsl")):
        yield


class Spy(lsl.LslMarkers):
    """The real outlet, keeping what it pushed and whether it was closed."""

    made: list[Spy] = []  # noqa: RUF012 - the instances a test's command made

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.markers: list[dict[str, Any]] = []
        self.closed = False
        Spy.made.append(self)

    def push(self, event: Any) -> None:
        marker = lsl.marker_for(event, self._session.plan, self._session.session_id)
        if marker is not None:
            self.markers.append(marker)
        super().push(event)

    def close(self) -> None:
        self.closed = True
        super().close()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[Spy]:
    Spy.made = []
    monkeypatch.setattr(lsl, "LslMarkers", Spy)
    return Spy


@pytest.fixture
def short(two_channel_file: Callable[..., Path]) -> Path:
    return two_channel_file("short.toml", "short test", {"duration_s": 10})


def test_the_default_name_is_the_librarys() -> None:
    assert LSL_STREAM_NAME == lsl.DEFAULT_STREAM_NAME


@pytest.mark.parametrize(
    ("argv", "name"), [(("--lsl",), LSL_STREAM_NAME), (("--lsl=EA 1",), "EA 1")]
)
def test_run_streams_every_marker_of_the_session(
    eactl: Run, short: Path, tmp_path: Path, spy: type[Spy], argv: tuple[str, ...], name: str
) -> None:
    db = tmp_path / "s.sqlite3"
    result = eactl("run", str(short), "--fast", "--db", str(db), *argv)
    assert result.code == 0, result.err
    (made,) = spy.made
    assert (made.name, made.closed) == (name, True)
    assert result.out.startswith(f"LSL markers: stream '{name}' (type Markers, source id ")
    names = [m["marker"] for m in made.markers]
    assert names[0] == "session_start" and names[-1] == "session_end"
    assert names.count("step_start") == names.count("step_end") == 1
    assert made.pushed == len(made.markers)
    with RecordStore.open(db, read_only=True) as store:
        (summary,) = store.sessions()
    assert made.markers[0]["session_id"] == summary.id


def test_a_missing_extra_is_refused_before_anything_is_recorded(
    eactl: Run, short: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pylsl", None)
    db = tmp_path / "s.sqlite3"
    result = eactl("run", str(short), "--fast", "--db", str(db), "--lsl")
    assert result.code == 1
    assert 'pip install "eacontrol[lsl]"' in result.err and "Traceback" not in result.err
    assert not db.exists()


def test_an_empty_stream_name_is_a_usage_error(eactl: Run, short: Path, tmp_path: Path) -> None:
    result = eactl("run", str(short), "--fast", "--db", str(tmp_path / "s.sqlite3"), "--lsl=")
    assert result.code == 2
    assert "is not a stream name: printable text, not empty" in result.err


def test_lsl_wait_waits_for_a_recorder_and_says_whether_one_came(
    eactl: Run, short: Path, tmp_path: Path, spy: type[Spy], monkeypatch: pytest.MonkeyPatch
) -> None:
    waited: list[float] = []

    def nobody(self: Spy, timeout_s: float) -> bool:  # no recorder on this machine
        waited.append(timeout_s)
        return False

    monkeypatch.setattr(Spy, "wait_for_consumers", nobody)
    db = str(tmp_path / "s.sqlite3")
    result = eactl("run", str(short), "--fast", "--db", db, "--lsl", "--lsl-wait", "2.5")
    assert result.code == 0, result.err
    assert waited == [2.5]
    assert "no recorder connected within 2.5 s: starting anyway" in result.out
    names = [m["marker"] for m in spy.made[0].markers]
    assert names[0] == "session_start"  # the wait came before the session's first event
    refused = eactl("run", str(short), "--fast", "--db", db, "--lsl", "--lsl-wait", "-1")
    assert refused.code == 2 and "is not 0 to 600 seconds" in refused.err
