"""Commands awaiting their replies: the host counter and reply matching (PROTOCOL.md §3.4).

A reply answers a command when its ``ref_counter`` is the command's counter *and* its type fits the
command: ACK and NAK name the type they answer, the other replies are fixed per command
(HELLO → HELLO_ACK, GET_PROGRAM → PROGRAM, HEARTBEAT/GET_STATUS → STATUS, GET_DOSE → DOSE).
A frame with a matching counter but the wrong type is not taken as the answer. GET_INFO is
answered by INFO and PAIR by PAIR_ACK (both unauthenticated, before a session).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eacontrol.errors import LinkTimeout
from firmware_protocol import (
    Ack,
    Dose,
    Frame,
    FrameError,
    GetDose,
    GetInfo,
    GetProgram,
    GetStatus,
    Heartbeat,
    Hello,
    HelloAck,
    Info,
    Message,
    MsgType,
    Nak,
    Pair,
    PairAck,
    Program,
    Status,
)

__all__ = ["PendingCommand", "answers", "timeout_error"]

_REPLY_TYPES: dict[type[Message], type[Message]] = {
    Hello: HelloAck,
    GetInfo: Info,
    Pair: PairAck,
    GetProgram: Program,
    Heartbeat: Status,
    GetStatus: Status,
    GetDose: Dose,
}


def answers(command: Message, reply: Message) -> bool:
    """True when ``reply`` is of a type that answers ``command``."""
    if isinstance(reply, Nak):
        return reply.nak_type == command.MSG_TYPE
    if isinstance(reply, Ack):
        return reply.acked_type == command.MSG_TYPE and type(command) not in _REPLY_TYPES
    return type(reply) is _REPLY_TYPES.get(type(command))


@dataclass
class PendingCommand:
    """A command sent and not yet forgotten.

    Attributes:
        frame: the command as sent (header and message).
        data: its frame bytes, tag included (a retransmission repeats them exactly).
        last_sent_s: host time of the latest transmission.
        rx_errors_before: the decoder's error count when it was first sent (a timeout says how
            much garbage arrived meanwhile).
        first_sent_s: host time of the first transmission.
        handle: the counter it was first sent with: what callers name it by.
        attempts: transmissions so far.
        reply: the answer, once received.
        overtaken_repeats: byte-identical repeats since the device answered a later counter.
        bad_reply: a frame answering it that this host cannot accept: a verified one with
            invalid content, a frame of another protocol major, or a HELLO_ACK whose tag does
            not verify.
    """

    frame: Frame
    data: bytes
    last_sent_s: float
    rx_errors_before: int = 0
    first_sent_s: float = field(init=False)
    attempts: int = 1
    handle: int = field(init=False)
    overtaken_repeats: int = 0
    reply: Frame | None = None
    bad_reply: FrameError | None = None

    def __post_init__(self) -> None:
        self.first_sent_s = self.last_sent_s
        self.handle = self.frame.header.counter

    @property
    def counter(self) -> int:
        """The host counter of the command's latest frame (``handle`` until it is reissued)."""
        return self.frame.header.counter

    @property
    def authenticated(self) -> bool:
        """True when the command was sent tagged (HELLO, or in a session)."""
        return self.frame.header.key != 0

    @property
    def message(self) -> Message:
        """The command."""
        return self.frame.message


def timeout_error(pending: PendingCommand, now_s: float, garbage: int, frames: str) -> LinkTimeout:
    """The ``LinkTimeout`` of a command unanswered after its last transmission.

    Args:
        pending: the command.
        now_s: host time.
        garbage: undecodable frames received since it was first sent.
        frames: the frame log, formatted.
    """
    name = MsgType(pending.message.MSG_TYPE).name
    text = (
        f"no reply to {name} (counter {pending.counter}) after {pending.attempts} "
        f"transmissions over {now_s - pending.first_sent_s:.3f} s"
    )
    if garbage:
        text += (
            f"; {garbage} undecodable frame(s) arrived meanwhile (wrong baud rate, or not an "
            "eacontrol device?)"
        )
    return LinkTimeout(text, frames=frames)
