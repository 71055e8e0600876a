"""Real-time servers: the simulated device behind a pseudo-terminal or a loopback TCP socket.

``serve(scenario, endpoint)`` runs the device in real time until SIGTERM or SIGINT: it waits in
``select`` for host bytes or the next deadline of the device, the wires or a scheduled fault,
whichever comes first. Before serving it prints one line on stdout (flushed) naming what to pass
to ``serial.serial_for_url``: the pty's path, or ``socket://HOST:PORT`` (port 0 picks a free
one). Device EVENTs and scenario events are logged through ``logging`` (the CLI sends them to
stderr).

One pass of the loop is ``RealTimeDevice.step(real_us, data)``: the bytes the host sent since
the last pass, then everything due. A real device takes each byte by interrupt as it arrives and
checks its lease every 10 ms whatever else happens; this process may not run for a while (a busy
machine, SIGSTOP), and the bytes that arrived meanwhile wait in the kernel. If they were then fed
at the time the process woke, the device would first run every lease check up to then and find
the lease expired — an expiry the real device never had, although the host heartbeated all along
(issue 14: a flaky LEASE fault). So a pass that comes more than one check period after the
latest time the previous pass promised to look again (its next deadline) is a stall of the
simulator, not of the host: the device's clock pauses for the overrun, and the waiting bytes
(they arrived at some time since the previous pass, all of them by its due time) reach the
device just before that due time, ahead of the check due then (so they do after any late pass),
and a lease they renew counts from then. Every pass runs the device deadline by deadline, so a
frame from the host reaches it when it has arrived, between the checks due before and after.
A host that is late while the simulator keeps running still has its lease expire at the right
check; a host that is late during a stall of the simulator is not seen late (nothing could
tell). Each stall is logged with its length.

An ``unplug`` event is for good: the pty is closed (its path vanishes) or the TCP connection is
closed and the server stops listening; the device keeps running — its lease expires, its log
says so — until the process is stopped. A host that merely disconnects from TCP may reconnect;
the next TCP host is accepted once the previous one's end has been seen (``TcpEndpoint``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import sys
import tty
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Protocol, TextIO

from simulator.clock import US_PER_S, RealClock, Scheduler
from simulator.serve.bench import Bench
from simulator.serve.scenario import Scenario

__all__ = [
    "MAX_PENDING_BYTES",
    "Endpoint",
    "PtyEndpoint",
    "RealTimeDevice",
    "TcpEndpoint",
    "serve",
]

logger = logging.getLogger(__name__)

MAX_PENDING_BYTES = 64 * 1024
"""Device output waiting for a host that does not read is capped here (a UART would overrun)."""

_CHUNK = 4096


class Endpoint(Protocol):
    """The host side of a real-time server."""

    @property
    def url(self) -> str:
        """What a host passes to ``serial.serial_for_url``."""
        ...

    def read_fds(self) -> list[int]:
        """File descriptors to wait on for reading."""
        ...

    def write_fds(self) -> list[int]:
        """File descriptors to wait on for writing (those with output pending)."""
        ...

    def on_ready(self, readable: list[int], writable: list[int]) -> bytes:
        """Handle readiness; return the bytes received from the host."""
        ...

    def send(self, data: bytes) -> None:
        """Queue device output for the host."""
        ...

    def unplug(self) -> None:
        """Vanish like a pulled USB cable."""
        ...

    def close(self) -> None:
        """Release everything (safe twice)."""
        ...


class _Pending:
    """Output waiting to be written to a non-blocking descriptor, capped."""

    def __init__(self) -> None:
        self.data = bytearray()

    def add(self, data: bytes) -> None:
        room = MAX_PENDING_BYTES - len(self.data)
        if len(data) > room:
            logger.warning("host is not reading: %d bytes of device output lost", len(data) - room)
        self.data += data[: max(room, 0)]

    def flush(self, write: Callable[[bytes], int]) -> None:
        try:
            sent = write(bytes(self.data))
        except (BlockingIOError, InterruptedError):
            return
        del self.data[:sent]


class PtyEndpoint:
    """A pseudo-terminal: the host opens ``url`` (the slave's path) as a serial port.

    The server keeps the slave open too, so a host may close and reopen the path.
    """

    def __init__(self) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: the device sees bytes as sent
        os.set_blocking(self._master, False)
        self._path = os.ttyname(self._slave)
        self._pending = _Pending()
        self._open = True

    @property
    def url(self) -> str:
        """The pty's path."""
        return self._path

    def read_fds(self) -> list[int]:
        """The master side, while open."""
        return [self._master] if self._open else []

    def write_fds(self) -> list[int]:
        """The master side, while output is pending."""
        return [self._master] if self._open and self._pending.data else []

    def on_ready(self, readable: list[int], writable: list[int]) -> bytes:
        """Write pending output, read what the host sent."""
        if not self._open:
            return b""
        if self._master in writable:
            self._pending.flush(lambda data: os.write(self._master, data))
        if self._master in readable:
            try:
                return os.read(self._master, _CHUNK)
            except (BlockingIOError, InterruptedError):
                return b""
        return b""

    def send(self, data: bytes) -> None:
        """Queue output and try to write it at once."""
        if self._open:
            self._pending.add(data)
            self.on_ready([], [self._master])

    def unplug(self) -> None:
        """Close the pty: the host's next read or write fails."""
        self.close()

    def close(self) -> None:
        """Close both sides (safe twice)."""
        if self._open:
            self._open = False
            os.close(self._master)
            os.close(self._slave)


class TcpEndpoint:
    """A listening TCP socket (pyserial's ``socket://``), one host connection at a time.

    The next host is accepted only once the server has seen the connected one's end (its EOF or
    an error): until then the listener is not polled, and a new connection waits in the kernel's
    backlog instead of being closed at once. A host that connects and closes quickly (a probe, a
    health check) is then finished with before the real host is taken, which no longer gets a
    reset connection (issue 14 item 13: accepting first and refusing the newcomer as a "second
    host" reset it whenever the probe's EOF had not been read yet).

    Args:
        host: address to bind; loopback unless told otherwise.
        port: port to bind; 0 picks a free one.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._listener: socket.socket | None = socket.create_server((host, port))
        self._listener.setblocking(False)
        bound_host, bound_port = self._listener.getsockname()[:2]
        self._url = f"socket://{bound_host}:{bound_port}"
        if not _is_loopback(bound_host):
            logger.warning("listening on %s: reachable from other machines", self._url)
        self._client: socket.socket | None = None
        self._pending = _Pending()

    @property
    def url(self) -> str:
        """``socket://HOST:PORT`` as bound."""
        return self._url

    def read_fds(self) -> list[int]:
        """The connected host; the listener only while no host is connected."""
        if self._client is not None:
            return [self._client.fileno()]
        return [self._listener.fileno()] if self._listener is not None else []

    def write_fds(self) -> list[int]:
        """The connected host, while output is pending."""
        return [self._client.fileno()] if self._client and self._pending.data else []

    def on_ready(self, readable: list[int], writable: list[int]) -> bytes:
        """Accept a host (when none is connected), write pending output, read what it sent."""
        client = self._client
        if client is None:
            if self._listener is not None and self._listener.fileno() in readable:
                self._accept()
            return b""
        if client.fileno() in writable:
            self._pending.flush(client.send)
        if client.fileno() not in readable:
            return b""
        try:
            data = client.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as err:
            logger.info("host connection lost: %s", err)
            data = b""
        if not data:
            logger.info("host disconnected")
            self._drop_client()
        return data

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            conn, peer = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client = conn
        logger.info("host connected from %s:%s", *peer[:2])

    def send(self, data: bytes) -> None:
        """Queue output for the connected host (lost if none is connected)."""
        if self._client is not None:
            self._pending.add(data)
            self.on_ready([], [self._client.fileno()])

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self._pending.data.clear()

    def unplug(self) -> None:
        """Close the connection and stop listening."""
        self.close()

    def close(self) -> None:
        """Close everything (safe twice)."""
        self._drop_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def _is_loopback(host: str) -> bool:
    return host == "::1" or host.startswith("127.")


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[tuple[socket.socket, list[bool]]]:
    """SIGTERM and SIGINT set a flag and wake ``select`` through a socket pair."""
    wake_r, wake_w = socket.socketpair()
    wake_r.setblocking(False)
    wake_w.setblocking(False)
    stop = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        stop[0] = True

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
    try:
        yield wake_r, stop
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for sig, old in previous.items():
            signal.signal(sig, old)
        wake_r.close()
        wake_w.close()


class RealTimeDevice:
    """A scenario's device run in real time, one ``step`` per pass of the server's loop.

    Args:
        scenario: what to build.
        real_us: the real time (``RealClock.now_us``) it starts at.

    Attributes:
        bench: the device, its cable and the scenario's events.
        paused_us: real time the device's clock has been paused for (the simulator's stalls).
    """

    def __init__(self, scenario: Scenario, real_us: int = 0) -> None:
        self._scheduler = Scheduler()
        self.bench = Bench(scenario, self._scheduler, now_us=real_us)
        self._tolerance_us = scenario.model.check_period_us
        self.paused_us = 0
        self._last_us = real_us  # the real time of the previous step
        self._look_by_us: int | None = None  # ... and when it said the next one was due

    def device_us(self, real_us: int) -> int:
        """The device's time at ``real_us`` (real time less its pauses)."""
        return real_us - self.paused_us

    def step(self, real_us: int, data: bytes = b"") -> tuple[bytes, int | None]:
        """Take ``data`` from the host, run everything due by ``real_us``; return the device's
        output for the host and how long until the next step is due (µs; None: only host bytes
        or a signal can make anything happen).

        ``real_us`` is the time the caller woke at (read once, after the wait), ``data`` what
        arrived while it waited. A step later than the previous one said it was due gives
        ``data`` to the device just before that due time; later by more than one check period,
        it also pauses the device's clock for the overrun (see the module text).
        """
        look_by_us = self._look_by_us
        link = self.bench.link
        if look_by_us is not None and real_us > look_by_us:
            # Woken after the time it was due: the waiting bytes arrived at some time since the
            # previous step, and all of them by the due time. They are put on the line to have
            # arrived just before it (or from the previous step on, if the line needs longer):
            # no check due then runs ahead of a heartbeat that preceded it, and a lease they
            # renew counts from then.
            due_us = self.device_us(look_by_us)
            if data:
                line_us = link.to_device.transmit_us(len(data))
                link.host_write(data, max(self.device_us(self._last_us), due_us - 1 - line_us))
                data = b""
            overrun_us = real_us - look_by_us
            if overrun_us > self._tolerance_us:
                self.paused_us += overrun_us
                logger.warning(
                    "the simulator did not run for %.3f s past a deadline: the device's clock "
                    "paused meanwhile; the host's bytes that waited reach it before that deadline",
                    overrun_us / US_PER_S,
                )
        now_us = self.device_us(real_us)
        if data:
            link.host_write(data, now_us)
        # Deadline by deadline, as in virtual time: each frame from the host reaches the device
        # when it has arrived, between the checks due before and after it (``run_due`` alone
        # would advance the device to ``now_us`` first and hand it every byte there).
        while (next_us := self._scheduler.next_deadline_us()) is not None and next_us < now_us:
            self._scheduler.run_due(next_us)
        self._scheduler.run_due(now_us)
        output = link.to_host.take(now_us)
        deadline = self._scheduler.next_deadline_us()
        wait_us = None if deadline is None else max(0, deadline - now_us)
        self._last_us = real_us
        self._look_by_us = None if wait_us is None else real_us + wait_us
        return output, wait_us


def serve(scenario: Scenario, endpoint: Endpoint, out: TextIO = sys.stdout) -> None:
    """Run ``scenario``'s device in real time behind ``endpoint`` until SIGTERM or SIGINT.

    Must run in the main thread (it installs signal handlers). Prints ``endpoint.url`` as the
    first line of ``out`` and flushes it. Closes the endpoint on the way out.
    """
    clock = RealClock()
    device = RealTimeDevice(scenario, clock.now_us)
    link = device.bench.link
    unplugged = False
    data = b""
    with contextlib.closing(endpoint), _stop_on_signals() as (wake, stop):
        print(endpoint.url, file=out, flush=True)
        logger.info(
            "serving %s (%s) on %s", scenario.model.model, scenario.model.serial, endpoint.url
        )
        if scenario.pairing_window_s:
            logger.info("pairing window open for %d s: pair now", scenario.pairing_window_s)
        while not stop[0]:
            output, wait_us = device.step(clock.now_us, data)
            if output and not unplugged:
                endpoint.send(output)
            if link.unplugged and not unplugged:
                unplugged = True
                endpoint.unplug()
            timeout = None if wait_us is None else wait_us / US_PER_S
            readable, writable, _ = select.select(
                [wake.fileno(), *endpoint.read_fds()], endpoint.write_fds(), [], timeout
            )
            if wake.fileno() in readable:
                with contextlib.suppress(BlockingIOError):
                    wake.recv(_CHUNK)
            data = endpoint.on_ready(readable, writable)
        logger.info("stopped by signal")
