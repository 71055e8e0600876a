"""The seeded fault layer: link faults on the bytes in each direction, and timed device events.

Link faults (``LinkFault``) act on the byte stream of one direction or both, on whole frames (the
bytes up to and including a 0x00 delimiter) or on single bytes:

=========== ================================================================================
kind        effect on a frame / on a byte
=========== ================================================================================
drop        the frame (with its delimiter) / the byte vanishes
duplicate   the frame / the byte is sent twice
corrupt     ``bits`` distinct bits of the frame (delimiter included) / of the byte flip
truncate    the frame keeps a random prefix of its body, then its delimiter (frames only)
delay       the line pauses ``delay_ms`` before the frame / byte; later bytes wait behind it
=========== ================================================================================

A fault fires either at a ``rate`` (probability per frame or byte, within ``start_s``..``stop_s``)
or on schedule: the first ``count`` frames or bytes sent at or after ``at_s``. Every random draw
comes from the ``numpy.random.Generator`` given to the injector, so a seed replays a run exactly.

Timed device events (``DeviceEvent``) happen at ``at_s``: unplug the cable, reboot, electrode off
or on, load change, stuck output, stop button. ``EventRunner`` schedules them on a clock.
"""

from __future__ import annotations

import enum
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from firmware_protocol import MAX_ENCODED_FRAME
from simulator.clock import seconds_to_us
from simulator.numbering import channel_name

__all__ = [
    "DeviceEvent",
    "Direction",
    "EventKind",
    "FaultInjector",
    "FaultKind",
    "FaultUnit",
    "LinkFault",
    "describe",
]

logger = logging.getLogger(__name__)


class Direction(enum.Enum):
    """Which way bytes travel."""

    TO_DEVICE = "to_device"
    TO_HOST = "to_host"


class FaultKind(enum.Enum):
    """What a link fault does."""

    DROP = "drop"
    DUPLICATE = "duplicate"
    CORRUPT = "corrupt"
    TRUNCATE = "truncate"
    DELAY = "delay"


class FaultUnit(enum.Enum):
    """What a link fault acts on."""

    FRAME = "frame"
    BYTE = "byte"


def _seconds(name: str, value: float | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")


@dataclass(frozen=True)
class LinkFault:
    """One link fault rule.

    Attributes:
        kind: what happens.
        direction: which direction it affects; None for both.
        unit: whole frames or single bytes.
        rate: probability per frame or byte (0..1); 0 means scheduled by ``at_s``.
        at_s: scheduled: the first ``count`` units sent at or after this time are hit.
        count: how many units a scheduled fault hits.
        start_s: a rate fault is active from this time...
        stop_s: ...until this time (None: to the end).
        bits: corrupt: how many distinct bits flip per frame or byte.
        delay_ms: delay: the pause before the unit.

    Raises:
        ValueError: an inconsistent or out-of-range setting (named in the message).
    """

    kind: FaultKind
    direction: Direction | None = None
    unit: FaultUnit = FaultUnit.FRAME
    rate: float = 0.0
    at_s: float | None = None
    count: int = 1
    start_s: float = 0.0
    stop_s: float | None = None
    bits: int = 1
    delay_ms: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.rate, int | float) or not 0 <= self.rate <= 1:
            raise ValueError(f"rate must be a probability 0..1, got {self.rate!r}")
        if (self.rate > 0) == (self.at_s is not None):
            raise ValueError("a link fault needs exactly one of rate > 0 or at_s")
        _seconds("at_s", self.at_s, optional=True)
        _seconds("start_s", self.start_s)
        _seconds("stop_s", self.stop_s, optional=True)
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise ValueError(f"count must be a whole number >= 1, got {self.count!r}")
        max_bits = 8 if self.unit is FaultUnit.BYTE else 8 * (MAX_ENCODED_FRAME + 1)
        if not isinstance(self.bits, int) or not 1 <= self.bits <= max_bits:
            raise ValueError(f"bits must be 1..{max_bits} for a {self.unit.value}, got {self.bits}")
        _seconds("delay_ms", self.delay_ms)
        if self.kind is FaultKind.DELAY and self.delay_ms <= 0:
            raise ValueError("a delay fault needs delay_ms > 0")
        if self.kind is FaultKind.TRUNCATE and self.unit is FaultUnit.BYTE:
            raise ValueError("truncate applies to frames only")

    def applies_to(self, direction: Direction) -> bool:
        """True if the rule affects bytes travelling in ``direction``."""
        return self.direction is None or self.direction is direction


class FaultInjector:
    """Applies the link fault rules of one direction to the bytes sent that way.

    With any frame rule present, bytes are held until their frame's delimiter has been sent (a
    frame is judged whole); at most one maximal frame is held, more without a delimiter passes
    through as garbage. Without rules, bytes pass straight through.

    Args:
        rules: all rules of the plan; those for other directions are ignored.
        direction: the direction this injector serves.
        rng: the source of every random decision (default: a generator seeded with 0).

    Attributes:
        counts: how many times each kind of fault has fired.
    """

    def __init__(
        self,
        rules: Sequence[LinkFault],
        direction: Direction,
        rng: np.random.Generator | None = None,
    ) -> None:
        mine = [r for r in rules if r.applies_to(direction)]
        self.direction = direction
        self._frame_rules = [r for r in mine if r.unit is FaultUnit.FRAME]
        self._byte_rules = [r for r in mine if r.unit is FaultUnit.BYTE]
        self._remaining = {id(r): r.count for r in mine if r.at_s is not None}
        self._rng = rng if rng is not None else np.random.default_rng(0)
        self._partial = bytearray()
        self.counts: Counter[FaultKind] = Counter()

    def process(self, data: bytes, now_us: int) -> list[tuple[int, bytes]]:
        """Apply the rules to ``data`` sent at ``now_us``.

        Returns:
            ``(gap_us, chunk)`` pairs to put on the wire in order, each after a pause of gap_us.
        """
        pieces: list[tuple[int, bytes]]
        if not self._frame_rules:
            pieces = [(0, bytes(data))]
        else:
            pieces = []
            self._partial += data
            while (end := self._partial.find(0)) >= 0:
                frame = bytes(self._partial[: end + 1])
                del self._partial[: end + 1]
                pieces.extend(self._frame_faults(frame, now_us))
            if len(self._partial) > MAX_ENCODED_FRAME:
                pieces.append((0, bytes(self._partial)))
                self._partial.clear()
        if self._byte_rules:
            pieces = [out for gap, chunk in pieces for out in self._byte_faults(gap, chunk, now_us)]
        return [(gap, chunk) for gap, chunk in pieces if chunk or gap]

    def _fired(self, rules: list[LinkFault], now_us: int) -> list[LinkFault]:
        fired = []
        for rule in rules:
            if rule.at_s is not None:
                key = id(rule)
                if self._remaining[key] > 0 and now_us >= seconds_to_us(rule.at_s):
                    self._remaining[key] -= 1
                    fired.append(rule)
            elif self._in_window(rule, now_us) and self._rng.random() < rule.rate:
                fired.append(rule)
        for rule in fired:
            self.counts[rule.kind] += 1
            logger.debug(
                "fault %s %s %s at %d us",
                rule.kind.value,
                rule.unit.value,
                self.direction.value,
                now_us,
            )
        return fired

    @staticmethod
    def _in_window(rule: LinkFault, now_us: int) -> bool:
        start_us = seconds_to_us(rule.start_s)
        return start_us <= now_us and (rule.stop_s is None or now_us < seconds_to_us(rule.stop_s))

    def _frame_faults(self, frame: bytes, now_us: int) -> list[tuple[int, bytes]]:
        fired = self._fired(self._frame_rules, now_us)
        kinds = {r.kind for r in fired}
        if FaultKind.DROP in kinds:
            return []
        if FaultKind.TRUNCATE in kinds and len(frame) > 1:
            frame = frame[: int(self._rng.integers(0, len(frame) - 1))] + b"\x00"
        for rule in fired:
            if rule.kind is FaultKind.CORRUPT:
                frame = self._flip(frame, rule.bits)
        gap_us = sum(round(r.delay_ms * 1000) for r in fired if r.kind is FaultKind.DELAY)
        copies = 2 if FaultKind.DUPLICATE in kinds else 1
        return [(gap_us, frame * copies)]

    def _byte_faults(self, gap_us: int, chunk: bytes, now_us: int) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        buf = bytearray()
        for byte in chunk:
            fired = self._fired(self._byte_rules, now_us)
            if not fired:
                buf.append(byte)
                continue
            kinds = {r.kind for r in fired}
            if FaultKind.DROP in kinds:
                continue
            value = bytes([byte])
            for rule in fired:
                if rule.kind is FaultKind.CORRUPT:
                    value = self._flip(value, rule.bits)
            delay_us = sum(round(r.delay_ms * 1000) for r in fired if r.kind is FaultKind.DELAY)
            if delay_us:
                out.append((gap_us, bytes(buf)))
                gap_us, buf = delay_us, bytearray()
            buf += value * (2 if FaultKind.DUPLICATE in kinds else 1)
        out.append((gap_us, bytes(buf)))
        return out

    def _flip(self, data: bytes, bits: int) -> bytes:
        positions = self._rng.choice(len(data) * 8, size=min(bits, len(data) * 8), replace=False)
        out = bytearray(data)
        for position in positions:
            out[int(position) // 8] ^= 1 << (int(position) % 8)
        return bytes(out)


class EventKind(enum.Enum):
    """A timed event on the device or its cable."""

    UNPLUG = "unplug"
    REBOOT = "reboot"
    ELECTRODE_OFF = "electrode_off"
    ELECTRODE_ON = "electrode_on"
    LOAD = "load"
    STUCK_OUTPUT = "stuck_output"
    STOP_BUTTON = "stop_button"

    @property
    def needs_channel(self) -> bool:
        """True for events that act on one channel."""
        return self in _CHANNEL_EVENTS


_CHANNEL_EVENTS = frozenset(
    {EventKind.ELECTRODE_OFF, EventKind.ELECTRODE_ON, EventKind.LOAD, EventKind.STUCK_OUTPUT}
)


@dataclass(frozen=True)
class DeviceEvent:
    """Something that happens to the device or its cable at a given time.

    Attributes:
        at_s: when, in seconds of simulated time.
        kind: what.
        channel: the channel's wire index (from 0: 0 is channel 1) for channel events, else
            None. Scenario files and options name channels from 1 (``simulator.numbering``).
        load: for ``LOAD``, the new load as ``simulator.hardware.loads.parse_load`` text (e.g.
            "10k").
        current_uA: for ``STUCK_OUTPUT``, the current the output sticks at.

    Raises:
        ValueError: a missing or superfluous field for the kind.
    """

    at_s: float
    kind: EventKind
    channel: int | None = None
    load: str | None = None
    current_uA: int = 0

    def __post_init__(self) -> None:
        _seconds("at_s", self.at_s)
        if self.kind.needs_channel != (self.channel is not None):
            need = "needs" if self.kind.needs_channel else "takes no"
            raise ValueError(f"event {self.kind.value} {need} channel")
        if self.channel is not None and (
            not isinstance(self.channel, int) or isinstance(self.channel, bool) or self.channel < 0
        ):
            raise ValueError(f"channel must be a whole number >= 0, got {self.channel!r}")
        if (self.kind is EventKind.LOAD) != (self.load is not None):
            raise ValueError("a load event, and only a load event, names a load")
        if not isinstance(self.current_uA, int) or self.current_uA < 0:
            raise ValueError(f"current_uA must be a whole number >= 0, got {self.current_uA!r}")
        if self.current_uA and self.kind is not EventKind.STUCK_OUTPUT:
            raise ValueError("only a stuck_output event takes current_uA")


def describe(event: DeviceEvent) -> str:
    """Return a one-line description of ``event`` for logs, naming channels from 1."""
    where = f" {channel_name(event.channel)}" if event.channel is not None else ""
    extra = f" {event.load}" if event.load else ""
    extra += f" {event.current_uA} uA" if event.kind is EventKind.STUCK_OUTPUT else ""
    return f"{event.kind.value}{where}{extra} at {event.at_s:g} s"
