"""The device ends of ``peer.HostPeer`` and the forgery helper ``tamper``.

``FirmwareEnd`` is an in-process ``Firmware`` in virtual time; ``SerialEnd`` a pyserial port
(``sim://`` in virtual time, a pty or ``socket://`` in real time) with the clock it runs on.
"""

from __future__ import annotations

from typing import Any, Protocol

import firmware_protocol as fp

__all__ = ["Clock", "DeviceEnd", "FirmwareEnd", "SerialEnd", "tamper"]


class DeviceEnd(Protocol):
    """The device as the peer reaches it."""

    def deliver(self, data: bytes, now_us: int) -> None:
        """Give the device ``data`` at ``now_us``."""
        ...

    def output(self) -> bytes:
        """What the device sent since the last call."""
        ...

    def advance(self, now_us: int) -> None:
        """Let the device run alone until ``now_us``."""
        ...


class FirmwareEnd:
    """An in-process device (``simulator.firmware.Firmware`` or ``Device``), virtual time."""

    def __init__(self, device: Any) -> None:
        self.device = device

    def deliver(self, data: bytes, now_us: int) -> None:
        """``device.receive``."""
        self.device.receive(data, now_us)

    def output(self) -> bytes:
        """``device.take_output``."""
        return bytes(self.device.take_output())

    def advance(self, now_us: int) -> None:
        """``device.advance``."""
        self.device.advance(now_us)


class Clock(Protocol):
    """What ``SerialEnd`` needs of a clock (``VirtualClock``, ``RealClock``)."""

    @property
    def now_us(self) -> int:
        """The time now, µs."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class SerialEnd:
    """A device behind a pyserial port: bytes written, replies read with the port's timeout.

    ``output`` reads up to one 0x00 delimiter (waiting at most the port's timeout), then
    whatever has already arrived; the peer reads again while it still waits for a reply. The
    peer's time is ``clock``'s: ``advance`` sleeps on it.
    """

    def __init__(self, port: Any, clock: Clock) -> None:
        self.port = port
        self.clock = clock

    def deliver(self, data: bytes, now_us: int) -> None:
        """Write ``data`` (at the clock's time, whatever ``now_us`` says)."""
        self.port.write(data)

    def output(self) -> bytes:
        """One frame's bytes or nothing within the timeout, and anything already arrived."""
        data = bytes(self.port.read_until(b"\x00"))
        while data and self.port.in_waiting:
            data += bytes(self.port.read(self.port.in_waiting))
        return data

    def advance(self, now_us: int) -> None:
        """Sleep on the clock until ``now_us``."""
        late_us = now_us - self.clock.now_us
        if late_us > 0:
            self.clock.sleep(late_us / 1e6)


def tamper(frame: bytes, bit: int) -> bytes:
    """``frame`` (encoded, with its delimiter) with bit ``bit`` of header ‖ payload ‖ tag
    flipped (modulo their length) and the CRC made good again: a forgery that passes the CRC and
    must be caught by the tag (or by the checks before it)."""
    raw = bytearray(fp.cobs_decode(frame[:-1]))
    body = raw[:-4]  # the CRC-32C
    index = bit % (len(body) * 8)
    body[index // 8] ^= 1 << (index % 8)
    return fp.cobs_encode(bytes(body) + fp.crc32c(bytes(body)).to_bytes(4, "little")) + b"\x00"
