"""Pulse timing the host checks before sending: the dense-disperse boundaries (issue 14 item 4).

At each switch of a dense-disperse program's halves the last pulse of the dwell that ends must
have ended, plus ``MIN_PULSE_GAP_us``, when the first pulse of the next dwell begins at that
dwell's start (PROTOCOL.md §3.9, §8, protocol 1.1). The pulse timing is defined on the wire
integers (``floor(k·10^8 / freq_cHz)`` µs from the dwell's start), so this check works on them
too, with the same integer arithmetic as the device; the device applies its own copy of the
rule (``simulator.firmware.checks``), as the second, independent layer. A property test
(``tests/profiles/test_i14_boundaries.py``) checks that the two agree on random programs.

Why refuse rather than delay the new half's first pulse: the timing stays one closed formula
that host, device, dose counts and golden vectors share, and a refusal names the dwell and one
that works, while a silent shift would change the delivered pattern without telling anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from eacontrol.errors import Layer, ParameterError
from firmware_protocol import Mode, SetProgram
from firmware_protocol.units import ms_to_s

__all__ = [
    "BOUNDARY_SOURCE",
    "Boundary",
    "MIN_PULSE_GAP_us",
    "boundary_shortfall",
    "check_boundaries",
    "program_boundaries",
    "pulse_length_us",
]

MIN_PULSE_GAP_us = 0
"""Least time from the end of one pulse to the next onset, at a switch of halves as within a
train (PROTOCOL.md §3.9): 0 µs, the minimum the pulse-fits-its-period rule keeps within a train,
so a boundary is held to the same minimum as any other pair of pulses. Design value."""

BOUNDARY_SOURCE = "PROTOCOL.md §3.9 dense-disperse boundaries: no pulse overlaps the next half's"
"""What a boundary refusal cites."""

_PERIOD_US_PER_CHZ = 100_000_000  # 10^8: one pulse period in µs is 10^8 / freq_cHz
_US_PER_MS = 1000
_MIN_DWELL_MS = 100  # PROTOCOL.md §3.9: dwells are 100..60000 ms


@dataclass(frozen=True)
class Boundary:
    """A switch of halves at which the last pulse of the ending dwell ends too late.

    Attributes:
        half: the half whose dwell ends (``"a"``: the switch a → b; ``"b"``: b → a).
        dwell_ms: that dwell.
        last_onset_us: the last pulse's onset, from the dwell's start.
        pulse_us: the length of a whole pulse of that half (both phases and the gap).
        clearance_us: time from that pulse's end to the next dwell's first pulse (negative:
            they overlap).
        longest_dwell_ms: the longest shorter dwell that keeps the gap, or 0 if none of at
            least 100 ms does.
    """

    half: str
    dwell_ms: int
    last_onset_us: int
    pulse_us: int
    clearance_us: int
    longest_dwell_ms: int

    @property
    def parameter(self) -> str:
        """The API parameter of the dwell (``dwell_a_s``)."""
        return f"dwell_{self.half}_s"

    @property
    def allowed(self) -> str:
        """What would be accepted, in API units."""
        other = "b" if self.half == "a" else "a"
        shorter = (
            f"<= {ms_to_s(self.longest_dwell_ms):g} s, or "
            if self.longest_dwell_ms
            else "no shorter dwell works: "
        )
        return (
            f"{shorter}a dwell whose last pulse ends at least {MIN_PULSE_GAP_us} us before the "
            f"first pulse of half {other} (the last pulse of half {self.half} starts at "
            f"{self.last_onset_us} us, lasts {self.pulse_us} us, and would leave "
            f"{self.clearance_us} us)"
        )


def pulse_length_us(phase_us: int, interphase_us: int, asym_ratio: int) -> int:
    """A whole pulse: first phase, interphase gap, second phase (width × ratio; 1 symmetric)."""
    return phase_us * (1 + asym_ratio) + interphase_us


def _last_onset_us(freq_cHz: int, dwell_ms: int) -> int:
    dwell_us = dwell_ms * _US_PER_MS
    last_k = -(-dwell_us * freq_cHz // _PERIOD_US_PER_CHZ) - 1  # pulses in the dwell, minus one
    return last_k * _PERIOD_US_PER_CHZ // freq_cHz


def _clearance_us(freq_cHz: int, dwell_ms: int, pulse_us: int) -> int:
    return dwell_ms * _US_PER_MS - _last_onset_us(freq_cHz, dwell_ms) - pulse_us


def boundary_shortfall(half: str, freq_cHz: int, dwell_ms: int, pulse_us: int) -> Boundary | None:
    """The boundary at the end of a dwell of ``half``, if its last pulse ends too late.

    Args:
        half: ``"a"`` or ``"b"``, the half whose dwell ends.
        freq_cHz: that half's frequency (wire units, > 0).
        dwell_ms: its dwell (wire units, > 0).
        pulse_us: its whole pulse length (:func:`pulse_length_us`).
    """
    clearance_us = _clearance_us(freq_cHz, dwell_ms, pulse_us)
    if clearance_us >= MIN_PULSE_GAP_us:
        return None
    longest_ms = next(
        (
            d
            for d in range(dwell_ms - 1, _MIN_DWELL_MS - 1, -1)
            if _clearance_us(freq_cHz, d, pulse_us) >= MIN_PULSE_GAP_us
        ),
        0,
    )
    onset_us = _last_onset_us(freq_cHz, dwell_ms)
    return Boundary(half, dwell_ms, onset_us, pulse_us, clearance_us, longest_ms)


def program_boundaries(program: SetProgram) -> list[Boundary]:
    """Every boundary of a dense-disperse program that breaks the rule (a → b first); none for
    the other modes or for timing fields the device would refuse anyway (a 0 frequency)."""
    if program.mode != Mode.DENSE_DISPERSE or 0 in (program.freq_a_cHz, program.freq_b_cHz):
        return []
    halves = (
        ("a", program.freq_a_cHz, program.phase_a_us, program.dwell_a_ms),
        ("b", program.freq_b_cHz, program.phase_b_us, program.dwell_b_ms),
    )
    found = []
    for half, freq_cHz, phase_us, dwell_ms in halves:
        pulse_us = pulse_length_us(phase_us, program.interphase_us, program.asym_ratio)
        boundary = boundary_shortfall(half, freq_cHz, dwell_ms, pulse_us)
        if boundary is not None:
            found.append(boundary)
    return found


def check_boundaries(program: SetProgram) -> None:
    """Raise for the first boundary of ``program`` that breaks the rule (the API's check).

    Raises:
        ParameterError: naming the dwell (``dwell_a_s``), what would be accepted, layer schema.
    """
    for boundary in program_boundaries(program):
        raise ParameterError(
            boundary.parameter,
            ms_to_s(boundary.dwell_ms),
            boundary.allowed,
            Layer.SCHEMA,
            BOUNDARY_SOURCE,
        )
