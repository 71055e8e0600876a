"""What the host commanded, checked against every STATUS (issue 14, item 2).

The Stimulator tells ``OutputWatch`` each command it sends (START, SET_INTENSITY, STOP) and
gives it every STATUS the link accepts, with the host counter of the request it answers. A
STATUS that shows more output than the host commanded — a channel active that the host did not
start, a live target the host never sent, a set value above its ramp or rising faster than
commanded, a frequency the program does not have, current measured where none may flow, an
incomplete record or an output-active flag no channel explains — is a **mismatch**: something
else commands the device (a foreign command, a second host) or its output stage does not follow
(a stuck stage). The Stimulator then cuts every output and raises ``DeviceMismatch``.

Less output than commanded (a channel the device stopped on its own: its shut-off, a latched
fault, its stop button) is not a mismatch: the fault path reports it.

Timing: a command's effect shows in a STATUS only once the device has executed it. Until its ACK
has come back, a STATUS may show the state before or after it; a STATUS answering a request
sent after the ACK must show it (``certain_after``). A channel's expectations are therefore a
short history, and a record fits if any expectation not yet superseded for its request fits.

Tolerances (design values):

- live target: exact. The device stores the host's integer µA and reports it back.
- set value: at most the highest value the commanded ramps reach, plus ``SET_TOLERANCE_uA``
  (2 µA: the device rounds a ramp to whole µA, and the host's bound is rounded once more).
- rise between two STATUS: at most the commanded slew times the device-time interval plus
  ``RATE_SLACK_s`` (11 ms: one 10 ms lease-check period of the reference device, PROTOCOL.md
  §3.5, in case a device updates its ramp only at checks, plus 1 ms of ``uptime_ms``
  resolution), plus ``SET_TOLERANCE_uA``.
- measured current: at most the set bound plus the larger of ``MEASURED_ABS_TOLERANCE_uA``
  (50 µA) and ``MEASURED_REL_TOLERANCE`` (5 %) — wider than the ±2 % accuracy typical of
  constant-current output stages, far below the 0.5 mA operator step — and below 1 µA on a
  channel that must be off. A current anomaly must show in two STATUS at least
  ``MEASURED_CONFIRM_s`` (10 ms, the device's own check period) apart: the device's own
  STUCK_OUTPUT check gets its chance first, and one noisy sample never stops a session.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from eacontrol.device.stopping import ZERO_CURRENT_uA
from eacontrol.errors import DeviceError, DeviceMismatch
from firmware_protocol import ChannelState, DeviceFlag, SetProgram, Status
from firmware_protocol import ChannelStatus as Record

__all__ = [
    "MEASURED_REL_TOLERANCE",
    "MEASURED_ABS_TOLERANCE_uA",
    "MEASURED_CONFIRM_s",
    "Mismatch",
    "OutputWatch",
    "RATE_SLACK_s",
    "SET_TOLERANCE_uA",
]

SET_TOLERANCE_uA = 2
RATE_SLACK_s = 0.011
MEASURED_ABS_TOLERANCE_uA = 50
MEASURED_REL_TOLERANCE = 0.05
MEASURED_CONFIRM_s = 0.010
_HISTORY = 8


@dataclass(frozen=True)
class Mismatch:
    """A STATUS that shows something the host did not command.

    Attributes:
        channel: the channel number (from 1), or None for the whole device.
        field: what differs (``target_uA``, ``state``, ``set_uA``, ``measured_uA``, ...).
        expected: what the host commanded, in words.
        reported: what the device reported.
    """

    channel: int | None
    field: str
    expected: str
    reported: str

    def error(self) -> DeviceMismatch:
        """The error the Stimulator raises once it has cut every output."""
        text = f"{self}: every output was cut and confirmed off"
        return DeviceMismatch(text, self.channel, self.field, self.expected, self.reported)

    def __str__(self) -> str:
        where = "the device" if self.channel is None else f"channel {self.channel}"
        return (
            f"{where} reports {self.field} {self.reported}, but the host commanded {self.expected}"
        )


@dataclass(frozen=True)
class _Expect:
    on: bool = False  # started: RAMPING or RUNNING
    stopping: bool = False  # a STOP was sent: falling to zero
    target_uA: int = 0
    hi_uA: int = 0  # the highest set value the commanded ramps reach
    slew_uA_per_s: int = 0
    freqs_cHz: frozenset[int] = frozenset()
    certain_after: int | None = None  # STATUS answering a later request must show it


def _fit(e: _Expect, c: Record) -> tuple[str, str, str] | None:
    """Why record ``c`` does not fit expectation ``e`` (field, expected, reported), or None."""
    active = c.state.output_active
    if c.state is ChannelState.FAULT:
        return None  # the device stopped it: the fault path reports it
    if not (e.on or e.stopping):
        if active:
            return ("state", "the channel off", c.state.name)
        return None
    running = e.on and active and c.state is not ChannelState.STOPPING
    if running and c.target_uA != e.target_uA:
        return ("target_uA", f"{e.target_uA} uA", f"{c.target_uA} uA")
    if c.set_uA > e.hi_uA + SET_TOLERANCE_uA:
        return ("set_uA", f"at most {e.hi_uA} uA", f"{c.set_uA} uA")
    if not running:
        return None  # falling to zero, or stopped by the device: less output, not a hazard
    if c.freq_cHz and c.freq_cHz not in e.freqs_cHz:
        freqs = "/".join(str(f) for f in sorted(e.freqs_cHz))
        return ("freq_cHz", f"{freqs} cHz", f"{c.freq_cHz} cHz")
    return None


def _record_key(c: Record) -> tuple[object, ...]:
    """What the checks of one channel read of its record."""
    return (c.state, c.target_uA, c.set_uA, c.measured_uA, c.freq_cHz)


def _same(a: list[_Expect], b: list[_Expect]) -> bool:
    """Whether two candidate lists hold the very same expectations (each is immutable, and
    any change to a channel's history makes a new one)."""
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _current_bound_uA(candidates: list[_Expect]) -> int:
    """The largest current that may be measured under any of ``candidates``."""
    hi = max((e.hi_uA for e in candidates if e.on or e.stopping), default=None)
    if hi is None:
        return ZERO_CURRENT_uA - 1
    return hi + max(MEASURED_ABS_TOLERANCE_uA, math.ceil(hi * MEASURED_REL_TOLERANCE))


class OutputWatch:
    """The host's expectations of every channel, and the check of each STATUS against them."""

    def __init__(self, channel_count: int, boot_id: int) -> None:
        """Args:
        channel_count: the device's channels (HELLO_ACK).
        boot_id: the boot the session runs on (another boot ends the session elsewhere).
        """
        self._count = channel_count
        self._boot_id = boot_id
        self._history = [[_Expect(certain_after=0)] for _ in range(channel_count)]
        # index -> (uptime_ms, set_uA, the commanded slew bound then)
        self._previous: dict[int, tuple[int, int, int]] = {}
        self._suspect: dict[int, int] = {}  # index -> uptime_ms of a first current anomaly
        # index -> (candidates, record key, slew bound) of the channel's last check, when it
        # passed: the same record under the same expectations passes again (``_channel``).
        self._passed: dict[int, tuple[list[_Expect], tuple[object, ...], int]] = {}
        self.mismatch: Mismatch | None = None

    # --- what the host commands ---------------------------------------------------------------

    def _push(self, index: int, expect: _Expect) -> None:
        history = self._history[index]
        history.append(expect)
        del history[:-_HISTORY]

    def _latest(self, index: int) -> _Expect:
        return self._history[index][-1]

    def start(self, index: int, program: SetProgram) -> None:
        """A START of ``program`` on wire channel ``index`` is about to be sent."""
        freqs = frozenset(f for f in (program.freq_a_cHz, program.freq_b_cHz) if f)
        slew = math.ceil(program.target_uA * 1000 / max(1, program.ramp_up_ms))
        self._push(index, _Expect(True, False, program.target_uA, program.target_uA, slew, freqs))

    def intensity(self, index: int, target_uA: int, slew_uA_per_s: int) -> None:
        """A SET_INTENSITY is about to be sent."""
        last = self._latest(index)
        hi = max(last.hi_uA, target_uA)
        self._push(
            index,
            replace(
                last, target_uA=target_uA, hi_uA=hi, slew_uA_per_s=slew_uA_per_s, certain_after=None
            ),
        )

    def send(
        self, indices: list[int], send: Callable[[], object], last_counter: Callable[[], int]
    ) -> None:
        """Send the command whose effect was just noted for ``indices``; note the outcome.

        ``send`` raises ``DeviceError`` when the device refused it (it had no effect), and
        ``last_counter`` is the link's latest counter once the ACK is in.
        """
        try:
            send()
        except DeviceError:
            self.refused(indices)
            raise
        self.acknowledged(indices, last_counter())

    def stop(self, indices: list[int]) -> None:
        """A STOP of the channels is about to be sent."""
        for i in indices:
            self._push(i, replace(self._latest(i), on=False, stopping=True, certain_after=None))

    def stopped(self, indices: list[int], certain_after: int) -> None:
        """The STOP of the channels is confirmed: they must stay off."""
        for i in indices:
            self._push(i, _Expect(certain_after=certain_after))

    def acknowledged(self, indices: list[int], certain_after: int) -> None:
        """The latest command of the channels was acknowledged; later requests must see it."""
        for i in indices:
            self._history[i][-1] = replace(self._latest(i), certain_after=certain_after)

    def refused(self, indices: list[int]) -> None:
        """The latest command of the channels was refused: it has no effect."""
        for i in indices:
            if len(self._history[i]) > 1:
                self._history[i].pop()

    # --- what the device reports ---------------------------------------------------------------

    def check(self, status: Status, ref_counter: int) -> None:
        """Check a STATUS answering request ``ref_counter``; keep the first mismatch found."""
        if self.mismatch is not None or status.boot_id != self._boot_id:
            return
        self.mismatch = self._device_level(status) or next(
            (
                m
                for n, c in enumerate(status.channels)
                if (m := self._channel(n, c, status, ref_counter))
            ),
            None,
        )

    def _device_level(self, status: Status) -> Mismatch | None:
        if len(status.channels) != self._count:
            return Mismatch(
                None, "channel records", f"all {self._count}", str(len(status.channels))
            )
        any_active = any(c.state.output_active for c in status.channels)
        if bool(status.flags & DeviceFlag.OUTPUT_ACTIVE) != any_active:
            flag = "set" if status.flags & DeviceFlag.OUTPUT_ACTIVE else "clear"
            return Mismatch(
                None, "flag OUTPUT_ACTIVE", "a flag that agrees with the channels", flag
            )
        return None

    def _candidates(self, index: int, ref_counter: int) -> list[_Expect]:
        history = self._history[index]
        for i in range(len(history) - 1, -1, -1):
            after = history[i].certain_after
            if after is not None and (after == 0 or ref_counter > after):
                return history[i:]
        return history

    def _channel(self, index: int, c: Record, status: Status, ref_counter: int) -> Mismatch | None:
        candidates = self._candidates(index, ref_counter)
        key = _record_key(c)
        passed = self._passed.get(index)
        if passed is not None and passed[1] == key and _same(passed[0], candidates):
            # The record the channel's last check passed, under the same expectations: every
            # check gives the same answer (the set value did not rise, the measured current is
            # within the same bound, and no current anomaly is pending), so only the time of
            # this record is noted for the next rise check.
            set_uA = c.set_uA if c.state.output_active else 0
            self._previous[index] = (status.uptime_ms, set_uA, passed[2])
            return None
        reasons = [_fit(e, c) for e in candidates]
        if all(r is not None for r in reasons):
            field, expected, reported = next(r for r in reversed(reasons) if r is not None)
            return Mismatch(index + 1, field, expected, reported)
        certain = candidates[0] if len(candidates) == 1 else None
        if certain is not None and certain.on and c.target_uA == certain.target_uA:
            # Settled on its target: the set value only moves toward it from here.
            hi_uA = max(certain.target_uA, c.set_uA)
            if hi_uA != certain.hi_uA:
                self._history[index][-1] = replace(certain, hi_uA=hi_uA)
        mismatch = self._rate(index, c, status, candidates) or self._current(
            index, c, status, candidates
        )
        if mismatch is None and index not in self._suspect:
            self._passed[index] = (candidates, key, self._previous[index][2])
        else:
            self._passed.pop(index, None)
        return mismatch

    def _rate(
        self, index: int, c: Record, status: Status, candidates: list[_Expect]
    ) -> Mismatch | None:
        previous = self._previous.get(index)
        slew = max((e.slew_uA_per_s for e in candidates), default=0)
        self._previous[index] = (status.uptime_ms, c.set_uA if c.state.output_active else 0, slew)
        if previous is None or not c.state.output_active:
            return None
        # Between the two, the ramp commanded at either time may have run.
        dt_s = max(0, status.uptime_ms - previous[0]) / 1000
        slew = max(slew, previous[2])
        allowed = slew * (dt_s + RATE_SLACK_s) + SET_TOLERANCE_uA
        rise = c.set_uA - previous[1]
        if rise > allowed:
            return Mismatch(
                index + 1,
                "set_uA rise",
                f"at most {allowed:.0f} uA in {dt_s:.3f} s ({slew} uA/s)",
                f"{rise} uA",
            )
        return None

    def _current(
        self, index: int, c: Record, status: Status, candidates: list[_Expect]
    ) -> Mismatch | None:
        bound = _current_bound_uA(candidates)
        if c.state is ChannelState.FAULT or c.measured_uA <= bound:
            self._suspect.pop(index, None)
            return None
        first = self._suspect.setdefault(index, status.uptime_ms)
        if (status.uptime_ms - first) / 1000 < MEASURED_CONFIRM_s:
            return None
        return Mismatch(index + 1, "measured_uA", f"at most {bound} uA", f"{c.measured_uA} uA")
