"""Latched faults (PROTOCOL.md §3.10), the maximum-run shut-off and the output stage.

Each fault is provoked through the device's hardware hooks (a load, a stuck output, the stop
button) and observed as the host would see it (STATUS, EVENT) and as the recorder measured it.
Deadlines are exact: each test checks that ``next_deadline_us`` names the very check instant at
which the fault is found.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from firmware_protocol import (
    NO_CHANNEL,
    Ack,
    ChannelState,
    ClearFault,
    EventCode,
    Fault,
    Mode,
    Nak,
    NakCode,
    SetIntensity,
    Shape,
    Stop,
    StopMode,
)
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device
from simulator.hardware.loads import Intermittent, OpenCircuit, Randles, Resistive

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000
PERIOD_US = DeviceModel().check_period_us


def start(host: RawHost, make_program: ProgramFactory, channel: int = 0, **fields: Any) -> int:
    """Program and start one channel (a session is opened if none is); return the CRC."""
    if host.session_id == 0:
        host.hello()
    return host.run_program(make_program(channel=channel, **fields))


def codes(host: RawHost) -> list[tuple[EventCode, int, int]]:
    """(code, channel, detail) of the EVENTs since the last call, without the boot's REBOOT."""
    host.collect()
    return [(e.code, e.channel, e.detail) for e in host.take_events() if e.code != EventCode.REBOOT]


# --- compliance ----------------------------------------------------------------------------


def test_compliance_limits_the_current_then_latches(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.device.set_load(0, Resistive(10_000.0), 0)  # 60 V / 10 kΩ = 6 mA at most
    start(host, make_program, target_uA=8000, ramp_up_ms=2000)
    codes(host)
    # set value crosses 6 mA at 1.5 s; exactly 6 mA is still deliverable, so the first check
    # that finds the set value above the limit is the next one
    assert host.device.next_deadline_us() == 400 * MS + 100 * MS  # the lease comes first
    host.run_with_heartbeats(1500 * MS)
    assert host.device.next_deadline_us() == 1500 * MS + PERIOD_US
    host.wait(PERIOD_US // 2)
    assert host.device.output_uA(0) == 6000  # limited at once by the source
    report = host.heartbeat().channels[0]
    assert (report.set_uA, report.measured_uA) == (6020, 6000)
    host.wait_until(1500 * MS + PERIOD_US)
    assert host.device.channel_state(0) == ChannelState.FAULT
    assert host.device.outputs_off
    assert codes(host) == [(EventCode.COMPLIANCE, 0, 6000), (EventCode.STOPPED, 0, 3)]
    assert host.heartbeat().channels[0].faults == Fault.COMPLIANCE
    assert host.device.recorder[0].peak_uA == pytest.approx(6000)


def test_a_load_change_beyond_compliance_is_found_at_the_next_check(
    host: RawHost, make_program: ProgramFactory
) -> None:
    start(host, make_program, target_uA=5000)
    host.run_with_heartbeats(2 * S + 3 * MS)
    host.device.set_load(0, Resistive(20_000.0), host.now_us)  # 3 mA at most now
    assert host.device.output_uA(0) == 3000
    assert host.device.next_deadline_us() == 2 * S + PERIOD_US
    host.wait(PERIOD_US)
    assert codes(host)[-2] == (EventCode.COMPLIANCE, 0, 3000)


def test_dense_disperse_compliance_uses_the_worst_phase(
    host: RawHost, make_program: ProgramFactory
) -> None:
    # Randles: the longer phase charges the double layer further, so its impedance is higher.
    load = Randles(200.0, 20_000.0, 100.0)
    host.device.set_load(0, load, 0)
    # limit 8.8 mA with 800 µs phases (half b), 28 mA with 200 µs phases (half a)
    start(
        host,
        make_program,
        mode=Mode.DENSE_DISPERSE,
        target_uA=10_000,
        ramp_up_ms=2000,
        phase_a_us=200,
        phase_b_us=800,
    )
    host.run_with_heartbeats(3 * S)
    channel = host.heartbeat().channels[0]
    assert host.device.channel_state(0) == ChannelState.FAULT
    assert channel.faults == Fault.COMPLIANCE
    worst_ohm = load.impedance_ohm(800)
    assert codes(host)[-2][2] == int(60_000 * 1000 / worst_ohm)


# --- electrodes ------------------------------------------------------------------------------


def test_an_electrode_coming_off_is_an_electrode_fault(
    host: RawHost, make_program: ProgramFactory
) -> None:
    crc = start(host, make_program, channel=1)
    host.run_with_heartbeats(2 * S + 1)
    host.device.set_load(1, OpenCircuit(), host.now_us)
    assert host.device.output_uA(1) == 0  # nothing flows into an open circuit
    assert host.heartbeat().channels[1].impedance_ohm == 0xFFFF
    host.wait_until(2 * S + PERIOD_US)
    assert host.device.channel_state(1) == ChannelState.FAULT
    assert codes(host)[-2:] == [(EventCode.ELECTRODE_FAULT, 1, 0xFFFF), (EventCode.STOPPED, 1, 3)]
    # the condition persists: clearing is allowed, the next run finds it again
    host.ok(ClearFault(channel_mask=0b10))
    assert isinstance(host.start(ch1=crc), Ack)
    host.wait(PERIOD_US)
    assert host.heartbeat().channels[1].faults == Fault.ELECTRODE
    host.device.set_load(1, Resistive(500.0), host.now_us)
    host.ok(ClearFault(channel_mask=0b10))
    assert isinstance(host.start(ch1=crc), Ack)
    host.run_with_heartbeats(host.now_us + 2 * S)
    assert host.device.channel_state(1) == ChannelState.RUNNING


def test_an_open_load_at_start_is_found_at_the_first_check(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.device.set_load(0, OpenCircuit(), 0)
    host.wait(3 * MS)
    start(host, make_program)
    assert host.device.next_deadline_us() == PERIOD_US
    host.wait_until(PERIOD_US)
    assert host.heartbeat().channels[0].faults == Fault.ELECTRODE


def test_intermittent_contact_is_found_at_the_first_check_inside_a_loss(
    host: RawHost, make_program: ProgramFactory
) -> None:
    def load() -> Intermittent:
        return Intermittent(Resistive(500.0), np.random.default_rng(7), 1000.0, 30.0)

    schedule = load()
    host.device.set_load(0, load(), 0)
    start(host, make_program)
    # the first check instant inside a loss of contact, from the same schedule
    expected_us, t_us = None, 0
    while expected_us is None:
        lost_us = schedule.next_change_us(t_us)
        regained_us = schedule.next_change_us(lost_us)
        tick_us = -(-lost_us // PERIOD_US) * PERIOD_US
        if tick_us < regained_us:
            expected_us = tick_us
        t_us = regained_us
    while host.device.channel_state(0) != ChannelState.FAULT:
        deadline_us = host.device.next_deadline_us()
        assert deadline_us is not None
        host.heartbeat()
        host.wait_until(min(deadline_us, host.now_us + 100 * MS))
    assert host.now_us == expected_us
    assert host.heartbeat().channels[0].faults == Fault.ELECTRODE


def test_no_current_is_recorded_while_contact_is_lost(
    host: RawHost, make_program: ProgramFactory
) -> None:
    load = Intermittent(Resistive(500.0), np.random.default_rng(3), 400.0, 2.0)
    host.device.set_load(0, load, 0)
    start(host, make_program, mode=Mode.CONTINUOUS, freq_a_cHz=10_000, phase_a_us=200)
    host.run_with_heartbeats(1 * S)
    host.dose(0)  # flush
    losses, t_us = [], 0
    while (lost_us := load.next_change_us(t_us)) < 1 * S:
        t_us = load.next_change_us(lost_us)
        losses.append((lost_us, t_us))
    assert losses, "the seed gives at least one short loss in the first second"
    table = host.device.recorder[0].pulse_table(0, 1 * S)
    for lost_us, regained_us in losses:
        inside = (table["t_us"] >= lost_us) & (table["t_us"] < regained_us)
        assert not inside.any()
    assert host.device.channel_state(0) in (ChannelState.RUNNING, ChannelState.FAULT)


# --- stuck output, stop button ---------------------------------------------------------------


def test_a_stuck_output_is_found_and_the_relay_opened(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    host.program(make_program(channel=2))
    host.wait(5 * MS)
    host.device.stick_output(2, host.now_us, 1500)
    assert host.device.output_uA(2) == 1500
    assert not host.device.outputs_off
    assert host.device.next_deadline_us() == PERIOD_US
    host.wait_until(PERIOD_US)
    assert host.device.outputs_off  # the relay is open
    assert codes(host) == [(EventCode.STUCK_OUTPUT, 2, 1500)]
    assert host.heartbeat().channels[2].faults == Fault.STUCK_OUTPUT
    recorder = host.device.recorder[2]
    assert recorder.net_charge_nC == pytest.approx(1500 * 5 * MS / 1000)  # 5 ms of DC
    # clearing self-tests the stage with the relay open first: still stuck, so refused and the
    # relay stays open (issue 14 item 3); latched until a power cycle, even once repaired
    nak = host.call(ClearFault(channel_mask=0b100))
    assert isinstance(nak, Nak) and (nak.code, nak.limit) == (NakCode.SELF_TEST_FAILED, 1500)
    assert host.device.output_uA(2) == 0
    host.device.stick_output(2, host.now_us, 0)  # repaired
    host.call(ClearFault(channel_mask=0b100))
    assert host.device.channel_state(2) == ChannelState.FAULT
    host.device.reboot(host.now_us)  # the power-on self-test passes
    host.hello()
    host.wait(10 * PERIOD_US)
    assert host.device.channel_state(2) == ChannelState.IDLE


def test_a_stuck_output_on_a_running_channel_stops_it(
    host: RawHost, make_program: ProgramFactory
) -> None:
    start(host, make_program)
    host.run_with_heartbeats(1 * S + 2 * MS)
    host.device.stick_output(0, host.now_us, 900)
    host.wait_until(1 * S + PERIOD_US)
    assert host.device.outputs_off
    assert codes(host)[-2:] == [(EventCode.STUCK_OUTPUT, 0, 900), (EventCode.STOPPED, 0, 3)]


def test_the_stop_button_stops_every_active_channel(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    crc = host.program(make_program(channel=0))
    host.program(make_program(channel=4))
    host.program(make_program(channel=5))
    assert isinstance(host.start(ch0=crc, ch5=crc), Ack)
    host.run_with_heartbeats(700 * MS)
    codes(host)
    host.device.press_stop_button(host.now_us)
    assert host.device.outputs_off
    assert codes(host) == [
        (EventCode.BUTTON_STOP, NO_CHANNEL, 0b100001),
        (EventCode.STOPPED, 0, 3),
        (EventCode.STOPPED, 5, 3),
    ]
    report = host.heartbeat()
    assert [c.faults for c in report.channels] == [Fault.BUTTON_STOP, 0, 0, 0, 0, 0x10]
    assert report.channels[4].state == ChannelState.PROGRAMMED


def test_faults_are_cleared_only_by_clear_fault(
    host: RawHost, make_program: ProgramFactory
) -> None:
    crc = start(host, make_program)
    host.device.press_stop_button(host.now_us)
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    host.hello()  # a new session keeps latched faults
    host.wait(10 * S)
    assert host.heartbeat().channels[0].faults == Fault.BUTTON_STOP
    assert isinstance(host.call(SetIntensity(0, 1000, 1000)), Nak)
    host.ok(ClearFault(channel_mask=1))
    assert host.heartbeat().channels[0].faults == Fault.NONE
    assert isinstance(host.start(ch0=crc), Ack)


# --- maximum run -----------------------------------------------------------------------------


def test_the_device_shuts_a_channel_off_after_its_maximum_run(
    host: RawHost, make_program: ProgramFactory
) -> None:
    host.hello()
    host.wait(3 * MS)
    start(host, make_program, max_run_s=5, ramp_down_ms=500)
    codes(host)
    host.run_with_heartbeats(5 * S + 3 * MS - 1)
    assert host.device.channel_state(0) == ChannelState.RUNNING
    host.wait(1)
    assert host.device.channel_state(0) == ChannelState.STOPPING
    assert codes(host) == [(EventCode.RAMP_DONE, 0, 5000), (EventCode.MAX_RUN_TIME, 0, 5)]
    host.run_with_heartbeats(host.now_us + 500 * MS)
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert codes(host) == [(EventCode.STOPPED, 0, 0)]
    host.wait(10 * S)
    assert host.device.outputs_off


def test_max_run_counts_from_start_through_intensity_changes(
    host: RawHost, make_program: ProgramFactory
) -> None:
    start(host, make_program, max_run_s=2)
    host.run_with_heartbeats(1500 * MS)
    host.ok(SetIntensity(channel=0, target_uA=6000, slew_uA_per_s=1000))
    host.run_with_heartbeats(2 * S)
    assert host.device.channel_state(0) == ChannelState.STOPPING


# --- what the device reports and records -------------------------------------------------------


def test_status_reports_measured_current_impedance_and_frequency(
    host: RawHost, make_program: ProgramFactory
) -> None:
    load = Randles(300.0, 1000.0, 500.0)
    host.device.set_load(0, load, 0)
    start(host, make_program, mode=Mode.DENSE_DISPERSE, phase_a_us=600, phase_b_us=200)
    host.run_with_heartbeats(2 * S)
    channel = host.heartbeat().channels[0]
    assert (channel.freq_cHz, channel.impedance_ohm) == (200, round(load.impedance_ohm(600)))
    host.run_with_heartbeats(4 * S)
    channel = host.heartbeat().channels[0]
    assert (channel.freq_cHz, channel.impedance_ohm) == (10_000, round(load.impedance_ohm(200)))
    assert channel.measured_uA == 5000
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    channel = host.heartbeat().channels[0]
    assert (channel.freq_cHz, channel.measured_uA, channel.set_uA) == (0, 0, 0)
    assert channel.impedance_ohm == round(load.impedance_ohm(200))  # the last one measured


def test_dose_reports_the_recorder_and_set_program_resets_it(
    host: RawHost, make_program: ProgramFactory
) -> None:
    start(host, make_program, shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=4, freq_a_cHz=1000)
    host.run_with_heartbeats(3 * S)
    dose = host.dose(0)
    recorder = host.device.recorder[0]
    # The first onset of the ramp from zero carries 0 µA and delivers nothing: not counted.
    assert dose.pulses_a == recorder.pulses_a == 29
    assert dose.on_time_ms == 3000
    assert dose.peak_uA == 5000
    assert dose.charge_pos_nC == dose.charge_neg_nC == round(recorder.charge_pos_nC)
    host.ok(Stop(channel_mask=1, mode=StopMode.IMMEDIATE))
    host.program(make_program())
    assert host.dose(0).pulses_a == 0


def test_a_steady_run_is_one_recorder_segment_however_many_heartbeats(
    host: RawHost, make_program: ProgramFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = host.device.recorder[0]
    calls: list[tuple[int, int]] = []
    deliver = recorder.deliver

    def counting(*args: Any) -> None:
        calls.append((args[1], args[2]))  # (drive, t0_us, t1_us, cap_uA)
        deliver(*args)

    monkeypatch.setattr(recorder, "deliver", counting)
    start(host, make_program)
    host.run_with_heartbeats(60 * S)
    host.dose(0)
    assert calls == [(0, 1 * S), (1 * S, 60 * S)]  # the ramp, then the hold


def test_the_device_rejects_time_going_backwards(device: Device) -> None:
    device.advance(10)
    with pytest.raises(ValueError, match="backwards"):
        device.advance(9)


def test_a_device_needs_one_load_per_channel(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="6 loads"):
        Device(DeviceModel(), rng=rng, loads=[Resistive(500.0)])
    device = Device(DeviceModel(channel_count=2), rng=rng, loads=[OpenCircuit(), Resistive(1e3)])
    assert device.load(0) == OpenCircuit()
    host = Device(DeviceModel(channel_count=2), rng=rng)
    assert host.status().channels[1].state == ChannelState.IDLE
    assert len(host.status().channels) == 2


def test_a_zero_target_program_ramps_and_stops_at_once(
    host: RawHost, make_program: ProgramFactory
) -> None:
    start(host, make_program, target_uA=0, ramp_up_ms=0, ramp_down_ms=3000)
    assert host.device.channel_state(0) == ChannelState.RUNNING
    host.ok(Stop(channel_mask=1, mode=StopMode.RAMP_DOWN))
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert codes(host) == [(EventCode.RAMP_DONE, 0, 0), (EventCode.STOPPED, 0, 0)]
