"""The runner's parts without a device: live control rules and queue, the step timer, event
kinds, subscribers, and the ending each exception calls for."""

from __future__ import annotations

import logging

import pytest

from eacontrol.device import DeviceEvent
from eacontrol.errors import (
    DeviceFault,
    Layer,
    LinkLost,
    LinkTimeout,
    ParameterError,
    RecordError,
    StopNotConfirmed,
)
from eacontrol.profiles import load_profile
from eacontrol.profiles.titration import IntensityMode
from eacontrol.records import Outcome
from eacontrol.session import (
    EventKind,
    Intent,
    LiveControl,
    Request,
    SessionEvent,
    SessionPlan,
    StepTimer,
    StopKind,
    Subscribers,
    ending_for,
    from_device_event,
)
from firmware_protocol import EventCode


@pytest.fixture
def control() -> LiveControl:
    live = LiveControl()
    han = load_profile("lbp_2_100hz_han")  # titrated: its 3 mA target made fixed here
    fixed = {"intensity": IntensityMode.FIXED, "start_intensity_mA": None, "sensation": None}
    han = han.model_copy(update={"steps": (han.steps[0].model_copy(update=fixed),)})
    live.begin_step(SessionPlan.build(han).steps[0])  # 3 mA, ≤ 10
    return live


def test_a_change_within_the_rules_becomes_the_target(control: LiveControl) -> None:
    assert control.change(1, 3.5, t_s=10.0) == 3.0
    assert control.change(1, 3.1, t_s=11.0) == 3.5  # 1 s later, 0.4 mA down
    assert control.change(1, 3.0 + 0.1 + 0.1, t_s=12.0) == 3.1  # float sums are fine
    assert control.targets == {1: 3.2, 2: 3.0}


@pytest.mark.parametrize(
    ("channel", "value", "parameter", "layer"),
    [
        (3, 3.0, "channel", Layer.PROFILE),
        (True, 3.0, "channel", Layer.PROFILE),
        (1, float("nan"), "intensity_mA", Layer.SCHEMA),
        (1, -0.1, "intensity_mA", Layer.SCHEMA),
        (1, 3.0004, "intensity_mA", Layer.SCHEMA),  # finer than the wire's 1 µA
        (1, 3.6, "intensity_mA", Layer.STANDARD),
    ],
)
def test_a_change_breaking_a_rule_is_refused_and_not_made(
    control: LiveControl, channel: object, value: float, parameter: str, layer: Layer
) -> None:
    with pytest.raises(ParameterError) as info:
        control.change(channel, value, t_s=10.0)  # type: ignore[arg-type]
    assert (info.value.parameter, info.value.layer) == (parameter, layer)
    assert control.targets == {1: 3.0, 2: 3.0}


def test_no_change_between_steps(control: LiveControl) -> None:
    control.end_step()
    with pytest.raises(ParameterError, match="none"):
        control.change(1, 3.0, t_s=1.0)


def test_an_emergency_stop_jumps_the_queue(control: LiveControl) -> None:
    control.request(Request(Intent.SET_INTENSITY, 1.0, 1, 3.5))
    control.request(Request(Intent.PAUSE, 1.0))
    control.request(Request(Intent.EMERGENCY_STOP, 1.1))
    assert control.pending(Intent.PAUSE) and not control.pending(Intent.RESUME)
    assert [r.intent for r in control.drain()] == [
        Intent.EMERGENCY_STOP,
        Intent.SET_INTENSITY,
        Intent.PAUSE,
    ]
    assert list(control.drain()) == []


def test_the_step_timer_holds_while_paused() -> None:
    timer = StepTimer(started_s=2.0)
    assert timer.elapsed(5.0) == 3.0
    timer.hold(5.0)
    timer.hold(6.0)  # a second hold changes nothing
    assert timer.held and timer.elapsed(9.0) == 3.0
    timer.release(9.0)
    assert not timer.held and timer.elapsed(10.0) == 4.0 and timer.paused_s == 4.0


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (EventCode.ELECTRODE_FAULT, EventKind.FAULT),
        (EventCode.LEASE_EXPIRED, EventKind.FAULT),
        (EventCode.REBOOT, EventKind.FAULT),
        (EventCode.RAMP_DONE, EventKind.PROGRESS),
        (EventCode.STOPPED, EventKind.STOP),
        (EventCode.MAX_RUN_TIME, EventKind.WARNING),
    ],
)
def test_device_events_become_session_events(code: EventCode, kind: EventKind) -> None:
    event = DeviceEvent(code, 2, 0, 12.5, 100.0)
    session_event = from_device_event(event, 99.0)
    assert (session_event.t_s, session_event.kind, session_event.channel) == (99.0, kind, 2)
    assert session_event.data["code"] == code.name
    assert session_event.message == event.describe()


def test_a_failing_subscriber_raises_except_while_stopping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    subscribers = Subscribers()
    heard: list[SessionEvent] = []
    unsubscribe = subscribers.add(heard.append)

    def broken(event: SessionEvent) -> None:
        raise RuntimeError("display crashed")

    subscribers.add(broken)
    event = SessionEvent(1.0, EventKind.PROGRESS, None, "x")
    with pytest.raises(RuntimeError):
        subscribers.publish(event)
    with caplog.at_level(logging.ERROR):
        subscribers.publish(event, quiet=True)
    assert "subscriber failed" in caplog.text
    unsubscribe()
    subscribers.publish(event, quiet=True)
    assert heard == [event, event]


@pytest.mark.parametrize(
    ("exc", "outcome", "stop", "totals"),
    [
        (DeviceFault("x", 2, ["ELECTRODE"]), Outcome.FAULT, StopKind.RAMP_DOWN, True),
        (DeviceFault("x", None, ["REBOOT"]), Outcome.FAULT, StopKind.IMMEDIATE, False),
        (LinkLost("gone"), Outcome.LINK_LOST, StopKind.NONE, False),
        (StopNotConfirmed("alarm"), Outcome.STOP_NOT_CONFIRMED, StopKind.NONE, False),
        (RecordError("locked"), Outcome.RECORDS_UNAVAILABLE, StopKind.IMMEDIATE, False),
        (KeyboardInterrupt(), Outcome.STOPPED, StopKind.IMMEDIATE, True),
        (LinkTimeout("no reply"), Outcome.ERROR, StopKind.IMMEDIATE, True),
        (ValueError(), Outcome.ERROR, StopKind.IMMEDIATE, True),
    ],
)
def test_each_way_out_has_its_outcome_and_stop(
    exc: BaseException, outcome: Outcome, stop: StopKind, totals: bool
) -> None:
    ending = ending_for(exc)
    assert (ending.outcome, ending.stop, ending.read_totals) == (outcome, stop, totals)
    assert ending.detail


def test_a_fault_is_told_by_channel_and_name() -> None:
    ending = ending_for(DeviceFault("raw", 3, ["COMPLIANCE"]))
    assert ending.detail.startswith("channel 3 stopped by a latched fault (COMPLIANCE)")
