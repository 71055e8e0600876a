"""Issue 14, item 7a: a script idle for longer than the lease is not refused ``NO_LEASE``.

The lease lapses quietly while nothing stimulates (PROTOCOL.md §3.5); the next command must not
overtake the heartbeat that is due. Virtual time over ``sim://``.
"""

from __future__ import annotations

from collections.abc import Callable

from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState, MsgType

from .conftest import Scripted, Sim

PROGRAM = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_up_s=2)


def test_i14_07a_start_after_an_idle_longer_than_the_lease_succeeds(
    sim: Callable[..., Sim],
) -> None:
    s = sim("seed=7")
    stim = s.stim
    stim.program(1, PROGRAM)
    s.port.clock.sleep(3 * stim.lease_s)  # the script does something else; nothing heartbeats
    assert not s.device.lease_valid  # the lease lapsed (no output was active: no fault)
    stim.start(1)  # before: DeviceNak NO_LEASE
    stim.wait(3)
    assert s.device.channel_state(0) == ChannelState.RUNNING
    assert s.device.output_uA(0) == 2000


def test_i14_07a_the_heartbeat_goes_out_and_is_answered_before_the_command(
    scripted: Scripted,
) -> None:
    stim = scripted.connect()
    stim.service()
    scripted.clock.sleep(2 * stim.lease_s)
    before = len(scripted.port.frames_written)
    stim.status()
    after = scripted.port.frames_written[before:]
    assert [f.header.msg_type for f in after[:2]] == [MsgType.HEARTBEAT, MsgType.GET_STATUS]


def test_i14_07a_no_extra_heartbeat_while_on_schedule(scripted: Scripted) -> None:
    stim = scripted.connect()
    stim.wait(1.0)
    before = len(scripted.port.sent(MsgType.HEARTBEAT))
    stim.status()
    assert len(scripted.port.sent(MsgType.HEARTBEAT)) == before
