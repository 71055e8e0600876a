"""The live view's text and the console's handling of keys, without a device."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import pytest

from eacontrol.cli.console import LiveConsole
from eacontrol.cli.keys import Action, Command
from eacontrol.cli.liveview import KEY_HELP, Screen, progress_bar, remaining_s, render
from eacontrol.device import ChannelReport, DeviceStatus
from eacontrol.errors import ParameterError, SessionError
from eacontrol.profiles import load_profile
from eacontrol.session import EventKind, Progress, SessionEvent, SessionPlan, SessionState
from firmware_protocol import ChannelState

PLAN = SessionPlan.build(load_profile("research_template"))  # 2 steps of 600 s on channel 1


def _status(measured_mA: float, ohm: int | None) -> DeviceStatus:
    report = ChannelReport(1, ChannelState.RUNNING, (), 2.0, 2.0, measured_mA, ohm, 2.0)
    return DeviceStatus(0.0, 1, 10.0, 0.5, 1, 0, True, True, False, True, (report,))


def _screen(**changes: Any) -> Screen:
    base = {
        "title": "Research template",
        "device": "device EA-SIM-6 SIM-1, firmware 1.0.0, on sim://",
        "simulated": True,
        "session_id": 7,
        "selected": 1,
        "message": "",
        "events": ("00:03  channel 1 reached 2 mA",),
        "faults": (),
        "interactive": True,
    }
    return Screen(**(base | changes))


def test_progress_bar() -> None:
    assert progress_bar(0.0, 10) == "[----------]   0%"
    assert progress_bar(0.25, 10) == "[##--------]  25%"
    assert progress_bar(1.5, 10) == "[##########] 100%"


def test_remaining_counts_the_running_step_and_the_later_ones() -> None:
    first = PLAN.steps[0]
    progress = Progress(100.0, SessionState.RUNNING, first, 100.0, {1: 2.0})
    assert remaining_s(PLAN, progress, 0.0) == 500 + 600
    between = Progress(601.0, SessionState.RUNNING, None, 0.0, {})
    assert remaining_s(PLAN, between, 600.0) == 600


def test_render_the_running_view() -> None:
    progress = Progress(130.0, SessionState.RUNNING, PLAN.steps[0], 125.0, {1: 2.5})
    lines = render(_screen(), PLAN, progress, _status(2.49, 1020), 0.0)
    assert lines[0] == "*** SIMULATED DEVICE ***   eactl run: Research template"
    assert lines[1].endswith("on sim://   session 7")
    assert lines[2] == "patient not given   operator not given"
    assert lines[3] == "Stimulating   step 1/2 (2 Hz)   step 02:05 of 10:00"
    assert lines[4].startswith("elapsed 02:10   remaining 17:55   [")
    header = lines[6].split()
    assert header[:3] == ["CH", "POINTS", "MODE"]
    row = [">1", "-", "2", "Hz", "continuous", "2", "Hz", "2.5", "2.00", "2.49", "1020", "on"]
    assert lines[8].split() == row
    assert lines[10] == "faults: none"
    assert lines[12] == "events:"
    assert lines[13] == "  00:03  channel 1 reached 2 mA"
    assert lines[-1] == KEY_HELP


def test_render_open_electrode_fault_and_no_status_yet() -> None:
    progress = Progress(0.0, SessionState.PREFLIGHT, None, 0.0, {})
    screen = _screen(simulated=False, faults=("channel 1: ELECTRODE",), interactive=False)
    lines = render(screen, PLAN, progress, None, 0.0)
    assert "SIMULATED" not in lines[0]
    assert lines[3] == "Checking the device"
    assert lines[8].split() == [">1"] + ["-"] * 8
    assert "faults: channel 1: ELECTRODE" in lines
    assert KEY_HELP not in lines
    with_open = render(_screen(), PLAN, progress, _status(0.0, None), 0.0)
    assert "open/unknown" in with_open[8]


@dataclass
class FakeSession:
    """The part of a Session the console uses; records the calls."""

    plan: SessionPlan = PLAN
    state: SessionState = SessionState.RUNNING
    calls: list[str] = field(default_factory=list)
    refuse: Exception | None = None
    t_s: float = 0.0
    session_id: int | None = 1

    def _call(self, name: str) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.calls.append(name)

    result: None = None
    wait_s: float = 0.0

    def adjust(self, channel: int, delta: float) -> None:
        self._call(f"adjust {channel} {delta:+g}")

    def set_intensity(self, channel: int, intensity_mA: float) -> None:
        self._call(f"set {channel} {intensity_mA:g}")

    def increase_wait_s(self, channel: int) -> float:
        return self.wait_s

    def pause(self) -> None:
        self._call("pause")

    def resume(self) -> None:
        self._call("resume")

    def stop(self) -> None:
        self._call("stop")

    def emergency_stop(self) -> None:
        self._call("emergency_stop")

    def progress(self) -> Progress:
        return Progress(self.t_s, self.state, PLAN.steps[0], 1.0, {1: 2.5})


class FakeTerminal:
    interactive = True

    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands

    def read(self, timeout_s: float) -> list[Command]:
        commands, self.commands = self.commands, []
        return commands


class StillClock:
    def now(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        """Nothing: the tests do not wait."""


def _console(session: FakeSession, commands: list[Command]) -> tuple[LiveConsole, io.StringIO]:
    out = io.StringIO()
    console = LiveConsole(
        session,  # type: ignore[arg-type]
        FakeTerminal(commands),  # type: ignore[arg-type]
        out,
        StillClock(),
        lambda: None,
        title="t",
        device_line="d",
        simulated=True,
        pace=False,
        size=lambda: (200, 40),
    )
    return console, out


@pytest.mark.parametrize(
    ("commands", "calls"),
    [
        ([Command(Action.RAISE)], ["adjust 1 +0.5"]),
        ([Command(Action.LOWER)], ["adjust 1 -0.5"]),
        ([Command(Action.PAUSE)], ["pause"]),
        ([Command(Action.STOP)], ["stop"]),
        ([Command(Action.EMERGENCY)], ["emergency_stop"]),
        ([Command(Action.SELECT, 3), Command(Action.RAISE)], ["adjust 1 +0.5"]),  # no channel 3
    ],
)
def test_keys_become_session_calls(commands: list[Command], calls: list[str]) -> None:
    session = FakeSession()
    console, _ = _console(session, commands)
    console.tick(session)  # type: ignore[arg-type]
    assert session.calls == calls


def test_pause_key_resumes_a_paused_session() -> None:
    session = FakeSession(state=SessionState.PAUSED)
    console, out = _console(session, [Command(Action.PAUSE)])
    console.tick(session)  # type: ignore[arg-type]
    assert session.calls == ["resume"]
    assert "> resuming: re-ramping from zero" in out.getvalue()


@pytest.mark.parametrize(
    "error",
    [
        ParameterError("intensity_mA", 11.0, "<= 10 mA on channel 1", source="the profile"),
        SessionError("cannot change an intensity: the session is paused"),
    ],
)
def test_a_refusal_is_shown_not_raised(error: Exception) -> None:
    session = FakeSession(refuse=error)
    console, out = _console(session, [Command(Action.RAISE)])
    console.tick(session)  # type: ignore[arg-type]
    assert f"> refused: {error}" in out.getvalue()


def test_unknown_channel_is_explained() -> None:
    session = FakeSession()
    console, out = _console(session, [Command(Action.SELECT, 4)])
    console.tick(session)  # type: ignore[arg-type]
    assert "> channel 4 is not in this profile (channels 1)" in out.getvalue()


@pytest.mark.parametrize(
    ("commands", "calls"),
    [
        ([Command(Action.ZERO)], ["set 1 0"]),
        ([Command(Action.ZERO_ALL)], ["set 1 0"]),  # every channel with a target above zero
        ([Command(Action.LOWER)] * 3, ["adjust 1 -0.5"] * 3),  # a held ↓: every repeat
    ],
)
def test_i16_02_zero_keys_and_repeats_become_session_calls(
    commands: list[Command], calls: list[str]
) -> None:
    session = FakeSession()
    console, _ = _console(session, commands)
    console.tick(session)  # type: ignore[arg-type]
    assert session.calls == calls


def test_i16_02_a_raise_refused_for_timing_says_how_long_to_wait() -> None:
    refusal = ParameterError("intensity_mA", 3.0, "an increase at least 1 s after the previous")
    session = FakeSession(refuse=refusal, wait_s=0.35)
    console, out = _console(session, [Command(Action.RAISE)])
    console.tick(session)  # type: ignore[arg-type]
    assert "> channel 1: wait 0.4 s to raise again (lowering never waits)" in out.getvalue()
    assert "out of range" not in out.getvalue()


def test_i16_07_help_lists_every_key_and_an_unknown_key_points_to_it() -> None:
    session = FakeSession()
    console, out = _console(session, [Command(Action.HELP)])
    console.tick(session)  # type: ignore[arg-type]
    shown = out.getvalue()
    for key in ("↑ or +", "↓ or -", "0 ", "z ", "1 … 8", "p ", "s or q", "Esc or space", "?"):
        assert f"  {key}" in shown, key
    console, out = _console(session, [Command(Action.UNKNOWN, key="x")])
    console.tick(session)  # type: ignore[arg-type]
    assert "> the key x does nothing here: press ? for the keys" in out.getvalue()


def test_i16_06_a_long_fault_is_folded_never_cut_and_the_log_goes_first() -> None:
    fault = "ALARM: device mismatch: channel 1 reports target_uA 5000 uA, commanded 2000 uA"
    progress = Progress(130.0, SessionState.RUNNING, PLAN.steps[0], 125.0, {1: 2.5})
    screen = _screen(faults=(fault,), message="refused: " + "x " * 40)
    lines = render(screen, PLAN, progress, _status(2.49, 1020), 0.0, size=(60, 15))
    assert len(lines) <= 15 and all(len(line) < 60 for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("faults: "))
    folded = " ".join(line.strip() for line in lines[start : start + 2])
    assert folded == f"faults: {fault}"
    assert "events:" not in lines
    assert lines[-1].startswith("Esc/space EMERGENCY STOP")
    assert any(line.startswith("elapsed 02:10") for line in lines)
    assert any(line.startswith(">1 ") for line in lines)


def test_i16_02_a_channel_already_at_zero_records_nothing() -> None:
    session = FakeSession()
    session.progress = lambda: Progress(0.0, SessionState.RUNNING, PLAN.steps[0], 1.0, {1: 0.0})  # type: ignore[method-assign]
    console, out = _console(session, [Command(Action.ZERO), Command(Action.LOWER)])
    console.tick(session)  # type: ignore[arg-type]
    assert session.calls == []
    assert "> channel 1 is already at zero" in out.getvalue()


def test_i13_frames_refused_as_not_this_hosts_show_as_an_alarm() -> None:
    session = FakeSession()
    console, out = _console(session, [])
    message = "the device refused 1 frame(s) not signed by this computer's session: ..."
    console.event(SessionEvent(7.0, EventKind.INTRUSION, None, message, {"bad_tag": 1}))
    console.tick(session)  # type: ignore[arg-type]
    assert f"faults: ALARM: {message}" in out.getvalue()
