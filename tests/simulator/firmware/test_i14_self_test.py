"""Issue 14 item 3: CLEAR_FAULT is gated by a self-test of the output stage with the relay open.

A fault may be cleared only after the device has measured its output stage with the relay open
and the source at zero and found no current (PROTOCOL.md §3.10). A stage that fails stays latched
until a power cycle: CLEAR_FAULT is answered NAK ``SELF_TEST_FAILED`` with the measured current,
and the relay never closes onto the electrodes again. These tests speak raw frames to the
simulated device (no eacontrol code).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from firmware_protocol import (
    Ack,
    ChannelState,
    ClearFault,
    EventCode,
    Fault,
    MsgType,
    NakCode,
)
from simulator.firmware.model import DeviceModel
from simulator.hardware.loads import OpenCircuit

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000
PERIOD_US = DeviceModel().check_period_us
STUCK_uA = 5000  # the stuck DC output: 5 mA


def _stuck_and_found(host: RawHost, make_program: ProgramFactory, channel: int) -> None:
    host.hello()
    host.program(make_program(channel=channel))
    host.device.stick_output(channel, host.now_us, STUCK_uA)
    host.wait_until(PERIOD_US)  # the first check finds it and opens the relay
    assert host.device.outputs_off
    assert host.heartbeat().channels[channel].faults == Fault.STUCK_OUTPUT


def test_i14_03_stuck_output_clear_is_refused_and_the_relay_never_recloses(
    host: RawHost, make_program: ProgramFactory
) -> None:
    _stuck_and_found(host, make_program, channel=1)
    recorder = host.device.recorder[1]
    dc_before_us = recorder.on_time_us
    # An operator (or a script) retries the clear every 10 ms for a second, heartbeating: each
    # attempt is refused with what the self-test measured, and no current reaches the load.
    for _ in range(100):
        nak = host.nak(ClearFault(channel_mask=0b10), NakCode.SELF_TEST_FAILED)
        assert (nak.nak_type, nak.field, nak.limit) == (MsgType.CLEAR_FAULT, 0, STUCK_uA)
        assert host.device.outputs[1].relay_open
        assert host.device.output_uA(1) == 0
        host.heartbeat()
        host.wait(PERIOD_US)
    recorder.take_reading()
    assert recorder.on_time_us == dc_before_us  # no DC time at all after the first check
    status = host.heartbeat().channels[1]
    assert (status.state, status.faults, status.measured_uA) == (
        ChannelState.FAULT,
        Fault.STUCK_OUTPUT,
        0,
    )


def test_i14_03_a_failed_self_test_latches_until_power_cycle(
    host: RawHost, make_program: ProgramFactory
) -> None:
    _stuck_and_found(host, make_program, channel=0)
    host.nak(ClearFault(channel_mask=0b1), NakCode.SELF_TEST_FAILED)
    # The stage recovers on its own (an intermittent fault): not trusted until a power cycle.
    host.device.stick_output(0, host.now_us, 0)
    nak = host.nak(ClearFault(channel_mask=0b1), NakCode.SELF_TEST_FAILED)
    assert nak.limit == STUCK_uA  # the current the failing test measured
    assert host.device.channel_state(0) == ChannelState.FAULT
    # A power cycle runs the power-on self-test, which now passes: the channel boots clear.
    host.device.reboot(host.now_us)
    host.wait(PERIOD_US)
    assert host.device.channel_state(0) == ChannelState.IDLE
    assert not host.device.outputs[0].relay_open


def test_i14_03_power_on_self_test_keeps_a_stuck_stage_disconnected(
    host: RawHost, make_program: ProgramFactory
) -> None:
    _stuck_and_found(host, make_program, channel=2)
    host.take_events()
    host.device.reboot(host.now_us)  # still stuck: the power-on self-test fails
    assert host.device.outputs[2].relay_open
    assert host.device.output_uA(2) == 0
    host.collect()
    events = [(e.code, e.channel, e.detail) for e in host.take_events()]
    assert (EventCode.STUCK_OUTPUT, 2, STUCK_uA) in events
    host.hello()
    status = host.heartbeat().channels[2]
    assert (status.state, status.faults) == (ChannelState.FAULT, Fault.STUCK_OUTPUT)
    host.nak(ClearFault(channel_mask=0b100), NakCode.SELF_TEST_FAILED)


def test_i14_03_clear_is_all_or_nothing(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    for channel in (0, 1):
        host.program(make_program(channel=channel))
    host.device.stick_output(0, host.now_us, STUCK_uA)
    host.device.stick_output(1, host.now_us, 700)
    host.wait_until(PERIOD_US)
    host.device.stick_output(1, host.now_us, 0)  # channel 1 is repaired, channel 0 is not
    nak = host.nak(ClearFault(channel_mask=0b11), NakCode.SELF_TEST_FAILED)
    assert nak.limit == STUCK_uA  # the lowest failing channel's current
    assert host.device.channel_state(1) == ChannelState.FAULT  # nothing was cleared
    assert host.device.outputs[0].relay_open and host.device.outputs[1].relay_open  # as before
    ack = host.ok(ClearFault(channel_mask=0b10))
    assert isinstance(ack, Ack) and ack.value == 0b10  # the channels self-tested and cleared
    assert host.device.channel_state(1) == ChannelState.PROGRAMMED


def test_i14_03_transient_fault_clears_after_a_passing_self_test(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    crc = host.run_program(make_program(channel=0))
    host.run_with_heartbeats(500 * MS)
    load = host.device.load(0)
    host.device.set_load(0, OpenCircuit(), host.now_us)  # the electrode comes off
    host.run_with_heartbeats(host.now_us + 2 * PERIOD_US)
    assert host.heartbeat().channels[0].faults == Fault.ELECTRODE
    host.device.set_load(0, load, host.now_us)  # re-attached
    ack = host.ok(ClearFault(channel_mask=0b1))
    assert isinstance(ack, Ack) and ack.value == 0b1
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert not host.device.outputs[0].relay_open
    assert isinstance(host.start(ch0=crc), Ack)
    host.run_with_heartbeats(host.now_us + 1500 * MS)
    assert host.device.channel_state(0) == ChannelState.RUNNING
    assert host.device.output_uA(0) > 0


def test_i14_03_clearing_a_channel_without_a_fault_tests_nothing(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    host.program(make_program(channel=3))
    ack = host.ok(ClearFault(channel_mask=0b1000))
    assert isinstance(ack, Ack) and ack.value == 0
    assert not host.device.outputs[3].relay_open


def test_i14_03_a_channel_that_passed_a_refused_clear_is_still_watched(
    host: RawHost, make_program: ProgramFactory
) -> None:
    # Channel 1 stops on a lease fault, channel 0's stage is stuck: the clear of both is
    # refused; channel 1 sticks afterwards and its next check must still find it.
    host.hello()
    crc = host.program(make_program(channel=1))
    host.program(make_program(channel=0))
    assert isinstance(host.start(ch1=crc), Ack)
    host.wait(600 * MS)  # no heartbeat: the lease runs out, LEASE latched on channel 1
    assert host.device.channel_state(1) == ChannelState.FAULT
    host.device.stick_output(0, host.now_us, STUCK_uA)
    host.wait(PERIOD_US)
    host.hello()
    host.nak(ClearFault(channel_mask=0b11), NakCode.SELF_TEST_FAILED)
    host.device.stick_output(1, host.now_us, 300)
    host.wait(PERIOD_US)
    assert host.heartbeat().channels[1].faults == Fault.LEASE | Fault.STUCK_OUTPUT
    assert host.device.outputs_off
