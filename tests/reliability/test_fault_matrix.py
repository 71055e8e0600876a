"""The fault matrix (issue 8, part 2): every fault kind of the simulator crossed with every phase
of a session, over ``sim://`` in virtual time.

A short two-step profile runs through the session runner (``eacontrol.session.Session``) on a
fresh simulated device per cell. One fault is injected inside one phase, at a time computed from
a clean run of the same profile (the *timeline*), through the simulator's own fault layer:
``sim://`` options and scenario files for the link and device faults, and the application's own
code (``on_tick`` or a subscriber) for the blocked loop. Every cell must end with

1. the device's outputs at zero no later than one lease plus one check period after the last
   lease renewal the device received (on the device's clock, watched at every instant the
   device acts: ``conftest.DeviceWatch``), and at the session's end unless the link was gone;
2. the outcome of ``EXPECTED`` recorded, with a detail naming the fault (and its channel);
3. every event the host published in the database, as published, and every step that started
   recorded as ended;
4. the session ended (not ``running``) in the record and in the runner.

The matrix (outcome and time to zero per cell) is printed at the end of the pytest run and kept
in ``docs/reliability.md``.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import serial
from children import spawn
from profile_text import profile_toml
from run_report import NOT_RUN
from scenario_file import scenario

from eacontrol.device import Stimulator, connect
from eacontrol.errors import EAError, LinkLost, SessionStopped, StopNotConfirmed
from eacontrol.link import Transport
from eacontrol.profiles import Profile, loads_profile
from eacontrol.records import ALARM_KIND, Outcome, RecordStore, SessionSummary
from eacontrol.records.alarm import ALARMS
from eacontrol.session import EventKind, Session, SessionEvent, SessionState
from simulator import Direction, SimSerial, register_url_handler

from .conftest import DeviceWatch, ReliabilityReport
from .matrix14 import ROWS, SIGNAL_ROWS

register_url_handler()

START = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
LEASE_MS = 500
SEED = 8
RAMP_S = 2.0

PROFILE_TOML = profile_toml(
    "Reliability: two short steps on two channels",
    {
        "label": "2 Hz",
        "mode": "continuous",
        "frequency_hz": 2,
        "phase_width_us": 300,
        "intensity_mA": 2,
        "ramp_up_s": 2,
        "ramp_down_s": 2,
        "duration_s": 7,
    },
    {
        "label": "100 Hz",
        "mode": "continuous",
        "frequency_hz": 100,
        "phase_width_us": 200,
        "intensity_mA": 2.5,
        "ramp_up_s": 2,
        "ramp_down_s": 2,
        "duration_s": 7,
    },
)
"""Two 7 s steps (2 s ramps, 3 s hold) on channels 1 and 2: every phase of a session, and a
step boundary, in about 14 s of session time."""

PHASES = ("pre-flight", "ramp", "hold", "transition", "ramp-down")
LINK_FAULTS = {
    # kind: (rate per frame, each direction, while the phase lasts; extra scenario keys)
    "drop": (0.2, ""),
    "duplicate": (0.3, ""),
    "corrupt": (0.2, ""),
    "truncate": (0.2, ""),
    "delay": (0.3, "delay_ms = 50\n"),
}
"""Transient link faults. Drop, corrupt and truncate lose the frame: at 20 % each way a command
fails all 12 transmissions with probability (1 - 0.8²)^12 ≈ 5e-6, so retransmission absorbs
them. A 50 ms delay is longer than the host's 40 ms reply timeout: it forces retransmissions and
late duplicates too. Besides the rate, the first two frames of the phase (each way) are always
hit, so every link cell injects faults even in the short pre-flight."""
KINDS = (
    *LINK_FAULTS,
    "unplug",
    "reboot",
    "electrode off",
    "compliance",
    "stuck output",
    "lease (blocked loop)",
)

C, F, L, S = Outcome.COMPLETED, Outcome.FAULT, Outcome.LINK_LOST, Outcome.STOP_NOT_CONFIRMED
EXPECTED: dict[str, tuple[Outcome, Outcome, Outcome, Outcome, Outcome]] = {
    #                       pre-flight ramp hold transition ramp-down
    "drop": (C, C, C, C, C),
    "duplicate": (C, C, C, C, C),
    "corrupt": (C, C, C, C, C),
    "truncate": (C, C, C, C, C),
    "delay": (C, C, C, C, C),
    "unplug": (L, L, L, L, S),
    "reboot": (F, F, F, F, F),
    "electrode off": (C, C, C, C, C),
    "compliance": (C, C, C, C, C),
    "stuck output": (F, F, F, F, F),
    "lease (blocked loop)": (C, F, F, F, F),
}
"""The outcome each cell must record. Why, where it is not obvious:

- unplug in the ramp-down: the cable goes while the session's own final STOP waits for the
  device's confirmation, so the record says the stop was not confirmed (the hard alarm,
  docs/architecture.md) rather than only that the link was lost; the device stops by its lease.
- a blocked loop in pre-flight: nothing stimulates yet, so the lease simply lapses (PROTOCOL.md
  §3.5: no fault with no output active); the next heartbeat grants a new one and the session
  runs to its end. With an output active, the lease's expiry closes the session for good
  (PROTOCOL.md major 2, §3.5): the record names the device's closing reason, LEASE.
- electrode off and compliance concern one channel's load: the channel is held at zero and the
  session goes on to its end (issue 16 item 3, docs/safety.md); the cell checks the channel was
  held. Stuck output in pre-flight is injected while the first step is being programmed: the
  device finds it at its next check and the session ends as a fault.
"""
HELD = frozenset({"electrode off", "compliance"})
"""Kinds that hold their channel rather than end the session (issue 16 item 3)."""

DETAIL: dict[str, str] = {
    "electrode off": r"channel 1 .*ELECTRODE",
    "compliance": r"channel 1 .*COMPLIANCE",
    "stuck output": r"channel 1 .*STUCK_OUTPUT",
    "reboot": r"REBOOT",
    "lease (blocked loop)": r"closed session \d+ \(LEASE\)|channel \d .*LEASE",
}
"""What the record's detail must name, for the fault outcomes."""
OUTCOME_DETAIL = {
    Outcome.COMPLETED: r"every step ran",
    Outcome.LINK_LOST: r"link lost",
    Outcome.STOP_NOT_CONFIRMED: r"NOT CONFIRMED.*link failed",
}
RAISES: dict[Outcome, type[BaseException] | None] = {
    C: None,
    F: SessionStopped,
    L: LinkLost,
    S: StopNotConfirmed,
}

# --- the timeline of a clean run --------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    """Device times (s) of a clean run's milestones: where each phase lies.

    Attributes:
        begin: the session's record began (pre-flight's checks done, programming next).
        start: START of each step acknowledged.
        ramp_down: each step's ramp-down STOP about to be sent.
        ended: each step's end recorded (confirmed zero, totals read).
        end: the session ended.
        samples: (session time, channel) of every sample the clean run recorded.
    """

    begin: float
    start: tuple[float, float]
    ramp_down: tuple[float, float]
    ended: tuple[float, float]
    end: float
    samples: frozenset[tuple[float, int]] = frozenset()

    def window(self, phase: str) -> tuple[float, float]:
        """Device-time window of a phase, for link faults."""
        first, last = self.start[0], self.start[-1]
        return {
            "pre-flight": (0.0, first),  # from the connection on, until START
            "ramp": (first, first + RAMP_S),
            "hold": (first + RAMP_S, self.ramp_down[0]),
            # the first step's confirmed stop, its totals, programming and START of the next
            "transition": (self.ended[0] - 0.5, last + 0.5),
            "ramp-down": (self.ramp_down[-1], self.end),
        }[phase]

    def instant(self, phase: str) -> float:
        """Device time inside a phase, for device faults."""
        first = self.start[0]
        return {
            "pre-flight": (self.begin + first) / 2,  # while the first step is programmed
            "ramp": first + RAMP_S / 2,
            "hold": (first + RAMP_S + self.ramp_down[0]) / 2,
            "transition": (self.ended[0] + self.start[1]) / 2,  # between the two steps
            "ramp-down": self.ramp_down[-1] + RAMP_S / 2,
        }[phase]


def _is(event: SessionEvent, pattern: str) -> bool:
    return event.kind is EventKind.PROGRESS and re.match(pattern, event.message) is not None


@pytest.fixture(scope="module")
def profile() -> Profile:
    return loads_profile(PROFILE_TOML)


@pytest.fixture(scope="module")
def timeline(profile: Profile, tmp_path_factory: pytest.TempPathFactory) -> Timeline:
    """Run the profile once without faults and read where its phases lie."""
    with Cell.open("", tmp_path_factory.mktemp("timeline"), profile) as cell:
        cell.session.run()
        t0 = cell.port.clock.now() - cell.session.t_s  # device time of session time 0

        def times(pattern: str) -> tuple[float, ...]:
            return tuple(t0 + e.t_s for e in cell.published if _is(e, pattern))

        assert cell.outcome() is Outcome.COMPLETED
        begin, *_ = times("session started")
        start, ramp_down, ended = (
            times(r"step \d/2 .* started"),
            times(r"step \d: ramping"),
            times(r"step \d \(.*\) ended"),
        )
        assert len(start) == len(ramp_down) == len(ended) == 2
        assert cell.session.session_id is not None
        samples = frozenset((s.t_s, s.channel) for s in cell.store.samples(cell.session.session_id))
        end = t0 + cell.session.t_s
        return Timeline(begin, start[:2], ramp_down[:2], ended[:2], end, samples)


# --- one cell ---------------------------------------------------------------------------------


@dataclass
class Cell:
    """One session on a fresh simulated device, watched.

    Attributes:
        extras: what a row's injection keeps for its checks (``matrix14.Row``).
    """

    port: SimSerial
    watch: DeviceWatch
    stim: Stimulator
    store: RecordStore
    db_path: Path
    session: Session
    published: list[SessionEvent]
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def open(cls, query: str, tmp_path: Path, profile: Profile) -> Iterator[Cell]:
        url = f"sim://?channels=2&seed={SEED}&{query}"
        port = serial.serial_for_url(url)
        assert isinstance(port, SimSerial)
        watch = DeviceWatch.install(port)
        stim = connect(transport=Transport(port, url), lease_ms=LEASE_MS)
        db_path = tmp_path / "sessions.sqlite3"
        store = RecordStore.open(db_path)
        session = Session(stim, profile, store=store, utc_now=lambda: START)
        cell = cls(port, watch, stim, store, db_path, session, [])
        session.subscribe(cell.published.append)
        try:
            yield cell
        finally:
            with contextlib.suppress(EAError):  # a lost link or a stop: nothing more to do
                stim.close(immediate=True)
            cell.store.close()

    @property
    def t0_device_s(self) -> float:
        """Device time of session time 0."""
        return self.port.clock.now() - self.session.t_s

    def reopen(self) -> None:
        """Close the session's store (whatever it still had to write lands first) and read the
        file afresh, read-only: the checks look at what is on disk."""
        self.store.close()
        self.store = RecordStore.open(self.db_path, read_only=True)

    def outcome(self) -> Outcome:
        assert self.session.session_id is not None
        return self.store.session(self.session.session_id).outcome


Tick = Callable[[Session], None] | None
Listener = Callable[[SessionEvent], None] | None


def injection(
    kind: str, phase: str, timeline: Timeline, tmp_path: Path
) -> tuple[str, Callable[[Cell], tuple[Tick, Listener]] | None]:
    """The ``sim://`` query of a cell and, for a blocked loop, a builder of the ``on_tick`` or
    subscriber that blocks."""
    if kind in LINK_FAULTS:
        rate, extra = LINK_FAULTS[kind]
        start_s, stop_s = timeline.window(phase)
        burst_s = timeline.begin if phase == "pre-flight" else start_s
        text = (
            f'[[fault]]\nkind = "{kind}"\nrate = {rate}\nstart_s = {start_s}\n'
            f"stop_s = {stop_s}\n{extra}"
            f'[[fault]]\nkind = "{kind}"\nat_s = {burst_s}\ncount = 2\n{extra}'
        )
        return scenario(tmp_path, text), None
    if kind == "lease (blocked loop)":
        return "", blocked_loop(phase, timeline)
    at_s = timeline.instant(phase)
    if kind == "unplug":
        query = f"unplug_at={at_s}"
    elif kind == "reboot":
        query = f"reboot_at={at_s}"
    elif kind == "electrode off":
        query = f"electrode_off=1@{at_s}"
    elif kind == "compliance":
        # The needle barely in contact: 100 kOhm needs 200 V for 2 mA; the device gives 60 V.
        event = 'kind = "load"\nchannel = 1\nload = "100k"\n'
        query = scenario(tmp_path, f"[[event]]\nat_s = {at_s}\n{event}")
    else:  # stuck output: the output stage drives 1.5 mA DC whatever the firmware does
        event = 'kind = "stuck_output"\nchannel = 1\ncurrent_uA = 1500\n'
        query = scenario(tmp_path, f"[[event]]\nat_s = {at_s}\n{event}")
    return query, None


def blocked_loop(phase: str, timeline: Timeline) -> Callable[[Cell], tuple[Tick, Listener]]:
    """The application hangs for one lease plus one check period, once, inside ``phase``.

    The loop calls the application in ``on_tick`` (ramp, hold) and in its subscribers (every
    event): in pre-flight when the session starts, at the transition when the second step's
    START was acknowledged, in the ramp-down when its STOP is about to be sent (the runner's
    own stop confirmation keeps the lease while the ramp-down runs).
    """
    first = timeline.start[0]
    at_event = {
        "pre-flight": r"session started",
        "transition": r"step 2/2 .* started",
        "ramp-down": r"step 2: ramping down",
    }
    at_time = {"ramp": first + RAMP_S / 2, "hold": (first + RAMP_S + timeline.ramp_down[0]) / 2}

    def build(cell: Cell) -> tuple[Tick, Listener]:
        done: list[float] = []

        def hang() -> None:
            done.append(cell.port.clock.now())
            cell.port.clock.sleep(cell.watch.bound_us / 1e6)

        if phase in at_time:

            def tick(session: Session) -> None:
                if not done and cell.port.clock.now() >= at_time[phase]:  # device time
                    hang()

            return tick, None

        def listener(event: SessionEvent) -> None:
            if not done and _is(event, at_event[phase]):
                hang()

        return None, listener

    return build


# --- the matrix -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """A cell as it ended: the outcome recorded, the time from the last lease grant to every
    output at zero (None: no output was ever on), and the outcome the cell expects."""

    outcome: Outcome
    time_to_zero_ms: float | None
    expected: str

    @classmethod
    def of(cls, outcome: Outcome, time_to_zero_us: float | None, expected: str) -> Measured:
        """The cell, from the time to zero in µs as the watch measures it."""
        ms = None if time_to_zero_us is None else time_to_zero_us / 1000
        return cls(outcome, ms, expected)


@pytest.fixture(scope="module")
def matrix(reliability_report: ReliabilityReport) -> Iterator[dict[tuple[str, str], Measured]]:
    """The cells as they run; printed as a table at the end of the pytest run."""
    cells: dict[tuple[str, str], Measured] = {}
    yield cells
    if cells:
        reliability_report.sections["fault matrix (issues 8.2, 14)"] = render(cells)


def render(cells: dict[tuple[str, str], Measured]) -> list[str]:
    """The matrix as a Markdown table: outcome and time to zero per cell."""
    kinds = (*KINDS, *ROWS, *SIGNAL_ROWS)
    width = max(len(k) for k in kinds)
    head = f"| {'fault':<{width}} | " + " | ".join(f"{p:<30}" for p in PHASES) + " |"
    lines = [head, "|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|"]
    for kind in kinds:
        row = []
        for phase in PHASES:
            m = cells.get((kind, phase))
            if m is None:
                text = NOT_RUN
            else:
                ttz = "—" if m.time_to_zero_ms is None else f"{m.time_to_zero_ms:.0f} ms"
                wrong = "" if m.outcome.value == m.expected else "✗ "
                text = f"{wrong}{m.outcome.value} · {ttz}"
            row.append(f"{text:<30}")
        lines.append(f"| {kind:<{width}} | " + " | ".join(row) + " |")
    lines.append(
        "outcome recorded · time from the device's last lease renewal to every output at zero "
        "(device clock; bound: lease 500 ms + check 10 ms); —: no output was ever on; ✗: not the "
        "outcome the cell expects (EXPECTED, matrix14.ROWS): its test fails."
    )
    return lines


def cell_id(kind: str, phase: str) -> str:
    """A cell's test id: ``reboot-ramp-down``, ``DB_lock_1.5_s-hold``."""
    return re.sub(r"[ (),]+", "_", kind).strip("_") + f"-{phase}"


def cells(kinds: Iterable[str] = KINDS) -> list[Any]:
    """Every (kind, phase), with readable ids."""
    return [
        pytest.param(kind, phase, id=cell_id(kind, phase)) for kind in kinds for phase in PHASES
    ]


def normalised(event: Any) -> tuple[Any, ...]:
    """An event as the database keeps it (its data through JSON)."""
    data = json.loads(json.dumps(event.data))
    return (event.t_s, str(event.kind), event.channel, event.message, data)


@dataclass(frozen=True)
class Ended:
    """How a cell's session ended, looked at after the device had a lease to act on its own."""

    record: SessionSummary
    raised: EAError | None
    on_at_end: bool
    time_to_zero_us: int | None


def run_to_the_end(
    cell: Cell, tick: Tick = None, settle: Callable[[Cell], None] | None = None
) -> Ended:
    """Run the session, then let one lease and one check period pass with nobody keeping the
    device (the host let go at the session's end, or lost the link), and look; then let the
    world recover (``settle``: a lock let go, space freed) and read the record from the file."""
    raised: EAError | None = None
    try:
        cell.session.run(on_tick=tick)
    except EAError as err:
        raised = err
    on_at_end = cell.watch.outputs_on()
    cell.port.clock.sleep(cell.watch.bound_us / 1e6)
    cell.watch.observe()
    if settle is not None:
        settle(cell)
    sid = cell.session.session_id
    assert sid is not None, f"no record began ({raised!r})"
    cell.reopen()
    return Ended(cell.store.session(sid), raised, on_at_end, cell.watch.time_to_zero_us())


def check_safe_and_recorded(cell: Cell, ended: Ended) -> None:
    """Checks 1, 3 and 4 of the module docstring (2, the outcome, is the caller's)."""
    watch, device, record = cell.watch, cell.port.device, ended.record

    # 1. Outputs at zero within one lease plus one check period of the last renewal, and at
    #    the session's end whenever its stop could be confirmed.
    assert not watch.violations, f"output on past the lease: {watch.violations[:3]}"
    assert device.outputs_off
    if watch.ever_on:
        ttz_us = ended.time_to_zero_us
        assert ttz_us is not None and ttz_us <= watch.bound_us
    if record.outcome not in (Outcome.LINK_LOST, Outcome.STOP_NOT_CONFIRMED):
        assert not ended.on_at_end, "the session ended with an output on"

    # 3. Nothing lost: every published event is in the database, as published, and every step
    #    that started has its end recorded.
    #    The store adds one event of its own: the alarm of an ending that left the outputs
    #    not confirmed off (records.alarm), last.
    stored = [normalised(e) for e in cell.store.events(record.id)]
    ours = [e for e in stored if e[1] == ALARM_KIND and e[3] in ALARMS.values()]
    assert [e[3] for e in ours] == ([ALARMS[record.outcome]] if record.outcome in ALARMS else [])
    assert [e for e in stored if e not in ours] == [normalised(e) for e in cell.published]
    assert all(step.ended_s is not None for step in cell.store.steps(record.id))

    # 4. Ended, in the record and in the runner.
    assert record.outcome is not Outcome.RUNNING and record.ended_at is not None
    assert cell.session.state is SessionState.ENDED
    assert cell.session.result is not None and cell.session.result.outcome is record.outcome


@pytest.mark.parametrize(("kind", "phase"), cells())
def test_fault_in_phase(
    kind: str,
    phase: str,
    profile: Profile,
    timeline: Timeline,
    matrix: dict[tuple[str, str], Measured],
    tmp_path: Path,
) -> None:
    expected = EXPECTED[kind][PHASES.index(phase)]
    query, blocker = injection(kind, phase, timeline, tmp_path)
    with Cell.open(query, tmp_path, profile) as cell:
        tick, listener = blocker(cell) if blocker is not None else (None, None)
        if listener is not None:
            cell.session.subscribe(listener)
        ended = run_to_the_end(cell, tick)
        record = ended.record
        counts = None
        if kind in LINK_FAULTS:
            layers = [cell.port.bench.link.fault_layer(d) for d in Direction]
            counts = sum(sum(layer.counts.values()) for layer in layers)
        matrix[kind, phase] = Measured.of(record.outcome, ended.time_to_zero_us, expected.value)
        check_safe_and_recorded(cell, ended)
        if counts is not None:
            assert counts >= 2, "the link fault was never injected"

        # 2. The right outcome, named.
        assert record.outcome is expected, f"{kind} in {phase}: {record.detail}"
        pattern = DETAIL.get(kind) if expected is Outcome.FAULT else OUTCOME_DETAIL[expected]
        assert pattern is not None and re.search(pattern, record.detail), record.detail
        want = RAISES[expected]
        raised = ended.raised
        assert isinstance(raised, want) if want is not None else raised is None, repr(raised)
        if kind in HELD:  # the channel was held at zero, the session went on
            assert [e for e in cell.published if e.kind is EventKind.FAULT and e.data.get("held")]
        elif expected is Outcome.COMPLETED:  # the retransmissions absorbed the faults
            assert not [e for e in cell.published if e.kind is EventKind.FAULT]
        if expected is Outcome.COMPLETED:
            assert len(cell.store.steps(record.id)) == len(profile.steps)


def test_a_reboot_between_steps_with_its_event_lost_is_a_fault(
    profile: Profile, timeline: Timeline, tmp_path: Path
) -> None:
    """Two faults at once, between the steps: the device reboots, and its EVENT REBOOT (the
    first frame it sends afterwards) is lost on the wire. The next command is answered NAK
    NO_SESSION, which must end the session as the reboot it is (a fault), not as an error
    (found by this test; fixed in bb265b0)."""
    at_s = timeline.instant("transition")
    text = (
        f'[[event]]\nat_s = {at_s}\nkind = "reboot"\n'
        f'[[fault]]\nkind = "drop"\ndirection = "to_host"\nat_s = {at_s}\ncount = 1\n'
    )
    with Cell.open(scenario(tmp_path, text), tmp_path, profile) as cell:
        ended = run_to_the_end(cell)
        check_safe_and_recorded(cell, ended)
        record = ended.record
        assert record.outcome is Outcome.FAULT, record.detail
        assert "REBOOT" in record.detail
        assert isinstance(ended.raised, SessionStopped)


@pytest.mark.parametrize(("kind", "phase"), cells(ROWS))
def test_i14_fault_in_phase(
    kind: str,
    phase: str,
    profile: Profile,
    timeline: Timeline,
    matrix: dict[tuple[str, str], Measured],
    tmp_path: Path,
) -> None:
    """An issue-14 row (``matrix14.ROWS``): the fault armed at the phase's instant, the same
    four checks as every cell, then the row's own."""
    row = ROWS[kind]
    expected = row.expected[PHASES.index(phase)]
    at_s = timeline.instant(phase)
    with (
        row.wrap(tmp_path) as wrapped,
        Cell.open(row.query(at_s, tmp_path), tmp_path, profile) as cell,
    ):
        cell.extras["wrapped"] = wrapped
        cell.extras["instant_s"] = at_s
        cell.extras["timeline"] = timeline
        row.arm(cell, at_s)
        ended = run_to_the_end(cell, row.tick(cell), settle=lambda c: row.settle(c))
        record = ended.record
        matrix[kind, phase] = Measured.of(record.outcome, ended.time_to_zero_us, expected)
        check_safe_and_recorded(cell, ended)
        assert record.outcome.value == expected, f"{kind} in {phase}: {record.detail}"
        if expected == Outcome.COMPLETED.value:
            assert ended.raised is None, repr(ended.raised)
            assert re.search(OUTCOME_DETAIL[Outcome.COMPLETED], record.detail), record.detail
            assert len(cell.store.steps(record.id)) == len(profile.steps)
        else:
            assert re.search(row.detail, record.detail), record.detail
        if expected in (Outcome.FAULT.value, "device_mismatch"):
            assert isinstance(ended.raised, SessionStopped), repr(ended.raised)
        row.check(cell, ended, phase)


SIGNAL_CHILD = Path(__file__).with_name("signal_child.py")


@pytest.mark.parametrize(("kind", "phase"), cells(SIGNAL_ROWS))
def test_i14_05_signal_in_phase(
    kind: str, phase: str, matrix: dict[tuple[str, str], Measured], tmp_path: Path
) -> None:
    """SIGTERM or SIGHUP to ``eactl run`` in a phase (``signal_child.py``, a child process: the
    pytest worker is never signalled): the process ends by itself, after a confirmed stop, with
    the session's record closed and naming the signal."""
    profile_path, db, report = (tmp_path / n for n in ("p.toml", "s.sqlite3", "r.json"))
    profile_path.write_text(PROFILE_TOML)
    argv = [sys.executable, str(SIGNAL_CHILD), kind, phase, str(profile_path), str(db)]
    child = spawn([*argv, str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    with RecordStore.open(db, read_only=True) as store:
        (summary,) = store.sessions()
        record = store.session(summary.id)
    result = json.loads(report.read_text()) if report.exists() else None
    ttz_us = None if result is None else result["time_to_zero_us"]
    matrix[kind, phase] = Measured.of(record.outcome, ttz_us, Outcome.STOPPED.value)
    signum = signal.Signals[kind]
    assert child.returncode >= 0, (
        f"eactl run was killed by {signal.Signals(-child.returncode).name}; the record says "
        f"{record.outcome.value}\n{err[-2000:]}"
    )
    assert result is not None, f"no report from the child (exit {child.returncode}): {err[-2000:]}"
    assert not result["violations"], f"output on past the lease: {result['violations'][:3]}"
    assert result["outputs_off"] and not result["on_at_end"], "eactl ended with an output on"
    assert result["signal_sent_at_s"] is not None, "the signal was never sent"
    assert record.outcome is Outcome.STOPPED, f"{record.outcome.value}: {record.detail}"
    assert record.ended_at is not None
    assert re.search(rf"ended by {signum.name}", record.detail), record.detail
    # 128 + the signal's number, as a shell reports a process the signal ended (docs/cli.md)
    assert result["exit_code"] == 128 + signum, (result["exit_code"], out[-1000:])
