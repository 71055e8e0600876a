"""Issue 14 item 3, host side: ``Stimulator.clear_fault`` against the simulated device.

A stuck 5 mA output stops the run (STUCK_OUTPUT). Before: ``clear_fault`` re-closed the relay
and the stage drove DC into the load again until the next check. Now the device self-tests the
stage with the relay open, refuses (NAK SELF_TEST_FAILED) and the host raises a ``DeviceNak``
that says what was measured and that the fault stays latched until a power cycle; no DC time
after the attempt. A stage that recovers before the clear passes and the channel runs again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eacontrol.errors import DeviceFault, DeviceNak
from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState

from .conftest import Sim

SimFactory = Callable[..., Sim]
PROGRAM = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.5, ramp_up_s=2)


def _run_until_stuck(s: Sim) -> None:
    stim = s.stim
    stim.program(1, PROGRAM)
    stim.start(1)
    stim.wait(3)
    s.device.stick_output(0, s.port.clock.now_us, 5000)
    with pytest.raises(DeviceFault, match="STUCK_OUTPUT"):
        stim.wait(1)


def test_i14_03_clear_fault_on_a_stuck_output_is_refused_and_no_dc_flows(
    sim: SimFactory,
) -> None:
    s = sim("seed=31")
    _run_until_stuck(s)
    recorder = s.device.recorder[0]
    s.stim.wait(0.1)
    recorder.take_reading()
    dc_before_us = recorder.on_time_us
    for _ in range(20):  # an operator retrying
        with pytest.raises(DeviceNak) as info:
            s.stim.clear_fault(1)
        s.stim.wait(0.05)
    err = info.value
    assert (err.command, err.code, err.limit) == ("CLEAR_FAULT", "SELF_TEST_FAILED", 5000)
    assert "5 mA with its relay open" in str(err) and "power-cycled" in str(err)
    recorder.take_reading()
    assert recorder.on_time_us == dc_before_us  # DC time 0 after the first attempt
    assert s.device.channel_state(0) == ChannelState.FAULT
    with pytest.raises(DeviceFault):
        s.stim.start(1)


def test_i14_03_clear_fault_after_a_transient_fault_runs_again(sim: SimFactory) -> None:
    s = sim("seed=32")
    _run_until_stuck(s)
    s.device.stick_output(0, s.port.clock.now_us, 0)  # the stage recovers before any test
    assert s.stim.clear_fault() == (1,)  # the only faulted channel: tested, passed, cleared
    s.stim.start(1)
    s.stim.wait(3)
    assert s.device.channel_state(0) == ChannelState.RUNNING
    assert s.device.output_uA(0) == 2500
