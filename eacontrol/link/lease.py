"""The lease half of ``LinkMachine``: heartbeats every lease/5, and the silence check.

Kept apart from the sending and receiving halves (``eacontrol.link.machine``,
``eacontrol.link.receiving``) only for size; the three are one class. No STATUS for
``LEASE_PERIODS_TO_LOSS`` lease periods of listening is silence; when the caller itself did not
call for longer than a lease, the periods count from its return: a blocked application is not a
lost link, and its device has stopped by then anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from eacontrol.link.events import LinkSilent
from eacontrol.link.pending import PendingCommand
from eacontrol.link.watch import SessionWatch
from firmware_protocol import AuthenticationError, Heartbeat, Message

__all__ = ["HEARTBEAT_FRACTION", "LEASE_PERIODS_TO_LOSS", "LeaseHalf"]

LEASE_PERIODS_TO_LOSS = 3
"""No STATUS for this many lease periods means the link is lost (issue 4)."""

HEARTBEAT_FRACTION = 5
"""A heartbeat every lease/5 (PROTOCOL.md §3.5)."""


class LeaseHalf:
    """Heartbeats and silence (the state is set up by ``LinkMachine``)."""

    reply_timeout_s: float
    _pending: dict[int, PendingCommand]
    _fault: AuthenticationError | None
    _watch: SessionWatch
    _heartbeat: PendingCommand | None
    _lease_s: float | None
    _closed: bool
    _next_heartbeat_s: float
    _renewed_s: float
    _last_status_s: float
    _listen_from_s: float
    _last_activity_s: float

    # The sending half's, defined by LinkMachine:
    send: Callable[[Message, float], int]
    retransmit: Callable[[int, float], None]
    forget: Callable[[int], None]

    def next_deadline_s(self) -> float:
        """Host time of the next thing due: a heartbeat, its retransmission, the silence check.

        ``inf`` before HELLO and after the session ended. Command replies have their own due
        time (``retry_if_due``).
        """
        if self._lease_s is None or self._watch.ended is not None:
            return float("inf")
        wake_s = min(
            self._next_heartbeat_s,
            max(self._last_status_s, self._listen_from_s) + LEASE_PERIODS_TO_LOSS * self._lease_s,
        )
        hb = self._heartbeat
        if hb is not None and hb.reply is None:
            wake_s = min(wake_s, hb.last_sent_s + self.reply_timeout_s)
        return wake_s

    def keep_alive(self, now_s: float) -> None:
        """Queue a heartbeat if one is due, or repeat one whose STATUS did not come back."""
        if (
            self._lease_s is None
            or self._watch.ended is not None
            or self._closed
            or self._fault is not None
        ):
            return
        hb = self._heartbeat
        if hb is None or now_s >= self._next_heartbeat_s:
            if hb is not None:
                self.forget(hb.counter)
            self._heartbeat = self._pending[self.send(Heartbeat(), now_s)]
            self._next_heartbeat_s = now_s + self._lease_s / HEARTBEAT_FRACTION
        elif hb.reply is None and now_s >= hb.last_sent_s + self.reply_timeout_s:
            self.retransmit(hb.counter, now_s)

    def lease_may_lapse(self, now_s: float) -> bool:
        """True when the lease may have lapsed by the time a command sent at ``now_s`` arrives.

        The device renews the lease when a heartbeat arrives, so the send time of the last
        heartbeat whose STATUS came back bounds the renewal from below; a command needs up to
        ``reply_timeout_s`` to arrive. An application that was idle longer than that (a script
        between two blocks of work) must renew first, or START is refused ``NO_LEASE``.
        """
        if self._lease_s is None or self._watch.ended is not None or self._closed:
            return False
        return now_s + self.reply_timeout_s >= self._renewed_s + self._lease_s

    def renew_now(self, now_s: float) -> None:
        """Queue a heartbeat now, whatever its schedule (``Link.renew_lease`` waits for it)."""
        self._next_heartbeat_s = min(self._next_heartbeat_s, now_s)
        self.keep_alive(now_s)

    @property
    def renewing(self) -> bool:
        """True while the latest heartbeat's STATUS has not come back."""
        hb = self._heartbeat
        return hb is not None and hb.reply is None and not self._closed

    def check_silence(self, now_s: float) -> LinkSilent | None:
        """Note that the caller is active at ``now_s``; report silence if the lease says so.

        Returns:
            ``LinkSilent`` when no STATUS arrived for ``LEASE_PERIODS_TO_LOSS`` lease periods of
            listening, else None (always None before HELLO).
        """
        if self._lease_s is None:
            return None
        if now_s - self._last_activity_s > self._lease_s:
            self._listen_from_s = now_s  # the caller was away: count silence from its return
        self._last_activity_s = now_s
        silent_s = now_s - max(self._last_status_s, self._listen_from_s)
        if silent_s >= LEASE_PERIODS_TO_LOSS * self._lease_s:
            return LinkSilent(silent_s, self._lease_s, LEASE_PERIODS_TO_LOSS)
        return None
