"""``tag_cost``: what protocol major 2's HMAC tag costs per round trip and per session, against
the same stack in the same run with the tag's computation taken out.

The baseline keeps every frame exactly as it is on the wire (the 16 tag bytes included), but
``firmware_protocol.frame``'s ``tag`` returns 16 zero bytes and ``tag_matches`` compares with
them: host and device both use those two functions, so the stack runs unchanged with no
HMAC-SHA-256 computed. The difference is the tag's computation; its wire time (16 bytes a frame
each way, which virtual time does not charge to the wall clock) is computed in ``details``.

- **Round trip**: ``Stimulator.status()`` (a tagged GET_STATUS → 6-channel STATUS, four HMAC
  operations: tag and verify on each side) on ``sim://?channels=6`` in virtual time, ``count``
  calls per block, tagged and untagged blocks alternating.
- **Session**: the ``session_speed`` session (six channels of Han's 2/100 Hz through the session
  runner, recorded) of ``duration_s``, tagged and untagged runs alternating with the same seeds.

The figure is the session's wall time per heartbeat period with tags; its limit the same
without; the ratio is what the tag multiplies a session's cost by.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from unittest import mock

import serial

import simulator  # noqa: F401  (importing it registers sim:// with pyserial)
from benchmarks.figure import Figure, median
from benchmarks.session_speed import one_session
from eacontrol.device import connect
from eacontrol.link import Transport
from firmware_protocol import TAG_SIZE, frame

__all__ = ["WIRE_BAUD", "measure", "untagged"]

WIRE_BAUD = 115200
"""The line rate a UART bridge would run at (PROTOCOL.md; ``eacontrol.link.transport``)."""

_NO_TAG = bytes(TAG_SIZE)


def _constant_tag(key: bytes, data: bytes) -> bytes:
    return _NO_TAG


def _constant_matches(key: bytes, data: bytes, received: bytes) -> bool:
    return received == _NO_TAG


@contextmanager
def untagged() -> Iterator[None]:
    """Within this block no HMAC is computed: every tag is 16 zero bytes and verifies."""
    with (
        mock.patch.object(frame, "tag", _constant_tag),
        mock.patch.object(frame, "tag_matches", _constant_matches),
    ):
        yield


def _maybe_untagged(tagged: bool) -> AbstractContextManager[None]:
    return nullcontext() if tagged else untagged()


def _round_trips_us(count: int, tagged: bool) -> list[float]:
    """Wall microseconds of ``count`` ``Stimulator.status()`` calls in one fresh session."""
    url = "sim://?channels=6&seed=1"
    times: list[float] = []
    with _maybe_untagged(tagged):
        port = serial.serial_for_url(url, timeout=0)
        with connect(transport=Transport(port, url)) as stim:
            stim.status()  # warm-up
            for _ in range(count):
                start = time.perf_counter()
                stim.status()
                times.append((time.perf_counter() - start) * 1e6)
    return times


def _session(duration_s: float, seed: int, tagged: bool) -> tuple[float, float]:
    """(wall µs per heartbeat period, heartbeat periods per simulated second) of one session."""
    with _maybe_untagged(tagged):
        wall_s, simulated_s, outcome, periods = one_session(duration_s, seed)
    if outcome != "completed":
        raise RuntimeError(f"the {'tagged' if tagged else 'untagged'} session ended {outcome}")
    return wall_s / periods * 1e6, periods / simulated_s


def measure(
    *, repeats: int = 3, count: int = 200, blocks: int = 4, duration_s: float = 300.0
) -> Figure:
    """The tag's cost: ``blocks`` × ``count`` round trips and ``repeats`` sessions of
    ``duration_s`` each way, alternating."""
    trips: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(blocks):
        for tagged in (True, False):
            trips[tagged] += _round_trips_us(count, tagged)
    periods: dict[bool, list[float]] = {True: [], False: []}
    rate = 0.0
    for seed in range(1, repeats + 1):
        for tagged in (True, False):
            us_per_period, rate = _session(duration_s, seed, tagged)
            periods[tagged].append(us_per_period)
    trip_tagged, trip_plain = median(trips[True]), median(trips[False])
    value, limit = median(periods[True]), median(periods[False])
    wire_s_per_trip = 2 * TAG_SIZE * 10 / WIRE_BAUD
    return Figure(
        name="tag_cost",
        value=value,
        unit="us wall per heartbeat period",
        limit=limit,
        limit_is="the same session with the tag's HMAC taken out",
        ratio=value / limit,
        goal="none set (reported: what authentication costs)",
        met=None,
        samples=periods[True],
        details={
            "round_trip_tagged_us": trip_tagged,
            "round_trip_untagged_us": trip_plain,
            "round_trip_ratio": trip_tagged / trip_plain,
            "tag_us_per_round_trip": trip_tagged - trip_plain,
            "session_untagged_samples_us": periods[False],
            "session_step_duration_s": duration_s,
            "tag_us_per_heartbeat_period": value - limit,
            "tag_s_per_30min_session": (value - limit) * rate * 1800 / 1e6,
            "tag_wire_bytes_per_round_trip": 2 * TAG_SIZE,
            "tag_wire_ms_per_round_trip_at_115200": wire_s_per_trip * 1e3,
        },
    )
