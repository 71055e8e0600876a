"""The link: sequence numbers, replies, bounded retransmission, heartbeat lease and link health.

Single-threaded by design. Every read happens in the caller's thread, inside ``service()``,
``wait()`` or a command, with a timeout no longer than the next thing due (a
retransmission, a heartbeat, the health deadline). No reader thread exists: one would make
virtual time nondeterministic, and a free-running thread could keep a device's lease alive
after the application hung (DESIGN.md §3). If the caller stops calling, heartbeats stop and the
device switches its outputs off when the lease expires — by design.

Rules implemented here (PROTOCOL.md §3.1, §3.4, §3.10):

- every new command gets the next seq; a retransmission repeats the same bytes (same seq);
- a reply is matched by ``ref_seq`` and by type (ACK/NAK name the command type they answer);
  replies to nothing outstanding are ignored, late duplicates are harmless;
- a command unanswered after ``max_attempts`` transmissions raises ``LinkTimeout``;
- heartbeats go out every lease/5 while a session is open, and are retransmitted when their
  STATUS does not come back within the reply timeout;
- no STATUS for three lease periods of listening, or a pyserial failure, raises ``LinkLost``;
  the link then sends a best-effort immediate STOP, closes the port and stays lost. (When the
  caller itself did not call for longer than a lease, the three periods count from its return:
  a blocked application is not a lost link; its device has stopped by then anyway);
- a changed ``boot_id`` (or a REBOOT event) ends the session: ``DeviceFault`` (REBOOT).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn, TypeVar

from eacontrol.errors import LinkLost, LinkTimeout
from eacontrol.link.clock import Clock
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog, FrameRecord
from eacontrol.link.pending import PendingCommand, answers, next_seq
from eacontrol.link.transport import Transport
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

__all__ = ["DEFAULT_MAX_ATTEMPTS", "LEASE_PERIODS_TO_LOSS", "DEFAULT_REPLY_TIMEOUT_s", "Link"]

log = logging.getLogger(__name__)

DEFAULT_REPLY_TIMEOUT_s = 0.04
"""Wait for a reply before retransmitting: a maximal frame takes 24 ms at 115200 baud."""

DEFAULT_MAX_ATTEMPTS = 12
"""Transmissions of one command before ``LinkTimeout`` (about 0.5 s at the default timeout;
with 30 % loss each way a command fails all 12 with probability 0.51^12 ≈ 3e-4)."""

LEASE_PERIODS_TO_LOSS = 3
"""No STATUS for this many lease periods means the link is lost (issue 4)."""

_HEARTBEAT_FRACTION = 5  # heartbeat every lease/5 (PROTOCOL.md §3.4)
_MIN_SLEEP_s = 1e-6  # one microsecond: the simulator clock's tick, far above float rounding
M = TypeVar("M", bound=Message)


class Link:
    """Host side of the wire protocol over one transport.

    Attributes:
        clock: the clock all timing uses.
        frame_log: the last frames in both directions, for error reports.
        reply_timeout_s: wait for a reply before retransmitting.
        max_attempts: transmissions of one command before ``LinkTimeout``.
        session_id: the open session (0 before HELLO).
        on_status: called with each STATUS accepted and the host time.
        on_event: called with each EVENT, the device's seq for it and the host time.
    """

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        """Args:
        transport: the open transport.
        clock: host clock (a ``sim://`` port's virtual clock in tests).
        reply_timeout_s: seconds to wait for a reply before retransmitting.
        max_attempts: transmissions of one command before giving up (at least 1).
        history: frames kept in ``frame_log``.
        """
        self._transport = transport
        self.clock = clock
        self.reply_timeout_s = reply_timeout_s
        self.max_attempts = max(1, max_attempts)
        self.frame_log = FrameLog(history)
        self.session_id = 0
        self.on_status: Callable[[Status, float], None] | None = None
        self.on_event: Callable[[Event, int, float], None] | None = None
        self._decoder = FrameDecoder()
        self._seq = 0
        self._pending: dict[int, PendingCommand] = {}
        self._lease_s: float | None = None
        self._channel_mask = 0xFF
        self._heartbeat: PendingCommand | None = None
        self._next_heartbeat_at = 0.0
        self._last_status_at = 0.0
        self._listen_from = 0.0
        self._last_activity = 0.0
        self._lost: LinkLost | None = None
        self._watch = SessionWatch()

    # --- session and state -----------------------------------------------------------------

    def open_session(self, session_id: int, lease_s: float, boot_id: int, channels: int) -> None:
        """Start heartbeats and health checks for the session HELLO just opened."""
        self.session_id = session_id
        self._lease_s = lease_s
        self._watch.open(session_id, boot_id)
        self._channel_mask = (1 << channels) - 1
        self._last_status_at = self._last_activity = self.clock.now()
        self._next_heartbeat_at = self._last_status_at

    @property
    def url(self) -> str:
        """The port's URL or device path."""
        return self._transport.url

    @property
    def lease_s(self) -> float | None:
        """The granted lease, or None before HELLO."""
        return self._lease_s

    @property
    def heartbeat_interval_s(self) -> float | None:
        """Seconds between heartbeats (lease/5), or None before HELLO."""
        return None if self._lease_s is None else self._lease_s / _HEARTBEAT_FRACTION

    @property
    def latest_status(self) -> Status | None:
        """The most recent STATUS received, or None."""
        return self._watch.latest

    @property
    def lost(self) -> bool:
        """True once the link was declared lost (or closed)."""
        return self._lost is not None or self._transport.closed

    @property
    def rx_error_count(self) -> int:
        """Received frames rejected by the decoder on this connection."""
        return self._decoder.error_count

    def status_after(self, seq: int) -> Status | None:
        """The latest STATUS if it answers a request sent after command ``seq``, else None."""
        return self._watch.status_after(seq)

    def check(self, *, session: bool = True) -> None:
        """Raise if the link is lost, or (with ``session``) if the session ended or went silent.

        Raises:
            LinkLost: the port failed, or no STATUS arrived for three lease periods.
            DeviceFault: the device rebooted (``faults == ("REBOOT",)``).
        """
        if self._lost is not None:
            raise LinkLost(str(self._lost)) from self._lost
        if self._transport.closed:
            raise LinkLost(f"{self._transport.url}: the connection is closed")
        if not session:
            return
        if self._watch.ended is not None:
            raise self._watch.ended
        if self._lease_s is not None:
            now = self.clock.now()
            if now - self._last_activity > self._lease_s:
                self._listen_from = now  # the caller was away: count silence from its return
            self._last_activity = now
            silent_s = now - max(self._last_status_at, self._listen_from)
            if silent_s >= LEASE_PERIODS_TO_LOSS * self._lease_s:
                self._lose(
                    f"no STATUS from the device for {silent_s:.3f} s "
                    f"({LEASE_PERIODS_TO_LOSS} lease periods of {self._lease_s:g} s)"
                )

    # --- sending -----------------------------------------------------------------------------

    def send(self, message: Message) -> int:
        """Send ``message`` as a new command and return its seq (reply via ``reply_to``)."""
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
        pending = PendingCommand(Frame(header, message), data, self.clock.now())
        self._pending[self._seq] = pending
        self._write(pending, retransmission=False)
        return self._seq

    def retransmit(self, seq: int) -> None:
        """Send command ``seq`` again, byte for byte."""
        pending = self._pending[seq]
        pending.attempts += 1
        pending.last_sent_at = self.clock.now()
        self._write(pending, retransmission=True)

    def reply_to(self, seq: int) -> Frame | None:
        """The reply received so far to command ``seq``, or None."""
        pending = self._pending.get(seq)
        return None if pending is None else pending.reply

    def sent_at(self, seq: int) -> float:
        """Host time command ``seq`` was last transmitted (-inf if forgotten)."""
        pending = self._pending.get(seq)
        return float("-inf") if pending is None else pending.last_sent_at

    def forget(self, seq: int) -> None:
        """Stop waiting for a reply to ``seq``; a later one is ignored."""
        self._pending.pop(seq, None)

    def _write(self, pending: PendingCommand, *, retransmission: bool) -> None:
        self.frame_log.add(
            FrameRecord(self.clock.now(), "tx", frame=pending.frame, retransmission=retransmission)
        )
        try:
            self._transport.write(pending.data)
        except LinkLost as err:
            self._lose(f"write failed: {err}", err)

    def request(self, message: Message, reply_type: type[M]) -> M | Nak:
        """Send ``message``, retransmitting until the reply arrives, keeping the lease meanwhile.

        Args:
            message: the command.
            reply_type: the message class expected back (``Ack``, ``HelloAck``, ``Status``…).

        Returns:
            The reply, or the device's ``Nak`` (turn it into an error with
            ``eacontrol.device.naks.nak_error``).

        Raises:
            LinkTimeout: no reply after ``max_attempts`` transmissions.
            LinkLost: see ``check``.
            DeviceFault: the device rebooted; see ``check``.
            TrustedFrameError: the reply was a verified frame this host cannot accept (another
                protocol major, an unknown incompat flag, an invalid field); the caller decides.
        """
        self.check()
        errors_before = self.rx_error_count
        started = self.clock.now()
        seq = self.send(message)
        try:
            while True:
                pending = self._pending[seq]
                if pending.bad_reply is not None:
                    raise pending.bad_reply
                if pending.reply is not None:
                    reply = pending.reply.message
                    if isinstance(reply, Nak | reply_type):
                        return reply
                now = self.clock.now()
                if now >= pending.last_sent_at + self.reply_timeout_s:
                    if pending.attempts >= self.max_attempts:
                        raise self._timeout(message, seq, pending.attempts, started, errors_before)
                    self.retransmit(seq)
                self.keep_alive()
                self.check()
                self.pump_until(min(pending.last_sent_at + self.reply_timeout_s, self.wake_at()))
        finally:
            self.forget(seq)

    def _timeout(
        self, message: Message, seq: int, attempts: int, started: float, errors_before: int
    ) -> LinkTimeout:
        garbage = self.rx_error_count - errors_before
        name = MsgType(message.MSG_TYPE).name
        text = (
            f"no reply to {name} (seq {seq}) after {attempts} transmissions over "
            f"{self.clock.now() - started:.3f} s"
        )
        if garbage:
            text += (
                f"; {garbage} undecodable frame(s) arrived meanwhile (wrong baud rate, or not "
                "an eacontrol device?)"
            )
        return LinkTimeout(text, frames=self.frame_log.format(16))

    # --- receiving and time -------------------------------------------------------------------

    def service(self) -> None:
        """Send a heartbeat if due, process whatever has arrived, check link health; return."""
        self.check()
        self.keep_alive()
        self._pump(0.0)
        self.check()

    def wake_at(self) -> float:
        """Host time of the next thing due: a heartbeat, its retransmission, the health check."""
        if self._lease_s is None or self._watch.ended is not None:
            return float("inf")
        wake = min(
            self._next_heartbeat_at,
            max(self._last_status_at, self._listen_from) + LEASE_PERIODS_TO_LOSS * self._lease_s,
        )
        hb = self._heartbeat
        if hb is not None and hb.reply is None:
            wake = min(wake, hb.last_sent_at + self.reply_timeout_s)
        return wake

    def keep_alive(self) -> None:
        """Send a heartbeat if one is due, or repeat one whose STATUS did not come back."""
        if self._lease_s is None or self._watch.ended is not None or self.lost:
            return
        now = self.clock.now()
        hb = self._heartbeat
        if hb is None or now >= self._next_heartbeat_at:
            if hb is not None:
                self.forget(hb.seq)
            self._heartbeat = self._pending[self.send(Heartbeat())]
            self._next_heartbeat_at = now + self._lease_s / _HEARTBEAT_FRACTION
        elif hb.reply is None and now >= hb.last_sent_at + self.reply_timeout_s:
            self.retransmit(hb.seq)

    def pump_until(self, t: float) -> None:
        """Process what arrives until the first bytes or host time ``t``, whichever is first."""
        now = self.clock.now()
        if t <= now:
            return
        if not self._pump(t - now) and self.clock.now() < t:
            # At least one tick, so a deadline a float rounding error ahead is still reached.
            self.clock.sleep(max(t - self.clock.now(), _MIN_SLEEP_s))

    def _pump(self, timeout_s: float) -> bool:
        try:
            data = self._transport.read(timeout_s)
        except LinkLost as err:
            self._lose(f"read failed: {err}", err)
        if not data:
            return False
        notify: list[Callable[[], None]] = []
        for item in self._decoder.feed(data):
            self._dispatch(item, notify)
        for call in notify:
            call()
        return True

    def _dispatch(self, item: Frame | FrameError, notify: list[Callable[[], None]]) -> None:
        now = self.clock.now()
        if isinstance(item, FrameError):
            self.frame_log.add(FrameRecord(now, "rx", error=item))
            log.debug("rejected frame from device: %s", item)
            if isinstance(item, TrustedFrameError):
                pending = self._pending.get(item.header.ref_seq)
                if pending is not None and pending.reply is None:
                    pending.bad_reply = item
            return
        self.frame_log.add(FrameRecord(now, "rx", frame=item))
        header, message = item.header, item.message
        if not MsgType(header.msg_type).from_device:
            return
        if isinstance(message, Event):
            self._watch.on_event(message)
            if self.on_event is not None:
                callback = self.on_event
                notify.append(lambda: callback(message, header.seq, now))
            return
        if isinstance(message, Status):
            self._on_status(message, header.ref_seq, now, notify)
        elif isinstance(message, Nak):
            self._watch.on_nak(message)
        pending = self._pending.get(header.ref_seq)
        if pending is not None and pending.reply is None and answers(pending.message, message):
            pending.reply = item

    def _on_status(
        self, status: Status, ref_seq: int, now: float, notify: list[Callable[[], None]]
    ) -> None:
        self._last_status_at = now
        if self._watch.on_status(status, ref_seq) and self.on_status is not None:
            callback = self.on_status
            notify.append(lambda: callback(status, now))

    # --- loss and closing -------------------------------------------------------------------

    def _lose(self, reason: str, cause: BaseException | None = None) -> NoReturn:
        lease = f"{self._lease_s:g} s" if self._lease_s else "its lease"
        err = LinkLost(
            f"{self._transport.url}: link lost: {reason}. The device switches its outputs off "
            f"by itself when its heartbeat lease ({lease}) expires; if they do not stop, use the "
            "device's hardware stop.",
            frames=self.frame_log.format(16),
        )
        if self._lost is None:
            self._lost = err
            self._best_effort_stop()
            self._transport.close()
        raise err from cause

    def _best_effort_stop(self) -> None:
        if self._transport.closed or self.session_id == 0:
            return
        self._seq = next_seq(self._seq)
        stop = Stop(channel_mask=self._channel_mask, mode=StopMode.IMMEDIATE)
        try:
            self._transport.write(encode_frame(stop, session_id=self.session_id, seq=self._seq))
        except LinkLost:
            log.debug("best-effort STOP could not be written")

    def close(self) -> None:
        """Close the transport; safe from any state and more than once."""
        self._heartbeat = None
        self._transport.close()
