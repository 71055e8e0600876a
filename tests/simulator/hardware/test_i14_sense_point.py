"""Issue 14 item 3, the hardware model: the self-test's sense point sees a stuck stage.

The stage's own sense point is inside the output relay: with the relay open no current reaches
the electrodes (``dc_uA`` 0, ``output_uA`` 0), but a stuck stage still reads its DC there, which
is what the firmware's self-test measures (``OutputStage.self_test_uA``, PROTOCOL.md §3.10).
"""

from __future__ import annotations

from simulator.firmware.model import DeviceModel
from simulator.hardware.loads import Resistive
from simulator.hardware.output import SimulatedOutputStage
from simulator.hardware.recorder import ChannelRecorder


def _stage() -> SimulatedOutputStage:
    return SimulatedOutputStage(DeviceModel(), Resistive(500.0), ChannelRecorder(), 0)


def test_i14_03_a_stuck_stage_reads_at_the_sense_point_with_the_relay_open() -> None:
    stage = _stage()
    stage.stick(5000, 0)
    stage.open_relay(1000)
    assert (stage.dc_uA(2000), stage.measured_uA(2000)) == (0, 0)  # nothing reaches the load
    assert stage.self_test_uA(2000) == 5000
    stage.stick(0, 3000)  # repaired
    assert stage.self_test_uA(4000) == 0


def test_i14_03_a_sound_stage_reads_zero() -> None:
    stage = _stage()
    stage.open_relay(0)
    assert stage.self_test_uA(10) == 0
    stage.close_relay(20)
    assert stage.self_test_uA(30) == 0
