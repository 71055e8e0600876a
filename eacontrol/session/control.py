"""Live control: the operator's intensity changes, checked before anything is sent.

An operator increase moves a channel's target up by at most 0.5 mA, at least 1 s after the
previous increase of that channel (design values, docs/clinical-sources.md: the operator raises
in half-milliamperes, slowly; ``eacontrol.safety.limits.STANDARD``), and never
above the step's effective ceiling (the lowest of the profile, device, site and patient layers).
A decrease is never throttled: any amount, at any time, straight to zero in one action if the
practitioner wants (issue 14 item 6: lowering is the safe direction and must never wait); it does
not delay the next increase either. Nothing goes below zero. A request that breaks a rule is
refused with ``ParameterError`` naming the layer and its source; nothing is clamped. The device
then slews to the new target: up at 0.5 mA/s, down at its fastest slew
(:attr:`Request.lowers`).

A change is checked and becomes the channel's target when it is requested; the request (like
pause, resume, stop and emergency stop) is queued and carried out by the session loop right
after the call that made it returns (``on_tick`` or a subscriber), in the order made; an
emergency stop jumps the queue.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from eacontrol.errors import Layer, ParameterError, SessionError
from eacontrol.profiles.document import microamp_hint
from eacontrol.safety.engine import check_number, to_wire
from eacontrol.safety.limits import SOURCES, STANDARD, StandardLimits
from eacontrol.session.plan import Ceiling, PlannedStep
from eacontrol.session.thresholds import Thresholds
from firmware_protocol import units

__all__ = ["Intent", "LiveControl", "Request"]


class Intent(enum.Enum):
    """What the operator asked for."""

    SET_INTENSITY = "set_intensity"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    EMERGENCY_STOP = "emergency_stop"
    RESUME_CHANNEL = "resume_channel"  # a channel held by a channel-local fault, re-clipped
    MARK_TREATMENT = "mark_treatment"  # the channel's level now is its treatment intensity


@dataclass(frozen=True)
class Request:
    """One queued operator request.

    Attributes:
        intent: what to do.
        t_s: session time of the request.
        channel: the channel (SET_INTENSITY, RESUME_CHANNEL, MARK_TREATMENT).
        intensity_mA: the new target (SET_INTENSITY); the level marked (MARK_TREATMENT).
        from_mA: the target it replaces (SET_INTENSITY only).
    """

    intent: Intent
    t_s: float
    channel: int | None = None
    intensity_mA: float | None = None
    from_mA: float | None = None

    @property
    def lowers(self) -> bool:
        """A SET_INTENSITY that lowers the target: carried out at the device's fastest slew."""
        return (
            self.intensity_mA is not None
            and self.from_mA is not None
            and self.intensity_mA < self.from_mA
        )


class LiveControl:
    """The live targets of the running step, the operator-step rule, the request queue and
    the thresholds marked in the session (:attr:`thresholds`)."""

    def __init__(self, limits: StandardLimits = STANDARD) -> None:
        """Args:
        limits: the standard layer (operator step and interval).
        """
        self._max_step_mA = limits.max_operator_step_mA
        self._min_interval_s = limits.min_operator_step_interval_s
        self._targets: dict[int, float] = {}
        self._ceilings: dict[int, Ceiling] = {}
        self._last_increase: dict[int, float] = {}
        self._held: dict[int, str] = {}
        self._queue: deque[Request] = deque()
        self.thresholds = Thresholds()

    def begin_step(self, step: PlannedStep) -> None:
        """Take the step's start levels (the prescription, or a titration's start) and ceilings;
        forget the previous step's. A channel held by a fault stays held, at zero."""
        self._targets = {
            c.channel: 0.0 if c.channel in self._held else c.start_mA for c in step.channels
        }
        self._ceilings = {c.channel: c.ceiling for c in step.channels}
        self._last_increase = {}

    @property
    def held(self) -> dict[int, str]:
        """The channels held at zero by a channel-local fault, each with the fault in words."""
        return dict(self._held)

    def hold(self, channel: int, why: str) -> None:
        """Hold ``channel`` at zero (its output was stopped by a fault) until :meth:`release`;
        its raises are refused meanwhile."""
        self._held[channel] = why
        if channel in self._targets:
            self._targets[channel] = 0.0

    def release(self, channel: int, start_mA: float) -> None:
        """``channel`` runs again (its fault cleared, STARTed from zero towards ``start_mA``)."""
        self._held.pop(channel, None)
        self._targets[channel] = start_mA

    def cap(self, channel: int, ceiling: Ceiling) -> None:
        """Lower ``channel``'s ceiling for the rest of the step (a sham switched off), and its
        target with it."""
        self._ceilings[channel] = ceiling
        if channel in self._targets:
            self._targets[channel] = min(self._targets[channel], ceiling.value_mA)

    def end_step(self) -> None:
        """No step is running: intensity requests are refused until the next one starts."""
        self._targets = {}
        self._ceilings = {}

    @property
    def targets(self) -> dict[int, float]:
        """The live target of each channel of the running step, mA."""
        return dict(self._targets)

    def ceiling(self, channel: int) -> Ceiling:
        """The running step's effective ceiling for ``channel``.

        Raises:
            ParameterError: the running step does not drive the channel.
        """
        self._require(channel)
        return self._ceilings[channel]

    def increase_wait_s(self, channel: int, t_s: float) -> float:
        """How long from session time ``t_s`` until ``channel`` may be raised again (0 when it
        may be raised now): the operator step interval after its previous increase. A decrease
        never waits.

        Raises:
            ParameterError: the running step does not drive the channel.
        """
        last = self._last_increase.get(self._require(channel))
        if last is None:
            return 0.0
        return max(self._min_interval_s - (t_s - last), 0.0)

    def _require(self, channel: object) -> int:
        if (
            isinstance(channel, bool)
            or not isinstance(channel, int)
            or channel not in self._targets
        ):
            running = sorted(self._targets) or "none"
            raise ParameterError(
                "channel", channel, f"a channel of the running step ({running})", Layer.PROFILE
            )
        return channel

    def change(self, channel: int, intensity_mA: float, t_s: float) -> float:
        """Check an operator change of ``channel`` to ``intensity_mA`` at session time ``t_s``
        and, if it keeps every rule, make it the channel's target.

        Returns:
            The previous target, mA.

        Raises:
            SessionError: the channel is held at zero by a fault.
            ParameterError: not a channel of the running step; not a finite number; below zero;
                above the effective ceiling (its layer); an increase of more than 0.5 mA or
                less than 1 s after the channel's previous increase (layer standard, design
                values). A decrease is refused only for those first four reasons.
        """
        channel = self._require(channel)
        if channel in self._held:
            raise SessionError(
                f"channel {channel} is held at zero by a fault ({self._held[channel]}): re-clip "
                "its lead, then resume the channel"
            )
        value = check_number("intensity_mA", intensity_mA, "mA")
        if value < 0:
            raise ParameterError("intensity_mA", intensity_mA, ">= 0 mA", Layer.SCHEMA)
        ceiling = self._ceilings[channel]
        if value > ceiling.value_mA:
            raise ParameterError(
                "intensity_mA",
                intensity_mA,
                f"<= {ceiling.value_mA:g} mA on channel {channel} in this step"
                + microamp_hint(value),
                ceiling.layer,
                ceiling.source,
            )
        uA = to_wire("intensity_mA", value, units.mA_to_uA)  # refuses finer than 1 µA
        previous = self._targets[channel]
        target = units.uA_to_mA(uA)
        if target > previous:
            self._check_increase(channel, intensity_mA, target - previous, t_s)
            self._last_increase[channel] = t_s
        self._targets[channel] = target
        return previous

    def _check_increase(self, channel: int, intensity_mA: float, delta: float, t_s: float) -> None:
        """The operator-step rule, which only increases must keep."""
        previous = self._targets[channel]
        if delta > self._max_step_mA * (1 + 1e-9):
            raise ParameterError(
                "intensity_mA",
                intensity_mA,
                f"an increase of at most {self._max_step_mA:g} mA from {previous:g} mA "
                f"on channel {channel} (operator step; decreases are not limited)",
                Layer.STANDARD,
                SOURCES["max_operator_step_mA"],
            )
        last = self._last_increase.get(channel)
        if last is not None and t_s - last < self._min_interval_s:
            raise ParameterError(
                "intensity_mA",
                intensity_mA,
                f"an increase at least {self._min_interval_s:g} s after the previous one on "
                f"channel {channel} ({t_s - last:.2f} s ago; operator step interval; decreases "
                "are not limited)",
                Layer.STANDARD,
                SOURCES["min_operator_step_interval_s"],
            )

    # --- the queue -----------------------------------------------------------------------------

    def request(self, request: Request) -> None:
        """Queue a request (an emergency stop goes first)."""
        if request.intent is Intent.EMERGENCY_STOP:
            self._queue.appendleft(request)
        else:
            self._queue.append(request)

    def pending(self, intent: Intent) -> bool:
        """Whether a request of this kind is queued."""
        return any(r.intent is intent for r in self._queue)

    def drain(self) -> Iterator[Request]:
        """Take the queued requests, in order (requests queued meanwhile are taken too)."""
        while self._queue:
            yield self._queue.popleft()
