"""``HostPeer``: a host of protocol major 2 in raw frames, built from ``firmware_protocol`` only.

One helper for every test that talks frames to a device (device tests, attack tests,
transcripts): it pairs (PAIR in the pairing window), opens sessions (HELLO with its nonce),
derives and keeps the session keys, keeps its counter and the device's, and encodes and decodes
frames. Everything is explicit where an attacker or a transcript needs it: a frame with a chosen
counter, key, key kind, session id or request id, a flipped bit (``tamper``, CRC made good so
the frame reaches the tag check), or raw bytes (``send``). No eacontrol code is involved: these
tests check the device against PROTOCOL.md, not against our host.

Every device frame is checked as a host must: a key-2 frame must verify under the session's
device → host key and carry a counter above the last one seen (else ``AssertionError``); key-0
frames are decoded as they are (they are never trusted for anything but refusals). ``log``
keeps every frame both ways with its time, for transcripts.

The device end is anything with ``deliver(data, now_us)``, ``output()`` and ``advance(now_us)``:
``FirmwareEnd`` wraps an in-process ``Firmware`` in virtual time; ``SerialEnd`` a pyserial port
(``sim://`` in virtual time, a pty or ``socket://`` in real time) with the clock it runs on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from peer_ends import Clock, DeviceEnd, FirmwareEnd, SerialEnd, tamper

import firmware_protocol as fp

__all__ = [
    "Clock",
    "DeviceEnd",
    "FirmwareEnd",
    "HostPeer",
    "LogEntry",
    "Received",
    "SerialEnd",
    "SessionState",
    "tamper",
]

MS = 1_000
"""µs per millisecond."""


@dataclass(frozen=True)
class LogEntry:
    """One chunk on the wire: ``"host"`` (host → device) or ``"device"``, at ``t_us``."""

    sender: str
    t_us: int
    data: bytes


@dataclass
class Received:
    """A device frame as decoded: the frame, and whether its tag verified in a session."""

    frame: fp.Frame
    authenticated: bool

    @property
    def header(self) -> fp.Header:
        """The frame's header."""
        return self.frame.header

    @property
    def message(self) -> fp.Message:
        """The frame's message."""
        return self.frame.message


@dataclass
class SessionState:
    """A session as the peer knows it: id, keys, the last device counter seen."""

    session_id: int
    keys: fp.SessionKeys
    device_counter: int = 0


@dataclass
class HostPeer:
    """A raw-frame host of protocol major 2.

    Args:
        end: the device end (``FirmwareEnd(device)``).
        now_us: the host's time; every send happens at it.
        key_id: a pairing key id already held (else ``pair`` makes one).
        pairing_key: that key.
        nonce: makes the host nonces (default ``os.urandom``; a test passes a seeded one).

    Attributes:
        counter: the counter the next new command gets (``exchange`` increments it).
        request_id: the counter field of the next untagged or HELLO frame.
        session: the open session's id, keys and the last device counter seen (None: none).
        events: every EVENT received, in order (as ``Received``).
        log: every chunk both ways, with its time.
        closed_sessions: the sessions closed (or replaced) so far, by id, with their keys.
        unasked: closing STATUS frames (ref_counter 0) the device sent on its own.
        collect_at_start: read what the device sent before the peer was made (its boot EVENT).
        skip_damaged: skip bytes that do not decode as a frame (a host that connects to a
            real-time server mid-frame sees its tail) instead of failing.
        strict_counters: a device frame whose counter is not above the last one seen fails the
            peer; when False (a link that duplicates frames) it is set aside in ``stale``.
        stale: device frames set aside for a used counter (``strict_counters`` False).
        got_data: whether the last ``collect`` read anything.
        foreign: key-2 device frames of sessions the peer never opened, set aside unchecked
            (a frame of a session it opened must verify, or the peer fails).
    """

    end: DeviceEnd
    now_us: int = 0
    key_id: int = 0
    pairing_key: bytes = b""
    nonce: Callable[[int], bytes] = os.urandom
    counter: int = 1
    request_id: int = 1
    session: SessionState | None = None
    events: list[Received] = field(default_factory=list)
    log: list[LogEntry] = field(default_factory=list)
    closed_sessions: dict[int, SessionState] = field(default_factory=dict)
    unasked: list[Received] = field(default_factory=list)
    collect_at_start: bool = True
    skip_damaged: bool = False
    foreign: list[fp.RawFrame] = field(default_factory=list)
    strict_counters: bool = True
    stale: list[fp.RawFrame] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._decoder = fp.FrameDecoder()
        self._pending_hello: fp.Hello | None = None
        self.got_data = False
        if self.collect_at_start:  # the boot EVENT (a port would wait a timeout for it)
            self.collect()

    # --- bytes ------------------------------------------------------------------------------

    def collect(self) -> list[Received]:
        """Decode what the device sent; keep the EVENTs, return the other frames in order."""
        data = self.end.output()
        self.got_data = bool(data)
        if data:
            self.log.append(LogEntry("device", self.now_us, data))
        replies: list[Received] = []
        for item in self._decoder.feed(data):
            if not isinstance(item, fp.RawFrame) and self.skip_damaged:
                continue
            assert isinstance(item, fp.RawFrame), f"device sent a bad frame: {item!r}"
            hello = self._pending_hello
            if hello is not None and item.header.msg_type == fp.MsgType.HELLO_ACK:
                ack = item.decode().message
                assert isinstance(ack, fp.HelloAck) and item.header.key == fp.KeyKind.SESSION
                if ack.session_id != self.session_id:  # not a resent HELLO_ACK
                    self._open(hello, ack)
            if self._foreign(item):
                self.foreign.append(item)
                continue
            if not self.strict_counters and self._stale(item):
                self.stale.append(item)
                continue
            received = self._check(item)
            if received.header.msg_type == fp.MsgType.EVENT:
                self.events.append(received)
            elif isinstance(received.message, fp.Status) and received.header.ref_counter == 0:
                self.unasked.append(received)  # the closing STATUS of a session
            else:
                replies.append(received)
        return replies

    def _foreign(self, raw: fp.RawFrame) -> bool:
        """A key-2 frame of a session this peer never opened (another host's, or its own
        predecessor's): it can be neither checked nor trusted, only set aside."""
        header = raw.header
        return (
            header.key == fp.KeyKind.SESSION
            and header.session_id != self.session_id
            and header.session_id not in self.closed_sessions
        )

    def _stale(self, raw: fp.RawFrame) -> bool:
        header = raw.header
        if header.key != fp.KeyKind.SESSION:
            return False
        state = self.session
        if state is None or state.session_id != header.session_id:
            state = self.closed_sessions[header.session_id]
        return header.counter <= state.device_counter

    def _check(self, raw: fp.RawFrame) -> Received:
        header = raw.header
        if header.key == fp.KeyKind.NONE:
            frame = raw.decode()
            refused = (
                isinstance(frame.message, fp.Nak) and frame.message.code == fp.NakCode.NO_SESSION
            )
            assert header.session_id == 0 or refused, f"untagged frame names a session: {header}"
            return Received(frame, authenticated=False)
        assert header.key == fp.KeyKind.SESSION, f"device frame of key {header.key}"
        state = self.session
        if state is None or state.session_id != header.session_id:
            state = self.closed_sessions.get(header.session_id)
        assert state is not None, f"device frame in an unknown session: {header}"
        assert raw.authentic(state.keys.device_to_host), f"device frame's tag is bad: {header}"
        assert header.counter > state.device_counter, (
            f"device counter {header.counter} not above {state.device_counter}"
        )
        state.device_counter = header.counter
        frame = raw.decode()
        message = frame.message
        if isinstance(message, fp.Event) and message.code == fp.EventCode.SESSION_CLOSED:
            self._closed(state)
        return Received(frame, authenticated=True)

    def _closed(self, state: SessionState) -> None:
        self.closed_sessions[state.session_id] = state  # its closing STATUS is still to come
        if self.session is state:
            self.session = None

    def send(self, data: bytes) -> list[Received]:
        """Deliver raw bytes at ``now_us``; return the non-EVENT frames the device answered
        (reading on while only EVENTs come, until something else or nothing comes)."""
        self.log.append(LogEntry("host", self.now_us, data))
        self.end.deliver(data, self.now_us)
        replies = self.collect()
        while not replies and self.got_data:
            replies = self.collect()
        return replies

    def frame(
        self,
        message: fp.Message,
        *,
        counter: int | None = None,
        session_id: int | None = None,
        key: bytes | None = None,
        session: SessionState | None = None,
        **header: Any,
    ) -> bytes:
        """``message`` as a frame of a session (key 2; the open one unless ``session`` names
        another, e.g. ``last_closed``): the next counter unless given, the session's host →
        device key unless ``key`` is given, its id unless ``session_id`` is given. Other
        ``encode_frame`` header fields can be given (``ref_counter``, ``incompat_flags``…)."""
        state = self.session if session is None else session
        if state is None:
            state = self.last_closed
        if key is None or session_id is None:  # else an attacker's frame: no session needed
            assert state is not None, "no session to send in"
            key = state.keys.host_to_device if key is None else key
            session_id = state.session_id if session_id is None else session_id
        return fp.encode_frame(
            message,
            key=key,
            kind=fp.KeyKind.SESSION,
            session_id=session_id,
            counter=self.counter if counter is None else counter,
            **header,
        )

    def command(self, message: fp.Message, **header: Any) -> bytes:
        """``frame`` with the next counter, which is then used up (to send the frame later, or
        twice)."""
        data = self.frame(message, **header)
        self.counter += 1
        return data

    @property
    def last_closed(self) -> SessionState | None:
        """The session closed (or replaced) most recently, if any."""
        return next(reversed(self.closed_sessions.values()), None)

    def plain_frame(self, message: fp.Message, *, request_id: int | None = None, **h: Any) -> bytes:
        """``message`` untagged (key 0), with the next request id unless given."""
        rid = self.request_id if request_id is None else request_id
        return fp.encode_frame(message, counter=rid, **h)

    def hello_frame(
        self,
        lease_ms: int = 500,
        *,
        host_nonce: bytes | None = None,
        key_id: int | None = None,
        key: bytes | None = None,
        request_id: int | None = None,
        schema_hash: int = fp.SCHEMA_HASH,
    ) -> tuple[fp.Hello, bytes]:
        """A HELLO (key 1) under the peer's key (or ``key_id``/``key`` given), and its frame."""
        hello = fp.Hello(
            key_id=self.key_id if key_id is None else key_id,
            host_nonce=self.nonce(fp.NONCE_SIZE) if host_nonce is None else host_nonce,
            lease_ms=lease_ms,
            schema_hash=schema_hash,
        )
        signing = fp.hello_key(self.pairing_key) if key is None else key
        data = fp.encode_frame(
            hello,
            key=signing,
            kind=fp.KeyKind.PAIRING,
            counter=self.request_id if request_id is None else request_id,
        )
        return hello, data

    # --- request and reply ------------------------------------------------------------------

    def exchange(self, message: fp.Message, **header: Any) -> Received:
        """Send ``message`` as a new command of the session; return the one reply (its
        ref_counter checked). ``counter=`` sends it with that counter instead of the next."""
        data = self.frame(message, **header)
        counter = header.get("counter", self.counter)
        if "counter" not in header:
            self.counter += 1
        replies = self.send(data)
        assert len(replies) == 1, f"expected one reply to {message!r}, got {replies!r}"
        assert replies[0].header.ref_counter == counter
        return replies[0]

    def call(self, message: fp.Message, **header: Any) -> fp.Message:
        """``exchange`` and return the reply's message."""
        return self.exchange(message, **header).message

    def ok(self, message: fp.Message, **header: Any) -> fp.Message:
        """``call`` and assert the reply is not a NAK."""
        reply = self.call(message, **header)
        assert not isinstance(reply, fp.Nak), f"{message!r} refused: {reply!r}"
        return reply

    def nak(self, message: fp.Message, code: fp.NakCode, **header: Any) -> fp.Nak:
        """``call`` and assert the reply is a NAK with ``code`` for this message type."""
        reply = self.call(message, **header)
        assert isinstance(reply, fp.Nak), f"{message!r} accepted: {reply!r}"
        assert reply.code == code, f"{message!r}: expected {code.name}, got {reply!r}"
        assert reply.nak_type == message.MSG_TYPE
        return reply

    def plain_call(self, message: fp.Message, **header: Any) -> Received:
        """Send ``message`` untagged (key 0) with the next request id; return the one reply."""
        data = self.plain_frame(message, **header)
        request_id = header.get("request_id", self.request_id)
        self.request_id += 1
        replies = self.send(data)
        assert len(replies) == 1, f"expected one reply to {message!r}, got {replies!r}"
        assert replies[0].header.ref_counter == request_id
        assert replies[0].header.key == fp.KeyKind.NONE
        return replies[0]

    # --- pairing and sessions ---------------------------------------------------------------

    def get_info(self) -> fp.Info:
        """GET_INFO (key 0) → INFO."""
        info = self.plain_call(fp.GetInfo()).message
        assert isinstance(info, fp.Info), f"GET_INFO answered {info!r}"
        return info

    def pair(self, host_label: str = "test host") -> fp.PairAck:
        """PAIR (key 0) in the device's pairing window; keep the key."""
        reply = self.plain_call(fp.Pair(host_label=host_label)).message
        assert isinstance(reply, fp.PairAck), f"PAIR refused: {reply!r}"
        self.key_id, self.pairing_key = reply.key_id, reply.pairing_key
        return reply

    def hello(self, lease_ms: int = 500, **hello: Any) -> fp.HelloAck:
        """Open a session (HELLO under the peer's key); keep its keys; new commands start at
        counter 1. Raises AssertionError if the device refuses."""
        replies = self.hello_replies(lease_ms, **hello)
        assert len(replies) == 1, f"expected HELLO_ACK, got {replies!r}"
        ack = replies[0].message
        assert isinstance(ack, fp.HelloAck), f"HELLO refused: {ack!r}"
        return ack

    def hello_replies(self, lease_ms: int = 500, **hello: Any) -> list[Received]:
        """Send a HELLO and return the replies (a HELLO_ACK opens the peer's session)."""
        message, data = self.hello_frame(lease_ms, **hello)
        self.request_id += 1
        return self.send_hello(message, data)

    def send_hello(self, hello: fp.Hello, data: bytes) -> list[Received]:
        """Send the HELLO frame ``data`` (of ``hello``, from ``hello_frame``; again, for a
        retransmission) and return the replies; a HELLO_ACK of a new session opens it."""
        self._pending_hello = hello
        try:
            return self.send(data)
        finally:
            self._pending_hello = None

    def _open(self, hello: fp.Hello, ack: fp.HelloAck) -> None:
        if self.session is not None:
            self.closed_sessions[self.session.session_id] = self.session
        keys = fp.session_keys(
            self.pairing_key,
            host_nonce=hello.host_nonce,
            device_nonce=ack.device_nonce,
            session_id=ack.session_id,
        )
        self.session = SessionState(ack.session_id, keys)
        self.counter = 1

    @property
    def session_id(self) -> int:
        """The open session's id (0 when none)."""
        return 0 if self.session is None else self.session.session_id

    # --- time -------------------------------------------------------------------------------

    def wait_until(self, t_us: int) -> None:
        """Let the device run alone until ``t_us`` and collect its EVENTs (it must answer
        nothing it was not asked; a closing STATUS is kept in ``unasked``)."""
        self.now_us = t_us
        self.end.advance(t_us)
        extra = self.collect()
        assert not extra, f"the device answered what it was not asked: {extra!r}"

    def wait(self, duration_us: int) -> None:
        """Let ``duration_us`` pass."""
        self.wait_until(self.now_us + duration_us)

    def event_codes(self) -> list[fp.EventCode]:
        """Codes of the EVENTs seen so far."""
        return [self.event(frame).code for frame in self.events]

    @staticmethod
    def event(frame: Received) -> fp.Event:
        """The EVENT message of ``frame``."""
        assert isinstance(frame.message, fp.Event)
        return frame.message

    def take_events(self) -> list[fp.Event]:
        """The EVENTs seen since the last call (and forget them)."""
        events = [self.event(frame) for frame in self.events]
        self.events.clear()
        return events
