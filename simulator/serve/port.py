"""The ``sim://`` URL handler for pyserial: the simulated device as a serial port, in virtual time.

``import simulator`` registers the handler (``serial.protocol_handler_packages``), after which::

    port = serial.serial_for_url("sim://?channels=6&seed=1&drop=0.01", timeout=0.1)
    port.clock.sleep(0.1)       # the shared VirtualClock: the device runs while the host waits

A read that finds fewer bytes than asked advances the shared virtual clock (running the device,
the wires and the scheduled faults in time order) until the bytes have arrived or the timeout has
passed, then returns what it has — exactly pyserial's semantics, in no wall time. Bytes written
go onto the host → device wire at the current virtual time; the device sees them as time advances
(a read, ``clock.sleep`` or ``flush``). The options are listed in ``simulator/README.md`` and
parsed by ``simulator.serve.options``, which the command line shares. pyserial finds this class
as ``simulator.protocol_sim.Serial``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import serial
from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    SerialTimeoutException,
)

from simulator.ccore.device import CoreDevice
from simulator.clock import VirtualClock, seconds_to_us
from simulator.hardware.device import Device
from simulator.serve.bench import Bench
from simulator.serve.options import parse_number, scenario_from_options
from simulator.serve.scenario import Scenario, ScenarioError

__all__ = ["DEFAULT_MAX_BLOCK_S", "DEFAULT_PAIRING_WINDOW_S", "SimSerial", "register_url_handler"]

DEFAULT_MAX_BLOCK_S = 60.0
"""How much virtual time a read with ``timeout=None`` may wait before it gives up (raises)."""

DEFAULT_PAIRING_WINDOW_S = 60
"""A ``sim://`` device opens its pairing window at boot for this long (URL option
``pairing_window``; 0 = closed), so a host holding no key for it pairs itself in memory and the
README's main command needs no set-up. Design value: a minute of virtual time is far more than a
connect takes, and short enough that a test that waits finds the window closed."""


def register_url_handler() -> None:
    """Make ``serial.serial_for_url("sim://…")`` open this handler (idempotent).

    pyserial looks a scheme up as ``<package>.protocol_<scheme>`` for each package named in
    ``serial.protocol_handler_packages``; ``import simulator`` calls this.
    """
    if "simulator" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("simulator")


# --- the port ------------------------------------------------------------------------------------


class SimSerial(SerialBase):
    """A pyserial port whose other end is a simulated device running in virtual time.

    The port's own settings (baudrate, parity, …) are accepted and ignored: the wire model uses
    the URL's ``baud``. The device is built on the first ``open`` and survives ``close``, so a
    test can still inspect it (and advance ``clock``) after the host has let go; reopening
    reconnects to the same device, unless its cable was pulled (``unplug_at``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._bench: Bench | None = None
        self._clock: VirtualClock | None = None
        self._max_block_us = seconds_to_us(DEFAULT_MAX_BLOCK_S)
        self._cancelled = False
        super().__init__(*args, **kwargs)

    # -- what a test reaches through the port --

    @property
    def clock(self) -> VirtualClock:
        """The shared virtual clock; the host's control loop sleeps through it."""
        if self._clock is None:
            raise PortNotOpenError()
        return self._clock

    @property
    def bench(self) -> Bench:
        """The running scenario: device, cable (with its fault layers) and events."""
        if self._bench is None:
            raise PortNotOpenError()
        return self._bench

    @property
    def device(self) -> Device | CoreDevice:
        """The simulated device (the C core's for ``core=c``)."""
        return self.bench.device

    @property
    def scenario(self) -> Scenario:
        """The scenario the URL describes."""
        return self.bench.scenario

    # -- opening and closing --

    def open(self) -> None:
        """Build the simulated device (first time only) and connect to it.

        Raises:
            SerialException: the port is open already, the URL is invalid, or the device's
                cable has been pulled.
        """
        if self.is_open:
            raise SerialException("Port is already open.")
        if self.port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self._bench is None:
            scenario, self._max_block_us = self._from_url(self.port)
            self._clock = VirtualClock()
            self._bench = Bench(scenario, self._clock)
        if self._bench.link.unplugged:
            raise SerialException(f"could not open port {self.port}: device was unplugged")
        self.is_open = True
        self.reset_input_buffer()

    def close(self) -> None:
        """Disconnect (safe to call twice). The device keeps running as virtual time advances."""
        self.is_open = False

    @staticmethod
    def _from_url(url: str) -> tuple[Scenario, int]:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "sim" or parts.netloc or parts.path not in ("", "/"):
            raise SerialException(f"expected sim://?option=value&…, got {url!r}")
        options = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        max_block = options.pop("max_block_s", [str(DEFAULT_MAX_BLOCK_S)])
        options.setdefault("pairing_window", [str(DEFAULT_PAIRING_WINDOW_S)])
        try:
            max_block_us = seconds_to_us(parse_number(url, "max_block_s", max_block[-1]))
            return scenario_from_options(options, source=url), max_block_us
        except ScenarioError as err:
            raise SerialException(str(err)) from err

    # -- reading and writing --

    def _live(self) -> Bench:
        if not self.is_open:
            raise PortNotOpenError()
        bench = self.bench
        if bench.link.unplugged:
            raise SerialException(
                "device reports readiness to read but returned no data "
                "(device disconnected: simulated unplug)"
            )
        return bench

    @property
    def in_waiting(self) -> int:
        """Bytes that have arrived and not been read."""
        return self._live().link.to_host.available(self.clock.now_us)

    @property
    def out_waiting(self) -> int:
        """Bytes written that have not yet reached the device."""
        return self._live().link.to_device.in_flight(self.clock.now_us)

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes, advancing virtual time up to the port's timeout.

        ``timeout=None`` waits at most ``max_block_s`` of virtual time (URL option, default
        60 s) and then raises, since nothing else could ever end the wait.

        Raises:
            PortNotOpenError: the port is closed.
            SerialException: the device was unplugged.
            SerialTimeoutException: ``timeout=None`` and nothing came within ``max_block_s``.
        """
        return self._read(max(size, 0), None)

    def read_until(self, expected: bytes = b"\n", size: int | None = None) -> bytes:
        """Read until ``expected``, ``size`` bytes or the timeout, in virtual time."""
        return self._read(size, expected)

    def _deadline_us(self) -> int:
        wait = self.timeout
        return self.clock.now_us + (self._max_block_us if wait is None else seconds_to_us(wait))

    def _read(self, size: int | None, expected: bytes | None) -> bytes:
        """Read until ``size`` bytes, ``expected`` at the end (if given) or the timeout.

        The usual read (the host's, for what has arrived, with a timeout) takes the bytes
        there, or advances the clock once: to the first arrival or to the deadline.
        """
        link = self._live().link
        to_host = link.to_host
        clock = self.clock
        deadline_us = self._deadline_us()
        self._cancelled = False
        data = b""
        quiet_us = (
            None if self.inter_byte_timeout is None else seconds_to_us(self.inter_byte_timeout)
        )
        last_byte_us = clock.now_us

        def arrived() -> bool:
            return self._cancelled or link.unplugged or to_host.available(clock.now_us) > 0

        def done() -> bool:
            return (expected is not None and data.endswith(expected)) or (
                size is not None and len(data) >= size
            )

        while size != 0:
            with clock.lock:
                data += to_host.take(clock.now_us, None if size is None else size - len(data))
            if done() or self._cancelled or link.unplugged:
                break
            stop_us = deadline_us
            if quiet_us is not None and data:
                stop_us = min(stop_us, last_byte_us + quiet_us)
            if clock.now_us >= stop_us:
                break
            if clock.advance_to(stop_us, until=arrived):
                last_byte_us = clock.now_us
        self._live()
        if self.timeout is None and not done() and not self._cancelled:
            raise SerialTimeoutException(
                f"read with timeout=None: nothing more within max_block_s of virtual time "
                f"({self._max_block_us / 1e6:g} s); a blocking read would never return"
            )
        return data

    def write(self, b: Any, /) -> int:
        """Put bytes on the host → device wire at the current virtual time.

        Raises:
            PortNotOpenError: the port is closed.
            SerialException: the device was unplugged.
        """
        data = bytes(memoryview(b))
        bench = self._live()
        with self.clock.lock:
            bench.link.host_write(data, self.clock.now_us)
        return len(data)

    def flush(self) -> None:
        """Wait (in virtual time) until every byte written has reached the device."""
        link = self._live().link
        self.clock.advance_to(link.to_device.idle_at_us)

    def reset_input_buffer(self) -> None:
        """Discard the bytes that have arrived and not been read."""
        link = self._live().link
        with self.clock.lock:
            link.to_host.drop_arrived(self.clock.now_us)

    def reset_output_buffer(self) -> None:
        """Discard the bytes written that have not reached the device yet."""
        link = self._live().link
        with self.clock.lock:
            link.to_device.drop_in_flight(self.clock.now_us)

    def cancel_read(self) -> None:
        """Make a read in progress (in another thread) return what it has."""
        self._cancelled = True

    def cancel_write(self) -> None:
        """Writes never block here; nothing to cancel."""

    def send_break(self, duration: float = 0.25) -> None:
        """Hold the line in break for ``duration`` seconds of virtual time."""
        self._live()
        self.clock.sleep(duration)

    # -- settings and modem lines: accepted, no effect --

    def _reconfigure_port(self) -> None:
        """The port's own settings do not affect the simulation."""

    def _update_rts_state(self) -> None:
        """RTS is not wired."""

    def _update_dtr_state(self) -> None:
        """DTR is not wired."""

    def _update_break_state(self) -> None:
        """Break has no effect on the device."""

    @property
    def cts(self) -> bool:
        """Clear To Send: always asserted."""
        self._live()
        return True

    @property
    def dsr(self) -> bool:
        """Data Set Ready: always asserted."""
        self._live()
        return True

    @property
    def ri(self) -> bool:
        """Ring Indicator: never."""
        self._live()
        return False

    @property
    def cd(self) -> bool:
        """Carrier Detect: always asserted."""
        self._live()
        return True
