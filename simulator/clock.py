"""Clocks: a virtual clock in integer microseconds with an event queue, and the real clock.

Everything in the simulator that depends on time gets it from one of these (docs/architecture.md,
"time
is injected"). Virtual time counts integer microseconds because a float clock drifts: 0.1 s added
ten thousand times is not 1000 s in binary floating point, and a lease check that is off by one
microsecond is a different test.

Two kinds of things are driven by a ``Scheduler``:

- **timed callbacks** (``schedule``): one-shot, run at their time in (time, insertion) order, e.g.
  a scheduled unplug or reboot;
- **actors** (``add_actor``): objects that say when they next have something to do
  (``next_deadline_us``) and are advanced to each instant the scheduler stops at (``advance``),
  e.g. the simulated device with its wires.

``VirtualClock`` is a scheduler whose time only moves when someone waits (``sleep``, a sim:// read
timeout): it then jumps from one deadline to the next, running everything in time order, so an
hour of stimulation takes as long as the work in it. ``RealClock`` reads the monotonic clock; the
real-time servers pair it with a plain ``Scheduler``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "US_PER_S",
    "Actor",
    "Clock",
    "RealClock",
    "Scheduler",
    "StalledActor",
    "VirtualClock",
    "seconds_to_us",
]

US_PER_S = 1_000_000

_MAX_STEPS_AT_ONE_INSTANT = 10_000
"""An actor still due after this many advances to the same instant is not making progress."""


def seconds_to_us(seconds: float) -> int:
    """Convert seconds to whole microseconds, rounding to the nearest one.

    Raises:
        ValueError: ``seconds`` is negative or not finite.
    """
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"a duration must be finite and non-negative, got {seconds!r} s")
    return round(seconds * US_PER_S)


class Clock(Protocol):
    """What the host and the simulator need from a clock."""

    @property
    def now_us(self) -> int:
        """Microseconds since the clock was created."""
        ...

    def now(self) -> float:
        """Seconds since the clock was created."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class Actor(Protocol):
    """Something the scheduler advances: the simulated device and its wires."""

    def next_deadline_us(self) -> int | None:
        """Return when the actor next has something to do on its own (None: nothing pending)."""
        ...

    def advance(self, now_us: int) -> None:
        """Run everything due up to ``now_us``."""
        ...


class StalledActor(RuntimeError):
    """An actor keeps reporting a deadline in the past after being advanced to it (a bug)."""


class Scheduler:
    """Timed one-shot callbacks plus actors, run in time order.

    A callback gets the time it runs at (``now_us``), which in real time may be later than the
    time it was scheduled for; actors are advanced after the callbacks due at the same instant.
    """

    def __init__(self) -> None:
        self._queue: list[tuple[int, int, Callable[[int], object]]] = []
        self._order = itertools.count()
        self._cancelled: set[int] = set()
        self._actors: list[Actor] = []

    def schedule(self, at_us: int, callback: Callable[[int], object]) -> int:
        """Run ``callback(now_us)`` once, at ``at_us``.

        Returns:
            A handle for ``cancel``.
        """
        handle = next(self._order)
        heapq.heappush(self._queue, (at_us, handle, callback))
        return handle

    def cancel(self, handle: int) -> None:
        """Forget a scheduled callback (no effect if it already ran)."""
        if any(h == handle for _, h, _ in self._queue):
            self._cancelled.add(handle)

    def add_actor(self, actor: Actor) -> None:
        """Advance ``actor`` whenever the scheduler runs, and wake up at its deadlines."""
        self._actors.append(actor)

    def next_deadline_us(self) -> int | None:
        """Return the earliest time anything is due (None: nothing will ever happen)."""
        self._drop_cancelled()
        due_us = self._queue[0][0] if self._queue else None
        for actor in self._actors:
            deadline = actor.next_deadline_us()
            if deadline is not None and (due_us is None or deadline < due_us):
                due_us = deadline
        return due_us

    def run_due(self, now_us: int) -> int | None:
        """Run every callback scheduled at or before ``now_us``, then advance every actor to it.

        Repeats until nothing is due at or before ``now_us`` (a callback or an actor may make
        something else due at the same instant, e.g. a reply that arrives with no wire delay).

        Returns:
            The next deadline after the run (``next_deadline_us``, already asked once here, so
            that a caller stepping from deadline to deadline need not ask again).

        Raises:
            StalledActor: an actor stays due after many advances to the same instant.
        """
        queue = self._queue
        for _ in range(_MAX_STEPS_AT_ONE_INSTANT):
            self._drop_cancelled()
            while queue and queue[0][0] <= now_us:
                _, handle, callback = heapq.heappop(queue)
                if handle in self._cancelled:
                    self._cancelled.discard(handle)
                    continue
                callback(now_us)
            for actor in self._actors:
                actor.advance(now_us)
            deadline = self.next_deadline_us()
            if deadline is None or deadline > now_us:
                return deadline
        raise StalledActor(f"something stays due at t={now_us} us after being run; a bug")

    def _drop_cancelled(self) -> None:
        while self._queue and self._queue[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._queue)[1])


class VirtualClock(Scheduler):
    """Virtual time in integer microseconds that jumps to the next deadline when everyone waits.

    Thread-safe in the sense that advancing is serialised by a lock; but a virtual clock has one
    notion of "now", so a host should drive it from one thread (its control loop).

    Args:
        start_us: the initial time.
    """

    def __init__(self, start_us: int = 0) -> None:
        super().__init__()
        self._now_us = start_us
        self._lock = threading.RLock()
        self._advancing = False

    @property
    def lock(self) -> threading.RLock:
        """Held while the clock advances; hold it to act between two steps from another thread."""
        return self._lock

    @property
    def now_us(self) -> int:
        """The current virtual time in microseconds."""
        return self._now_us

    def now(self) -> float:
        """The current virtual time in seconds."""
        return self._now_us / US_PER_S

    def sleep(self, seconds: float) -> None:
        """Advance virtual time by ``seconds``, running the device, wires and faults on the way.

        Zero or less lets no time pass (like a real sleep), but runs what is due now.

        Raises:
            ValueError: ``seconds`` is not finite.
        """
        self.advance_to(self._now_us + seconds_to_us(max(seconds, 0.0)))

    def advance_to(self, target_us: int, until: Callable[[], bool] | None = None) -> bool:
        """Jump from deadline to deadline up to ``target_us``, or until ``until()`` holds.

        ``until`` is checked before the first step and after each one; time stops at the instant
        it becomes true. Otherwise time ends at ``target_us`` with everything due by then run.

        Args:
            target_us: the latest time to advance to (earlier than now: no time passes).
            until: optional condition that stops the advance early.

        Returns:
            True if ``until`` held when the advance stopped, else False.

        Raises:
            RuntimeError: called from a callback or actor while the clock is advancing.
            StalledActor: an actor stays due after being run (a bug in that actor).
        """
        with self._lock:
            if self._advancing:
                raise RuntimeError("the virtual clock cannot be advanced from inside a step")
            self._advancing = True
            try:
                return self._advance(target_us, until)
            finally:
                self._advancing = False

    def _advance(self, target_us: int, until: Callable[[], bool] | None) -> bool:
        # The deadline each instant's run returns is the next stop: the actors are asked for
        # their deadlines once per instant, not once more per step.
        deadline = self.run_due(self._now_us)
        while not (until is not None and until()):
            if deadline is None or deadline > target_us:
                if target_us > self._now_us:
                    self._now_us = target_us
                    self.run_due(target_us)
                return until is not None and until()
            self._now_us = max(self._now_us, deadline)
            deadline = self.run_due(self._now_us)
        return True


class RealClock:
    """The wall clock: ``time.monotonic_ns``, counted from when this object was created.

    This and nothing else in the project calls ``time.sleep`` or reads the monotonic clock.
    """

    def __init__(self) -> None:
        self._start_ns = time.monotonic_ns()

    @property
    def now_us(self) -> int:
        """Microseconds since this clock was created."""
        return (time.monotonic_ns() - self._start_ns) // 1000

    def now(self) -> float:
        """Seconds since this clock was created."""
        return (time.monotonic_ns() - self._start_ns) / 1e9

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (not at all for zero or less).

        Raises:
            ValueError: ``seconds`` is not finite.
        """
        time.sleep(seconds_to_us(max(seconds, 0.0)) / US_PER_S)
