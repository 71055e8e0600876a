"""The link adapter: drives a ``LinkMachine`` over a ``Transport`` with a ``Clock``.

All protocol state (counters, keys and tags, pending commands, reply matching,
retransmission, the heartbeat lease and the silence check) lives in ``eacontrol.link.machine``,
which does no I/O.
This module owns only what the machine must not: the port, the clock, the callbacks, and what
to do when the link is lost (a best-effort immediate STOP, then close the port and stay lost).
``docs/link.md`` describes both halves.

Single-threaded by design. Every read happens in the caller's thread, inside ``service()``,
``wait()`` or a command, with a timeout no longer than the next thing due (a
retransmission, a heartbeat, the silence deadline). No reader thread exists: one would make
virtual time nondeterministic, and a free-running thread could keep a device's lease alive
after the application hung (docs/architecture.md). If the caller stops calling, heartbeats stop and
the
device switches its outputs off when the lease expires — by design.

- a command unanswered after ``max_attempts`` transmissions raises ``LinkTimeout``;
- no STATUS for three lease periods of listening, or a pyserial failure, raises ``LinkLost``;
- a changed ``boot_id`` (or a REBOOT event) ends the session: ``DeviceFault`` (REBOOT);
- a device frame that fails authentication (bad tag, replayed counter, another session) is a
  link fault: ``LinkFault`` (a ``LinkLost``: one best-effort STOP, the port closed);
- a host counter in its last ``COUNTER_RESERVE`` raises ``CounterExhausted`` from ``check``:
  the session must end; the stop path (``check(session=False)``) may still send.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NoReturn, TypeVar

from eacontrol.errors import LinkFault, LinkLost
from eacontrol.link.clock import Clock, TICK_s
from eacontrol.link.events import AuthenticationFailed, EventReceived, StatusReceived
from eacontrol.link.framelog import DEFAULT_HISTORY, FrameLog
from eacontrol.link.machine import (
    DEFAULT_MAX_ATTEMPTS,
    LEASE_PERIODS_TO_LOSS,
    DEFAULT_REPLY_TIMEOUT_s,
    LinkMachine,
)
from eacontrol.link.transport import Transport
from firmware_protocol import Event, Frame, Hello, HelloAck, Message, Nak, Status

__all__ = ["DEFAULT_MAX_ATTEMPTS", "LEASE_PERIODS_TO_LOSS", "DEFAULT_REPLY_TIMEOUT_s", "Link"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=Message)


class Link:
    """Host side of the wire protocol over one transport.

    Attributes:
        clock: the clock all timing uses.
        machine: the sans-I/O protocol state this link drives.
        on_status: called with each STATUS accepted, the host time and the host counter of the
            request it answers.
        on_event: called with each EVENT, the device's counter for it and the host time.
        rejoin: set by the handshake: opens a new session with the same pairing key after the
            device ended this one (a lease expiry, a reboot), so that a stop can still be
            confirmed by authenticated evidence (``eacontrol.device.stopping``).
    """

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        reply_timeout_s: float = DEFAULT_REPLY_TIMEOUT_s,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        history: int = DEFAULT_HISTORY,
        initial_counter: int = 0,
    ) -> None:
        """Args:
        transport: the open transport.
        clock: host clock (a ``sim://`` port's virtual clock in tests).
        reply_timeout_s: seconds to wait for a reply before retransmitting.
        max_attempts: transmissions of one command before giving up (at least 1).
        history: frames kept in ``frame_log``.
        initial_counter: the host counter before the first command (tests of its end).
        """
        self._transport = transport
        self.clock = clock
        self.machine = LinkMachine(
            reply_timeout_s=reply_timeout_s,
            max_attempts=max_attempts,
            history=history,
            initial_counter=initial_counter,
        )
        self.rejoin: Callable[[], None] | None = None
        self.on_status: Callable[[Status, float, int], None] | None = None
        self.on_event: Callable[[Event, int, float], None] | None = None
        self._lost: LinkLost | None = None
        self._drained_s = float("-inf")  # the clock time the last read left the port empty

    # --- session and state -----------------------------------------------------------------

    def open_session(self, session_id: int, lease_s: float, boot_id: int, channels: int) -> None:
        """Start heartbeats and health checks for the session HELLO just opened."""
        self.machine.open_session(session_id, lease_s, boot_id, channels, self.clock.now())

    @property
    def url(self) -> str:
        """The port's URL or device path."""
        return self._transport.url

    @property
    def frame_log(self) -> FrameLog:
        """The last frames in both directions, for error reports."""
        return self.machine.frame_log

    @property
    def reply_timeout_s(self) -> float:
        """Seconds to wait for a reply before retransmitting."""
        return self.machine.reply_timeout_s

    @reply_timeout_s.setter
    def reply_timeout_s(self, value: float) -> None:
        self.machine.reply_timeout_s = value

    @property
    def max_attempts(self) -> int:
        """Transmissions of one command before ``LinkTimeout``."""
        return self.machine.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int) -> None:
        self.machine.max_attempts = value

    @property
    def closing_status(self) -> Status | None:
        """The closing STATUS of a session the device closed for good, or None."""
        return self.machine.closing_status

    @property
    def session_ended(self) -> bool:
        """True once the device rebooted, forgot or closed the session."""
        return self.machine.ended is not None

    @property
    def session_id(self) -> int:
        """The open session (0 before HELLO)."""
        return self.machine.session_id

    @property
    def lease_s(self) -> float | None:
        """The granted lease, or None before HELLO."""
        return self.machine.lease_s

    @property
    def heartbeat_interval_s(self) -> float | None:
        """Seconds between heartbeats (lease/5), or None before HELLO."""
        return self.machine.heartbeat_interval_s

    @property
    def latest_status(self) -> Status | None:
        """The most recent STATUS received, or None."""
        return self.machine.latest_status

    @property
    def channel_count(self) -> int:
        """The device's channel count from HELLO_ACK (0 before HELLO)."""
        return self.machine.channel_count

    @property
    def boot_id(self) -> int | None:
        """The device boot the session watches (the newest seen), or None before HELLO."""
        return self.machine.boot_id

    @property
    def last_counter(self) -> int:
        """The host counter of the latest command sent (a STATUS answering a later one was
        asked for after everything sent so far)."""
        return self.machine.last_counter

    @property
    def lost(self) -> bool:
        """True once the link was declared lost (or closed)."""
        return self._lost is not None or self._transport.closed

    @property
    def rx_error_count(self) -> int:
        """Received frames rejected by the decoder on this connection."""
        return self.machine.rx_error_count

    def status_after(self, counter: int) -> Status | None:
        """The latest STATUS if it answers a request sent after command ``counter``, else None."""
        return self.machine.status_after(counter)

    def check(self, *, session: bool = True) -> None:
        """Raise if the link is lost, or (with ``session``) if the session ended or went silent.

        Raises:
            LinkLost: the port failed, or no STATUS arrived for three lease periods.
            LinkFault: a device frame failed authentication.
            DeviceFault: the device rebooted (``faults == ("REBOOT",)``).
            CounterExhausted: the host counter is in its reserve: end the session (with
                ``session`` only, so the stop that ends it can still be sent).
        """
        if self._lost is not None:
            raise type(self._lost)(str(self._lost)) from self._lost
        if self._transport.closed:
            raise LinkLost(f"{self._transport.url}: the connection is closed")
        if not session:
            return
        if self.machine.ended is not None:
            raise self.machine.ended
        if self.machine.exhausted is not None:
            raise self.machine.exhausted
        silent = self.machine.check_silence(self.clock.now())
        if silent is not None:
            self._lose(silent.reason)

    # --- sending -----------------------------------------------------------------------------

    def send(self, message: Message) -> int:
        """Send ``message`` as a new command and return its counter (reply via ``reply_to``).

        Raises:
            CounterExhausted: the host counter is in its reserve and ``message`` is not on the
                stop path (``eacontrol.link.counter``).
        """
        counter = self.machine.send(message, self.clock.now())
        self._flush()
        return counter

    def retransmit(self, counter: int) -> None:
        """Send command ``counter`` again, byte for byte."""
        self.machine.retransmit(counter, self.clock.now())
        self._flush()

    def reply_to(self, counter: int) -> Frame | None:
        """The reply received so far to command ``counter``, or None."""
        return self.machine.reply_to(counter)

    def sent_at(self, counter: int) -> float:
        """Host time command ``counter`` was last transmitted (-inf if forgotten)."""
        return self.machine.sent_at(counter)

    def forget(self, counter: int) -> None:
        """Stop waiting for a reply to ``counter``; a later one is ignored."""
        self.machine.forget(counter)

    def _flush(self) -> None:
        """Write what the machine queued (at most one frame per call: one write per frame)."""
        data = self.machine.data_to_send()
        if not data:
            return
        try:
            self._transport.write(data)
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
            FrameError: the reply was a frame this host cannot accept (another protocol major:
                ``VersionMismatch``; an unknown incompat flag, an invalid field:
                ``TrustedFrameError``); the caller decides.
        """
        self.check()
        self.renew_lease()
        return self._await(self.send(message), reply_type)

    def hello(self, message: Hello, pairing_key: bytes) -> HelloAck | Nak:
        """Send HELLO tagged with the hello key of ``pairing_key`` and wait for its answer.

        A HELLO_ACK is returned only once its tag verified under the session key derived from
        ``pairing_key`` and both nonces; from then on every frame is authenticated. The session's
        heartbeats start with ``open_session``.

        Raises:
            BadTag: the HELLO_ACK does not verify (the device holds another key, or another
                party answered).
            VersionMismatch / TrustedFrameError / LinkTimeout / LinkLost: as ``request``.
        """
        self.check()
        counter = self.machine.send_hello(message, pairing_key, self.clock.now())
        self._flush()
        return self._await(counter, HelloAck)

    def _await(self, counter: int, reply_type: type[M]) -> M | Nak:
        try:
            while True:
                frame = self.machine.reply_to(counter)
                if frame is not None:
                    reply = frame.message
                    if isinstance(reply, Nak | reply_type):
                        return reply
                due_s = self.machine.retry_if_due(counter, self.clock.now())
                self._flush()
                self.keep_alive()
                self.check()
                self.pump_until(min(due_s, self.wake_at()))
        finally:
            self.forget(counter)

    # --- receiving and time -------------------------------------------------------------------

    def service(self) -> None:
        """Send a heartbeat if due, process whatever has arrived, check link health; return."""
        self.check()
        self.keep_alive()
        self._pump(0.0)
        self.check()

    def wake_at(self) -> float:
        """Host time of the next thing due: a heartbeat, its retransmission, the health check."""
        return self.machine.next_deadline_s()

    def renew_lease(self) -> None:
        """If the lease may have lapsed (the caller was idle), send a heartbeat and wait for its
        STATUS before anything else goes out: a command must never overtake the heartbeat
        that is due (issue 14, item 7a). Returns at once while heartbeats are on schedule.

        Raises:
            LinkLost / DeviceFault: see ``check`` (no STATUS for three lease periods).
        """
        if not self.machine.lease_may_lapse(self.clock.now()):
            return
        self.machine.renew_now(self.clock.now())
        self._flush()
        while self.machine.renewing:
            self.check()
            self.keep_alive()  # repeats the heartbeat if its STATUS is late
            self.pump_until(self.wake_at())

    def keep_alive(self) -> None:
        """Send a heartbeat if one is due, or repeat one whose STATUS did not come back."""
        if self.lost:
            return
        self.machine.keep_alive(self.clock.now())
        self._flush()

    def pump_until(self, t: float) -> None:
        """Process what arrives until the first bytes or host time ``t``, whichever is first."""
        now = self.clock.now()
        if t <= now:
            return
        if not self._pump(t - now) and self.clock.now() < t:
            # At least one tick, so a deadline a float rounding error ahead is still reached.
            self.clock.sleep(max(t - self.clock.now(), TICK_s))

    def _pump(self, timeout_s: float) -> bool:
        # One read per wake-up: a read takes everything that has arrived, so a read that waits
        # no time at the very instant the last one ended finds nothing (in virtual time, where
        # the instant stands still while the host works, it is exactly so) and is skipped.
        if timeout_s <= 0 and self.clock.now() == self._drained_s:
            return False
        try:
            data = self._transport.read(timeout_s)
        except LinkLost as err:
            self._lose(f"read failed: {err}", err)
        self._drained_s = self.clock.now()
        if not data:
            return False
        # The machine takes the whole chunk first; callbacks run after, in stream order.
        for event in self.machine.receive(data, self.clock.now()):
            if isinstance(event, AuthenticationFailed):
                self._lose(
                    f"link fault: authentication failed: {event.error} (a device frame that "
                    "is not this session's peer: nothing more from the device is believed)",
                    kind=LinkFault,
                )
            if isinstance(event, StatusReceived):
                if self.on_status is not None:
                    self.on_status(event.status, event.time_s, event.ref_counter)
            elif isinstance(event, EventReceived) and self.on_event is not None:
                self.on_event(event.event, event.device_counter, event.time_s)
        return True

    # --- loss and closing -------------------------------------------------------------------

    def _lose(
        self,
        reason: str,
        cause: BaseException | None = None,
        *,
        kind: type[LinkLost] = LinkLost,
    ) -> NoReturn:
        lease_s = self.machine.lease_s
        lease = f"{lease_s:g} s" if lease_s else "its lease"
        err = kind(
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
        stop = self.machine.abandon()
        if self._transport.closed or not stop:
            return
        try:
            self._transport.write(stop)
        except LinkLost:
            log.debug("best-effort STOP could not be written")

    def close(self) -> None:
        """Close the transport; safe from any state and more than once."""
        self.machine.close()
        self._transport.close()
