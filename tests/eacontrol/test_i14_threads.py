"""Issue 14, item 7 (device layer): an emergency stop from another thread is safe, and an
event callback that raises never aborts a stop confirmation.

Virtual time over ``sim://``. The watchdog test uses a real second thread; its outcome (every
output cut and confirmed, no error in either thread) does not depend on how the threads
interleave, because every use of the link holds the Stimulator's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from eacontrol.device import DeviceEvent
from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState, EventCode

from .conftest import Sim

FAST_DOWN = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_down_s=0.5)
SLOW_DOWN = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_down_s=3.0)
JOIN_s = 60.0  # a bound on the real time a stuck test may take, never reached when it passes


def test_i14_07_watchdog_thread_emergency_stop_while_the_main_loop_waits(
    sim: Callable[..., Sim],
) -> None:
    s = sim("seed=3")
    stim = s.stim
    stim.program(1, FAST_DOWN)
    stim.start(1)
    stim.wait(3)
    results: list[object] = []

    def watchdog() -> None:
        try:
            results.append(stim.emergency_stop())
            results.append(s.device.outputs_off)
        except Exception as err:  # kept for the assertion below
            results.append(err)

    thread = threading.Thread(target=watchdog)
    thread.start()
    while thread.is_alive() and stim.clock.now() < 600:
        stim.wait(0.05)  # the main loop goes on; the watchdog's stop takes the link in between
    thread.join(JOIN_s)
    assert not thread.is_alive()
    assert len(results) == 2, results
    status, off = results
    assert off is True and s.device.outputs_off
    assert status.outputs_off()  # type: ignore[attr-defined]
    stim.wait(1)  # the main loop carries on without an error; nothing restarted
    assert s.device.channel_state(0) == ChannelState.PROGRAMMED


def test_i14_07_callback_raising_during_stop_confirmation_does_not_abort_it(
    sim: Callable[..., Sim],
) -> None:
    s = sim("seed=4")
    stim = s.stim
    stim.program(1, FAST_DOWN)
    stim.program(2, SLOW_DOWN)
    stim.start([1, 2])
    stim.wait(4)

    def display(event: DeviceEvent) -> None:
        if event.code == EventCode.STOPPED:
            raise RuntimeError("the display crashed")

    stim.on_event(display)
    with pytest.raises(RuntimeError, match="display crashed") as info:
        stim.stop()  # channel 1 stops after 0.5 s, channel 2 is still ramping down then
    # Before: the exception escaped the confirmation with channel 2 still delivering current.
    assert s.device.outputs_off
    assert s.device.channel_state(1) == ChannelState.PROGRAMMED
    assert any("confirmed off" in note for note in info.value.__notes__)
