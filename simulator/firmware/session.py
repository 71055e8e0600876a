"""One open session of protocol major 2: its id, keys, counters and counter-keyed reply cache.

HELLO opens a session (PROTOCOL.md major 2, sessions): the device picks the session id
(``SessionIds``: ``session_base + k``, never 0, never reused within a boot), draws its nonce,
and both sides derive the session keys from the pairing key and both nonces. Every frame of
the session then carries the sender's counter, strictly increasing, and a tag.

Receiving (check 8): a counter above the highest one executed (``highest``) is new; a counter
at or below it is answered from the reply cache only when it is one of the last
``reply_cache_size`` executed **and** the frame carries the identical tag (so the identical
header and payload): the cached reply is sent again, re-encoded with a new device counter and
the same ref_counter, and nothing is executed. Anything else is a replay: dropped, counted,
never answered. Every command type is cached (reads too): a duplicate never executes twice, so a
replayed HEARTBEAT never renews the lease.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from firmware_protocol import Message, SessionKeys
from simulator.firmware.units import U32

__all__ = [
    "LAST_COUNTER",
    "TX_RESERVE",
    "CachedReply",
    "Reply",
    "ReplyCache",
    "Session",
    "SessionIds",
    "WireReply",
]

LAST_COUNTER = U32
"""0xFFFFFFFF: a host frame with this counter is never executed, it ends the session; the
device's own counter never reaches it either (the counter never wraps)."""

TX_RESERVE = 16
"""Device counters kept back for the frames that close a session: at most 8 STOPPED (one per
channel), SESSION_CLOSED and the closing STATUS need 10; 16 is the design value with room."""


@dataclass(frozen=True)
class WireReply:
    """A reply built in wire form: its message class and payload.

    The STATUS that answers every HEARTBEAT is packed straight from the channels
    (``Firmware.status_payload``), without a ``Status`` and a ``ChannelStatus`` per channel; a
    retransmission sends the very same payload again.

    Attributes:
        cls: the message class (its ``MSG_TYPE`` goes in the header).
        payload: the payload bytes, as ``cls.encode`` would give them.
    """

    cls: type[Message]
    payload: bytes


Reply = Message | WireReply
"""What a command is answered with: a message, or one already in wire form."""


@dataclass(frozen=True)
class CachedReply:
    """The reply to one executed command, kept for an exact retransmission.

    Attributes:
        tag: the command frame's tag (the identity of header and payload).
        reply: the reply message.
    """

    tag: bytes
    reply: Reply


class ReplyCache:
    """The replies to the last ``size`` commands executed in a session, by host counter.

    Args:
        size: how many replies to keep (``DeviceModel.reply_cache_size``).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[int, CachedReply] = OrderedDict()

    def __len__(self) -> int:
        """Number of replies kept."""
        return len(self._entries)

    def get(self, counter: int, tag: bytes) -> Reply | None:
        """The reply sent to the command with ``counter`` if this frame is that very command
        (the same tag), else None."""
        entry = self._entries.get(counter)
        if entry is None or entry.tag != tag:
            return None
        return entry.reply

    def put(self, counter: int, tag: bytes, reply: Reply) -> None:
        """Remember the reply to the command just executed; the oldest drops out."""
        self._entries[counter] = CachedReply(tag, reply)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class SessionIds:
    """The session ids of one boot: ``session_base + k`` (mod 2³², skipping 0).

    ``session_base`` is drawn at boot from the random source, so ids are unpredictable across
    boots; ``k`` counts the sessions opened since boot (1 for the first), so within a boot an id
    is never reused (2³² − 1 ids before ``k`` could come round).

    Args:
        session_base: the boot's random base.
    """

    def __init__(self, session_base: int) -> None:
        self._next = (session_base + 1) & U32

    def take(self) -> int:
        """The id of the session about to open (never 0)."""
        if self._next == 0:
            self._next = 1
        session_id = self._next
        self._next = (self._next + 1) & U32
        return session_id


class Session:
    """An open session: what both sides agreed at HELLO, and the counters since.

    Args:
        session_id: the device-chosen id.
        key_id: the pairing key it was opened under (FORGET names it).
        keys: the session keys of both directions.
        device_nonce: the device's HELLO_ACK nonce.
        hello: header, payload and tag of the HELLO that opened it (an exact retransmission is
            answered with its HELLO_ACK again instead of opening another session).
        cache_size: replies kept for retransmissions.

    Attributes:
        highest: the highest host counter executed (H); 0 before the first command.
        last_applied: the counter of the last SET_PROGRAM, START, SET_INTENSITY, STOP,
            CLEAR_FAULT or FORGET executed and not refused (STATUS ``last_applied_counter``);
            0 before the first.
        tx_counter: the device's last counter used in this session (HELLO_ACK is 1).
        cache: the replies to the last commands, by host counter.
        hello_ack: the HELLO_ACK this session was opened with.
    """

    def __init__(
        self,
        session_id: int,
        key_id: int,
        keys: SessionKeys,
        device_nonce: bytes,
        hello: bytes,
        cache_size: int,
    ) -> None:
        self.session_id = session_id
        self.key_id = key_id
        self.keys = keys
        self.device_nonce = device_nonce
        self.hello = hello
        self.highest = 0
        self.last_applied = 0
        self.tx_counter = 0
        self.cache = ReplyCache(cache_size)
        self.hello_ack: Message | None = None

    def next_tx_counter(self) -> int:
        """The device counter for the next frame sent in this session."""
        self.tx_counter += 1
        return self.tx_counter

    @property
    def tx_exhausted(self) -> bool:
        """True when the device must end the session: ``TX_RESERVE`` counters are left, for the
        closing frames (a STOPPED per channel, SESSION_CLOSED, the closing STATUS), so the
        counter never wraps and never reaches ``LAST_COUNTER``."""
        return self.tx_counter >= LAST_COUNTER - TX_RESERVE
