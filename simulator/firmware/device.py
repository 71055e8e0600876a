"""The device: PROTOCOL.md implemented from the device side, in injected virtual time.

``Firmware`` takes bytes from the host (``receive``), answers them and raises EVENTs
(``take_output``), and runs on its own between frames (``advance``): ramps end, the maximum run
shuts a channel off, and every ``check_period_us`` on the grid from boot the lease and the fault
conditions are checked. Protocol major 2: the receive order (which key, which counter, which
check answers what) is ``simulator.firmware.receive``; the open session with its keys, counters
and reply cache ``simulator.firmware.session``; the pairing keys and the pairing window
``simulator.firmware.keys``. It never reads a clock: every call says what time it is, and
``next_deadline_us`` says exactly when the device next has something to do, so a virtual clock
can jump there without stepping through the checks in between.

The command handlers live in ``simulator.firmware.commands``; the channel state machine in
``simulator.firmware.channel``; the device's own limits in ``simulator.firmware.model``. The
hardware is reached only through the interfaces of ``simulator.firmware.hal`` (an output stage
per channel, a random source); ``simulator.hardware.Device`` runs this firmware on simulated
hardware.
"""

from __future__ import annotations

from collections.abc import Sequence

from firmware_protocol import (
    NO_CHANNEL,
    NONCE_SIZE,
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Event,
    EventCode,
    Fault,
    FrameDecoder,
    Hello,
    InfoFlag,
    KeyKind,
    Message,
    SessionClosed,
    Status,
    encode_frame,
    session_keys,
)
from simulator.firmware.channel import ACTIVE_STATES, Channel, StatusRecord, StopCause
from simulator.firmware.hal import OutputStage, RandomSource, random_bytes
from simulator.firmware.keys import KeyStore
from simulator.firmware.model import DeviceModel
from simulator.firmware.receive import receive_item
from simulator.firmware.session import Reply, Session, SessionIds, WireReply
from simulator.firmware.units import U16, U32, US_PER_MS, ceil_div

__all__ = ["Firmware"]

_StatusFixed = tuple[int, int, int, int, int, int, int, int]
_SESSION_OPEN = int(DeviceFlag.SESSION_OPEN)
_LEASE_VALID = int(DeviceFlag.LEASE_VALID)
_FAULT_LATCHED = int(DeviceFlag.FAULT_LATCHED)
_OUTPUT_ACTIVE = int(DeviceFlag.OUTPUT_ACTIVE)


class Firmware:
    """The reference firmware of a stimulator, driven by bytes and explicit times.

    Args:
        model: the device's identity and its own limits table.
        outputs: the output stage of each channel, in channel order.
        rng: the random source (boot ids, session ids, nonces, pairing keys).
        now_us: the time the device is switched on (it boots then and sends EVENT REBOOT).
        keys: the key store (flash: it survives a reboot); a new, empty one if None.

    Raises:
        ValueError: ``outputs`` does not have one output stage per channel.

    Attributes:
        model: the device model.
        boot_id: the random id of the current boot.
        keys: the pairing keys and the pairing window.
    """

    def __init__(
        self,
        model: DeviceModel,
        *,
        outputs: Sequence[OutputStage],
        rng: RandomSource,
        now_us: int = 0,
        keys: KeyStore | None = None,
    ) -> None:
        if len(outputs) != model.channel_count:
            raise ValueError(f"need {model.channel_count} output stages, got {len(outputs)}")
        self.model = model
        self._rng = rng
        self.keys = KeyStore(rng) if keys is None else keys
        self._now_us = now_us
        self._deadline: tuple[int | None, int | None] | None = None
        """The check instant ``next_deadline_us``'s answer holds for (None: any), and the answer;
        None when the state has changed since."""
        self._out = bytearray()
        self._channels = [
            Channel(i, output, self._emit, now_us) for i, output in enumerate(outputs)
        ]
        self.boot_id = 0
        self._boot(now_us)

    # --- boot, time ---------------------------------------------------------------------

    def _boot(self, now_us: int) -> None:
        boot_id = self.boot_id
        while boot_id in (0, self.boot_id):
            boot_id = self._rng.random_u32()
        self.boot_id = boot_id
        self._boot_us = now_us
        self._checked_us = now_us  # the last check instant run
        self._session_ids = SessionIds(self._rng.random_u32())
        self.session: Session | None = None
        self._closing = False  # a session is being closed: its last frames are being sent
        self.lease_ms = 0
        self._lease_expires_us = now_us
        self._rx_err_count = 0
        self.auth_fail_count = 0
        """Frames dropped since boot for a tag that does not verify (STATUS)."""
        self.replay_count = 0
        """Frames dropped since boot for a counter already used and not a retransmission."""
        self._decoder = FrameDecoder()
        self.keys.close_window()  # the window is held in RAM: a power cycle closes it
        for channel in self._channels:
            channel.reboot(now_us)
        self._changed()
        self._emit(EventCode.REBOOT, NO_CHANNEL, self.boot_id)
        for channel in self._channels:  # the relays close only onto a sound stage (§3.11)
            channel.power_on_self_test(now_us)

    @property
    def now_us(self) -> int:
        """The time the device has run up to."""
        return self._now_us

    def _next_tick_us(self) -> int:
        """The first check instant strictly after now, on the grid from boot."""
        period_us = self.model.check_period_us
        return self._boot_us + ((self._now_us - self._boot_us) // period_us + 1) * period_us

    def _on_grid(self, t_us: int) -> bool:
        return (t_us - self._boot_us) % self.model.check_period_us == 0

    def _changed(self) -> None:
        """Forget the cached deadline: the state it was computed from has changed."""
        self._deadline = None

    def next_deadline_us(self) -> int | None:
        """When the device next has something to do on its own, or None if nothing is pending.

        That is the earliest of: a ramp's end, a maximum-run shut-off, the check that will find
        the lease expired (if an output is active), and the check that will find a fault.
        """
        # The clock and the cable ask many times per frame exchanged, so the answer is kept
        # until ``_changed`` clears it wherever the state changes (a frame received, something
        # run by ``advance``, a lease granted, every fault hook and a reboot: the channels
        # change only through those). An answer that depends on which check comes next holds
        # for that check instant only.
        cached = self._deadline
        if cached is not None and cached[0] is None:
            return cached[1]  # holds whichever check comes next: no need to know which
        first_tick_us = self._next_tick_us()
        if cached is None or cached[0] != first_tick_us:
            cached = self._deadline = self._compute_deadline(first_tick_us)
        return cached[1]

    def _compute_deadline(self, first_tick_us: int) -> tuple[int | None, int | None]:
        """The deadline as seen from the check at ``first_tick_us``, and the check instant it
        holds for (None: whichever check comes next, until the state changes).

        A ramp's end and the maximum run do not depend on when the next check is; nor does the
        lease check while the lease outlasts the next check (it is the first check at or after
        the expiry, and time cannot pass it unseen). A check that will find a fault is counted
        from the next check, as is an expiry that the next check will already find.
        """
        period_us = self.model.check_period_us
        deadlines: list[int] = []
        holds_for: int | None = None
        for channel in self._channels:
            end_us = channel.next_deadline_us()
            if end_us is not None:
                deadlines.append(end_us)
            tick_us = channel.check_tick(first_tick_us, period_us)
            if tick_us is not None:
                deadlines.append(tick_us)
                holds_for = first_tick_us
        if self._any_active():
            late_us = self._lease_expires_us - first_tick_us
            if late_us <= 0:
                holds_for = first_tick_us
            deadlines.append(first_tick_us + ceil_div(max(late_us, 0), period_us) * period_us)
        return holds_for, min(deadlines, default=None)

    def advance(self, now_us: int) -> None:
        """Run everything due up to and including ``now_us``, in time order.

        Raises:
            ValueError: ``now_us`` is earlier than a time the device has already run to.
        """
        if now_us < self._now_us:
            raise ValueError(f"time went backwards: {now_us} µs after {self._now_us} µs")
        while (due_us := self.next_deadline_us()) is not None and due_us <= now_us:
            self._now_us = max(due_us, self._now_us)
            for channel in self._channels:
                channel.run_due(self._now_us)
            if self._on_grid(self._now_us) and self._now_us > self._checked_us:
                self._checked_us = self._now_us
                self._check(self._now_us)
            self._changed()
        self._now_us = now_us

    def _check(self, tick_us: int) -> None:
        """The periodic check (PROTOCOL.md §3.5, §3.10): lease first, then each channel."""
        if tick_us >= self._lease_expires_us and self._any_active():
            self._stop_all(EventCode.LEASE_EXPIRED, Fault.LEASE, StopCause.LEASE, tick_us)
            self.end_session(SessionClosed.LEASE)  # closed for good: no later client resumes it
        for channel in self._channels:
            channel.check(tick_us)

    # --- bytes in, bytes out ------------------------------------------------------------

    def receive(self, data: bytes, now_us: int) -> None:
        """Take bytes from the host that arrive at ``now_us`` (any chunking) and answer them.

        Each frame goes through the receive order of PROTOCOL.md (``simulator.firmware.receive``):
        frames failing checks 1–4 and 6 are counted in ``rx_err_count`` and never answered; bad
        tags and replays are dropped and counted; every command executed is answered once.
        """
        self.advance(now_us)
        for item in self._decoder.feed(data):
            receive_item(self, item)
            self._changed()
            self.advance(now_us)  # a command may have made something due at once

    def take_output(self) -> bytes:
        """The bytes the device sent since the last call, in order."""
        if not self._out:
            return b""  # the cable asks at every step, and most steps send nothing
        out = bytes(self._out)
        self._out.clear()
        return out

    def count_rx_error(self) -> None:
        """A frame failed checks 1–4 or 6 (never answered)."""
        self._rx_err_count += 1

    def send_plain(self, message: Message, ref_counter: int = 0, session_id: int = 0) -> None:
        """Send ``message`` untagged (key 0, counter 0): INFO, PAIR_ACK, the NAKs outside a
        session, EVENTs while no session is open; session 0 except in NAK NO_SESSION, which
        repeats the session id it refused."""
        self._out += encode_frame(message, ref_counter=ref_counter, session_id=session_id)

    def send_in_session(self, session: Session, message: Reply, ref_counter: int = 0) -> None:
        """Send ``message`` in ``session``: tagged with its device → host key, the next device
        counter. A session whose device counter is nearly used up is closed (it never wraps)."""
        sent: Message | type[Message]
        payload: bytes | None
        if isinstance(message, WireReply):
            sent, payload = message.cls, message.payload
        else:
            sent, payload = message, None
        self._out += encode_frame(
            sent,
            payload=payload,
            key=session.keys.device_to_host,
            kind=KeyKind.SESSION,
            session_id=session.session_id,
            counter=session.next_tx_counter(),
            ref_counter=ref_counter,
        )
        if session.tx_exhausted and session is self.session and not self._closing:
            self.end_session(SessionClosed.COUNTER_EXHAUSTED)

    def send(self, message: Message, ref_counter: int = 0) -> None:
        """Send ``message`` in the open session, or untagged when none is open."""
        if self.session is None:
            self.send_plain(message, ref_counter)
        else:
            self.send_in_session(self.session, message, ref_counter)

    def _emit(self, code: EventCode, channel: int, detail: int) -> None:
        uptime_ms = (self._now_us - self._boot_us) // US_PER_MS & U32
        self.send(Event(code, channel, min(detail, U32), uptime_ms))

    # --- sessions -----------------------------------------------------------------------

    def open_session(self, hello: Hello, frame: bytes) -> Session:
        """Open a session for ``hello``, whose frame (header, payload and tag) was ``frame``: a
        new session id and device nonce, the session keys, the lease granted. The caller sends
        HELLO_ACK."""
        session_id = self._session_ids.take()
        device_nonce = random_bytes(self._rng, NONCE_SIZE)
        pairing_key = self.keys.pairing_key(hello.key_id)
        assert pairing_key is not None  # the receive order checked it
        keys = session_keys(
            pairing_key,
            host_nonce=hello.host_nonce,
            device_nonce=device_nonce,
            session_id=session_id,
        )
        self.session = Session(
            session_id, hello.key_id, keys, device_nonce, frame, self.model.reply_cache_size
        )
        self.grant_lease(hello.lease_ms)
        return self.session

    def end_session(self, reason: SessionClosed) -> None:
        """Close the open session for good (PROTOCOL.md major 2, sessions).

        Any output still active is cut to zero at once with LEASE latched (nobody holds a lease
        any more). Then EVENT SESSION_CLOSED (detail ``reason``) is sent in that session and,
        when the session ends by its lease or its counter (outputs may have been cut), a
        closing STATUS (ref_counter 0, SESSION_OPEN clear): the evidence that they are off.
        Its frames get NAK NO_SESSION afterwards.
        """
        session = self.session
        if session is None:
            return
        self._closing = True
        active = [channel for channel in self._channels if channel.active]
        for channel in active:
            channel.latch(Fault.LEASE, self._now_us, StopCause.LEASE)
        self._emit(EventCode.SESSION_CLOSED, NO_CHANNEL, reason)
        self.session = None
        self.lease_ms = 0
        self._lease_expires_us = self._now_us
        if reason in (SessionClosed.LEASE, SessionClosed.COUNTER_EXHAUSTED):
            self.send_in_session(session, self.status())
        self._closing = False
        self._changed()

    # --- state the command handlers use -------------------------------------------------

    @property
    def channels(self) -> Sequence[Channel]:
        """The channels, indexed by channel number.

        For reading: they change only through the device's own methods, which is what keeps
        ``next_deadline_us``'s cached answer right.
        """
        return self._channels

    def _any_active(self) -> bool:
        return any(channel.active for channel in self._channels)

    @property
    def session_id(self) -> int:
        """The open session's id (0 when none is open)."""
        return 0 if self.session is None else self.session.session_id

    @property
    def lease_valid(self) -> bool:
        """True while the lease granted at HELLO and renewed by HEARTBEAT has not expired."""
        return self.session is not None and self._now_us < self._lease_expires_us

    def grant_lease(self, lease_ms: int) -> None:
        """Start or renew the lease: ``lease_ms`` from now."""
        self.lease_ms = lease_ms
        self._lease_expires_us = self._now_us + lease_ms * US_PER_MS
        self._changed()

    def open_pairing_window(self, now_us: int, seconds: int) -> None:
        """The pairing button: accept one PAIR for ``seconds`` of device time from ``now_us``
        (0 closes the window).

        Raises:
            ValueError: ``seconds`` is not a whole number 0..``keys.MAX_WINDOW_S``.
        """
        self.advance(now_us)
        self.keys.open_window(now_us, seconds)

    def info_flags(self) -> InfoFlag:
        """INFO's capability flags as of now."""
        if self.keys.window_open(self._now_us):
            return InfoFlag.PAIRING_WINDOW
        return InfoFlag.NONE

    def _status_values(self) -> tuple[_StatusFixed, list[StatusRecord]]:
        """The values of the STATUS as of now: its fixed fields in order, the flags as an int,
        and each channel's record (``Channel.status_record``)."""
        now_us = self._now_us
        session = self.session
        lease_valid = self.lease_valid
        records = [channel.status_record(now_us) for channel in self._channels]
        flags = 0 if session is None else _SESSION_OPEN
        remaining_ms = 0
        if lease_valid:
            flags |= _LEASE_VALID
            remaining_ms = min(U16, ceil_div(self._lease_expires_us - now_us, US_PER_MS))
        if any(record[1] for record in records):  # faults
            flags |= _FAULT_LATCHED
        if any(record[0] in ACTIVE_STATES for record in records):  # the state
            flags |= _OUTPUT_ACTIVE
        fixed = (
            self.boot_id,
            (now_us - self._boot_us) // US_PER_MS & U32,
            remaining_ms,
            0 if session is None else session.last_applied,
            self._rx_err_count & U32,
            self.auth_fail_count & U32,
            self.replay_count & U32,
            flags,
        )
        return fixed, records

    def status(self) -> Status:
        """The STATUS message as of now."""
        (boot_id, uptime_ms, remaining_ms, applied, rx, auth, replay, flags), records = (
            self._status_values()
        )
        channels = tuple(ChannelStatus(*record) for record in records)
        flag_bits = DeviceFlag(flags)
        return Status(
            boot_id, uptime_ms, remaining_ms, applied, rx, auth, replay, flag_bits, channels
        )

    def status_payload(self) -> bytes:
        """The payload of :meth:`status`, packed from the values without the messages."""
        fixed, records = self._status_values()
        return Status.encode_values(fixed, records)

    # --- inputs: power, the stop button, the hardware -----------------------------------

    def reboot(self, now_us: int) -> None:
        """Power-cycle the device at ``now_us``: new boot id, no session, every output off, the
        pairing window closed; the pairing keys are kept (flash)."""
        self.advance(now_us)
        self._boot(now_us)
        self.advance(now_us)

    def press_stop_button(self, now_us: int) -> None:
        """The device's own stop button: every active channel off at once, BUTTON_STOP latched."""
        self.advance(now_us)
        self._stop_all(EventCode.BUTTON_STOP, Fault.BUTTON_STOP, StopCause.FAULT, now_us)

    def _stop_all(self, event: EventCode, fault: Fault, cause: StopCause, now_us: int) -> None:
        """Cut every active channel to zero and latch ``fault`` on it; one device EVENT."""
        stopped = [channel for channel in self._channels if channel.active]
        self._emit(event, NO_CHANNEL, sum(1 << channel.index for channel in stopped))
        for channel in stopped:
            channel.latch(fault, now_us, cause)
        self._changed()

    def hardware_changed(self) -> None:
        """The hardware changed outside a firmware call (a load, a stuck output stage).

        The cached deadline is forgotten, so the next check that finds the change is woken up
        for. The caller advances the firmware to the change's time first. (In the C core this
        is an interrupt from the output stage; its checks sample every tick anyway.)
        """
        self._changed()

    # --- inspection ---------------------------------------------------------------------

    def channel_state(self, channel: int) -> ChannelState:
        """The state of ``channel`` (PROTOCOL.md §6)."""
        return self._channels[channel].state

    @property
    def rx_err_count(self) -> int:
        """Frames rejected by checks 1–4 and 6 of the receive order since boot."""
        return self._rx_err_count
