"""The Stimulator under faults over ``sim://``: frame loss, unplug, a blocked script, STOP under
heavy loss, reboot. All in virtual time and seeded, so every run is the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scenario_file import scenario

from eacontrol.device import connect
from eacontrol.errors import DeviceFault, LinkLost, StopNotConfirmed
from eacontrol.link import LEASE_PERIODS_TO_LOSS, Transport
from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState, EventCode
from simulator import Direction, FaultKind

from .conftest import Sim

SimFactory = Callable[..., Sim]
PROGRAM = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.5, ramp_up_s=2)
CHECK_PERIOD_S = 0.01  # the reference device checks its lease at 100 Hz (PROTOCOL.md §3.5)


def test_five_minute_program_completes_under_30_percent_loss_each_way(sim: SimFactory) -> None:
    s = sim("seed=21&drop=0.3")
    stim, device = s.stim, s.device
    prog = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.5, max_run_s=600)
    stim.program(1, prog)
    stim.start(1)
    stim.wait(300)  # raises DeviceFault if the lease had lapsed even once
    assert device.channel_state(0) == ChannelState.RUNNING
    status = stim.stop(1)
    assert status.outputs_off() and device.outputs_off
    recorded = device.recorder[0]
    assert 2 * 300 - 2 <= recorded.pulses_a <= 2 * 304  # 2 Hz for 300 s plus ramp and stop
    assert recorded.peak_uA == 2500
    dropped = [s.port.bench.link.fault_layer(d).counts[FaultKind.DROP] for d in Direction]
    assert all(n > 500 for n in dropped)  # the loss really happened, both ways
    assert all(e.code != EventCode.LEASE_EXPIRED for e in stim.events())


def test_unplug_mid_run_raises_link_lost_and_the_device_stops(sim: SimFactory) -> None:
    s = sim("seed=22&unplug_at=12.5")
    stim = s.stim
    stim.program(1, PROGRAM)
    stim.start(1)
    with pytest.raises(LinkLost) as info, stim:
        stim.wait(60)
    raised_at = stim.clock.now()
    assert 12.5 <= raised_at <= 12.5 + LEASE_PERIODS_TO_LOSS * stim.lease_s
    assert "last frames:" in info.value.__notes__[0]
    assert stim.closed
    s.port.clock.sleep(max(0.0, 12.5 + stim.lease_s + CHECK_PERIOD_S - raised_at))
    assert s.device.outputs_off
    assert s.device.channel_state(0) == ChannelState.FAULT


def test_replies_lost_for_good_is_link_lost_and_the_device_stops(
    sim: SimFactory, tmp_path: Path
) -> None:
    # Only the device → host direction dies: heartbeats still arrive, STATUS never comes back.
    faults = '[[fault]]\nkind = "drop"\ndirection = "to_host"\nrate = 1.0\nstart_s = 10.0\n'
    s = sim(f"seed=23&{scenario(tmp_path, faults)}")
    stim = s.stim
    stim.program(1, PROGRAM)
    stim.start(1)
    with pytest.raises(LinkLost, match="no STATUS"):
        stim.wait(60)
    raised_at = stim.clock.now()
    assert raised_at <= 10.0 + LEASE_PERIODS_TO_LOSS * stim.lease_s + 0.05
    # The host stopped renewing the lease (and sent a best-effort STOP): the outputs stop.
    s.port.clock.sleep(stim.lease_s + CHECK_PERIOD_S)
    assert s.device.outputs_off
    stim.close()


def test_script_that_stops_servicing_sees_the_device_stop_within_the_lease(
    sim: SimFactory,
) -> None:
    s = sim("seed=24")
    stim = s.stim
    stim.program(2, PROGRAM)  # channel 2 is the simulator's index 1
    stim.start(2)
    stim.wait(3)
    assert s.device.output_uA(1) == 2500
    s.port.clock.sleep(stim.lease_s + CHECK_PERIOD_S)  # the script blocks; nothing heartbeats
    assert s.device.outputs_off
    assert s.device.channel_state(1) == ChannelState.FAULT
    # Protocol major 2: the lease expired with an output on, so the device closed the session
    # for good (EVENT SESSION_CLOSED, a closing STATUS): no client can resume it.
    with pytest.raises(DeviceFault, match=r"closed session .*LEASE") as info:
        stim.wait(1)
    assert info.value.faults == ("NO_SESSION",)
    assert EventCode.LEASE_EXPIRED in [e.code for e in stim.events()]
    stim.close()  # confirmed off by the session's authenticated closing STATUS
    # The device never resumed by itself; the host restarts it explicitly, in a new session.
    s.port.open()
    with connect(transport=Transport(s.port, "sim://?seed=24")) as again:
        again.clear_fault(2)
        again.program(2, PROGRAM)
        again.start(2)
        again.wait(3)
        assert s.device.output_uA(1) == 2500


@pytest.mark.parametrize("seed", range(1, 9))
@pytest.mark.parametrize("immediate", [False, True])
def test_stop_under_70_percent_loss_confirms_or_alarms(
    sim: SimFactory, tmp_path: Path, seed: int, immediate: bool
) -> None:
    faults = '[[fault]]\nkind = "drop"\nrate = 0.7\nstart_s = 10.0\nstop_s = 30.0\n'
    s = sim(f"seed={seed}&{scenario(tmp_path, faults)}")
    stim = s.stim
    stim.program(1, PROGRAM)
    stim.program(2, PROGRAM)
    stim.start([1, 2])
    stim.wait(10.0 - stim.clock.now())
    try:
        status = stim.stop(immediate=immediate)
    except StopNotConfirmed as err:
        assert "HARDWARE STOP BUTTON" in str(err)
    except LinkLost:
        pytest.fail("STOP must end in confirmation or StopNotConfirmed")
    else:
        # Returned: a STATUS from after the STOP showed every output off, and it is true.
        assert status.outputs_off()
        assert s.device.outputs_off
    s.port.clock.sleep(30.0 - stim.clock.now())  # past the loss; the lease has lapsed anyway
    assert s.device.outputs_off
    stim.close()


def test_reboot_mid_run_ends_the_session_and_exit_still_confirms(sim: SimFactory) -> None:
    s = sim("seed=25&reboot_at=6")
    with pytest.raises(DeviceFault, match="rebooted") as info, s.stim as stim:
        stim.program(1, PROGRAM)
        stim.start(1)
        stim.wait(60)
    assert info.value.faults == ("REBOOT",)
    assert s.device.outputs_off
    assert s.device.channel_state(0) == ChannelState.IDLE  # programs are gone after a reboot


def test_i13_after_a_rejoin_info_names_the_new_session_its_boot_and_lease(
    sim: SimFactory,
) -> None:
    """A reboot ends the session; the stop is confirmed in a new session (``Link.rejoin``):
    from then on ``info`` is that session's (a record or a script reads it), not HELLO's."""
    s = sim("seed=5&reboot_at=2")
    stim = s.stim
    before = stim.info
    stim.program(1, PROGRAM)
    stim.start(1)
    with pytest.raises(DeviceFault, match="the device rebooted"):
        stim.wait(5)
    stim.stop(None, immediate=True)  # confirmed in the session the link opened for it
    after = stim.info
    assert after.session_id == s.device.session_id != before.session_id
    assert after.boot_id == s.device.boot_id != before.boot_id
    assert after.lease_s == stim._link.lease_s
    assert after.serial == before.serial and after.limits == before.limits
