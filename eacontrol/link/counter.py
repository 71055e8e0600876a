"""The host's 32-bit command counter (PROTOCOL.md §3.4): strictly increasing, never wrapping.

A device executes each counter at most once and ends the session rather than accept
0xFFFFFFFF, so the host never sends it: past ``COUNTER_MAX - COUNTER_RESERVE`` only the stop
path may still send (STOP, GET_STATUS, HEARTBEAT, GET_DOSE) and ``exhausted`` tells the link
the session must end; past ``COUNTER_MAX`` nothing is sent at all.
"""

from __future__ import annotations

from eacontrol.errors import CounterExhausted
from firmware_protocol import GetDose, GetStatus, Heartbeat, Message, Stop

__all__ = ["COUNTER_MAX", "COUNTER_RESERVE", "HostCounter"]

COUNTER_MAX = 0xFFFFFFFE
"""The last host counter ever sent: a device ends the session on 0xFFFFFFFF (PROTO2 check 8)."""

COUNTER_RESERVE = 4096
"""Counters kept for the stop that ends a session once ``COUNTER_MAX - COUNTER_RESERVE`` is
passed. Design value: the longest confirmed stop is a ramp-down of 65.535 s (ramp_down_ms is a
u16) plus one lease of at most 1 s; ``confirm_stop`` sends at most one STOP and one GET_STATUS
per 40 ms reply timeout and 5 heartbeats a second: 66.5 × (25 + 25 + 5) ≈ 3,660 < 4,096."""

_STOP_PATH = (Stop, GetStatus, Heartbeat, GetDose)
"""Commands the reserve serves: the stop, its confirmation, the lease and the last totals."""


class HostCounter:
    """The counter of the latest command sent.

    Attributes:
        value: the latest counter used (the initial value before any).
        exhausted: set once the reserve was entered: the session must end, else None.
    """

    def __init__(self, initial: int = 0) -> None:
        """Args:
        initial: the counter before the first command (0: the first is 1).
        """
        if not 0 <= initial <= COUNTER_MAX:
            raise ValueError(f"initial counter {initial} is outside 0..{COUNTER_MAX}")
        self.value = initial
        self.exhausted: CounterExhausted | None = None

    def peek(self, message: Message) -> int:
        """The counter ``message`` would be sent with (``take`` commits it).

        Raises:
            CounterExhausted: in the reserve and ``message`` is not on the stop path, or the
                counter is used up.
        """
        counter = self.value + 1
        if counter > COUNTER_MAX:
            raise CounterExhausted(
                f"the host counter is used up ({self.value}): nothing more can be sent in this "
                "session; the device's lease switches its outputs off"
            )
        if counter > COUNTER_MAX - COUNTER_RESERVE:
            if self.exhausted is None:
                self.exhausted = CounterExhausted(
                    f"the 32-bit host counter reached {counter} of {COUNTER_MAX}: the session "
                    f"must end (the last {COUNTER_RESERVE} counters are kept for its stop; the "
                    "counter never wraps)"
                )
            if not isinstance(message, _STOP_PATH):
                raise self.exhausted
        return counter

    def take(self, counter: int) -> None:
        """Commit ``counter`` (from ``peek``) as used."""
        self.value = counter
