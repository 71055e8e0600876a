"""A user's device tests: on the simulator by default, on a real device with --ea-port.

Only the plugin's fixtures and marker are used; nothing here knows which device it talks to.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import serial

from eacontrol.device import Stimulator, connect
from eacontrol.errors import DeviceFault
from eacontrol.stimulation import Stimulation

PROGRAM = Stimulation(
    frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_up_s=2, ramp_down_s=2, max_run_s=60
)


def test_device_reports_limits_and_starts_with_outputs_off(ea_stimulator: Stimulator) -> None:
    assert ea_stimulator.limits.channel_count >= 1
    assert ea_stimulator.limits.max_intensity_mA > 0
    assert ea_stimulator.status().outputs_off()


def test_ramps_to_the_intensity_and_stops_at_zero(ea_stimulator: Stimulator) -> None:
    ea_stimulator.program(1, PROGRAM)
    ea_stimulator.start(1)
    ea_stimulator.wait(PROGRAM.ramp_up_s)
    # The ramp runs on the device's clock, not the script's: a slow device, or a simulator whose
    # process the machine held up (its clock pauses then), is still ramping when the script's
    # 2 s are up. Follow the device, for a minute at most, until a pulse at the full intensity
    # has been measured.
    channel = ea_stimulator.status().channels[0]
    for _ in range(600):
        if channel.state.name == "RUNNING" and channel.measured_mA >= 1.9:
            break
        ea_stimulator.wait(0.1)
        channel = ea_stimulator.status().channels[0]
    assert channel.state.name == "RUNNING"
    assert channel.measured_mA == pytest.approx(2.0, abs=0.1)
    assert ea_stimulator.stop(1).outputs_off([1])


@pytest.mark.ea_simulator(channels=2, seed=7, serial="SIM-CI-2")
def test_the_marker_configures_the_simulated_device(ea_stimulator: Stimulator) -> None:
    assert ea_stimulator.info.serial == "SIM-CI-2"
    assert ea_stimulator.limits.channel_count == 2


@pytest.mark.ea_simulator(electrode_off="1@3")
def test_a_needle_coming_out_is_a_latched_fault(ea_stimulator: Stimulator) -> None:
    for channel in (1, 2):
        ea_stimulator.program(channel, PROGRAM)
    ea_stimulator.start([1, 2])
    with pytest.raises(DeviceFault) as fault:
        ea_stimulator.wait(10)
    assert fault.value.faults == ("ELECTRODE",)
    assert fault.value.channel == 1  # the simulator numbers channels from 1, as labelled
    assert ea_stimulator.status().outputs_off([fault.value.channel])


@pytest.mark.ea_simulator(seed=1)
def test_long_stimulation_runs_in_virtual_time(ea_simulator: str) -> None:
    with connect(ea_simulator) as stim:
        stim.program(1, replace(PROGRAM, max_run_s=120))
        stim.start(1)
        stim.wait(100)  # in virtual time: no waiting on the wall clock
        assert stim.clock.now() >= 100
        assert stim.dose(1).pulses_a >= 195  # 2 Hz for 100 s


def test_the_url_opens_with_pyserial_too(ea_simulator: str) -> None:
    port = serial.serial_for_url(ea_simulator, timeout=0)
    try:
        assert port.is_open
    finally:
        port.close()
