"""Commands awaiting their replies: sequence numbers and reply matching (PROTOCOL.md §3.1).

A reply answers a command when its ``ref_seq`` is the command's seq *and* its type fits the
command: ACK and NAK name the type they answer, the other replies are fixed per command
(HELLO → HELLO_ACK, GET_PROGRAM → PROGRAM, HEARTBEAT/GET_STATUS → STATUS, GET_DOSE → DOSE).
A frame with a matching seq but the wrong type is not taken as the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firmware_protocol import (
    Ack,
    Dose,
    Frame,
    GetDose,
    GetInfo,
    GetProgram,
    GetStatus,
    Heartbeat,
    Hello,
    HelloAck,
    Message,
    Nak,
    Program,
    Status,
    TrustedFrameError,
)

__all__ = ["PendingCommand", "answers", "next_seq", "seq_after"]

_REPLY_TYPES: dict[type[Message], type[Message]] = {
    Hello: HelloAck,
    GetInfo: HelloAck,
    GetProgram: Program,
    Heartbeat: Status,
    GetStatus: Status,
    GetDose: Dose,
}


def next_seq(seq: int) -> int:
    """Return the seq after ``seq``: 1..65535, wrapping past 0 (0 never names a command)."""
    return seq % 0xFFFF + 1


def seq_after(a: int, b: int) -> bool:
    """True when 16-bit sequence number ``a`` comes after ``b`` (within half the range)."""
    return 0 < (a - b) & 0xFFFF < 0x8000


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
        data: its frame bytes (a retransmission repeats them exactly).
        last_sent_s: host time of the latest transmission.
        rx_errors_before: the decoder's error count when it was first sent (a timeout says how
            much garbage arrived meanwhile).
        first_sent_s: host time of the first transmission.
        attempts: transmissions so far.
        reply: the answer, once received.
        bad_reply: a verified frame answering it that this host cannot accept.
    """

    frame: Frame
    data: bytes
    last_sent_s: float
    rx_errors_before: int = 0
    first_sent_s: float = field(init=False)
    attempts: int = 1
    reply: Frame | None = None
    bad_reply: TrustedFrameError | None = None

    def __post_init__(self) -> None:
        self.first_sent_s = self.last_sent_s

    @property
    def seq(self) -> int:
        """The command's sequence number."""
        return self.frame.header.seq

    @property
    def message(self) -> Message:
        """The command."""
        return self.frame.message
