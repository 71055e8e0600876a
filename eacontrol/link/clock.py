"""Injected time: the ``Clock`` protocol and the one real clock (docs/architecture.md, STYLE.md 4).

Every part of eacontrol that needs the time takes a ``Clock``. ``RealClock`` is the only code in
the package that calls ``time.monotonic`` or ``time.sleep``. With a ``sim://`` port the device
layer uses the port's own virtual clock instead, so a scripted hour of stimulation runs in
milliseconds and the same way every time.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "RealClock", "TICK_s"]

TICK_s = 1e-6
"""The shortest wait: one microsecond, the simulator clock's tick, far above float rounding."""


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds that can also wait."""

    def now(self) -> float:
        """Return the current time in seconds; only differences are meaningful."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass (a virtual clock advances instead of blocking)."""
        ...


class RealClock:
    """Wall time: ``time.monotonic`` and ``time.sleep``."""

    def now(self) -> float:
        """Return ``time.monotonic()`` in seconds."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` (nothing for zero or less)."""
        if seconds > 0:
            time.sleep(seconds)
