"""Fixtures for the session runner: simulated devices over ``sim://`` (virtual time), a session
database, short test profiles and a runner that connects all three.

Tests may import ``simulator`` to inspect ``port.device``; the runner reaches the simulator only
through the ``sim://`` URL, like any device.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import profile_text
import pytest
import serial
from children import spawn

from eacontrol.device import Stimulator, connect
from eacontrol.device.pair_port import pair_port
from eacontrol.link import Transport
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import RecordStore
from eacontrol.session import Session, SessionEvent
from simulator import SimSerial, register_url_handler

register_url_handler()

START = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
CHECK_PERIOD_S = 0.01  # the reference device checks its lease at 100 Hz (PROTOCOL.md §3.5)


def two_channel_toml(
    *more_steps: Mapping[str, object],
    duration_s: float = 20,
    intensity_mA: float = 2,
    ceiling_mA: float = 6,
) -> str:
    """A short profile: 2 Hz continuous on channels 1 and 2 (ipsilateral pairs on each leg),
    then ``more_steps``."""
    step = {
        "label": "2 Hz",
        "mode": "continuous",
        "frequency_hz": 2,
        "phase_width_us": 300,
        "intensity_mA": intensity_mA,
        "ceiling_mA": ceiling_mA,
        "ramp_up_s": 2,
        "ramp_down_s": 2,
        "duration_s": duration_s,
    }
    return profile_text.profile_toml("Test: 2 Hz on two channels", step, *more_steps)


HUNDRED_HZ_STEP: Mapping[str, object] = {
    "label": "100 Hz",
    "channels": [1],
    "mode": "continuous",
    "frequency_hz": 100,
    "phase_width_us": 200,
    "intensity_mA": 3,
    "ramp_up_s": 3,
    "ramp_down_s": 2,
    "duration_s": 15,
}
"""Step 2 of a two-step profile: 100 Hz on channel 1 alone."""


@pytest.fixture
def short_profile() -> Profile:
    """Two channels, one 20 s step at 2 mA, ceiling 6 mA."""
    return loads_profile(two_channel_toml())


@dataclass
class Run:
    """A session on a simulated device: the stimulator, the port, the store and what happened."""

    stim: Stimulator
    port: SimSerial
    store: RecordStore
    session: Session
    events: list[SessionEvent] = field(default_factory=list)

    @property
    def device(self) -> Any:
        """The simulated device (``simulator.Device``; channel indices from 0)."""
        return self.port.device

    def run(self, on_tick: Callable[[Session], None] | None = None) -> Any:
        """Run the session and return its result."""
        return self.session.run(on_tick=on_tick)

    def kinds(self) -> list[str]:
        """The kinds of the recorded events, in order."""
        assert self.session.session_id is not None
        return [e.kind for e in self.store.events(self.session.session_id)]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite3"


@pytest.fixture
def session_on_sim(db_path: Path) -> Iterator[Callable[..., Run]]:
    """Factory: ``session_on_sim(profile, "seed=1&drop=0.2", lease_ms=500, **session_kwargs)``.

    Connects a Stimulator to a fresh simulated device (virtual time), or with ``port=`` to the
    device of an earlier run (a new session: major 2 never resumes one the device closed),
    opens the store and builds the Session; closes them at teardown (the device is stopped
    first).
    """
    opened: list[Run] = []

    def make(
        profile: Profile,
        query: str = "seed=1",
        *,
        lease_ms: int = 500,
        store: RecordStore | None = None,
        port: SimSerial | None = None,
        **kwargs: Any,
    ) -> Run:
        url = f"sim://?{query}"
        if port is None:
            port = serial.serial_for_url(url)
            assert isinstance(port, SimSerial)
        stim = connect(transport=Transport(port, url), lease_ms=lease_ms)
        store = store or RecordStore.open(db_path)
        kwargs.setdefault("utc_now", lambda: START)
        session = Session(stim, profile, store=store, **kwargs)
        run = Run(stim, port, store, session)
        session.subscribe(run.events.append)
        opened.append(run)
        return run

    yield make
    for run in opened:
        if not run.stim.closed:
            with contextlib.suppress(Exception):  # a lost link or stop: nothing more to do
                run.stim.close(immediate=True)
        run.store.close()


class Script:
    """An ``on_tick`` that runs each action once, at the first tick at or after its session time.

    Actions receive the session; what they return or raise is kept in ``results`` (by time), so
    a test can check a refusal without ending the session.
    """

    def __init__(self, *actions: tuple[float, Callable[[Session], object]]) -> None:
        self._actions = sorted(actions, key=lambda a: a[0])
        self.results: dict[float, object] = {}
        self.ticks = 0

    def __call__(self, session: Session) -> None:
        self.ticks += 1
        while self._actions and session.t_s >= self._actions[0][0]:
            t, action = self._actions.pop(0)
            try:
                self.results[t] = action(session)
            except Exception as err:  # kept for the test to inspect
                self.results[t] = err


@dataclass
class PtySimulator:
    """The simulator behind a pty in real time (``python -m simulator --pty``).

    Attributes:
        path: the pty's path, for ``connect``.
        log: the simulator's log file (every device EVENT, with its device time).
    """

    path: str
    log: Path


@pytest.fixture
def pty_simulator(tmp_path: Path) -> Iterator[Callable[..., PtySimulator]]:
    """Factory: ``pty_simulator("--seed", "1")`` starts one, paired with this test's key store
    (``XDG_CONFIG_HOME``, tests/conftest.py); each is stopped with SIGTERM."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> PtySimulator:
        log = tmp_path / f"simulator{len(started)}.log"
        with log.open("w") as err:
            process = spawn(  # SIGTERM at its default, whatever the launcher does with it
                [sys.executable, "-m", "simulator", "--pty", "--pairing-window", "60", *options],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        started.append(process)
        assert process.stdout is not None
        path = process.stdout.readline().strip()
        assert path.startswith("/dev/"), f"expected a pty path, got {path!r}"
        pair_port(path)
        return PtySimulator(path, log)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
