"""The sim:// pyserial URL handler in virtual time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import serial
from peer import HostPeer, Received, SerialEnd

from firmware_protocol import (
    ChannelState,
    EventCode,
    Fault,
    GetInfo,
    Heartbeat,
    HelloAck,
    InfoFlag,
    Message,
    Nak,
    NakCode,
    Pair,
    PairAck,
    SetProgram,
    Start,
    Status,
    encode_frame,
)
from firmware_protocol.messages import Event
from simulator.hardware.faults import Direction, FaultKind
from simulator.hardware.loads import DEFAULT_LOAD, OpenCircuit, Resistive
from simulator.hardware.wire import BITS_PER_BYTE
from simulator.serve.port import SimSerial as Serial
from simulator.serve.port import register_url_handler

register_url_handler()


def open_sim(query: str = "", **kwargs: object) -> Serial:
    port = serial.serial_for_url(f"sim://?{query}", **kwargs)  # type: ignore[arg-type]
    assert isinstance(port, Serial)
    return port


def wire_us(frame: bytes, baud: int = 115_200) -> int:
    """Time for a frame to cross the wire: ceil(bytes * 10 bits / baud)."""
    return -(-len(frame) * BITS_PER_BYTE * 1_000_000 // baud)


class SimHost(HostPeer):
    """``HostPeer`` through a sim:// port (virtual time): pairs in the port's default pairing
    window at its first HELLO; ``call`` returns None when no reply came within the timeout."""

    def __init__(self, port: Serial) -> None:
        self.port = port
        super().__init__(SerialEnd(port, port.clock), collect_at_start=False)

    def frames(self) -> list[Received] | None:
        """Read up to one delimiter and decode; EVENTs are kept aside. None: nothing came."""
        replies = self.collect()
        return replies if self.got_data else None

    def call(self, message: Message) -> Message | None:  # type: ignore[override]
        """Send a new command and return its reply (None if nothing came within the timeout)."""
        replies = self.send(self.command(message))
        return replies[0].message if replies else None

    def hello(self, lease_ms: int = 500, **hello: Any) -> HelloAck:
        """Pair (once) and open a session."""
        if not self.pairing_key:
            self.pair()
        return super().hello(lease_ms, **hello)

    @property
    def seen(self) -> list[Event]:
        """The EVENTs received so far."""
        return [self.event(frame) for frame in self.events]


def test_serial_for_url_returns_a_sim_port_with_a_virtual_clock() -> None:
    with open_sim("channels=4&seed=1&serial=SIM-123", timeout=0.1) as port:
        assert port.is_open
        assert port.device.model.channel_count == 4
        assert port.clock.now_us == 0
        ack = SimHost(port).hello()
        assert (ack.channel_count, ack.serial, ack.boot_id) == (4, "SIM-123", port.device.boot_id)
    assert not port.is_open


def test_a_reply_costs_the_wire_time_both_ways() -> None:
    port = open_sim(timeout=1.0)
    port.reset_input_buffer()  # the boot EVENT was sent at t = 0 and has not arrived yet
    port.clock.sleep(0.01)
    port.reset_input_buffer()
    get_info = encode_frame(GetInfo(), counter=1)
    start_us = port.clock.now_us
    port.write(get_info)
    reply = port.read_until(b"\x00")
    assert port.clock.now_us - start_us == wire_us(get_info) + wire_us(reply)


def test_baud_zero_disables_the_wire_model() -> None:
    port = open_sim("baud=0", timeout=1.0)
    port.read_until(b"\x00")  # the boot EVENT, already there
    assert port.clock.now_us == 0
    SimHost(port).hello()
    assert port.clock.now_us == 0


def test_port_settings_do_not_change_the_wire() -> None:
    port = open_sim("baud=0", timeout=1.0, baudrate=300)
    port.baudrate = 50
    SimHost(port).hello()
    assert port.clock.now_us == 0


def test_read_times_out_in_virtual_time() -> None:
    port = open_sim(timeout=0.25)
    port.read_until(b"\x00")
    t0 = port.clock.now_us
    assert port.read(10) == b""
    assert port.clock.now_us == t0 + 250_000


def test_read_with_zero_timeout_does_not_wait() -> None:
    port = open_sim(timeout=0)
    assert port.read(100) == b""
    assert port.clock.now_us == 0
    port.clock.sleep(0.01)
    event = port.read(100)
    assert event.endswith(b"\x00")
    assert port.in_waiting == 0


def test_read_returns_when_enough_bytes_have_arrived() -> None:
    port = open_sim(timeout=5)
    first = port.read(3)
    assert len(first) == 3
    assert port.clock.now_us < 5_000_000


def test_blocking_read_gives_up_after_max_block_s() -> None:
    port = open_sim("max_block_s=2", timeout=None)
    port.read_until(b"\x00")
    t0 = port.clock.now_us
    with pytest.raises(serial.SerialTimeoutException, match="max_block_s"):
        port.read(1)
    assert port.clock.now_us == t0 + 2_000_000


def test_inter_byte_timeout_ends_a_read_after_a_quiet_gap() -> None:
    port = open_sim(timeout=10, inter_byte_timeout=0.05)
    data = port.read(1000)
    assert data.endswith(b"\x00")
    assert port.clock.now_us < 1_000_000


def test_in_waiting_and_the_buffers() -> None:
    port = open_sim(timeout=0)
    port.clock.sleep(0.01)
    assert port.in_waiting > 0
    port.reset_input_buffer()
    assert port.in_waiting == 0
    port.write(b"\x01" * 100)
    assert port.out_waiting == 100
    port.clock.sleep(0.001)
    assert 0 < port.out_waiting < 100
    port.reset_output_buffer()
    assert port.out_waiting == 0


def test_flush_waits_until_the_device_has_the_bytes() -> None:
    port = open_sim(timeout=0)
    data = b"\x01" * 50
    port.write(data)
    port.flush()
    assert port.out_waiting == 0
    assert port.clock.now_us == wire_us(data)
    assert port.device.rx_err_count == 0  # no delimiter yet: not a frame, not an error


def test_cancel_read_returns_what_has_arrived() -> None:
    port = open_sim(timeout=30)
    port.read_until(b"\x00")
    port.clock.schedule(port.clock.now_us + 500_000, lambda now: port.cancel_read())
    t0 = port.clock.now_us
    assert port.read(10) == b""
    assert port.clock.now_us == t0 + 500_000


def test_send_break_takes_virtual_time() -> None:
    port = open_sim()
    port.send_break(0.25)
    assert port.clock.now_us == 250_000


def test_modem_lines() -> None:
    port = open_sim()
    port.rts = False
    port.dtr = False
    assert (port.cts, port.dsr, port.ri, port.cd) == (True, True, False, True)


def test_close_is_safe_twice_and_the_device_lives_on() -> None:
    port = open_sim(timeout=0.1)
    host = SimHost(port)
    host.hello()
    port.close()
    port.close()
    with pytest.raises(serial.PortNotOpenError):
        port.read(1)
    with pytest.raises(serial.PortNotOpenError):
        port.write(b"x")
    port.clock.sleep(1)
    assert port.device.status().lease_remaining_ms == 0
    port.open()
    assert port.is_open
    assert host.call(Heartbeat()) is not None


def test_opening_twice_is_refused() -> None:
    port = open_sim()
    with pytest.raises(serial.SerialException, match="already open"):
        port.open()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://?colour=red", "unknown option 'colour'"),
        ("sim://?channels=9", "channel_count"),
        ("sim://?drop=", "number >= 0"),
        ("sim://?max_block_s=-1", "max_block_s"),
        ("sim://device1?channels=2", "expected sim://"),
        ("sim://?scenario=/nonexistent/file.toml", "nonexistent"),
        # channel numbers count from 1, as labelled on the device: 0 is refused, not shifted
        ("sim://?load0=10k", r"load0: no channel 0: channels are 1\.\.6"),
        ("sim://?channels=4&load5=10k", r"load5: no channel 5: channels are 1\.\.4"),
        ("sim://?electrode_off=0@1", r"electrode_off=0@1: no channel 0: channels are 1\.\.6"),
        ("sim://?electrode_on=7@1", r"electrode_on=7@1: no channel 7: channels are 1\.\.6"),
    ],
)
def test_bad_urls_raise_serial_exception(url: str, message: str) -> None:
    with pytest.raises(serial.SerialException, match=message):
        serial.serial_for_url(url)


def test_load1_is_the_first_channel_wire_index_0() -> None:
    port = open_sim("channels=3&load1=10k&load3=open", timeout=0.1)
    assert port.device.load(0) == Resistive(10_000.0)
    assert port.device.load(1) == DEFAULT_LOAD
    assert isinstance(port.device.load(2), OpenCircuit)


def test_electrode_off_1_cuts_wire_index_0() -> None:
    port = open_sim("channels=2&load1=1k&load2=2k&electrode_off=1@1", timeout=0.1)
    port.clock.sleep(1.5)
    assert isinstance(port.device.load(0), OpenCircuit)
    assert port.device.load(1) == Resistive(2000.0)


def test_scenario_file_in_the_url(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('schema_version = 1\n[device]\nserial = "FROM-FILE"\n', encoding="utf-8")
    port = open_sim(f"scenario={path}&channels=2", timeout=0.1)
    assert port.scenario.model.serial == "FROM-FILE"
    assert port.device.model.channel_count == 2


def test_unplug_makes_the_port_fail_like_a_vanished_usb_adapter() -> None:
    port = open_sim("unplug_at=1.5", timeout=0.1)
    host = SimHost(port)
    host.hello()
    port.clock.sleep(1)
    assert host.call(Heartbeat()) is not None
    port.clock.sleep(1)
    with pytest.raises(serial.SerialException, match="disconnected"):
        port.read(1000)
    with pytest.raises(serial.SerialException):
        port.write(b"x")
    with pytest.raises(serial.SerialException):
        _ = port.in_waiting
    port.close()
    with pytest.raises(serial.SerialException, match="unplugged"):
        port.open()


def test_unplug_during_a_read_ends_it_with_an_error() -> None:
    port = open_sim("unplug_at=0.5", timeout=3)
    port.read_until(b"\x00")
    with pytest.raises(serial.SerialException, match="disconnected"):
        port.read(1)
    assert port.clock.now_us == 500_000


def test_dropped_replies_time_out_but_the_command_was_executed() -> None:
    port = open_sim("drop_to_host=1", timeout=0.2)
    host = SimHost(port)
    port.device.open_pairing_window(port.clock.now_us, 1)
    paired = port.device.keys.pair(port.clock.now_us)  # paired before, by the bench
    host.key_id, host.pairing_key = paired.key_id, paired.pairing_key
    assert host.hello_replies() == []
    assert port.device.session is not None  # the HELLO arrived and was executed
    # the boot EVENT and the HELLO_ACK were both lost on the way back
    assert port.bench.link.fault_layer(Direction.TO_HOST).counts[FaultKind.DROP] == 2


def test_stimulation_stops_when_the_host_stops_heartbeating(
    make_program: Callable[..., SetProgram],
) -> None:
    program = make_program(freq_a_cHz=10_000, phase_a_us=200, target_uA=2000, ramp_up_ms=500)
    port = open_sim("channels=2&seed=3", timeout=0.1)
    host = SimHost(port)
    host.hello(lease_ms=500)
    ack = host.call(program)
    assert ack is not None
    crc = program.crc
    assert host.call(Start(channel_mask=1, program_crc=(crc, 0, 0, 0, 0, 0, 0, 0))) is not None
    for _ in range(10):  # one second of stimulation, heartbeating every 100 ms
        port.clock.sleep(0.1)
        status = host.call(Heartbeat())
        assert isinstance(status, Status)
    assert port.device.channel_state(0) in (ChannelState.RAMPING, ChannelState.RUNNING)
    assert port.device.output_uA(0) > 0
    last_heartbeat_us = port.clock.now_us
    port.clock.sleep(0.6)  # the host hangs: no heartbeat for longer than the lease
    assert port.device.outputs_off
    assert port.device.channel_state(0) is ChannelState.FAULT
    assert port.device.status().channels[0].faults & Fault.LEASE
    while host.frames() is not None:
        pass
    expired = [e for e in host.seen if e.code == EventCode.LEASE_EXPIRED]
    assert len(expired) == 1
    # off within one lease plus one check period of the last heartbeat's arrival
    assert expired[0].uptime_ms * 1000 <= last_heartbeat_us + 500_000 + 10_000


def test_the_log_names_channels_from_1(
    make_program: Callable[..., SetProgram], caplog: pytest.LogCaptureFixture
) -> None:
    port = open_sim("channels=2&seed=3&electrode_off=2@1", timeout=0.1)
    host = SimHost(port)
    host.hello(lease_ms=500)
    crc = 0
    for index in (0, 1):
        program = make_program(channel=index, freq_a_cHz=10_000, phase_a_us=200, target_uA=2000)
        assert host.call(program) is not None
        crc = program.crc
    with caplog.at_level(logging.INFO, logger="simulator.serve.bench"):
        assert host.call(Start(channel_mask=0b11, program_crc=(crc, crc, 0, 0, 0, 0, 0, 0)))
        for _ in range(20):  # two seconds, heartbeating; channel 2 loses its electrode at 1 s
            port.clock.sleep(0.1)
            assert isinstance(host.call(Heartbeat()), Status)
        port.clock.sleep(1.0)  # the host hangs: the lease stops channel 1
        while host.frames() is not None:
            pass
    assert port.device.channel_state(1) is ChannelState.FAULT  # wire index 1 is channel 2
    [electrode] = [e for e in host.seen if e.code == EventCode.ELECTRODE_FAULT]
    assert electrode.channel == 1
    [expired] = [e for e in host.seen if e.code == EventCode.LEASE_EXPIRED]
    assert expired.detail == 0b01  # the wire mask: index 0, channel 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("scenario: electrode_off channel 2 at 1 s") for m in messages)
    assert any(m.startswith("device EVENT ELECTRODE_FAULT channel 2 detail=") for m in messages)
    assert any(
        m.startswith("device EVENT LEASE_EXPIRED device stopped channel 1 (t=") for m in messages
    )
    assert not any(" ch0" in m or " ch1" in m or "channel 0" in m for m in messages)


def test_i13_02_sim_opens_a_pairing_window_of_60_s_at_boot_unless_told() -> None:
    host = SimHost(open_sim("baud=0", timeout=0.1))
    assert host.get_info().flags == InfoFlag.PAIRING_WINDOW
    host.port.clock.sleep(60.0)
    assert host.get_info().flags == InfoFlag.NONE
    closed = SimHost(open_sim("baud=0&pairing_window=0", timeout=0.1))
    nak = closed.plain_call(Pair(host_label="x")).message
    assert isinstance(nak, Nak) and nak.code == NakCode.PAIRING_CLOSED
    short = SimHost(open_sim("baud=0&pairing_window=5", timeout=0.1))
    short.port.clock.sleep(4.9)
    assert isinstance(short.pair(), PairAck)


@pytest.mark.parametrize("value", ["-1", "3601", "1.5", "soon"])
def test_i13_02_a_bad_pairing_window_is_refused_by_name(value: str) -> None:
    with pytest.raises(serial.SerialException, match="pairing"):
        open_sim(f"pairing_window={value}")
