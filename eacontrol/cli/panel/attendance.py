"""Who controls the running session from a browser, and whether that browser is still there.

Shared between the web server's thread (which seats the controlling browser, records its
heartbeats and its leaving) and the session loop's thread (which asks, every tick, whether the
session is attended). One lock guards it; nothing here calls the session.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from eacontrol.link import Clock

__all__ = ["Attendance", "Controller", "HEARTBEAT_TIMEOUT_s"]

HEARTBEAT_TIMEOUT_s = 2.0
"""A controlling page silent this long is gone: the session pauses (issue 19, a design value:
the page beats every 0.25 s, so eight beats in a row were lost)."""


@dataclass(frozen=True)
class Controller:
    """The controlling browser: its id (per WebSocket) and the address it connected from."""

    client_id: str
    peer: str

    @property
    def origin(self) -> str:
        """How its actions are recorded: ``browser 3fa2 at 127.0.0.1``."""
        return f"browser {self.client_id} at {self.peer}"


class Attendance:
    """The controlling browser's seat and its last heartbeat, on the wall clock."""

    def __init__(self, wall: Clock) -> None:
        """``wall``: the real clock heartbeats are timed on."""
        self._wall = wall
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._beat_at = 0.0

    @property
    def controller(self) -> Controller | None:
        """The seated controller, or None."""
        with self._lock:
            return self._controller

    def seat(self, controller: Controller) -> bool:
        """Seat ``controller`` if the seat is free; returns whether it now controls."""
        with self._lock:
            if self._controller is not None and self._controller != controller:
                return False
            self._controller = controller
            self._beat_at = self._wall.now()
            return True

    def hand_over(self, by: Controller, to: Controller) -> bool:
        """The controller ``by`` hands control to ``to``; returns whether it did (``by`` still
        controlled)."""
        with self._lock:
            if self._controller != by:
                return False
            self._controller = to
            self._beat_at = self._wall.now()
            return True

    def beat(self, client_id: str) -> None:
        """A heartbeat from ``client_id`` (ignored unless it controls)."""
        with self._lock:
            if self._controller is not None and self._controller.client_id == client_id:
                self._beat_at = self._wall.now()

    def leave(self, client_id: str) -> bool:
        """``client_id`` disconnected; returns whether it was the controller (seat now free)."""
        with self._lock:
            if self._controller is not None and self._controller.client_id == client_id:
                self._controller = None
                return True
            return False

    def unattended(self) -> str | None:
        """Why the session is unattended (no controller, or its heartbeat is late), or None."""
        with self._lock:
            if self._controller is None:
                return "no controlling browser is connected"
            silent_s = self._wall.now() - self._beat_at
            if silent_s >= HEARTBEAT_TIMEOUT_s:
                return (
                    f"the controlling {self._controller.origin} sent no heartbeat for "
                    f"{silent_s:.1f} s"
                )
            return None
