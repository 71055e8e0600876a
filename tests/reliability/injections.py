"""The faults issue 14 adds to the fault matrix and the soak, and how each is injected.

All in virtual time, on the device's clock (``port.clock.schedule``), so a fault strikes at the
same instant of the session on every run:

- :class:`ForeignWriter`: another program on the same port writes a SET_INTENSITY into the
  running device session (protocol major 2: it can read the session id off the wire, but not
  the session key: its frame carries the id, a counter far above the host's and a tag under a
  key of its own, put on the host → device wire between the host's frames, as a second writer
  on the port would).
- :class:`DbLock`: another process holds the session database's write lock (``BEGIN
  EXCLUSIVE`` on its own connection) from one instant of the session to another, and for at
  most a given real time (the record writer waits in real time).
- :class:`DiskFull`: from an instant on, every write to the session database fails with
  SQLite's own ``SQLITE_FULL`` error ("database or disk is full"), until the test frees the
  space. It is put into the store's connections by the factory they are opened with.
- :func:`blackout`: the cable carries nothing either way for a while (every frame dropped),
  longer than the lease and shorter than the host's link-loss limit.

The signal rows run in a child process (``signal_child.py``): a signal must never be sent to
the pytest worker.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from firmware_protocol import KeyKind, encode_frame
from firmware_protocol.messages import SetIntensity
from simulator import SimSerial

__all__ = ["FOREIGN_COUNTER", "DbLock", "DiskFull", "ForeignWriter", "blackout"]

FOREIGN_COUNTER = 0x7F00
"""The foreign writer's counters: far above the host's (a short session sends a few hundred
frames), so only the tag can refuse its frame, never the counter check."""
FOREIGN_KEY = bytes(range(32))
"""The key the foreign writer tags with: not the session's (it cannot know it)."""


def at_us(seconds: float) -> int:
    """Device time in µs of ``seconds`` of device time."""
    return round(seconds * 1_000_000)


class ForeignWriter:
    """A second writer on the device's port, inside the session the host opened.

    Attributes:
        sent: device times (µs) at which a foreign frame went on the wire.
    """

    def __init__(self, port: SimSerial) -> None:
        self._port = port
        self._counter = FOREIGN_COUNTER
        self.sent: list[int] = []

    def set_intensity(self, at_s: float, channel_index: int, target_uA: int) -> None:
        """At ``at_s`` (device time), send SET_INTENSITY of wire channel ``channel_index`` to
        ``target_uA`` at the device's fastest slew."""

        def send(now_us: int) -> None:
            device = self._port.device
            message = SetIntensity(channel_index, target_uA, device.model.max_slew_uA_per_s)
            frame = encode_frame(
                message,
                key=FOREIGN_KEY,
                kind=KeyKind.SESSION,
                session_id=device.session_id,
                counter=self._counter,
            )
            self._counter += 1
            self._port.bench.link.host_write(frame, now_us)
            self.sent.append(now_us)

        self._port.clock.schedule(at_us(at_s), send)


class DbLock:
    """Another process's write lock on the session database.

    The lock is taken and let go at instants of device time, and also let go after at most
    ``real_cap_s`` of real time: the record writer runs on its own thread, in real time, and a
    session that ends while the lock is held waits for it in real time — with nobody advancing
    device time, a lock held only in device time would never be let go.

    Attributes:
        held: (from, to) device times (µs) the lock was held, the last one possibly open.
        real_held_s: real time the lock was held, each time.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._guard = threading.Lock()
        self._timer: threading.Timer | None = None
        self._taken_at = 0.0
        self._port: SimSerial | None = None
        self.held: list[tuple[int, int | None]] = []
        self.real_held_s: list[float] = []

    def hold(self, port: SimSerial, from_s: float, to_s: float, real_cap_s: float) -> None:
        """Take the lock at ``from_s`` and let it go at ``to_s`` (device time), or once it was
        held ``real_cap_s`` of real time."""
        self._port = port

        def take(now_us: int) -> None:
            self.take(now_us, real_cap_s)

        port.clock.schedule(at_us(from_s), take)
        if math.isfinite(to_s):
            port.clock.schedule(at_us(to_s), lambda now_us: self.release())

    @property
    def locked(self) -> bool:
        """Whether the lock is held now."""
        return self._conn is not None

    def real_s(self) -> float:
        """Real time since the lock was last taken."""
        return time.monotonic() - self._taken_at

    def take(self, now_us: int, real_cap_s: float = math.inf) -> None:
        """Take the write lock now (a new connection, ``BEGIN EXCLUSIVE``)."""
        with self._guard:
            if self._conn is not None:
                return
            # check_same_thread=False: let go by the clock's thread or by the timer's.
            conn = sqlite3.connect(
                self._path, timeout=1.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("BEGIN EXCLUSIVE")
            self._conn, self._taken_at = conn, time.monotonic()
            self.held.append((now_us, None))
            if math.isfinite(real_cap_s):
                self._timer = threading.Timer(real_cap_s, self.release)
                self._timer.daemon = True
                self._timer.start()

    def release(self) -> None:
        """Let the lock go now (safe from any thread, and twice)."""
        with self._guard:
            conn, self._conn = self._conn, None
            timer, self._timer = self._timer, None
            if conn is None:
                return
            conn.execute("ROLLBACK")
            conn.close()
            self.real_held_s.append(self.real_s())
            start, _ = self.held[-1]
            now_us = self._port.clock.now_us if self._port is not None else start
            self.held[-1] = (start, now_us)
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()

    def close(self) -> None:
        """Let go of the lock, whenever it is."""
        self.release()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT", "END")


def _sqlite_full() -> sqlite3.OperationalError:
    """A fresh ``SQLITE_FULL`` error, made by SQLite itself (a one-page scratch database)."""
    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute("PRAGMA max_page_count = 1")
        scratch.execute("CREATE TABLE t (x)")
        scratch.execute("INSERT INTO t VALUES (zeroblob(65536))")
    except sqlite3.OperationalError as err:
        assert err.sqlite_errorcode == sqlite3.SQLITE_FULL, err
        return err
    finally:
        scratch.close()
    raise AssertionError("a one-page database took 64 KiB")


class DiskFull:
    """The disk under one database file is full from an instant on, until :meth:`free`.

    Use :meth:`installed` around the test: every connection opened to that file (the store's,
    a writer thread's) is made with a factory whose writes — ``INSERT``, ``UPDATE``,
    ``DELETE``, ``COMMIT`` — fail with ``SQLITE_FULL`` while the disk is full; reads and
    ``ROLLBACK`` still work, as on a real full disk.

    Attributes:
        full: whether writes fail now.
        failed: how many writes failed.
    """

    def __init__(self, path: Path) -> None:
        self._path = path.resolve()
        self.full = False
        self.failed = 0
        self._timer: threading.Timer | None = None

    def fill(self, port: SimSerial, at_s: float, real_cap_s: float = math.inf) -> None:
        """Fill the disk at ``at_s`` (device time); free it after at most ``real_cap_s`` of
        real time (as :class:`DbLock`: the writer waits in real time)."""

        def fill(_now_us: int) -> None:
            self.full = True
            if math.isfinite(real_cap_s):
                self._timer = threading.Timer(real_cap_s, self.free)
                self._timer.daemon = True
                self._timer.start()

        port.clock.schedule(at_us(at_s), fill)

    @property
    def locked(self) -> bool:
        """Whether writes fail now (the name :class:`DbLock` uses: both block the records)."""
        return self.full

    def free(self) -> None:
        """Free space: writes work again."""
        self.full = False
        timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()

    def _check(self, sql: str) -> None:
        if self.full and sql.lstrip().upper().startswith(_WRITES):
            self.failed += 1
            raise _sqlite_full()

    @contextlib.contextmanager
    def installed(self) -> Iterator[DiskFull]:
        """Make every connection opened to the file meanwhile feel the full disk."""
        disk = self
        connect = sqlite3.connect

        class Cursor(sqlite3.Cursor):
            def execute(self, sql: str, *args: Any, **kwargs: Any) -> Cursor:
                disk._check(sql)
                return super().execute(sql, *args, **kwargs)

            def executemany(self, sql: str, *args: Any, **kwargs: Any) -> Cursor:
                disk._check(sql)
                return super().executemany(sql, *args, **kwargs)

        class Connection(sqlite3.Connection):
            def cursor(self, factory: Any = Cursor) -> Any:  # type: ignore[override]
                return super().cursor(factory)

            def execute(self, sql: str, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
                return self.cursor().execute(sql, *args, **kwargs)

            def executemany(self, sql: str, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
                return self.cursor().executemany(sql, *args, **kwargs)

            def commit(self) -> None:
                disk._check("COMMIT")
                super().commit()

        def patched(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            if _same_file(database, self._path):
                kwargs.setdefault("factory", Connection)
            return connect(database, *args, **kwargs)

        sqlite3.connect = patched  # type: ignore[assignment]
        try:
            yield self
        finally:
            sqlite3.connect = connect


def _same_file(database: Any, path: Path) -> bool:
    text = str(database)
    if text.startswith("file:"):
        text = text[len("file:") :].split("?")[0].removeprefix("//")
    try:
        return Path(text).resolve() == path
    except (OSError, ValueError):
        return False


def blackout(from_s: float, to_s: float) -> str:
    """Scenario lines: every frame either way is lost while ``from_s <= t < to_s``."""
    return f'[[fault]]\nkind = "drop"\nrate = 1.0\nstart_s = {from_s}\nstop_s = {to_s}\n'
