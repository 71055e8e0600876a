"""Where a session is: its state, the running step's timer, and a snapshot for displays."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from eacontrol.session.plan import PlannedStep

__all__ = ["Progress", "SessionState", "StepTimer"]


class SessionState(enum.Enum):
    """Where a session is."""

    READY = "ready"  # created, not run
    PREFLIGHT = "preflight"  # checking; nothing stimulated
    RUNNING = "running"  # a step is stimulating
    PAUSED = "paused"  # outputs at zero, the step's timer held
    STOPPING = "stopping"  # waiting for a confirmed stop
    ENDED = "ended"


class StepTimer:
    """A step's timer: session time since its START, less the time held by pauses.

    A pause holds the timer from the pause request to the resume request; the ramp-down that
    follows a pause is not counted, the re-ramp after a resume is.
    """

    def __init__(self, started_s: float) -> None:
        """Args:
        started_s: session time of the step's START.
        """
        self.started_s = started_s
        self.paused_s = 0.0
        self._held_since: float | None = None

    @property
    def held(self) -> bool:
        """True while paused."""
        return self._held_since is not None

    def hold(self, t_s: float) -> None:
        """Hold the timer from session time ``t_s``."""
        if self._held_since is None:
            self._held_since = t_s

    def release(self, t_s: float) -> None:
        """Let the timer run again from session time ``t_s``."""
        if self._held_since is not None:
            self.paused_s += max(0.0, t_s - self._held_since)
            self._held_since = None

    def elapsed(self, t_s: float) -> float:
        """The step's time at session time ``t_s``, pauses excluded."""
        held = 0.0 if self._held_since is None else max(0.0, t_s - self._held_since)
        return t_s - self.started_s - self.paused_s - held


@dataclass(frozen=True)
class Progress:
    """A snapshot of a session for a display.

    Attributes:
        t_s: session time.
        state: the session's state.
        step: the running step (None between steps and outside the run).
        step_elapsed_s: the step's timer (held while paused).
        targets: the live target of each channel of the running step, mA.
        held: the channels held at zero by a fault of their load, each with the fault in words
            (re-clip, then ``Session.resume_channel``).
        marked: the treatment intensity the practitioner marked on each channel in the step.
        thresholds: the thresholds marked on each channel in the session
            (``sensory_threshold_mA``, ``motor_threshold_mA``).
    """

    t_s: float
    state: SessionState
    step: PlannedStep | None
    step_elapsed_s: float
    targets: dict[int, float]
    held: Mapping[int, str] = field(default_factory=dict)
    marked: Mapping[int, float] = field(default_factory=dict)
    thresholds: Mapping[int, Mapping[str, float]] = field(default_factory=dict)

    @property
    def step_remaining_s(self) -> float | None:
        """Time left in the running step, its final ramp-down included; None without one."""
        if self.step is None:
            return None
        return max(0.0, self.step.duration_s - self.step_elapsed_s)
