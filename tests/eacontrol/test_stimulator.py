"""The Stimulator against the simulated device over ``sim://``, in virtual time.

Covers connect and identity, program + read-back + start + live intensity + confirmed stop,
emergency stop, NAK paths, refusals before sending, leaving the context, events and dose.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_mock import MockerFixture
from serial.tools.list_ports_common import ListPortInfo

from eacontrol.device import Stimulator, connect
from eacontrol.errors import (
    DeviceFault,
    DeviceNak,
    IdentityMismatch,
    ParameterError,
    PortNotFound,
)
from eacontrol.stimulation import Stimulation
from firmware_protocol import ChannelState, Message, Mode, MsgType, program_crc
from simulator.clock import VirtualClock

from .conftest import Sim

SimFactory = Callable[..., Sim]
PROGRAM = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.5, ramp_up_s=2)


def only_heartbeats_sent(s: Sim, before: int) -> bool:
    """True when the host sent nothing but heartbeats since frame log record ``before``."""
    tx = [r for r in s.stim.frame_log.records()[before:] if r.direction == "tx"]
    return all(r.frame and r.frame.header.msg_type == MsgType.HEARTBEAT for r in tx)


def last_sent(s: Sim, msg_type: MsgType) -> Message:
    """The last message of ``msg_type`` the host sent (still in the bounded frame log)."""
    return [
        r.frame.message
        for r in s.stim.frame_log
        if r.direction == "tx" and r.frame and r.frame.header.msg_type == msg_type
    ][-1]


def sent(s: Sim, msg_type: MsgType) -> int:
    return sum(
        1
        for r in s.stim.frame_log
        if r.direction == "tx" and r.frame and r.frame.header.msg_type == msg_type
    )


def test_connect_by_url_uses_the_port_virtual_clock() -> None:
    with connect("sim://?seed=1&serial=EA6-000777", device_serial="EA6-000777") as stim:
        assert isinstance(stim.clock, VirtualClock)
        assert stim.info.model == "EA-SIM-6"
        assert stim.info.serial == "EA6-000777"
        assert stim.info.firmware == "1.0.0"
        assert stim.limits.channel_count == 6
        assert stim.limits.max_intensity_mA == 20.0
        assert (stim.limits.min_phase_width_us, stim.limits.max_phase_width_us) == (50, 1000)
        assert (stim.limits.min_frequency_hz, stim.limits.max_frequency_hz) == (1, 200)
        assert stim.limits.max_phase_charge_uC == 10.0
        assert stim.limits.compliance_V == 60.0
        assert stim.lease_s == 0.5
        status = stim.status()
        assert status.session_open and status.lease_valid
        assert status.outputs_off()
        stim.wait(600)  # ten minutes of keeping the lease, in virtual time
        assert stim.clock.now() >= 600
    assert stim.closed


def test_pinned_serial_mismatch_closes_the_port() -> None:
    with pytest.raises(IdentityMismatch, match="SIM-000001"):
        connect("sim://?seed=1", device_serial="EA6-000123")


def test_program_readback_start_live_intensity_stop(sim: SimFactory) -> None:
    s = sim("seed=2")
    stim, device = s.stim, s.device
    crc = stim.program(1, PROGRAM)  # channel 1 is the simulator's (and the wire's) index 0
    assert sent(s, MsgType.GET_PROGRAM) == 1  # read back before any START
    assert stim.read_program(1) == PROGRAM
    stim.start(1)
    stim.wait(2.5)
    assert device.channel_state(0) == ChannelState.RUNNING
    assert device.output_uA(0) == 2500
    report = stim.status().channels[0]
    assert (report.channel, report.measured_mA) == (1, 2.5)
    stim.set_intensity(1, 4.0, slew_mA_per_s=1.0)
    stim.wait(1.0)
    assert 3400 <= device.channels[0].set_uA(device.now_us) <= 3600  # slewing at 1 mA/s
    stim.wait(1.5)
    assert device.output_uA(0) == 4000
    status = stim.stop(1)
    assert status.outputs_off([1])  # channel numbers: [0] would match no channel at all
    assert device.outputs_off
    assert device.channel_state(0) == ChannelState.PROGRAMMED
    assert [e.name for e in stim.events()] == ["RAMP_DONE", "RAMP_DONE", "STOPPED"]
    stored = device.channels[0].program
    assert stored is not None
    assert crc == program_crc(stored)


def test_ramp_down_stop_takes_the_ramp_and_immediate_stop_does_not(sim: SimFactory) -> None:
    s = sim("seed=3")
    stim = s.stim
    stim.program(
        1, Stimulation(frequency_hz=100, phase_width_us=200, intensity_mA=2, ramp_down_s=3)
    )
    stim.start(1)
    stim.wait(3)
    t0 = stim.clock.now()
    stim.stop(1)
    assert 3.0 <= stim.clock.now() - t0 < 3.5  # the ramp, then confirmation
    stim.start(1)
    stim.wait(3)
    t0 = stim.clock.now()
    stim.stop(1, immediate=True)
    assert stim.clock.now() - t0 < 0.1
    assert s.device.outputs_off


def test_emergency_stop_cuts_every_channel(sim: SimFactory) -> None:
    s = sim("seed=4")
    stim = s.stim
    for ch in (1, 4, 6):
        stim.program(ch, PROGRAM)
    stim.start([1, 4, 6])
    stim.wait(3)
    assert not s.device.outputs_off
    t0 = stim.clock.now()
    status = stim.emergency_stop()
    assert stim.clock.now() - t0 < stim.lease_s
    assert status.outputs_off()
    assert s.device.outputs_off


def test_two_channels_keep_their_own_programs(sim: SimFactory) -> None:
    s = sim("seed=5")
    stim = s.stim
    stim.program(2, Stimulation(frequency_hz=2, phase_width_us=600, intensity_mA=1.5))
    stim.program(3, Stimulation(frequency_hz=100, phase_width_us=200, intensity_mA=3.0))
    stim.start([2, 3])
    stim.wait(4)
    status = stim.status()
    # DeviceStatus.channels is a tuple indexed from 0; each report carries its channel number
    assert [c.channel for c in status.channels[1:3]] == [2, 3]
    assert (status.channels[1].frequency_hz, status.channels[1].measured_mA) == (2, 1.5)
    assert (status.channels[2].frequency_hz, status.channels[2].measured_mA) == (100, 3.0)


# --- refusals: host side (nothing sent) and device side (NAK) ---------------------------------


@pytest.mark.parametrize(
    ("changes", "parameter", "allowed", "layer"),
    [
        ({"intensity_mA": 25}, "intensity_mA", "0..20 mA", "standard"),
        ({"intensity_mA": -1}, "intensity_mA", "0..20 mA", "standard"),
        ({"intensity_mA": 2.0005}, "intensity_mA", "0.001 mA", "schema"),
        ({"frequency_hz": 250}, "frequency_hz", "1..200 Hz", "standard"),
        ({"frequency_hz": 0.5}, "frequency_hz", "1..200 Hz", "standard"),
        ({"phase_width_us": 2000}, "phase_width_us", "50..1000 us", "standard"),
        ({"phase_width_us": 20}, "phase_width_us", "50..1000 us", "standard"),
        ({"intensity_mA": 15, "phase_width_us": 1000}, "intensity_mA", "phase charge", "standard"),
        ({"ramp_up_s": 1}, "ramp_up_s", "2..5 s", "standard"),
        ({"intensity_mA": 20, "ramp_up_s": 3}, "ramp_up_s", ">= 4 s", "device"),
        ({"max_run_s": 7200}, "max_run_s", "1..3600 s", "standard"),
        ({"max_run_s": 10.5}, "max_run_s", "1 s", "schema"),
        ({"interphase_gap_us": 600}, "interphase_gap_us", "0..500 us", "device"),
        ({"shape": "asymmetric_biphasic"}, "asym_ratio", "2..8", "device"),
        ({"asym_ratio": 2}, "asym_ratio", "1..1", "schema"),
        ({"mode": "burst"}, "mode", "continuous | dense_disperse | intermittent", "schema"),
        ({"frequency_b_hz": 100}, "frequency_b_hz", "not used in mode continuous", "schema"),
        ({"mode": "intermittent"}, "on_s", "required in mode intermittent", "schema"),
        (
            {
                "frequency_hz": 200,
                "phase_width_us": 600,
                "shape": "asymmetric_biphasic",
                "asym_ratio": 8,
            },
            "phase_width_us",
            "<= 555 us at 200 Hz",
            "schema",
        ),
    ],
)
def test_out_of_range_is_refused_before_anything_is_sent(
    sim: SimFactory, changes: dict[str, object], parameter: str, allowed: str, layer: str
) -> None:
    s = sim("seed=6")
    before = len(s.stim.frame_log.records())
    base = {
        "frequency_hz": 2,
        "phase_width_us": 300,
        "intensity_mA": 2.5,
        **changes,
    }
    with pytest.raises(ParameterError) as info:
        s.stim.program(1, Stimulation(**base))  # type: ignore[arg-type]
    err = info.value
    assert err.parameter == parameter
    assert allowed in err.allowed
    assert err.layer == layer
    tx = [r for r in s.stim.frame_log.records()[before:] if r.direction == "tx"]
    assert all(r.frame and r.frame.header.msg_type == MsgType.HEARTBEAT for r in tx)
    assert s.device.channels[0].program is None


def test_device_layer_limits_are_intersected(sim: SimFactory) -> None:
    s = sim("seed=7&max_intensity_uA=8000&max_freq_cHz=12000")
    with pytest.raises(ParameterError) as info:
        s.stim.program(1, Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=9))
    assert (info.value.layer, info.value.allowed) == ("device", "0..8 mA")
    assert "SIM-000001" in str(info.value.source)
    with pytest.raises(ParameterError, match=r"1\.\.120 Hz"):
        s.stim.program(1, Stimulation(frequency_hz=150, phase_width_us=300, intensity_mA=2))


def test_bad_channel_and_unprogrammed_start_are_refused(sim: SimFactory) -> None:
    s = sim("seed=8")
    before = len(s.stim.frame_log.records())
    for channel in (0, 7):  # a 6-channel device has channels 1..6, as labelled on it
        with pytest.raises(ParameterError, match=r"allowed 1\.\.6\b") as info:
            s.stim.program(channel, PROGRAM)
        assert (info.value.parameter, info.value.value) == ("channel", channel)
    assert only_heartbeats_sent(s, before)
    assert all(s.device.channels[i].program is None for i in range(6))
    with pytest.raises(ParameterError, match="programmed in this session") as info:
        s.stim.start(2)
    assert info.value.value == 2  # reported as the channel number asked for
    with pytest.raises(ParameterError, match="slew_mA_per_s"):
        s.stim.program(1, PROGRAM)
        s.stim.set_intensity(1, 3, slew_mA_per_s=50)


CHANNEL_CALLS: dict[str, Callable[[Stimulator, int], object]] = {
    "program": lambda stim, ch: stim.program(ch, PROGRAM),
    "read_program": lambda stim, ch: stim.read_program(ch),
    "start": lambda stim, ch: stim.start(ch),
    "start_list": lambda stim, ch: stim.start([1, ch]),
    "set_intensity": lambda stim, ch: stim.set_intensity(ch, 1.0),
    "stop": lambda stim, ch: stim.stop(ch),
    "stop_list": lambda stim, ch: stim.stop([1, ch]),
    "dose": lambda stim, ch: stim.dose(ch),
    "clear_fault": lambda stim, ch: stim.clear_fault(ch),
}


@pytest.mark.parametrize("channel", [0, 7])
@pytest.mark.parametrize("call", CHANNEL_CALLS)
def test_every_channel_argument_is_a_number_from_1(
    sim: SimFactory, call: str, channel: int
) -> None:
    s = sim("seed=8")
    s.stim.program(1, PROGRAM)  # a valid channel beside the bad one must not be acted on either
    before = len(s.stim.frame_log.records())
    with pytest.raises(ParameterError, match=r"allowed 1\.\.6\b") as info:
        CHANNEL_CALLS[call](s.stim, channel)
    assert (info.value.parameter, info.value.value) == ("channel", channel)
    assert only_heartbeats_sent(s, before)


def test_device_naks_surface_as_typed_errors(sim: SimFactory) -> None:
    s = sim("seed=9")
    stim = s.stim
    stim.program(1, PROGRAM)
    with pytest.raises(DeviceNak) as info:
        stim.set_intensity(1, 3.0)  # not running
    assert (info.value.command, info.value.code) == ("SET_INTENSITY", "BAD_STATE")
    stim.start(1)
    stim.wait(1)
    with pytest.raises(DeviceNak) as info:
        stim.program(1, PROGRAM)  # running: cannot be reprogrammed
    assert (info.value.command, info.value.code) == ("SET_PROGRAM", "BAD_STATE")
    with pytest.raises(DeviceNak) as info:
        stim.start(1)  # already running
    assert info.value.code == "BAD_STATE"
    assert info.value.field == "program_crc[0]"  # the wire field: channel 1 is wire index 0


def test_faulted_channel_refuses_start_until_cleared(sim: SimFactory) -> None:
    s = sim("seed=10&stop_button_at=5")
    stim = s.stim
    stim.program(1, PROGRAM)
    stim.start(1)
    with pytest.raises(DeviceFault) as info:
        stim.wait(10)
    assert info.value.faults == ("BUTTON_STOP",)
    assert info.value.channel == 1
    assert "channel 1 stopped" in str(info.value)
    assert s.device.outputs_off
    assert "BUTTON_STOP" in [e.name for e in stim.events()]
    with pytest.raises(DeviceFault, match="latched fault"):
        stim.start(1)
    stim.clear_fault(1)
    stim.start(1)
    stim.wait(3)
    assert s.device.output_uA(0) == 2500


# --- leaving the context ------------------------------------------------------------------------


def test_leaving_the_context_normally_ramps_down_and_confirms(sim: SimFactory) -> None:
    s = sim("seed=11")
    with s.stim as stim:
        stim.program(3, PROGRAM)
        stim.start(3)
        stim.wait(3)
    assert stim.closed
    assert s.device.outputs_off
    assert s.device.channel_state(2) == ChannelState.PROGRAMMED  # channel 3 is index 2


def test_leaving_the_context_by_exception_stops_immediately(sim: SimFactory) -> None:
    s = sim("seed=12")
    with pytest.raises(KeyError), s.stim as stim:
        stim.program(3, PROGRAM)
        stim.start(3)
        stim.wait(3)
        t0 = stim.clock.now()
        raise KeyError("script bug")
    assert stim.clock.now() - t0 < 0.1
    assert s.device.outputs_off
    stim.close()  # twice is harmless


def test_events_and_dose(sim: SimFactory) -> None:
    s = sim("seed=13")
    stim = s.stim
    seen = []
    stim.on_event(seen.append)
    stim.program(1, Stimulation(frequency_hz=10, phase_width_us=200, intensity_mA=1, ramp_up_s=2))
    stim.start(1)
    stim.wait(12)
    stim.stop(1, immediate=True)
    assert [(e.name, e.channel) for e in seen] == [("RAMP_DONE", 1), ("STOPPED", 1)]
    dose = stim.dose(1)
    assert dose.channel == 1
    recorded = s.device.recorder[0]
    assert dose.pulses_a == recorded.pulses_a
    assert 110 <= dose.pulses_a <= 121
    assert dose.peak_mA == 1.0
    assert dose.charge_pos_uC == pytest.approx(recorded.charge_pos_nC / 1000, abs=0.001)
    assert abs(dose.net_charge_uC) <= 0.001  # µC, as in the records (issue 17)
    assert dose.total_charge_uC == pytest.approx(2 * dose.charge_pos_uC, abs=0.002)


def test_program_wire_mode(sim: SimFactory) -> None:
    s = sim("seed=14")
    s.stim.program(
        5,
        Stimulation(
            mode="intermittent",
            frequency_hz=50,
            phase_width_us=250,
            intensity_mA=2,
            on_s=1.5,
            off_s=1.5,
        ),
    )
    stored = s.device.channels[4].program  # channel 5 is index 4
    assert stored is not None
    assert stored.mode == Mode.INTERMITTENT
    assert (stored.on_ms, stored.off_ms, stored.dwell_a_ms, stored.freq_b_cHz) == (1500, 1500, 0, 0)


def test_channel_numbers_drive_the_simulator_index_one_below(sim: SimFactory) -> None:
    # The host counts channels from 1 (as labelled on the device); the wire and the simulator
    # count from 0. Channel 1 must drive index 0 and channel N index N-1, and nothing else.
    s = sim("seed=16")
    stim, device = s.stim, s.device
    n = stim.limits.channel_count
    assert n == 6
    stim.program(1, PROGRAM)
    assert last_sent(s, MsgType.SET_PROGRAM).channel == 0  # type: ignore[attr-defined]
    stim.start(1)
    assert last_sent(s, MsgType.START).channel_mask == 0b1  # type: ignore[attr-defined]
    stim.wait(3)
    assert device.output_uA(0) > 0
    assert device.output_uA(1) == 0
    assert all(device.output_uA(i) == 0 for i in range(1, n))
    assert all(device.channels[i].program is None for i in range(1, n))
    status = stim.status()
    assert [c.channel for c in status.channels] == list(range(1, n + 1))
    assert status.channels[0].measured_mA == 2.5
    assert not status.outputs_off([1]) and status.outputs_off([2])

    stim.program(n, PROGRAM)
    assert last_sent(s, MsgType.SET_PROGRAM).channel == n - 1  # type: ignore[attr-defined]
    assert stim.read_program(n) == PROGRAM
    stim.start(n)
    assert last_sent(s, MsgType.START).channel_mask == 1 << (n - 1)  # type: ignore[attr-defined]
    stim.wait(3)
    assert device.output_uA(n - 1) > 0
    assert all(device.output_uA(i) == 0 for i in range(1, n - 1))
    stim.stop(1, immediate=True)
    assert device.output_uA(0) == 0 and device.output_uA(n - 1) > 0
    dose = stim.dose(n)
    assert dose.channel == n
    assert dose.pulses_a == device.recorder[n - 1].pulses_a > 0


def test_connect_finds_the_device_by_usb_serial_number(mocker: MockerFixture) -> None:
    # The OS lists the simulator as a USB port; connect() resolves it from VID:PID + serial.
    listed = ListPortInfo("sim://?seed=15&serial=EA6-000123", skip_link_detection=True)
    listed.vid, listed.pid, listed.serial_number = 0x0483, 0x5740, "EA6-000123"
    other = ListPortInfo("/dev/ttyACM9", skip_link_detection=True)
    other.vid, other.pid, other.serial_number = 0x0483, 0x5740, "EA6-000999"
    mocker.patch("serial.tools.list_ports.comports", return_value=[listed, other])
    with connect(vid=0x0483, pid=0x5740, serial_number="EA6-000123") as stim:
        assert stim.info.serial == "EA6-000123"
    with pytest.raises(PortNotFound, match="serial number 'EA6-000555'"):
        connect(vid=0x0483, serial_number="EA6-000555")


def test_connect_needs_exactly_one_way_to_the_port() -> None:
    with pytest.raises(ParameterError, match="port"):
        connect()
    with pytest.raises(ParameterError, match="port"):
        connect("sim://?seed=1", serial_number="EA6-000123")
