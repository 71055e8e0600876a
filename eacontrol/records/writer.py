"""The record writer: a session's records written on their own thread, in order, never lost.

The control loop must never wait for SQLite: another program holding the database's write lock
for a second and a half (``BEGIN EXCLUSIVE`` in a browser, a backup) used to block the loop
until the device's lease expired. The loop now only appends to the writer's queue; this thread
writes each record in order, and a record that fails for a reason that can clear (SQLite busy,
locked, disk full, I/O) stays at the head of the queue and is tried again, so nothing queued is
lost: it is written when the database frees, at the latest while the session closes.

The loop asks :meth:`RecordWriter.problem` whenever it records; a problem is a ``RecordError``
that ends the session safely (outputs cut and confirmed, outcome ``records_unavailable``), and
it stays once found:

* the head record has been failing for more than :data:`STALL_BOUND_s` (real time);
* more than :data:`QUEUE_BOUND` records wait (the writer cannot keep up);
* a record was refused for a reason that cannot clear (a channel the prescription lacks, the
  session already ended): it is dropped, named in the problem and in ``failures``.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
from collections.abc import Callable

from eacontrol.errors import EAError, RecordError
from eacontrol.link.clock import Clock, RealClock
from eacontrol.records.store import RecordStore

__all__ = [
    "QUEUE_BOUND",
    "CLOSE_WAIT_s",
    "RETRY_s",
    "RecordWriter",
    "STALL_BOUND_s",
    "WRITER_BUSY_TIMEOUT_s",
]

log = logging.getLogger(__name__)

STALL_BOUND_s = 3.0
"""Design value: how long (real time) the database may refuse records before the session stops.
Twice the 1.5 s lock seen in the field (issue 14), so such a lock passes; short enough that a
crash during a stall loses at most a few seconds of samples (events and samples are queued, not
yet on disk). The device's lease is not at stake: the loop keeps running meanwhile."""

QUEUE_BOUND = 10_000
"""Design value: records waiting before the session stops. Eight channels sampled once a second
queue 8 records/s, so this is far beyond a stall of :data:`STALL_BOUND_s`; it bounds memory if
the writer is starved without failing (a disk that takes seconds per commit)."""

WRITER_BUSY_TIMEOUT_s = 0.25
"""Design value: the writer's SQLite busy timeout. A locked attempt returns after this long, so
the writer reports the stall at least four times a second while the database stays locked."""

RETRY_s = 0.05
"""Design value: pause before a failed record is tried again (on top of the busy timeout)."""

CLOSE_WAIT_s = 10.0
"""Design value: how long closing waits for the queue to be written. The outputs are already
confirmed off when a session closes, so waiting costs no safety; after it the records not
written are reported (a ``RecordError`` naming how many), not silently dropped."""

Action = Callable[[RecordStore], None]


def _can_clear(err: EAError) -> bool:
    """A failure of SQLite itself (busy, locked, full, I/O) may clear; a refusal never does."""
    return isinstance(err, RecordError) and isinstance(err.__cause__, sqlite3.Error)


class RecordWriter:
    """Writes records to its own store connection on its own thread, in submission order.

    Attributes:
        failures: records dropped because they were refused for good (with their error).
    """

    def __init__(
        self, store: RecordStore, *, name: str = "records", clock: Clock | None = None
    ) -> None:
        """Start writing to ``store`` (opened with ``threaded=True``; the writer closes it).

        ``clock``: what stalls are measured on; default real time, also in a virtual-time
        session, because a lock held by another program lasts real seconds."""
        self._store = store
        self._clock: Clock = clock or RealClock()
        self._queue: collections.deque[tuple[str, Action]] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._failing_since: float | None = None
        self._last_error: EAError | None = None
        self._refused: RecordError | None = None
        self._stalled: RecordError | None = None
        self.failures: list[EAError] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        with self._cond:
            return len(self._queue)

    def submit(self, what: str, action: Action) -> None:
        """Queue ``action(store)`` (``what`` names it for messages); returns at once."""
        with self._cond:
            if self._closing:
                raise RecordError(f"the record writer is closed: {what} not queued")
            self._queue.append((what, action))
            self._cond.notify_all()

    def problem(self) -> RecordError | None:
        """Why the records cannot be trusted to be written now, or None (see the module)."""
        with self._cond:
            if self._refused is not None:
                return self._refused
            if self._stalled is not None:
                return self._stalled
            if self._failing_since is not None:
                stalled_s = self._clock.now() - self._failing_since
                if stalled_s > STALL_BOUND_s:
                    # Latched: records were at risk for longer than the bound; the session stops
                    # even if the database frees a moment later.
                    self._stalled = RecordError(
                        f"records unavailable: the session database has taken no record for "
                        f"{stalled_s:.1f} s (bound {STALL_BOUND_s:g} s; {len(self._queue)} "
                        f"waiting, kept): {self._last_error}"
                    )
                    return self._stalled
            if len(self._queue) > QUEUE_BOUND:
                return RecordError(
                    f"records unavailable: {len(self._queue)} records wait to be written "
                    f"(bound {QUEUE_BOUND}); the session database cannot keep up"
                )
        return None

    def wait(self, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Block until ``condition()`` (checked whenever the writer makes or fails a write);
        False after ``timeout_s``. For closing, and for tests that must see a stall."""
        deadline = self._clock.now() + timeout_s
        with self._cond:
            while not condition():
                left = deadline - self._clock.now()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def drain(self, timeout_s: float) -> bool:
        """Wait until every queued record is written; False after ``timeout_s``."""
        return self.wait(lambda: not self._queue, timeout_s)

    def close(self, timeout_s: float = CLOSE_WAIT_s) -> int:
        """Write what is queued (waiting up to ``timeout_s``), stop the thread, close the store.

        Returns:
            The number of records that could not be written (0: everything is on disk).
        """
        with self._cond:
            if self._closing:
                return len(self._queue)
        written = self.drain(timeout_s)
        with self._cond:
            self._closing = True
            left = len(self._queue)
            self._cond.notify_all()
        self._thread.join(timeout=timeout_s if written else WRITER_BUSY_TIMEOUT_s * 4)
        if not self._thread.is_alive():
            self._store.close()
        if left:
            log.error("%d record(s) not written: %s", left, self._last_error)
        return left

    def last_error(self) -> EAError | None:
        """The latest failure of the head record (None once it was written)."""
        with self._cond:
            return self._last_error

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if self._closing:
                    return
                what, action = self._queue[0]
            try:
                action(self._store)
            except EAError as err:
                self._failed(what, err)
                continue
            except Exception as err:  # a bug must not kill the thread silently
                self._failed(what, RecordError(f"{what} not recorded: {err!r}"))
                continue
            with self._cond:
                self._queue.popleft()
                self._failing_since = self._last_error = None
                self._cond.notify_all()

    def _failed(self, what: str, err: EAError) -> None:
        with self._cond:
            if not _can_clear(err):
                self._queue.popleft()
                self.failures.append(err)
                self._refused = RecordError(f"{what} was refused by the session database: {err}")
                log.error("%s refused: %s", what, err)
                self._cond.notify_all()
                return
            if self._failing_since is None:
                self._failing_since = self._clock.now()
                log.warning("%s not written yet (kept, retrying): %s", what, err)
            self._last_error = err
            self._cond.notify_all()
            self._cond.wait(RETRY_s)
