"""The last N frames of a connection, both directions, for error reports (STYLE.md 10).

A field report that says "it stopped" is hard to act on; one that carries the last 64 frames
with their times, counters and decoded contents usually explains itself. The log is a
bounded ring per connection, never a global.

It also counts the host's own **stale repeats**: byte-for-byte retransmissions of a session
frame whose counter is below one the host already sent in that session (an overtaken command,
PROTOCOL.md §3.4). The device cannot tell one whose original it never executed from a replay
and counts it in ``replay_count`` (§2.5 step 8), so the session's watch for foreign frames
(``eacontrol.session.intrusion``) discounts them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from firmware_protocol import Frame, FrameError, KeyKind

__all__ = ["DEFAULT_HISTORY", "FrameLog", "FrameRecord"]

DEFAULT_HISTORY = 64
"""Frames kept per connection."""

Direction = Literal["tx", "rx"]


@dataclass(frozen=True)
class FrameRecord:
    """One frame sent or received (or one rejected on receipt).

    Attributes:
        time_s: host clock time.
        direction: ``"tx"`` host → device, ``"rx"`` device → host.
        frame: the decoded frame (a sent frame is recorded as decoded from its own bytes).
        error: for a received frame that failed decoding, the error; ``frame`` is then None.
        retransmission: True when a sent frame repeats an earlier one byte for byte.
    """

    time_s: float
    direction: Direction
    frame: Frame | None = None
    error: FrameError | None = None
    retransmission: bool = False

    def __str__(self) -> str:
        head = f"{self.time_s:12.3f} s {self.direction}"
        if self.frame is None:
            return f"{head} rejected: {type(self.error).__name__}: {self.error}"
        h = self.frame.header
        again = " (retransmission)" if self.retransmission else ""
        return (
            f"{head} key={h.key} session={h.session_id} counter={h.counter} "
            f"ref_counter={h.ref_counter}{again} "
            f"{self.frame.message}"
        )


class FrameLog:
    """A bounded ring of ``FrameRecord``s, oldest first.

    Attributes:
        stale_repeats: the host's retransmissions, since the log was made, of a session frame
            whose counter is below the highest it had sent in that session (module docstring).
    """

    def __init__(self, size: int = DEFAULT_HISTORY) -> None:
        """Args:
        size: how many records to keep (at least 1).
        """
        self._records: deque[FrameRecord] = deque(maxlen=max(1, size))
        self.stale_repeats = 0
        self._highest_sent = (-1, -1)  # (session id, counter)

    def add(self, record: FrameRecord) -> None:
        """Append a record, dropping the oldest when full."""
        self._records.append(record)
        frame = record.frame
        if record.direction == "tx" and frame is not None and frame.header.key == KeyKind.SESSION:
            session_id, counter = frame.header.session_id, frame.header.counter
            session, highest = self._highest_sent
            if session != session_id:
                highest = -1  # a new session counts from its own start
            elif record.retransmission and counter < highest:
                self.stale_repeats += 1
            self._highest_sent = (session_id, max(highest, counter))

    def records(self) -> tuple[FrameRecord, ...]:
        """Return the records kept, oldest first."""
        return tuple(self._records)

    def format(self, last: int | None = None) -> str:
        """Return the last ``last`` records (all when None), one per line."""
        records = self.records()
        if last is not None:
            records = records[-last:] if last > 0 else ()
        return "\n".join(str(r) for r in records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[FrameRecord]:
        return iter(self.records())
