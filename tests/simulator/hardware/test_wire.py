"""The wire model (10 bits per byte at the baud rate) and the cable joining host and device."""

from __future__ import annotations

import pytest

from simulator.clock import VirtualClock
from simulator.hardware.faults import Direction, FaultInjector, FaultKind, LinkFault
from simulator.hardware.wire import Link, Wire


class EchoDevice:
    """A stand-in device: answers every received chunk with the same bytes."""

    def __init__(self) -> None:
        self.received: list[tuple[int, bytes]] = []
        self._out = bytearray()
        self.advanced_to = 0

    def receive(self, data: bytes, now_us: int) -> None:
        self.received.append((now_us, data))
        self._out += data

    def advance(self, now_us: int) -> None:
        self.advanced_to = now_us

    def next_deadline_us(self) -> int | None:
        return None

    def take_output(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out


def test_bytes_take_ten_bits_each_at_the_baud_rate() -> None:
    wire = Wire(115_200)
    wire.send(b"\x01" * 10, now_us=0)
    # byte k arrives at ceil(k * 10 / 115200 s): 86.8 us -> 87 us, 868.1 us -> 869 us
    assert wire.available(86) == 0
    assert wire.available(87) == 1
    assert wire.available(868) == 9
    assert wire.available(869) == 10
    assert wire.idle_at_us == 869


def test_long_transmission_does_not_drift() -> None:
    wire = Wire(115_200)
    wire.send(bytes(115_200), now_us=0)
    assert wire.idle_at_us == 10_000_000
    assert wire.available(9_999_999) == 115_199


def test_a_later_send_waits_for_the_line() -> None:
    wire = Wire(9600)
    wire.send(b"ab", now_us=0)  # 1042 us per byte
    wire.send(b"c", now_us=100)
    assert wire.idle_at_us == 2084 + 1042
    assert wire.take(2084) == b"ab"
    assert wire.take(3125) == b""
    assert wire.take(3126) == b"c"


def test_gap_pauses_the_line_before_the_bytes() -> None:
    wire = Wire(0)
    wire.send(b"a", now_us=10, gap_us=500)
    assert wire.available(509) == 0
    assert wire.take(510) == b"a"


def test_baud_zero_delivers_at_once() -> None:
    wire = Wire(0)
    wire.send(b"hello", now_us=42)
    assert wire.available(41) == 0
    assert wire.take(42) == b"hello"


def test_negative_baud_is_refused() -> None:
    with pytest.raises(ValueError, match="baud"):
        Wire(-1)


def test_take_respects_the_limit_and_keeps_the_rest() -> None:
    wire = Wire(0)
    wire.send(b"abc", 0)
    wire.send(b"de", 0)
    assert wire.take(0, limit=2) == b"ab"
    assert wire.take(0, limit=2) == b"cd"
    assert wire.available(0) == 1
    assert wire.take(0) == b"e"


def test_next_arrival_is_the_next_delimiter_or_the_end_of_a_transmission() -> None:
    wire = Wire(1_000_000)  # 10 us per byte
    wire.send(b"ab\x00cd\x00ef", now_us=0)
    assert wire.next_arrival_us(after_us=-1) == 30
    assert wire.next_arrival_us(after_us=30) == 60
    assert wire.next_arrival_us(after_us=60) == 80
    assert wire.next_arrival_us(after_us=80) is None


def test_in_flight_and_dropping() -> None:
    wire = Wire(1_000_000)
    wire.send(b"abcdef", now_us=0)
    assert wire.in_flight(25) == 4
    assert wire.drop_in_flight(25) == 4
    assert wire.in_flight(25) == 0
    assert wire.drop_arrived(25) == 2
    assert wire.available(1000) == 0
    wire.send(b"x", now_us=30)
    assert wire.take(40) == b"x"


def test_link_round_trip_costs_the_wire_time_both_ways() -> None:
    clock = VirtualClock()
    device = EchoDevice()
    link = Link(device, baud=115_200)
    clock.add_actor(link)
    link.host_write(b"\x11\x22\x00", clock.now_us)
    assert clock.advance_to(10_000, until=lambda: link.to_host.available(clock.now_us) == 3)
    assert device.received == [(261, b"\x11\x22\x00")]  # 3 bytes: ceil(30 / 0.1152) us
    assert clock.now_us == 522
    assert link.to_host.take(clock.now_us) == b"\x11\x22\x00"


def test_link_wakes_the_device_for_each_frame() -> None:
    clock = VirtualClock()
    device = EchoDevice()
    link = Link(device, baud=1_000_000)
    clock.add_actor(link)
    link.host_write(b"a\x00b\x00", 0)
    clock.sleep(1)
    assert device.received == [(20, b"a\x00"), (40, b"b\x00")]


def test_link_applies_fault_layers_per_direction() -> None:
    clock = VirtualClock()
    device = EchoDevice()
    drop_replies = LinkFault(FaultKind.DROP, Direction.TO_HOST, rate=1.0)
    link = Link(device, baud=0, to_host=FaultInjector([drop_replies], Direction.TO_HOST))
    clock.add_actor(link)
    link.host_write(b"a\x00", 0)
    clock.sleep(1)
    assert device.received == [(0, b"a\x00")]
    assert link.to_host.available(clock.now_us) == 0
    assert link.fault_layer(Direction.TO_HOST).counts[FaultKind.DROP] == 1


def test_unplugged_link_loses_everything_but_the_device_runs_on() -> None:
    clock = VirtualClock()
    device = EchoDevice()
    tapped: list[bytes] = []
    link = Link(device, baud=9600, tap=lambda data, now: tapped.append(data))
    clock.add_actor(link)
    link.host_write(b"abc\x00", 0)
    clock.advance_to(2000)  # one byte (1042 us) is through, handed over at 2000 us
    link.unplug(clock.now_us)
    assert link.unplugged
    assert link.unplugged_at_us == 2000
    link.host_write(b"more\x00", clock.now_us)
    clock.sleep(1)
    assert device.received == [(2000, b"a")]
    assert device.advanced_to == clock.now_us
    assert link.to_host.available(clock.now_us) == 0
    assert tapped == [b"a"]  # the echo, sent before the unplug and lost on the way
