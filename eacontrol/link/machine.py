"""The link as a sans-I/O state machine: seq numbers, replies, retries, the heartbeat lease.

``LinkMachine`` owns everything the host must remember about the wire conversation and nothing
about how bytes move or how time passes (STYLE.md 14; the shape of h11's ``Connection``). It
opens no port, starts no thread and reads no clock: every call that depends on time takes the
caller's ``now_s`` (host seconds), and every byte it wants written waits in a queue that the
caller empties with ``data_to_send()``. ``eacontrol.link.driver.Link`` drives it over a
``Transport`` and a ``Clock``; a test drives it with byte transcripts and explicit times.

Inputs and outputs:

- ``send(message, now_s)`` → the new seq; the frame is queued for ``data_to_send()``;
- ``receive(data, now_s)`` → ``LinkEvent``s (any chunking of the same bytes gives the same ones);
- ``retry_if_due(seq, now_s)`` → retransmits an overdue command or raises ``LinkTimeout``;
- ``keep_alive(now_s)`` → queues a heartbeat when one is due, or repeats an unanswered one;
- ``check_silence(now_s)`` → ``LinkSilent`` once no STATUS came for three lease periods;
- ``next_deadline_s()`` → when the caller must call again, even if no byte arrives.

Rules (PROTOCOL.md §3.1, §3.4, §3.10):

- every new command gets the next seq; a retransmission repeats the same bytes (same seq);
- a reply is matched by ``ref_seq`` and by type (ACK/NAK name the command type they answer);
  replies to nothing outstanding are ignored, late duplicates are harmless;
- a command unanswered after ``max_attempts`` transmissions raises ``LinkTimeout``;
- heartbeats go out every lease/5 while a session is open, and are retransmitted when their
  STATUS does not come back within the reply timeout;
- no STATUS for three lease periods of listening is silence (the caller declares the link
  lost). When the caller itself did not call for longer than a lease, the periods count from
  its return: a blocked application is not a lost link; its device has stopped by then anyway;
- a changed ``boot_id`` (or a REBOOT event) or NAK ``NO_SESSION`` ends the session;
- a STATUS carrying another session_id than the open one answers another host's request and is
  ignored (its ``ref_seq`` is not in this host's numbering).
"""

from __future__ import annotations

import logging

from eacontrol.errors import DeviceFault, LinkTimeout
from eacontrol.link.events import (
    EventReceived,
    FrameRejected,
    LinkEvent,
    LinkSilent,
    ReplyReceived,
    SessionEnded,
    StatusReceived,
)
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog, FrameRecord
from eacontrol.link.pending import PendingCommand, answers, next_seq
from eacontrol.link.watch import SessionWatch
from firmware_protocol import (
    PROTO_MAJOR,
    Event,
    Frame,
    FrameDecoder,
    FrameError,
    Header,
    Heartbeat,
    Message,
    MsgType,
    Nak,
    Status,
    Stop,
    StopMode,
    TrustedFrameError,
    encode_frame,
)

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "HEARTBEAT_FRACTION",
    "LEASE_PERIODS_TO_LOSS",
    "DEFAULT_REPLY_TIMEOUT_s",
    "LinkMachine",
]

log = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT_s = 0.04
"""Wait for a reply before retransmitting: a maximal frame takes 24 ms at 115200 baud."""

DEFAULT_MAX_ATTEMPTS = 12
"""Transmissions of one command before ``LinkTimeout`` (about 0.5 s at the default timeout;
with 30 % loss each way a command fails all 12 with probability 0.51^12 ≈ 3e-4)."""

LEASE_PERIODS_TO_LOSS = 3
"""No STATUS for this many lease periods means the link is lost (issue 4)."""

HEARTBEAT_FRACTION = 5
"""A heartbeat every lease/5 (PROTOCOL.md §3.4)."""


# --- the machine -----------------------------------------------------------------------------


class LinkMachine:
    """Host side of the wire protocol as a state machine fed bytes and times.

    Attributes:
        frame_log: the last frames in both directions, for error reports.
        reply_timeout_s: wait for a reply before retransmitting.
        max_attempts: transmissions of one command before ``LinkTimeout``.
        session_id: the open session (0 before HELLO).
    """

    def __init__(
        self,
        *,
        reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        """Args:
        reply_timeout_s: seconds to wait for a reply before retransmitting.
        max_attempts: transmissions of one command before giving up (at least 1).
        history: frames kept in ``frame_log``.
        """
        self.reply_timeout_s = reply_timeout_s
        self.max_attempts = max(1, max_attempts)
        self.frame_log = FrameLog(history)
        self.session_id = 0
        self._decoder = FrameDecoder()
        self._outgoing = bytearray()
        self._seq = 0
        self._pending: dict[int, PendingCommand] = {}
        self._lease_s: float | None = None
        self._channel_mask = 0xFF
        self._channel_count = 0
        self._heartbeat: PendingCommand | None = None
        self._next_heartbeat_s = 0.0
        self._renewed_s = 0.0
        self._last_status_s = 0.0
        self._listen_from_s = 0.0
        self._last_activity_s = 0.0
        self._closed = False
        self._watch = SessionWatch()

    # --- session and state ---------------------------------------------------------------------

    def open_session(
        self, session_id: int, lease_s: float, boot_id: int, channels: int, now_s: float
    ) -> None:
        """Start heartbeats and the silence check for the session HELLO just opened.

        Args:
            session_id: the session HELLO_ACK confirmed.
            lease_s: the lease it granted.
            boot_id: the device boot it reported (another one later ends the session).
            channels: the device's channel count (the best-effort STOP names them all).
            now_s: host time; the first heartbeat is due at once.
        """
        self.session_id = session_id
        self._lease_s = lease_s
        self._watch.open(session_id, boot_id)
        self._channel_mask = (1 << channels) - 1
        self._channel_count = channels
        self._last_status_s = self._last_activity_s = self._renewed_s = now_s
        self._next_heartbeat_s = now_s

    @property
    def lease_s(self) -> float | None:
        """The granted lease, or None before HELLO."""
        return self._lease_s

    @property
    def heartbeat_interval_s(self) -> float | None:
        """Seconds between heartbeats (lease/5), or None before HELLO."""
        return None if self._lease_s is None else self._lease_s / HEARTBEAT_FRACTION

    @property
    def latest_status(self) -> Status | None:
        """The most recent STATUS accepted, or None."""
        return self._watch.latest

    @property
    def channel_count(self) -> int:
        """The device's channel count from HELLO_ACK (0 before HELLO)."""
        return self._channel_count

    @property
    def boot_id(self) -> int | None:
        """The device boot the session watches (the newest seen), or None before HELLO."""
        return self._watch.boot_id

    @property
    def last_seq(self) -> int:
        """The seq of the latest command queued (0 before the first)."""
        return self._seq

    @property
    def ended(self) -> DeviceFault | None:
        """The ``DeviceFault`` that ended the session (reboot, NO_SESSION), or None."""
        return self._watch.ended

    @property
    def closed(self) -> bool:
        """True after ``close()`` or ``abandon()``: no more heartbeats."""
        return self._closed

    @property
    def rx_error_count(self) -> int:
        """Received frames rejected by the decoder so far."""
        return self._decoder.error_count

    def status_after(self, seq: int) -> Status | None:
        """The latest STATUS if it answers a request sent after command ``seq``, else None."""
        return self._watch.status_after(seq)

    # --- sending -------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Return and forget the bytes queued for the wire (empty if none)."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def send(self, message: Message, now_s: float) -> int:
        """Queue ``message`` as a new command and return its seq.

        Args:
            message: the command.
            now_s: host time of sending (its reply is due ``reply_timeout_s`` later).

        Returns:
            The command's seq; its reply is ``reply_to(seq)`` once received.
        """
        self._seq = next_seq(self._seq)
        data = encode_frame(message, session_id=self.session_id, seq=self._seq)
        # The log keeps the frame as built (decoding our own bytes again would cost more).
        header = Header(
            PROTO_MAJOR,
            0,
            0,
            message.MSG_TYPE,
            self.session_id,
            self._seq,
            0,
            len(message.encode()),
        )
        pending = PendingCommand(
            Frame(header, message), data, now_s, rx_errors_before=self.rx_error_count
        )
        self._pending[self._seq] = pending
        self._queue(pending, now_s, retransmission=False)
        return self._seq

    def retransmit(self, seq: int, now_s: float) -> None:
        """Queue command ``seq`` again, byte for byte.

        Raises:
            KeyError: ``seq`` is not pending (never sent, or forgotten).
        """
        pending = self._pending[seq]
        pending.attempts += 1
        pending.last_sent_s = now_s
        self._queue(pending, now_s, retransmission=True)

    def _queue(self, pending: PendingCommand, now_s: float, *, retransmission: bool) -> None:
        self.frame_log.add(
            FrameRecord(now_s, "tx", frame=pending.frame, retransmission=retransmission)
        )
        self._outgoing += pending.data

    def reply_to(self, seq: int) -> Frame | None:
        """The reply received so far to command ``seq``, or None."""
        pending = self._pending.get(seq)
        return None if pending is None else pending.reply

    def sent_at(self, seq: int) -> float:
        """Host time command ``seq`` was last transmitted (-inf if forgotten)."""
        pending = self._pending.get(seq)
        return float("-inf") if pending is None else pending.last_sent_s

    def forget(self, seq: int) -> None:
        """Stop waiting for a reply to ``seq``; a later one is ignored."""
        self._pending.pop(seq, None)

    def retry_if_due(self, seq: int, now_s: float) -> float:
        """Retransmit command ``seq`` if its reply is overdue; return when it is next due.

        Args:
            seq: a pending command.
            now_s: host time.

        Returns:
            Host time in seconds at which the reply is due (after a retransmission, if one
            was queued).

        Raises:
            TrustedFrameError: the reply was a verified frame this host cannot accept.
            LinkTimeout: the reply is overdue after ``max_attempts`` transmissions.
            KeyError: ``seq`` is not pending.
        """
        pending = self._pending[seq]
        if pending.bad_reply is not None:
            raise pending.bad_reply
        if now_s >= pending.last_sent_s + self.reply_timeout_s:
            if pending.attempts >= self.max_attempts:
                raise self._timeout(pending, now_s)
            self.retransmit(seq, now_s)
        return pending.last_sent_s + self.reply_timeout_s

    def _timeout(self, pending: PendingCommand, now_s: float) -> LinkTimeout:
        garbage = self.rx_error_count - pending.rx_errors_before
        name = MsgType(pending.message.MSG_TYPE).name
        text = (
            f"no reply to {name} (seq {pending.seq}) after {pending.attempts} transmissions "
            f"over {now_s - pending.first_sent_s:.3f} s"
        )
        if garbage:
            text += (
                f"; {garbage} undecodable frame(s) arrived meanwhile (wrong baud rate, or not "
                "an eacontrol device?)"
            )
        return LinkTimeout(text, frames=self.frame_log.format(16))

    # --- time: the heartbeat and the silence check ---------------------------------------------

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
        if self._lease_s is None or self._watch.ended is not None or self._closed:
            return
        hb = self._heartbeat
        if hb is None or now_s >= self._next_heartbeat_s:
            if hb is not None:
                self.forget(hb.seq)
            self._heartbeat = self._pending[self.send(Heartbeat(), now_s)]
            self._next_heartbeat_s = now_s + self._lease_s / HEARTBEAT_FRACTION
        elif hb.reply is None and now_s >= hb.last_sent_s + self.reply_timeout_s:
            self.retransmit(hb.seq, now_s)

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

    # --- receiving -----------------------------------------------------------------------------

    def receive(self, data: bytes, now_s: float) -> list[LinkEvent]:
        """Take bytes from the device, in any chunking, and return what they meant.

        Args:
            data: bytes as they arrived (partial frames are kept for the next call).
            now_s: host time of receipt.

        Returns:
            The events, in stream order.
        """
        events: list[LinkEvent] = []
        for item in self._decoder.feed(data):
            ended_before = self._watch.ended
            self._dispatch(item, now_s, events)
            if ended_before is None and self._watch.ended is not None:
                events.append(SessionEnded(self._watch.ended, now_s))
        return events

    def _dispatch(self, item: Frame | FrameError, now_s: float, events: list[LinkEvent]) -> None:
        if isinstance(item, FrameError):
            self.frame_log.add(FrameRecord(now_s, "rx", error=item))
            log.debug("rejected frame from device: %s", item)
            events.append(FrameRejected(item, now_s))
            if isinstance(item, TrustedFrameError):
                pending = self._pending.get(item.header.ref_seq)
                if pending is not None and pending.reply is None:
                    pending.bad_reply = item
            return
        self.frame_log.add(FrameRecord(now_s, "rx", frame=item))
        header, message = item.header, item.message
        if not MsgType(header.msg_type).from_device:
            return
        if isinstance(message, Event):
            self._watch.on_event(message)
            events.append(EventReceived(message, header.seq, now_s))
            return
        if isinstance(message, Status):
            if self.session_id and header.session_id != self.session_id:
                # The answer to another host's request (replies carry the session of the
                # command they answer, §3.2): its ref_seq names none of ours, so it can neither
                # show that this link is heard nor confirm anything this host asked.
                log.debug("ignored a STATUS of session %d", header.session_id)
                return
            self._last_status_s = now_s
            if self._watch.on_status(message, header.ref_seq):
                events.append(StatusReceived(message, header.ref_seq, now_s))
        elif isinstance(message, Nak):
            self._watch.on_nak(message)
        pending = self._pending.get(header.ref_seq)
        if pending is not None and pending.reply is None and answers(pending.message, message):
            pending.reply = item
            if pending is self._heartbeat and isinstance(message, Status):
                self._renewed_s = max(self._renewed_s, pending.first_sent_s)
            events.append(ReplyReceived(header.ref_seq, item, now_s))

    # --- giving up -----------------------------------------------------------------------------

    def abandon(self) -> bytes:
        """Give the link up after a loss: no more heartbeats, nothing left queued.

        Returns:
            The bytes of an immediate STOP of every channel of the session, for the caller to
            write once, best effort (empty before HELLO). It is not a pending command and is
            not logged: nothing will wait for its answer.
        """
        self._closed = True
        self._heartbeat = None
        self._outgoing.clear()
        if self.session_id == 0:
            return b""
        self._seq = next_seq(self._seq)
        stop = Stop(channel_mask=self._channel_mask, mode=StopMode.IMMEDIATE)
        return encode_frame(stop, session_id=self.session_id, seq=self._seq)

    def close(self) -> None:
        """Stop keeping the lease (the port is closing); safe from any state and twice."""
        self._closed = True
        self._heartbeat = None
