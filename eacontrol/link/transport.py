"""One small transport over pyserial, opened by URL (STYLE.md 3).

``Transport.open`` accepts anything ``serial.serial_for_url`` does: device paths
(``/dev/ttyUSB0``), ``COM3``, ``socket://host:port``, ``spy://PORT`` (a hex trace for field
debugging), ``hwgrep://REGEX`` and the simulator's ``sim://``. Ports are opened with
``exclusive=True`` so that one controller owns one device: pyserial's ``flock`` (advisory: only
programs that ask for the lock see it) and, on a POSIX serial port or pty, the kernel's
``TIOCEXCL`` as well, which refuses every later ``open`` of the tty with EBUSY, whoever asks,
except a process with ``CAP_SYS_ADMIN`` (root). It is cleared (``TIOCNXCL``) on close. A refused
open is a ``PortBusy`` naming the processes that hold the port where the system can tell
(``eacontrol.link.holders``). ``socket://``, ``sim://`` and Windows ports have no ``TIOCEXCL``
(Windows opens COM ports exclusively itself); docs/cli.md, "Exclusive access to the port".

Every pyserial error is translated here, once, into the eacontrol exception tree with the cause
chained (``raise … from err``): nothing above this module sees ``serial.SerialException``. A
connection the other end reset or closed (``socket://``) is a ``LinkLost`` saying "the link was
reset", so that nobody reads it as a device fault.

The transport starts no thread. Reads happen in the caller's thread with a timeout, so closing
is simple and safe from any state: ``cancel_read()`` (which wakes a read blocked in another
thread), then ``close()``; calling ``close()`` twice does nothing the second time.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import sys
from typing import Protocol

import serial

from eacontrol.errors import LinkError, LinkLost, PortBusy, PortNotFound
from eacontrol.link.clock import Clock
from eacontrol.link.holders import find_holders

try:
    import fcntl
    import termios
except ImportError:  # Windows: COM ports are exclusive without asking
    fcntl = termios = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_BAUDRATE",
    "SIMULATOR_HANDLER_PACKAGE",
    "SerialPort",
    "Transport",
    "canonical_url",
    "register_simulator_scheme",
]

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 115200
"""Default line rate. USB CDC devices ignore it; UART bridges need the firmware's rate."""

SIMULATOR_HANDLER_PACKAGE = "simulator"
"""Package searched for ``protocol_sim`` so that ``sim://`` URLs resolve. Only the *name* is
registered: eacontrol never imports the simulator (docs/architecture.md)."""

_NOT_FOUND_ERRNOS = {errno.ENOENT, errno.ENODEV, errno.ENXIO}
_BUSY_ERRNOS = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}


class SerialPort(Protocol):
    """What the transport uses of a pyserial port (``serial.Serial`` and URL handlers)."""

    @property
    def timeout(self) -> float | None:
        """Read timeout in seconds."""
        ...

    @timeout.setter
    def timeout(self, value: float | None) -> None: ...

    @property
    def in_waiting(self) -> int:
        """Bytes buffered for reading."""
        ...

    def read(self, size: int = 1, /) -> bytes:
        """Read up to ``size`` bytes within the timeout."""
        ...

    def write(self, data: bytes, /) -> int | None:
        """Write ``data``."""
        ...

    def close(self) -> None:
        """Close the port."""
        ...


def register_simulator_scheme() -> None:
    """Make ``sim://`` URLs resolve in pyserial (idempotent); the one place that does it."""
    if SIMULATOR_HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(SIMULATOR_HANDLER_PACKAGE)


# RFC 3986 §3.1: a scheme is a letter then letters, digits, "+", "-" or "."; schemes are
# case-insensitive and lower case is canonical.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*(?=://)")


def canonical_url(url: str) -> str:
    """``url`` with its scheme in lower case (``SIM://`` is ``sim://``); a device path as given.

    Everything that asks "is this the simulator?" (``Stimulator.simulated``, the record's
    ``simulated`` flag) reads the transport's URL, so ``SIM://`` is a simulated device too.
    """
    scheme = _SCHEME.match(url)
    return url if scheme is None else scheme.group().lower() + url[scheme.end() :]


def _device_path(url: str) -> str | None:
    """The local device path behind ``url`` (a path, or ``spy://PATH?…``), else None."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        return url
    if scheme.group() == "spy":
        return url[scheme.end() + 3 :].split("?", 1)[0]
    return None


def _port_busy(url: str, text: str) -> PortBusy:
    """``PortBusy`` for ``url``, naming its holders where this system can tell."""
    path = _device_path(url)
    found: tuple[tuple[int, str], ...]
    if os.name != "posix":
        who, found = "which program holds it cannot be told on this system", ()
    elif path is None:
        who, found = "which program holds it cannot be told for this kind of URL", ()
    else:
        holders = find_holders(path)
        who, found = holders.describe(), holders.processes
    return PortBusy(
        f"{url!r} is in use by another program (ports open exclusively): {who} ({text})",
        holders=found,
    )


def _open_error(url: str, err: Exception) -> LinkError:
    """Translate an exception raised while opening ``url`` into our tree."""
    text = str(err)
    code = getattr(err, "errno", None)
    if isinstance(err, ValueError):
        if "not known" in text:
            return PortNotFound(f"cannot open {url!r}: unknown URL scheme ({text})")
        return LinkError(f"cannot open {url!r}: {text}")
    if code in _BUSY_ERRNOS or "exclusively lock" in text or "Access is denied" in text:
        # On Windows a COM port that another program holds reports "Access is denied".
        return _port_busy(url, text)
    if code in _NOT_FOUND_ERRNOS or "FileNotFoundError" in text:
        return PortNotFound(f"no such port {url!r}: {text}")
    if code == errno.EACCES:
        return LinkError(
            f"permission denied opening {url!r} (on Linux, is the user in the 'dialout' "
            f"group?): {text}"
        )
    return LinkError(f"cannot open {url!r}: {text}")


_RESETS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def _was_reset(err: BaseException) -> bool:
    """Whether ``err`` (or what it was raised from) means the other end closed the connection.

    pyserial's ``socket://`` raises ``SerialException("socket disconnected")`` at EOF and
    ``SerialException("read failed: [Errno 104] Connection reset by peer")`` inside the
    ``except`` of the ``ConnectionResetError``, so the cause is in the exception's context.
    """
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, _RESETS):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "socket disconnected" in str(err)


def _io_error(url: str, action: str, err: BaseException) -> LinkLost:
    """Translate a failed read or write: a connection reset by the other end is said as such."""
    if _was_reset(err):
        return LinkLost(
            f"{url}: the link was reset: the other end closed the connection during a {action} "
            f"({err}); a connection fault, not a device fault (the TCP server or bridge behind "
            "the URL ended it)"
        )
    return LinkLost(f"{url}: {action} failed: {err}")


def _close_spy_trace(port: object) -> None:
    """Close the trace file of a ``spy://…?file=`` port, so the trace is complete on disk.

    pyserial 3.5 opens that file and never closes it (pyserial/pyserial#638, open).
    """
    output = getattr(getattr(port, "formatter", None), "output", None)
    if output is None or output in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        return
    close = getattr(output, "close", None)
    if callable(close):
        close()


def _close_socket(sock: object) -> None:
    """Close the socket a ``socket://`` port held, if its own close left it open.

    pyserial 3.5 calls ``shutdown()`` and ``close()`` in one ``try``: on a connection the other
    end reset, ``shutdown()`` raises ENOTCONN, ``close()`` is skipped and the descriptor leaks.
    """
    if isinstance(sock, socket.socket) and sock.fileno() != -1:
        sock.close()


class Transport:
    """A byte pipe to one device: exclusive, timeout-bounded, closed safely.

    Attributes:
        url: the URL or device path the port was opened with.
        clock: the port's own clock if it provides one (a ``sim://`` port's virtual clock),
            else None.
    """

    def __init__(self, port: SerialPort, url: str) -> None:
        """Wrap an already open pyserial port (use ``Transport.open`` to open by URL).

        Args:
            port: an open pyserial-compatible port.
            url: what to call it in messages.
        """
        self._port: SerialPort | None = port
        self._timeout_s: float | None = None
        self.url = url
        port_clock = getattr(port, "clock", None)
        self.clock: Clock | None = port_clock if isinstance(port_clock, Clock) else None
        self._tty_exclusive_fd: int | None = None

    @classmethod
    def open(
        cls,
        url: str,
        *,
        baudrate: int = DEFAULT_BAUDRATE,
        exclusive: bool = True,
        write_timeout_s: float = 1.0,
    ) -> Transport:
        """Open a port by device path or pyserial URL.

        Args:
            url: ``/dev/ttyUSB0``, ``COM3``, ``socket://…``, ``spy://…``, ``hwgrep://…``,
                ``sim://…``; the scheme in any case (:func:`canonical_url`).
            baudrate: line rate in bit/s.
            exclusive: lock the port against other programs: pyserial's ``flock`` and, on a
                POSIX tty, ``TIOCEXCL`` (Windows always opens exclusively).
            write_timeout_s: a write that cannot drain within this time means the link is gone.

        Returns:
            The open transport.

        Raises:
            PortNotFound: no such port, or an unknown URL scheme.
            PortBusy: another program holds the port.
            LinkError: any other failure to open.
        """
        register_simulator_scheme()
        url = canonical_url(url)
        try:
            port = serial.serial_for_url(
                url,
                baudrate=baudrate,
                timeout=0,
                write_timeout=write_timeout_s,
                exclusive=exclusive,
            )
        except (serial.SerialException, OSError, ValueError) as err:
            raise _open_error(url, err) from err
        transport = cls(port, url)
        if exclusive:
            transport._hold_tty_exclusively(port)
        log.debug("opened %s", url)
        return transport

    def _hold_tty_exclusively(self, port: SerialPort) -> None:
        """Set ``TIOCEXCL`` on a POSIX tty port (a device path or ``spy://`` to one).

        ``socket://``, ``sim://`` and the other URL handlers are not ttys and are left alone.
        A tty that refuses it is closed and refused: one controller per device is a safety
        rule, not a preference.

        Raises:
            LinkError: the tty refused ``TIOCEXCL``.
        """
        if fcntl is None or not isinstance(port, serial.Serial):
            return
        fd = port.fileno()
        if not os.isatty(fd):
            return
        try:
            fcntl.ioctl(fd, termios.TIOCEXCL)
        except OSError as err:
            self.close()
            raise LinkError(
                f"cannot open {self.url!r} exclusively: the tty refused TIOCEXCL ({err})"
            ) from err
        self._tty_exclusive_fd = fd

    @property
    def device_handle(self) -> object | None:
        """The pyserial port object (None once closed): what identifies one simulated device
        across reconnects (``eacontrol.device.pairing.sim_key_store``)."""
        return self._port

    @property
    def held_exclusively(self) -> bool:
        """True while this transport holds its tty with ``TIOCEXCL`` (not for sockets, sim://)."""
        return self._tty_exclusive_fd is not None

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._port is None

    def _require_port(self) -> SerialPort:
        if self._port is None:
            raise LinkLost(f"{self.url}: the port is closed")
        return self._port

    def write(self, data: bytes) -> None:
        """Write all of ``data``.

        Raises:
            LinkLost: the port is closed, vanished or cannot drain.
        """
        port = self._require_port()
        try:
            port.write(data)
        except (serial.SerialException, OSError) as err:
            raise _io_error(self.url, "write", err) from err

    def read(self, timeout_s: float) -> bytes:
        """Return the bytes that arrive within ``timeout_s`` (at least one, unless it expires).

        Waits up to ``timeout_s`` for the first byte, then takes whatever else is already
        buffered without waiting further.

        Raises:
            LinkLost: the port is closed or vanished.
        """
        port = self._require_port()
        timeout_s = max(0.0, timeout_s)
        try:
            if timeout_s != self._timeout_s:
                port.timeout = timeout_s
                self._timeout_s = timeout_s
            data = port.read(1)
            if data:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(waiting)
        except (serial.SerialException, OSError) as err:
            raise _io_error(self.url, "read", err) from err
        return bytes(data)

    def close(self) -> None:
        """Cancel a pending read and close the port. Safe from any state, and twice."""
        port, self._port = self._port, None
        if port is None:
            return
        cancel = getattr(port, "cancel_read", None)
        if cancel is not None:
            try:
                cancel()
            except (serial.SerialException, OSError) as err:
                log.debug("%s: cancel_read failed while closing: %s", self.url, err)
        sock = getattr(port, "_socket", None)
        fd, self._tty_exclusive_fd = self._tty_exclusive_fd, None
        if fd is not None and termios is not None:
            # A pty whose other side stays open (the simulator) keeps the flag after our close.
            try:
                fcntl.ioctl(fd, termios.TIOCNXCL)
            except OSError as err:
                log.debug("%s: TIOCNXCL failed while closing: %s", self.url, err)
        try:
            port.close()
        except (serial.SerialException, OSError) as err:
            log.debug("%s: close failed: %s", self.url, err)
        _close_socket(sock)
        _close_spy_trace(port)
        log.debug("closed %s", self.url)

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
