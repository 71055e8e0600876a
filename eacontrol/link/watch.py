"""What the host knows of its device session from STATUS, EVENT and NAK frames.

- The latest STATUS is kept with the host counter of the request it answers; a delayed or
  duplicated older STATUS of the same boot (lower uptime) never overwrites it, nor does one from
  before a reboot.
- The session ends when the device shows another ``boot_id`` (STATUS or EVENT REBOOT), answers
  NAK ``NO_SESSION``, or closes the session (EVENT SESSION_CLOSED: lease expiry, counter
  exhausted, replaced, key forgotten; PROTOCOL.md §3.5, §3.11): stimulation did not and will not
  resume by itself. The end is kept as the ``DeviceFault`` to raise (faults ``REBOOT`` or
  ``NO_SESSION``). EVENT REBOOT and NAK NO_SESSION arrive unauthenticated (key 0): they can
  only end a session, which is the cautious direction, never confirm anything. A reboot seen
  after a NAK NO_SESSION replaces it as the cause: it is why the device forgot the session.
"""

from __future__ import annotations

from eacontrol.errors import DeviceFault
from firmware_protocol import DeviceFlag, Event, EventCode, Nak, NakCode, SessionClosed, Status

__all__ = ["SessionWatch"]


class SessionWatch:
    """Tracks one session's device boot, its latest STATUS and whether the session ended.

    Attributes:
        ended: the error to raise once the session has ended, else None.
        closing: the session's closing STATUS (authenticated, SESSION_OPEN clear): the device's
            last word in a session closed for good, in which nothing can drive an output again.
    """

    def __init__(self) -> None:
        self._session_id = 0
        self._boot_id: int | None = None
        self._old_boots: set[int] = set()
        self._latest: tuple[Status, int] | None = None
        self.ended: DeviceFault | None = None
        self._unknown_session = False  # ended by NAK NO_SESSION, cause not yet known
        self.closing: Status | None = None

    def open(self, session_id: int, boot_id: int) -> None:
        """Start watching the session HELLO opened on the boot HELLO_ACK reported."""
        self._session_id = session_id
        self._boot_id = boot_id

    @property
    def boot_id(self) -> int | None:
        """The device boot this session watches (the newest seen), or None before HELLO."""
        return self._boot_id

    @property
    def latest(self) -> Status | None:
        """The most recent STATUS accepted, or None."""
        return None if self._latest is None else self._latest[0]

    def status_after(self, counter: int) -> Status | None:
        """The latest STATUS if it answers a request sent after command ``counter``, else None
        (host counters only increase within a connection: they never wrap)."""
        if self._latest is not None and self._latest[1] > counter:
            return self._latest[0]
        return None

    def on_status(self, status: Status, ref_counter: int) -> bool:
        """Take a STATUS answering request ``ref_counter``; return False if it is stale."""
        if status.boot_id in self._old_boots:
            return False  # delayed from before a reboot
        if self._boot_id is not None and status.boot_id != self._boot_id:
            self._rebooted(status.boot_id)
        elif (
            self._latest is not None
            and self._latest[0].boot_id == status.boot_id
            and status.uptime_ms < self._latest[0].uptime_ms
        ):
            return False  # delayed or duplicated: never overwrite a newer STATUS
        self._latest = (status, ref_counter)
        if self._session_id and not status.flags & DeviceFlag.SESSION_OPEN:
            self.closing = status
            self._end(f"the device closed session {self._session_id}", "NO_SESSION")
        return True

    def on_event(self, event: Event) -> None:
        """Take an EVENT (REBOOT and SESSION_CLOSED matter here)."""
        if event.code == EventCode.SESSION_CLOSED and self._session_id:
            try:
                reason = SessionClosed(event.detail).name
            except ValueError:
                reason = f"reason {event.detail}"
            self._end(f"the device closed session {self._session_id} ({reason})", "NO_SESSION")
            return
        if (
            event.code == EventCode.REBOOT
            and self._boot_id is not None
            and event.detail != self._boot_id
            and event.detail not in self._old_boots
        ):
            self._rebooted(event.detail)

    def on_nak(self, nak: Nak) -> None:
        """Take a NAK: ``NO_SESSION`` during a session means the session is gone."""
        if nak.code == NakCode.NO_SESSION and self._session_id and self.ended is None:
            self._end(f"the device no longer knows session {self._session_id}", "NO_SESSION")
            self._unknown_session = True

    def _rebooted(self, boot_id: int) -> None:
        old = self._boot_id or 0
        self._old_boots.add(old)
        self._boot_id = boot_id
        if self._unknown_session:
            # A reboot is why the device no longer knew the session: the truer cause.
            self.ended, self._unknown_session = None, False
        self._end(f"the device rebooted (boot_id 0x{old:08X} → 0x{boot_id:08X})", "REBOOT")

    def _end(self, reason: str, fault: str) -> None:
        if self.ended is None:
            self.ended = DeviceFault(
                f"{reason}: the session ended, every output of this session is off and "
                "stimulation will not resume by itself",
                None,
                (fault,),
            )
