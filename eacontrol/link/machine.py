"""The link as a sans-I/O state machine: counters, tags, replies, retries, the heartbeat lease.

``LinkMachine`` owns everything the host must remember about the wire conversation and nothing
about how bytes move or how time passes (STYLE.md 14; the shape of h11's ``Connection``). It
opens no port, starts no thread and reads no clock: every call that depends on time takes the
caller's ``now_s`` (host seconds), and every byte it wants written waits in a queue that the
caller empties with ``data_to_send()``. ``eacontrol.link.driver.Link`` drives it over a
``Transport`` and a ``Clock``; a test drives it with byte transcripts and explicit times.

Inputs and outputs:

- ``send(message, now_s)`` → the new counter; the frame is queued for ``data_to_send()``;
- ``send_hello(hello, pairing_key, now_s)`` → HELLO, tagged with the hello key;
- ``receive(data, now_s)`` → ``LinkEvent``s (any chunking of the same bytes gives the same ones);
- ``retry_if_due(counter, now_s)`` → retransmits an overdue command or raises ``LinkTimeout``;
- ``keep_alive(now_s)`` → queues a heartbeat when one is due, or repeats an unanswered one;
- ``check_silence(now_s)`` → ``LinkSilent`` once no STATUS came for three lease periods;
- ``next_deadline_s()`` → when the caller must call again, even if no byte arrives.

Rules (PROTOCOL.md §2.5, §3.4, §3.5, §3.11):

- every new command gets the next host counter (32 bits, strictly increasing, never 0xFFFFFFFF:
  ``eacontrol.link.counter``); a retransmission repeats the same bytes (same counter, tag);
- once HELLO_ACK has proved the session keys, every command but GET_INFO and PAIR is tagged
  with the host→device key; every device frame is checked by ``SessionGuard`` first: a
  SESSION-key frame with a bad tag, an old counter or another session id is a link fault
  (``AuthenticationFailed``; nothing more is accepted); a key-0 frame may only answer an
  unauthenticated request or end the session (NAK NO_SESSION, EVENT REBOOT), never confirm;
- a reply is matched by ``ref_counter`` and type (ACK/NAK name the type they answer); replies
  to nothing outstanding, or resent from the device's cache for a command answered, are ignored;
- a command unanswered after ``max_attempts`` transmissions raises ``LinkTimeout``; one the
  device has overtaken is sent under a new counter after ``OVERTAKEN_REPEATS`` repeats;
- heartbeats go out every lease/5 in a session, repeated when their STATUS is late;
- no STATUS for three lease periods of listening is silence (the caller declares the link
  lost), counted from the caller's return when it did not call for longer than a lease;
- a changed ``boot_id`` (or a REBOOT event), NAK ``NO_SESSION`` or EVENT SESSION_CLOSED ends
  the session.
"""

from __future__ import annotations

import logging
from collections import deque

from eacontrol.errors import CounterExhausted, DeviceFault, LinkError
from eacontrol.link.auth import UNAUTHENTICATED_COMMANDS, SessionGuard
from eacontrol.link.counter import COUNTER_MAX, COUNTER_RESERVE, HostCounter
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog, FrameRecord
from eacontrol.link.lease import HEARTBEAT_FRACTION, LEASE_PERIODS_TO_LOSS, LeaseHalf
from eacontrol.link.pending import PendingCommand, timeout_error
from eacontrol.link.receiving import ANSWERED_KEPT, ReceivingHalf
from eacontrol.link.watch import SessionWatch
from firmware_protocol import (
    PROTO_MAJOR,
    AuthenticationError,
    Frame,
    FrameDecoder,
    Header,
    Hello,
    KeyKind,
    Message,
    MsgType,
    Status,
    Stop,
    StopMode,
    encode_frame,
)

__all__ = [
    "COUNTER_MAX",
    "COUNTER_RESERVE",
    "DEFAULT_MAX_ATTEMPTS",
    "HEARTBEAT_FRACTION",
    "LEASE_PERIODS_TO_LOSS",
    "OVERTAKEN_REPEATS",
    "DEFAULT_REPLY_TIMEOUT_s",
    "LinkMachine",
]

log = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT_s = 0.04
"""Wait for a reply before retransmitting: a maximal frame takes 24 ms at 115200 baud."""

DEFAULT_MAX_ATTEMPTS = 12
"""Transmissions of one command before ``LinkTimeout`` (about 0.5 s at the default timeout;
with 30 % loss each way a command fails all 12 with probability 0.51^12 ≈ 3e-4)."""


OVERTAKEN_REPEATS = 2
"""Byte-identical repeats of a command the device has overtaken before it is sent under a new
counter. Once the device answered a later counter it never executes this one (PROTO2 check 8):
it did (its cache answers a repeat) or the frame was lost. Design value: a repeat reaches a
cached reply unless frame or reply is lost again (0.51 at 30 % loss each way), so two repeats
leave 26 % odds of executing again a command whose replies were lost, against a command lost
for good. Every command this host sends is safe twice (the same program, target, stop or read;
a second START of a running channel is refused, never more current; the output watch checks
every STATUS)."""


# --- the machine -----------------------------------------------------------------------------


class LinkMachine(ReceivingHalf, LeaseHalf):
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
        initial_counter: int = 0,
    ) -> None:
        """Args:
        reply_timeout_s: seconds to wait for a reply before retransmitting.
        max_attempts: transmissions of one command before giving up (at least 1).
        history: frames kept in ``frame_log``.
        initial_counter: the counter before the first command (0: the first is 1); a test
            starts near ``COUNTER_MAX`` to see the end of the counter.
        """
        self.reply_timeout_s = reply_timeout_s
        self.max_attempts = max(1, max_attempts)
        self.frame_log = FrameLog(history)
        self._guard = SessionGuard()
        self._decoder = FrameDecoder()
        self._outgoing = bytearray()
        self._counter = HostCounter(initial_counter)
        self._pending: dict[int, PendingCommand] = {}
        self._by_wire: dict[int, PendingCommand] = {}
        self._device_answered = 0
        self._answered: deque[int] = deque(maxlen=ANSWERED_KEPT)
        self._fault: AuthenticationError | None = None
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
            session_id: the session HELLO_ACK confirmed (and ``SessionGuard`` verified).
            lease_s: the lease it granted.
            boot_id: the device boot it reported (another one later ends the session).
            channels: the device's channel count (the best-effort STOP names them all).
            now_s: host time; the first heartbeat is due at once.

        Raises:
            ValueError: no verified HELLO_ACK opened ``session_id``.
        """
        if not self._guard.keys_held or session_id != self._guard.session_id:
            raise ValueError(f"session {session_id} was not opened by a verified HELLO_ACK")
        self._lease_s = lease_s
        self._watch.open(session_id, boot_id)
        self._channel_mask = (1 << channels) - 1
        self._channel_count = channels
        self._last_status_s = self._last_activity_s = self._renewed_s = now_s
        self._next_heartbeat_s = now_s

    @property
    def session_id(self) -> int:
        """The open session (0 before a verified HELLO_ACK)."""
        return self._guard.session_id

    @property
    def device_counter(self) -> int:
        """The last device counter accepted (0 before HELLO_ACK)."""
        return self._guard.device_counter

    @property
    def fault(self) -> AuthenticationError | None:
        """The first device frame that failed authentication in the session, or None."""
        return self._fault

    @property
    def exhausted(self) -> CounterExhausted | None:
        """Set once the host counter passed ``COUNTER_MAX - COUNTER_RESERVE``: the session must
        end (only the stop path may still send), else None."""
        return self._counter.exhausted

    @property
    def closing_status(self) -> Status | None:
        """The closing STATUS of a session the device closed for good, or None."""
        return self._watch.closing

    def reset_session(self) -> None:
        """Forget the ended session (keys, replies, lease) so that a new HELLO can open
        another; the host counter goes on. Not after an authentication failure."""
        if self._fault is not None:
            raise ValueError("a link whose device frames failed authentication is not reused")
        retired = self._guard.retired | {self._guard.session_id}
        self._guard = SessionGuard(retired)
        self._watch = SessionWatch()
        self._pending.clear()
        self._by_wire.clear()
        self._device_answered = 0
        self._lease_s = None
        self._heartbeat = None
        self._closed = False

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
    def last_counter(self) -> int:
        """The host counter of the latest command queued (the initial counter before any)."""
        return self._counter.value

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

    def status_after(self, counter: int) -> Status | None:
        """The latest STATUS if it answers a request sent after command ``counter``, else None."""
        return self._watch.status_after(counter)

    # --- sending -------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Return and forget the bytes queued for the wire (empty if none)."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def send(self, message: Message, now_s: float) -> int:
        """Queue ``message`` as a new command and return its host counter.

        Tagged with the host→device session key once a session is open (GET_INFO and PAIR
        never are).

        Args:
            message: the command (HELLO goes through ``send_hello``).
            now_s: host time of sending (its reply is due ``reply_timeout_s`` later).

        Returns:
            The command's counter; its reply is ``reply_to(counter)`` once received.

        Raises:
            CounterExhausted: the counter is in its reserve and ``message`` is not on the stop
                path, or the counter is used up.
            LinkError: no session is open and ``message`` is not GET_INFO or PAIR (it could
                never be executed).
        """
        if isinstance(message, Hello):
            raise TypeError("HELLO is sent with send_hello (it is tagged with the hello key)")
        return self._send(message, now_s, None)

    def send_hello(self, hello: Hello, pairing_key: bytes, now_s: float) -> int:
        """Queue HELLO tagged with the hello key of ``pairing_key``; return its counter.

        Its HELLO_ACK is believed only if its tag verifies under the session key derived from
        ``pairing_key``, ``hello.host_nonce``, the device's nonce and session id; then every
        later frame of either direction is authenticated in that session.
        """
        counter = self._send(hello, now_s, pairing_key)
        self._guard.expect_hello_ack(counter, pairing_key, hello.host_nonce)
        return counter

    def _send(self, message: Message, now_s: float, hello_pairing_key: bytes | None) -> int:
        frame, data = self._encode(message, hello_pairing_key)
        pending = PendingCommand(frame, data, now_s, rx_errors_before=self.rx_error_count)
        self._pending[pending.handle] = self._by_wire[pending.counter] = pending
        self._queue(pending, now_s, retransmission=False)
        return pending.handle

    def _encode(self, message: Message, hello_pairing_key: bytes | None) -> tuple[Frame, bytes]:
        kind, key, session_id = self._guard.tag_for(message, hello_pairing_key=hello_pairing_key)
        if kind == KeyKind.NONE and not isinstance(message, UNAUTHENTICATED_COMMANDS):
            name = MsgType(message.MSG_TYPE).name
            raise LinkError(f"{name} needs an authenticated session, and none is open")
        counter = self._counter.peek(message)
        payload = message.encode()  # once: for the frame and for the log's header
        data = encode_frame(
            message, key=key, kind=kind, session_id=session_id, counter=counter, payload=payload
        )
        self._counter.take(counter)
        # The log keeps the frame as built (decoding our own bytes again would cost more).
        size = len(payload)
        header = Header(PROTO_MAJOR, 0, 0, message.MSG_TYPE, kind, session_id, counter, 0, size)
        return Frame(header, message), data

    def _reissue(self, pending: PendingCommand, now_s: float) -> None:
        """Send an overtaken command again under a new counter (``OVERTAKEN_REPEATS``)."""
        log.info(
            "%s (counter %d) was overtaken and not answered: sent again as a new frame",
            MsgType(pending.message.MSG_TYPE).name,
            pending.counter,
        )
        pending.frame, pending.data = self._encode(pending.message, None)
        pending.overtaken_repeats = 0
        self._by_wire[pending.counter] = pending
        pending.attempts += 1
        pending.last_sent_s = now_s
        self._queue(pending, now_s, retransmission=False)

    def retransmit(self, counter: int, now_s: float) -> None:
        """Queue command ``counter`` again, byte for byte (same counter, same tag).

        Raises:
            KeyError: ``counter`` is not pending (never sent, or forgotten).
        """
        pending = self._pending[counter]
        pending.attempts += 1
        pending.last_sent_s = now_s
        self._queue(pending, now_s, retransmission=True)

    def _queue(self, pending: PendingCommand, now_s: float, *, retransmission: bool) -> None:
        self.frame_log.add(
            FrameRecord(now_s, "tx", frame=pending.frame, retransmission=retransmission)
        )
        self._outgoing += pending.data

    def reply_to(self, counter: int) -> Frame | None:
        """The reply received so far to command ``counter``, or None."""
        pending = self._pending.get(counter)
        return None if pending is None else pending.reply

    def sent_at(self, counter: int) -> float:
        """Host time command ``counter`` was last transmitted (-inf if forgotten)."""
        pending = self._pending.get(counter)
        return float("-inf") if pending is None else pending.last_sent_s

    def forget(self, counter: int) -> None:
        """Stop waiting for a reply to ``counter``; a later one is ignored."""
        pending = self._pending.pop(counter, None)
        if pending is not None:
            for wire in [w for w, p in self._by_wire.items() if p is pending]:
                del self._by_wire[wire]

    def retry_if_due(self, counter: int, now_s: float) -> float:
        """Retransmit command ``counter`` if its reply is overdue; return when it is next due.

        A retransmission repeats the frame byte for byte (a device that executed it answers
        from its reply cache); an overtaken one is sent under a new counter after
        ``OVERTAKEN_REPEATS`` repeats.

        Args:
            counter: a pending command.
            now_s: host time.

        Returns:
            Host time in seconds at which the reply is due (after a retransmission, if one
            was queued).

        Raises:
            FrameError: the reply was a frame this host cannot accept: a verified one with
                invalid content (``TrustedFrameError``), one of another protocol major
                (``VersionMismatch``), a HELLO_ACK whose tag does not verify (``BadTag``).
            LinkTimeout: the reply is overdue after ``max_attempts`` transmissions.
            KeyError: ``counter`` is not pending.
        """
        pending = self._pending[counter]
        if pending.bad_reply is not None:
            raise pending.bad_reply
        if now_s >= pending.last_sent_s + self.reply_timeout_s:
            if pending.attempts >= self.max_attempts:
                garbage = self.rx_error_count - pending.rx_errors_before
                raise timeout_error(pending, now_s, garbage, self.frame_log.format(16))
            if (
                pending.counter >= self._device_answered
                or pending.frame.header.key != KeyKind.SESSION
            ):
                self.retransmit(counter, now_s)
            elif pending.overtaken_repeats < OVERTAKEN_REPEATS:
                pending.overtaken_repeats += 1
                self.retransmit(counter, now_s)
            else:
                self._reissue(pending, now_s)
        return pending.last_sent_s + self.reply_timeout_s

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
        stop = Stop(channel_mask=self._channel_mask, mode=StopMode.IMMEDIATE)
        if self.session_id == 0 or self._counter.value >= COUNTER_MAX:
            return b""
        counter = self._counter.peek(stop)
        self._counter.take(counter)
        kind, key, session_id = self._guard.tag_for(stop)
        return encode_frame(stop, key=key, kind=kind, session_id=session_id, counter=counter)

    def close(self) -> None:
        """Stop keeping the lease (the port is closing); safe from any state and twice."""
        self._closed = True
        self._heartbeat = None
