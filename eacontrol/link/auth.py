"""The host's half of the authenticated link (PROTOCOL.md §2.4, §2.5): which key tags each
frame it sends, and which device frames it believes.

``SessionGuard`` holds the session keys once HELLO_ACK has proved itself, and checks every
device frame before the link machine looks at its content:

- a SESSION-key (key 2) frame must carry the open session's id, verify under the
  device→host key and carry a device counter strictly greater than the last one accepted;
  otherwise it is an ``AuthenticationError`` (``BadTag`` or ``ReplayedFrame``): a link fault —
  except a byte-identical copy of the last frame accepted, which a line can produce and which
  says nothing new: it is ignored and counted (``duplicates``);
- before a session, the only SESSION-key frame believed is the HELLO_ACK answering this host's
  HELLO: the session keys are derived from the pairing key, both nonces and its session id,
  and its tag must verify under the device→host key (else ``BadTag``, the HELLO's bad reply);
- an unauthenticated (key 0) frame is passed on marked ``authenticated=False``: the machine
  lets it answer only an unauthenticated request (INFO, PAIR_ACK, the NAK of GET_INFO, PAIR or
  HELLO) or end a session (NAK NO_SESSION, EVENT REBOOT); it never confirms anything;
- a PAIRING-key (key 1) frame never comes from a device: it is ignored, and so is a frame of a
  session this link had before (after ``Link.rejoin``): late, over, it confirms nothing.

Sans-I/O like the machine: no clock, no random source (the HELLO nonce comes in).
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_protocol import (
    AuthenticationError,
    BadTag,
    Frame,
    GetInfo,
    HelloAck,
    KeyKind,
    Message,
    MsgType,
    Pair,
    RawFrame,
    ReplayedFrame,
    SessionKeys,
    TrustedFrameError,
    hello_key,
    session_keys,
)

__all__ = ["UNAUTHENTICATED_COMMANDS", "Checked", "SessionGuard"]

UNAUTHENTICATED_COMMANDS: tuple[type[Message], ...] = (GetInfo, Pair)
"""Commands sent with key 0 in every state (PROTOCOL.md §2.4): they reveal identity only."""


@dataclass(frozen=True)
class Checked:
    """A device frame that passed the guard.

    Attributes:
        frame: the decoded frame.
        authenticated: True for a SESSION-key frame verified in the open session (or the
            HELLO_ACK that opened it); False for a key-0 frame, which may only refuse or end.
    """

    frame: Frame
    authenticated: bool


@dataclass(frozen=True)
class _HelloState:
    counter: int
    pairing_key: bytes
    host_nonce: bytes


class SessionGuard:
    """Keys and device-counter state of one connection.

    Attributes:
        session_id: the session HELLO_ACK opened (0 before).
        device_counter: the last device counter accepted (0 before HELLO_ACK).
        duplicates: byte-identical copies of the last accepted frame ignored in the session.
    """

    def __init__(self, retired: frozenset[int] = frozenset()) -> None:
        """Args:
        retired: the ids of sessions this link had before (their late frames are ignored).
        """
        self.session_id = 0
        self.device_counter = 0
        self.retired = retired
        self.duplicates = 0
        self._last_accepted: tuple[bytes, bytes] = (b"", b"")
        self._keys: SessionKeys | None = None
        self._hello: _HelloState | None = None

    @property
    def keys_held(self) -> bool:
        """True once HELLO_ACK proved the session keys."""
        return self._keys is not None

    def tag_for(
        self, message: Message, *, hello_pairing_key: bytes | None = None
    ) -> tuple[KeyKind, bytes | None, int]:
        """The key kind, key and session id that a host frame carrying ``message`` uses.

        Args:
            message: the command.
            hello_pairing_key: for HELLO, the pairing key whose hello key tags it.
        """
        if hello_pairing_key is not None:
            return KeyKind.PAIRING, hello_key(hello_pairing_key), 0
        if self._keys is None or isinstance(message, UNAUTHENTICATED_COMMANDS):
            return KeyKind.NONE, None, 0
        return KeyKind.SESSION, self._keys.host_to_device, self.session_id

    def expect_hello_ack(self, counter: int, pairing_key: bytes, host_nonce: bytes) -> None:
        """Remember the HELLO sent as ``counter``: its HELLO_ACK will be checked with these."""
        self._hello = _HelloState(counter, pairing_key, host_nonce)

    def check(self, raw: RawFrame) -> Checked | AuthenticationError | TrustedFrameError | None:
        """Check one sound device frame.

        Returns:
            ``Checked`` to act on; an ``AuthenticationError`` (a link fault once a session is
            open; before it, only for the HELLO_ACK answering this host's HELLO); a
            ``TrustedFrameError`` when an acceptable frame does not decode; None to ignore.
        """
        header = raw.header
        if header.key == KeyKind.NONE:
            return self._decoded(raw, authenticated=False)
        if header.key != KeyKind.SESSION:
            return None  # a device never sends key 1
        if header.session_id in self.retired:
            return None  # late from a session of this link that is over: it confirms nothing
        if self._keys is None:
            return self._hello_ack(raw)
        if header.session_id != self.session_id:
            return BadTag(
                f"a SESSION-key frame of session {header.session_id}, the open session is "
                f"{self.session_id}",
                header,
            )
        if not raw.authentic(self._keys.device_to_host):
            return BadTag("the tag does not verify under the device→host session key", header)
        if header.counter <= self.device_counter:
            if (raw.signed, raw.tag) == self._last_accepted:
                self.duplicates += 1
                return None  # the line sent the frame twice: the first copy was taken
            return ReplayedFrame(
                f"device counter {header.counter} is not above the last accepted "
                f"({self.device_counter})",
                header,
            )
        self.device_counter = header.counter
        self._last_accepted = (raw.signed, raw.tag)
        return self._decoded(raw, authenticated=True)

    def _hello_ack(self, raw: RawFrame) -> Checked | AuthenticationError | TrustedFrameError | None:
        header = raw.header
        hello = self._hello
        if (
            hello is None
            or header.msg_type != MsgType.HELLO_ACK
            or header.ref_counter != (hello.counter)
        ):
            return None  # no session to check it against: it answers nothing of ours
        decoded = self._decoded(raw, authenticated=True)
        if not isinstance(decoded, Checked):
            return decoded
        ack = decoded.frame.message
        assert isinstance(ack, HelloAck)
        if ack.session_id == 0 or header.session_id != ack.session_id:
            return BadTag(
                f"HELLO_ACK names session {ack.session_id} in its payload and "
                f"{header.session_id} in its header",
                header,
            )
        keys = session_keys(
            hello.pairing_key,
            host_nonce=hello.host_nonce,
            device_nonce=ack.device_nonce,
            session_id=ack.session_id,
        )
        if not raw.authentic(keys.device_to_host):
            return BadTag(
                "HELLO_ACK's tag does not verify under the session key derived from this "
                "host's pairing key",
                header,
            )
        self._keys = keys
        self._hello = None
        self.session_id = ack.session_id
        self.device_counter = header.counter
        self._last_accepted = (raw.signed, raw.tag)
        return decoded

    @staticmethod
    def _decoded(raw: RawFrame, *, authenticated: bool) -> Checked | TrustedFrameError:
        try:
            return Checked(raw.decode(), authenticated)
        except TrustedFrameError as err:
            return err
