"""The wire model: a serial line in each direction and the cable that joins the host to the device.

A UART sends 10 bits per byte (start bit, 8 data bits, stop bit), so at 115200 baud a byte takes
86.8 µs and a 40-byte STATUS frame 3.5 ms; with the model on, latency figures mean something. Byte
``i`` of a transmission that starts at ``t0`` arrives at ``t0 + ceil((i + 1) · 10 / baud)``,
computed in integers from the start of its transmission so no rounding error accumulates; a
transmission starts when the line is free, after any earlier bytes. Baud 0 disables the model:
bytes arrive when they are sent.

``Link`` is the cable: host → fault layer → wire → device, and device → fault layer → wire → host.
It is an ``Actor`` for the clock's scheduler: it wakes up when a frame delimiter (or the end of a
transmission) arrives, feeds the device what has arrived, runs it, and puts its output on the wire
back to the host, where the port picks it up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from simulator.hardware.faults import Direction, FaultInjector

__all__ = ["BITS_PER_BYTE", "DEFAULT_BAUD", "DeviceEnd", "Link", "Wire"]

BITS_PER_BYTE = 10
"""8N1 framing: start bit, eight data bits, stop bit."""

DEFAULT_BAUD = 115_200

_BIT_US = 1_000_000


@dataclass
class _Transmission:
    start_us: int
    data: bytes
    baud: int
    taken: int = 0

    def arrival_us(self, index: int) -> int:
        """When byte ``index`` has been completely received."""
        if self.baud == 0:
            return self.start_us
        bits = (index + 1) * BITS_PER_BYTE * _BIT_US
        return self.start_us + -(-bits // self.baud)

    def arrived(self, now_us: int) -> int:
        """How many bytes of the transmission have arrived by ``now_us`` (taken or not)."""
        if now_us < self.start_us:
            return 0
        if self.baud == 0:
            return len(self.data)
        return min(
            len(self.data), (now_us - self.start_us) * self.baud // (BITS_PER_BYTE * _BIT_US)
        )


class Wire:
    """One direction of a serial line.

    Args:
        baud: line rate in bit/s; 0 disables the timing model.

    Raises:
        ValueError: ``baud`` is negative.
    """

    def __init__(self, baud: int = DEFAULT_BAUD) -> None:
        if baud < 0:
            raise ValueError(f"baud must be >= 0, got {baud}")
        self.baud = baud
        self._queue: deque[_Transmission] = deque()
        self._free_us = 0

    def send(self, data: bytes, now_us: int, gap_us: int = 0) -> None:
        """Put ``data`` on the line at ``now_us``, after earlier bytes and a pause of ``gap_us``."""
        if not data:
            return
        item = _Transmission(max(now_us, self._free_us) + gap_us, bytes(data), self.baud)
        self._queue.append(item)
        self._free_us = item.arrival_us(len(item.data) - 1)

    def transmit_us(self, size: int) -> int:
        """How long ``size`` bytes take on the line, start to end (0 without the timing model)."""
        if self.baud == 0 or size <= 0:
            return 0
        return -(-size * BITS_PER_BYTE * _BIT_US // self.baud)

    def available(self, now_us: int) -> int:
        """Number of bytes that have arrived by ``now_us`` and not been taken."""
        count = 0
        for item in self._queue:
            arrived = item.arrived(now_us)
            count += arrived - item.taken
            if arrived < len(item.data):
                break
        return count

    def in_flight(self, now_us: int) -> int:
        """Number of bytes sent that have not arrived by ``now_us``."""
        return sum(len(item.data) - max(item.arrived(now_us), item.taken) for item in self._queue)

    def take(self, now_us: int, limit: int | None = None) -> bytes:
        """Remove and return up to ``limit`` bytes (default: all) arrived by ``now_us``."""
        if not self._queue:
            return b""  # the usual case: every read and every step looks
        out = bytearray()
        while self._queue and (limit is None or len(out) < limit):
            item = self._queue[0]
            end = item.arrived(now_us)
            if limit is not None:
                end = min(end, item.taken + limit - len(out))
            out += item.data[item.taken : end]
            item.taken = max(item.taken, end)
            if item.taken < len(item.data):
                break
            self._queue.popleft()
        return bytes(out)

    def next_arrival_us(self, after_us: int) -> int | None:
        """Return when the next frame delimiter, or the end of a transmission, arrives after
        ``after_us`` (None: nothing more is coming).

        The receiver only acts on complete frames, so there is no need to wake it per byte.
        """
        if not self._queue:
            return None  # the usual case: the clock asks at every step
        for item in self._queue:
            first = max(item.taken, item.arrived(after_us))
            if first >= len(item.data):
                continue
            delimiter = item.data.find(b"\x00", first)
            return item.arrival_us(len(item.data) - 1 if delimiter < 0 else delimiter)
        return None

    def drop_arrived(self, now_us: int) -> int:
        """Discard the bytes that have arrived by ``now_us``; return how many."""
        return len(self.take(now_us))

    def drop_in_flight(self, now_us: int) -> int:
        """Discard the bytes that have not arrived by ``now_us`` (the line goes quiet); return how
        many."""
        dropped = 0
        kept: deque[_Transmission] = deque()
        for item in self._queue:
            arrived = item.arrived(now_us)
            dropped += len(item.data) - max(arrived, item.taken)
            if arrived > item.taken:
                kept.append(
                    _Transmission(item.start_us, item.data[:arrived], item.baud, item.taken)
                )
        self._queue = kept
        self._free_us = min(self._free_us, now_us)
        return dropped

    @property
    def idle_at_us(self) -> int:
        """When the last byte sent so far has arrived."""
        return self._free_us


class DeviceEnd(Protocol):
    """What the cable needs from the device (``simulator.firmware.Firmware`` provides it)."""

    def receive(self, data: bytes, now_us: int) -> None:
        """Take bytes from the host that arrive at ``now_us``."""
        ...

    def advance(self, now_us: int) -> None:
        """Run everything due up to ``now_us``."""
        ...

    def next_deadline_us(self) -> int | None:
        """When the device next has something to do on its own."""
        ...

    def take_output(self) -> bytes:
        """Bytes the device sent since the last call."""
        ...


class Link:
    """The cable between the host's port and the device, with a fault layer in each direction.

    Args:
        device: the device end.
        baud: line rate of both wires (0: no timing model).
        to_device: fault layer for bytes from the host (None: none).
        to_host: fault layer for bytes from the device (None: none).
        tap: optionally called with each chunk the device sends, before any fault (for logging).
        now_us: the time the link is created at.
    """

    def __init__(
        self,
        device: DeviceEnd,
        *,
        baud: int = DEFAULT_BAUD,
        to_device: FaultInjector | None = None,
        to_host: FaultInjector | None = None,
        tap: Callable[[bytes, int], None] | None = None,
        now_us: int = 0,
    ) -> None:
        self.device = device
        self.to_device = Wire(baud)
        self.to_host = Wire(baud)
        self._faults = {
            Direction.TO_DEVICE: to_device or FaultInjector((), Direction.TO_DEVICE),
            Direction.TO_HOST: to_host or FaultInjector((), Direction.TO_HOST),
        }
        self._tap = tap
        self._now_us = now_us
        self.unplugged_at_us: int | None = None

    @property
    def unplugged(self) -> bool:
        """True once the cable has been pulled; it stays pulled."""
        return self.unplugged_at_us is not None

    def fault_layer(self, direction: Direction) -> FaultInjector:
        """The fault layer of one direction."""
        return self._faults[direction]

    def host_write(self, data: bytes, now_us: int) -> None:
        """Send bytes from the host at ``now_us`` (lost if the cable is pulled)."""
        if self.unplugged:
            return
        for gap_us, chunk in self._faults[Direction.TO_DEVICE].process(data, now_us):
            self.to_device.send(chunk, now_us, gap_us)

    def unplug(self, now_us: int) -> None:
        """Pull the cable: bytes in flight are lost, nothing more gets through either way."""
        if self.unplugged:
            return
        self.advance(now_us)
        self.unplugged_at_us = now_us
        for wire in (self.to_device, self.to_host):
            wire.drop_in_flight(now_us)
            wire.drop_arrived(now_us)

    def next_deadline_us(self) -> int | None:
        """The earliest of the device's deadline and the next frame arrival on either wire."""
        due_us = self.device.next_deadline_us()
        for arrival_us in (
            self.to_device.next_arrival_us(self._now_us - 1),
            self.to_host.next_arrival_us(self._now_us),
        ):
            if arrival_us is not None and (due_us is None or arrival_us < due_us):
                due_us = arrival_us
        return due_us

    def advance(self, now_us: int) -> None:
        """Deliver what has reached the device, run it, and send its output toward the host."""
        self._now_us = max(self._now_us, now_us)
        now_us = self._now_us
        data = self.to_device.take(now_us)
        if data:
            self.device.receive(data, now_us)
        self.device.advance(now_us)
        out = self.device.take_output()
        if not out:
            return
        if self._tap is not None:
            self._tap(out, now_us)
        if self.unplugged:
            return
        for gap_us, chunk in self._faults[Direction.TO_HOST].process(out, now_us):
            self.to_host.send(chunk, now_us, gap_us)
