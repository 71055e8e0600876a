"""What one channel delivers: the one domain type between a profile and the wire.

A :class:`Stimulation` is made by a profile step (``Step.stimulation()``), by a script for the
Stimulator API (``stim.program(1, Stimulation(...))``), read back from the device
(``stim.read_program``), held by the session plan and written into the record. It is plain
data in API units; the limit layers check it (``eacontrol.device.program.ProgramChecker`` for
the standard and device layers, ``eacontrol.profiles.check_profile`` for every layer of a
profile), and ``eacontrol.device.wire`` is the one place that converts it to and from the
SET_PROGRAM wire fields (PROTOCOL.md §3.9).

Names are the profile format's: ``interphase_gap_us``, ``symmetric_biphasic``. Half a of a
dense-disperse program is ``frequency_hz``/``phase_width_us`` (profiles spell it
``frequency_a_hz``/``phase_width_a_us``; the step model maps them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from eacontrol.safety.limits import DEFAULT_SESSION_s

__all__ = ["MODE_FIELDS", "PulseShape", "Stimulation", "StimulationMode"]


class StimulationMode(enum.StrEnum):
    """How a channel delivers pulses. Member names match ``firmware_protocol.codes.Mode``."""

    CONTINUOUS = "continuous"  # one frequency throughout
    DENSE_DISPERSE = "dense_disperse"  # half a, then half b, alternating (疏密波)
    INTERMITTENT = "intermittent"  # trains of on_s separated by off_s pauses (断续波)


class PulseShape(enum.StrEnum):
    """Pulse shape. Member names match ``firmware_protocol.codes.Shape``; both are biphasic and
    charge-balanced, because monophasic output does not exist in eacontrol."""

    SYMMETRIC_BIPHASIC = "symmetric_biphasic"
    ASYMMETRIC_BIPHASIC = "asymmetric_biphasic"


MODE_FIELDS: dict[StimulationMode, tuple[str, ...]] = {
    StimulationMode.CONTINUOUS: (),
    StimulationMode.DENSE_DISPERSE: (
        "frequency_b_hz",
        "phase_width_b_us",
        "dwell_a_s",
        "dwell_b_s",
    ),
    StimulationMode.INTERMITTENT: ("on_s", "off_s"),
}
"""The optional fields each mode requires; every other optional field must be None."""


@dataclass(frozen=True)
class Stimulation:
    """What one channel should deliver, in API units.

    Attributes:
        frequency_hz: pulse rate (continuous, intermittent) or the rate of half a
            (dense-disperse, e.g. 2 Hz of 2/100 Hz).
        phase_width_us: width of the primary phase at ``frequency_hz``.
        intensity_mA: peak current of the primary phase once ramped up.
        mode: continuous, dense_disperse or intermittent (a valid string is accepted).
        frequency_b_hz: dense-disperse only: the rate of half b (e.g. 100 Hz).
        phase_width_b_us: dense-disperse only: the phase width in half b.
        dwell_a_s / dwell_b_s: dense-disperse only: time in each half (3 s, Han).
        on_s / off_s: intermittent only: train and pause lengths.
        interphase_gap_us: gap between the two phases of a pulse.
        shape: symmetric_biphasic, or asymmetric_biphasic: charge-balanced, its recovery phase
            ``intensity / asym_ratio`` for ``width × asym_ratio`` (a valid string is accepted).
        asym_ratio: 1 for symmetric, 2.. for asymmetric.
        ramp_up_s: rise from 0 to the intensity at START (standard: 2-5 s).
        ramp_down_s: fall to 0 at a ramp-down STOP.
        max_run_s: the device's own shut-off for this run, whole seconds.
    """

    frequency_hz: float
    phase_width_us: float
    intensity_mA: float
    mode: StimulationMode = StimulationMode.CONTINUOUS
    frequency_b_hz: float | None = None
    phase_width_b_us: float | None = None
    dwell_a_s: float | None = None
    dwell_b_s: float | None = None
    on_s: float | None = None
    off_s: float | None = None
    interphase_gap_us: float = 0
    shape: PulseShape = PulseShape.SYMMETRIC_BIPHASIC
    asym_ratio: int = 1
    ramp_up_s: float = 3.0
    ramp_down_s: float = 2.0
    max_run_s: float = DEFAULT_SESSION_s

    def __post_init__(self) -> None:
        # Valid names become the enums; anything else stays as given, for the checker to refuse
        # with a ParameterError that names it (a script's typo is a user error, not a crash).
        for name, kind in (("mode", StimulationMode), ("shape", PulseShape)):
            value = getattr(self, name)
            if isinstance(value, str) and value in kind.__members__.values():
                object.__setattr__(self, name, kind(value))
