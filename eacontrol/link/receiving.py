"""The receiving half of ``LinkMachine``: every device frame checked, then routed.

Kept apart from the sending and timing half (``eacontrol.link.machine``) only for size; the two
are one class. Each sound frame goes through ``SessionGuard`` first (``eacontrol.link.auth``):

- a SESSION-key frame that fails (bad tag, old counter, another session) is a link fault:
  ``AuthenticationFailed``, and nothing more from the device is accepted;
- a verified frame is an EVENT, a STATUS (the link is heard; the watch keeps the newest) or a
  reply, matched to its pending command by ``ref_counter`` and type; a reply the device resent
  from its cache for a command already answered is ignored;
- a key-0 frame may answer only an unauthenticated request (GET_INFO, PAIR, HELLO's NAK) or end
  the session (NAK NO_SESSION, EVENT REBOOT): it never confirms a stop nor counts as a STATUS.
"""

from __future__ import annotations

import logging
from collections import deque

from eacontrol.link.auth import Checked, SessionGuard
from eacontrol.link.events import (
    AuthenticationFailed,
    EventReceived,
    FrameRejected,
    LinkEvent,
    ReplyReceived,
    SessionEnded,
    StatusReceived,
)
from eacontrol.link.framelog import FrameLog, FrameRecord
from eacontrol.link.pending import PendingCommand, answers
from eacontrol.link.watch import SessionWatch
from firmware_protocol import (
    AuthenticationError,
    Event,
    EventCode,
    Frame,
    FrameDecoder,
    FrameError,
    KeyKind,
    MsgType,
    Nak,
    NakCode,
    RawFrame,
    Status,
    TrustedFrameError,
    VersionMismatch,
)

__all__ = ["ANSWERED_KEPT", "ReceivingHalf"]

log = logging.getLogger("eacontrol.link.machine")

ANSWERED_KEPT = 256
"""Answered host counters remembered, so a reply resent from the device's 16-entry cache is
recognised (design value: 16 × 16, far beyond any resend the device can make)."""


class ReceivingHalf:
    """``LinkMachine.receive`` and what it needs (the state is set up by ``LinkMachine``)."""

    frame_log: FrameLog
    _guard: SessionGuard
    _decoder: FrameDecoder
    _pending: dict[int, PendingCommand]
    _by_wire: dict[int, PendingCommand]
    _device_answered: int
    _answered: deque[int]
    _fault: AuthenticationError | None
    _watch: SessionWatch
    _heartbeat: PendingCommand | None
    _renewed_s: float
    _last_status_s: float

    def receive(self, data: bytes, now_s: float) -> list[LinkEvent]:
        """Take bytes from the device, in any chunking, and return what they meant.

        Args:
            data: bytes as they arrived (partial frames are kept for the next call).
            now_s: host time of receipt.

        Returns:
            The events, in stream order. After an ``AuthenticationFailed`` nothing more from the
            device is accepted on this link.
        """
        events: list[LinkEvent] = []
        for item in self._decoder.feed(data):
            if self._fault is not None:
                break
            ended_before = self._watch.ended
            self._dispatch(item, now_s, events)
            if ended_before is None and self._watch.ended is not None:
                events.append(SessionEnded(self._watch.ended, now_s))
        return events

    def _dispatch(self, item: RawFrame | FrameError, now_s: float, events: list[LinkEvent]) -> None:
        if isinstance(item, FrameError):
            self._rejected(item, now_s, events)
            return
        checked = self._guard.check(item)
        if checked is None:
            log.debug("ignored a device frame with key %d", item.header.key)
            return
        if isinstance(checked, AuthenticationError):
            self._unauthentic(checked, now_s, events)
            return
        if isinstance(checked, TrustedFrameError):
            self._rejected(checked, now_s, events)
            return
        self.frame_log.add(FrameRecord(now_s, "rx", frame=checked.frame))
        if MsgType(checked.frame.header.msg_type).from_device:
            if checked.authenticated:
                self._authenticated(checked.frame, now_s, events)
            else:
                self._unauthenticated(checked, now_s, events)

    def _rejected(self, error: FrameError, now_s: float, events: list[LinkEvent]) -> None:
        self.frame_log.add(FrameRecord(now_s, "rx", error=error))
        log.debug("rejected frame from device: %s", error)
        events.append(FrameRejected(error, now_s))
        if isinstance(error, TrustedFrameError):
            self._bad_reply(error.header.ref_counter, error)
        elif isinstance(error, VersionMismatch) and not self._guard.keys_held:
            # A sound frame of another major has no header this host can read: it answers
            # whatever this host asked before a session (GET_INFO, HELLO).
            for pending in self._pending.values():
                if pending.reply is None and pending.bad_reply is None:
                    pending.bad_reply = error

    def _bad_reply(self, ref_counter: int, error: FrameError) -> None:
        pending = self._by_wire.get(ref_counter)
        if pending is not None and pending.reply is None:
            pending.bad_reply = error

    def _unauthentic(
        self, error: AuthenticationError, now_s: float, events: list[LinkEvent]
    ) -> None:
        self.frame_log.add(FrameRecord(now_s, "rx", error=error))
        if not self._guard.keys_held:
            # The HELLO_ACK answering this host's HELLO does not verify: HELLO fails.
            self._bad_reply(error.header.ref_counter, error)
            return
        log.warning("device frame failed authentication: %s", error)
        self._fault = error
        events.append(AuthenticationFailed(error, now_s))

    def _unauthenticated(self, checked: Checked, now_s: float, events: list[LinkEvent]) -> None:
        """A key-0 frame: it may answer an unauthenticated request, or end the session."""
        header, message = checked.frame.header, checked.frame.message
        if isinstance(message, Nak) and message.code == NakCode.NO_SESSION:
            self._watch.on_nak(message)
        elif isinstance(message, Event) and message.code == EventCode.REBOOT:
            self._watch.on_event(message)
        pending = self._by_wire.get(header.ref_counter)
        if pending is not None and not pending.authenticated and header.ref_counter:
            self._reply(pending, checked.frame, now_s, events)
        elif pending is not None and pending.frame.header.key == KeyKind.PAIRING:
            self._reply(pending, checked.frame, now_s, events)  # a NAK of HELLO

    def _authenticated(self, frame: Frame, now_s: float, events: list[LinkEvent]) -> None:
        header, message = frame.header, frame.message
        if header.ref_counter and header.ref_counter in self._answered:
            # Resent from the device's reply cache (a retransmission of ours was answered from
            # it): the first copy was taken; this one confirms nothing new.
            log.debug("ignored a resent reply to counter %d", header.ref_counter)
            return
        # The device executes in counter order: it is past every counter it has answered.
        self._device_answered = max(self._device_answered, header.ref_counter)
        if isinstance(message, Event):
            self._watch.on_event(message)
            events.append(EventReceived(message, header.counter, now_s))
            return
        if isinstance(message, Status):
            self._last_status_s = now_s
            if self._watch.on_status(message, header.ref_counter):
                events.append(StatusReceived(message, header.ref_counter, now_s))
        elif isinstance(message, Nak):
            self._watch.on_nak(message)
        pending = self._by_wire.get(header.ref_counter)
        if pending is not None:
            self._reply(pending, frame, now_s, events)

    def _reply(
        self, pending: PendingCommand, frame: Frame, now_s: float, events: list[LinkEvent]
    ) -> None:
        message = frame.message
        if pending.reply is not None or not answers(pending.message, message):
            return
        pending.reply = frame
        self._answered.append(frame.header.ref_counter)
        if pending is self._heartbeat and isinstance(message, Status):
            self._renewed_s = max(self._renewed_s, pending.first_sent_s)
        events.append(ReplyReceived(pending.handle, frame, now_s))
