"""Issue 14, items 2 and 7 (session layer): the host checks what the device does, and an
emergency stop from another thread is carried out even while the loop is stuck.

Virtual time over ``sim://``; the threads test uses a real watchdog thread (see its docstring).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable

import pytest

from eacontrol.cli.console import LiveConsole
from eacontrol.device.expected import OutputWatch
from eacontrol.errors import DeviceMismatch, SessionStopped
from eacontrol.profiles import Profile
from eacontrol.records import Outcome
from eacontrol.session import Session, SessionEvent
from firmware_protocol import (
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Fault,
    Status,
)

from .conftest import Run

JOIN_s = 60.0  # a bound on the real time a stuck test may take, never reached when it passes


def test_i14_07_watchdog_emergency_stop_while_the_loop_is_stuck_in_on_tick(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    """A GUI callback hangs in ``on_tick``; a watchdog thread presses emergency stop. Before,
    the request only sat in the queue of the stuck loop (the device kept stimulating until its
    lease expired); now the outputs are cut and confirmed before ``emergency_stop`` returns."""
    run = session_on_sim(short_profile, "seed=11")
    seen: dict[str, object] = {}

    def watchdog(session: Session) -> None:
        try:
            session.emergency_stop()
            seen["off_when_returned"] = run.device.outputs_off
        except Exception as err:  # kept for the assertion below
            seen["error"] = err

    def stuck_gui(session: Session) -> None:
        if session.t_s >= 6 and "started" not in seen:
            seen["started"] = True
            thread = threading.Thread(target=watchdog, args=(session,))
            thread.start()
            thread.join(JOIN_s)  # the loop is stuck until the watchdog is done
            seen["alive"] = thread.is_alive()

    result = run.run(on_tick=stuck_gui)
    assert seen.get("alive") is False and "error" not in seen, seen
    assert seen["off_when_returned"] is True
    assert result.outcome is Outcome.EMERGENCY_STOP
    assert run.device.outputs_off
    record = run.store.session(result.session_id)
    assert record.outcome is Outcome.EMERGENCY_STOP


def _foreign_set_intensity(run: Run, channel_index: int, target_uA: int) -> None:
    """The device raises a channel's target by itself, as if it had executed a SET_INTENSITY the
    host never sent. Under protocol major 2 no frame from another writer is executed (its tag
    fails: tests/simulator/serve/test_i13_attacks.py), so what is left for the host's check is
    a device whose firmware does what it was not asked (a bug, a corrupted state)."""
    device = run.device
    channel = device.channels[channel_index]
    channel.set_target(target_uA, 5000, device.now_us)


def _attacker_at_6_s(
    run: Run, watch: Callable[[], None] = lambda: None
) -> Callable[[Session], None]:
    """An ``on_tick`` that sends the foreign SET_INTENSITY (channel 1 to 5 mA) once, at 6 s."""
    injected: list[float] = []

    def attacker(session: Session) -> None:
        if session.t_s >= 6 and not injected:
            injected.append(session.t_s)
            _foreign_set_intensity(run, 0, 5000)  # channel 1, prescribed 2 mA
        watch()

    return attacker


def test_i14_02_foreign_set_intensity_ends_the_session_at_zero_as_device_mismatch(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    """Before: the device went to 5 mA on channel 1 and the session recorded ``completed``."""
    run = session_on_sim(short_profile, "seed=12")
    highest_uA: list[float] = []
    attacker = _attacker_at_6_s(run, lambda: highest_uA.append(run.device.output_uA(0)))
    with pytest.raises(SessionStopped, match="device mismatch") as info:
        run.run(on_tick=attacker)
    mismatch = info.value.__cause__
    assert isinstance(mismatch, DeviceMismatch)
    assert (mismatch.channel, mismatch.field) == (1, "target_uA")
    assert mismatch.expected == "2000 uA" and mismatch.reported == "5000 uA"
    assert run.device.outputs_off
    assert max(highest_uA) < 2600  # cut within a heartbeat, long before 5 mA
    assert run.session.session_id is not None
    assert [e.kind for e in run.events if e.kind == "alarm"] == ["alarm"]  # on the stream


def test_i14_02_foreign_set_intensity_is_recorded_with_the_cause_device_mismatch(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=12")
    with pytest.raises(SessionStopped):
        run.run(on_tick=_attacker_at_6_s(run))
    assert run.session.session_id is not None
    record = run.store.session(run.session.session_id)
    assert record.outcome is Outcome.DEVICE_MISMATCH
    events = run.store.events(run.session.session_id)
    alarms = [e for e in events if e.kind == "alarm"]
    assert len(alarms) == 1 and alarms[0].channel == 1
    assert alarms[0].data["cause"] == "device_mismatch"
    assert alarms[0].data["reported"] == "5000 uA"


def test_i14_02_current_on_a_channel_held_off_is_a_mismatch_when_the_device_misses_it() -> None:
    """The host's own check does not rely on the device's STUCK_OUTPUT interlock: current
    measured on a channel the host holds off, in two STATUS a check period apart, is a mismatch
    (STATUS crafted: a device whose own check failed to latch the fault)."""
    watch = OutputWatch(channel_count=2, boot_id=1)
    leak = ChannelStatus(ChannelState.PROGRAMMED, Fault.NONE, 2000, 0, 900, 1000, 0)
    idle = ChannelStatus(ChannelState.PROGRAMMED, Fault.NONE, 2000, 0, 0, 1000, 0)
    flags = DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID

    def status(uptime_ms: int) -> Status:
        return Status(1, uptime_ms, 500, 0, 0, 0, 0, flags, (idle, leak))

    watch.check(status(1000), ref_counter=5)
    assert watch.mismatch is None  # one reading: the device's own check gets its turn
    watch.check(status(1100), ref_counter=6)
    assert watch.mismatch is not None
    assert (watch.mismatch.channel, watch.mismatch.field) == (2, "measured_uA")


class _Keys:
    interactive = True

    def read(self, timeout_s: float) -> list[object]:
        return []


class _StillClock:
    def now(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        """Nothing: the view is drawn once, at close."""


def test_i14_02_the_terminal_view_shows_the_mismatch_alarm(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=12")
    out = io.StringIO()
    view = LiveConsole(
        run.session,
        _Keys(),  # type: ignore[arg-type]
        out,
        _StillClock(),
        lambda: run.stim.last_status,
        title="t",
        device_line="d",
        simulated=True,
        pace=False,
    )
    run.session.subscribe(view.event)
    with pytest.raises(SessionStopped):
        run.run(on_tick=_attacker_at_6_s(run))
    view.close()
    assert "faults: ALARM: device mismatch: channel 1 reports target_uA 5000 uA" in out.getvalue()


def test_i14_07_subscriber_raising_during_the_final_ramp_down_lets_the_stop_finish(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=13")

    def display(event: SessionEvent) -> None:
        if event.kind == "stop" and "STOPPED" in event.message:
            raise RuntimeError("the display crashed")

    run.session.subscribe(display)
    with pytest.raises(RuntimeError, match="display crashed") as info:
        run.run()
    assert run.device.outputs_off
    notes = getattr(info.value, "__notes__", [])
    assert any("confirmed off" in note for note in notes)  # raised after the confirmation
    assert run.session.session_id is not None
    assert run.store.session(run.session.session_id).outcome is Outcome.ERROR
