"""The firmware's own checks of programs and intensities against the device's limits table.

The device never trusts the host (docs/architecture.md): every SET_PROGRAM and SET_INTENSITY is
checked
here against ``DeviceModel`` and refused with NAK ``OUT_OF_RANGE``, the offending field's index
(PROTOCOL.md §5) and the bound crossed (§3.9). Fields are checked in the order of their index, so
the NAK names the first offending field; checks that combine fields come after the single ones.
"""

from __future__ import annotations

from firmware_protocol import NO_FIELD, Mode, NakCode, SetIntensity, SetProgram, Shape
from simulator.firmware.model import DeviceModel
from simulator.firmware.schedule import half_phases_us
from simulator.firmware.units import CENTI_HZ_PERIOD_US, US_PER_MS, ceil_div

__all__ = [
    "MAX_MODE_MS",
    "MIN_MODE_MS",
    "MIN_PULSE_GAP_US",
    "Refused",
    "boundary_clearance_us",
    "check_intensity",
    "check_program",
    "max_target_uA",
]

MIN_MODE_MS = 100
"""Shortest dense-disperse dwell and intermittent on/off time (PROTOCOL.md §3.9)."""

MAX_MODE_MS = 60_000
"""Longest dense-disperse dwell and intermittent on/off time (PROTOCOL.md §3.9)."""

MIN_PULSE_GAP_US = 0
"""Least time from the end of a pulse to the next onset, also across a dense-disperse switch of
halves (PROTOCOL.md §3.9, protocol 1.1): 0 µs, the minimum the pulse-fits-its-period rule keeps
within a train, so a boundary is held to the same minimum as any other pair of pulses."""


class Refused(Exception):
    """A command is refused: the device answers NAK with these values.

    Attributes:
        code: the NAK code (PROTOCOL.md §7).
        field: index of the offending field, or ``NO_FIELD``.
        limit: the bound crossed, or what §7 says the code's ``limit`` carries.
    """

    def __init__(self, code: NakCode, field: int = NO_FIELD, limit: int = 0) -> None:
        super().__init__(f"{code.name} field={field} limit={limit}")
        self.code = code
        self.field = field
        self.limit = limit


def _field(name: str) -> int:
    return SetProgram.field_index(name)


def _out_of_range(name: str, limit: int) -> Refused:
    return Refused(NakCode.OUT_OF_RANGE, _field(name), limit)


def _within(program: SetProgram, name: str, low: int, high: int) -> None:
    value = getattr(program, name)
    if value < low:
        raise _out_of_range(name, low)
    if value > high:
        raise _out_of_range(name, high)


def max_target_uA(model: DeviceModel, program: SetProgram) -> int:
    """The largest first-phase current the device accepts for ``program``.

    It is the smaller of ``max_intensity_uA`` and the current whose phase charge reaches
    ``max_phase_charge_nC`` on the program's widest phase (µA · µs / 1000 = nC).
    """
    widest_us = max(half_phases_us(program))
    return min(model.max_intensity_uA, model.max_phase_charge_nC * US_PER_MS // widest_us)


def _check_target(model: DeviceModel, program: SetProgram, target_uA: int, field: int) -> None:
    if target_uA > model.max_intensity_uA:
        raise Refused(NakCode.OUT_OF_RANGE, field, model.max_intensity_uA)
    limit_uA = max_target_uA(model, program)
    if target_uA > limit_uA:
        # The bound is reported in the field's own unit: the largest target whose phase charge
        # stays within max_phase_charge_nC.
        raise Refused(NakCode.OUT_OF_RANGE, field, limit_uA)


def check_program(model: DeviceModel, program: SetProgram) -> None:
    """Check every field of a SET_PROGRAM against the device's own limits (PROTOCOL.md §3.9).

    Besides the checks §3.9 lists, a pulse (phase, gap, second phase) must fit within the
    shortest interval between two onsets of its frequency, or pulses would overlap; that is
    refused on the phase-width field with the widest phase that fits as the limit. At each
    dense-disperse switch of halves the last pulse of the old half must end before the new
    half's first pulse (``MIN_PULSE_GAP_US``), refused on the dwell with the longest shorter
    dwell that keeps the gap as the limit.

    Args:
        model: the device's limits table.
        program: the program as received (the channel is checked by the caller).

    Raises:
        Refused: ``OUT_OF_RANGE`` with the first offending field and the bound crossed.
    """
    dense_disperse = program.mode == Mode.DENSE_DISPERSE
    intermittent = program.mode == Mode.INTERMITTENT
    _within(program, "freq_a_cHz", model.min_freq_cHz, model.max_freq_cHz)
    _within(program, "phase_a_us", model.min_phase_us, model.max_phase_us)
    # The fields only one mode uses, in field order: checked when used, else they must be 0.
    mode_fields = (
        ("freq_b_cHz", dense_disperse, model.min_freq_cHz, model.max_freq_cHz),
        ("phase_b_us", dense_disperse, model.min_phase_us, model.max_phase_us),
        ("dwell_a_ms", dense_disperse, MIN_MODE_MS, MAX_MODE_MS),
        ("dwell_b_ms", dense_disperse, MIN_MODE_MS, MAX_MODE_MS),
        ("on_ms", intermittent, MIN_MODE_MS, MAX_MODE_MS),
        ("off_ms", intermittent, MIN_MODE_MS, MAX_MODE_MS),
    )
    for name, used, low, high in mode_fields:
        if used:
            _within(program, name, low, high)
        elif getattr(program, name) != 0:
            raise _out_of_range(name, 0)
    _within(program, "interphase_us", 0, model.max_interphase_us)
    if program.shape == Shape.SYMMETRIC_BIPHASIC:
        _within(program, "asym_ratio", 1, 1)
    else:
        _within(program, "asym_ratio", 2, model.max_asym_ratio)
    _check_target(model, program, program.target_uA, _field("target_uA"))
    if program.target_uA > 0:
        # ceil(target · 1000 / slew): the ramp may not rise faster than the device's max slew.
        min_ramp_ms = max(1, ceil_div(program.target_uA * US_PER_MS, model.max_slew_uA_per_s))
        if program.ramp_up_ms < min_ramp_ms:
            raise _out_of_range("ramp_up_ms", min_ramp_ms)
    _within(program, "max_run_s", 1, model.max_run_s)
    _check_pulse_fits(program)
    if dense_disperse:
        _check_boundaries(program)


def _check_pulse_fits(program: SetProgram) -> None:
    halves = [("freq_a_cHz", "phase_a_us")]
    if program.mode == Mode.DENSE_DISPERSE:
        halves.append(("freq_b_cHz", "phase_b_us"))
    for freq_name, phase_name in halves:
        interval_us = CENTI_HZ_PERIOD_US // getattr(program, freq_name)
        phase_us = getattr(program, phase_name)
        if _pulse_us(program, phase_us) > interval_us:
            widest_us = max(0, interval_us - program.interphase_us) // (1 + program.asym_ratio)
            raise _out_of_range(phase_name, widest_us)


def _pulse_us(program: SetProgram, phase_us: int) -> int:
    """A whole pulse: first phase, interphase gap, second phase (width × ratio; 1 symmetric)."""
    return phase_us * (1 + program.asym_ratio) + program.interphase_us


def boundary_clearance_us(freq_cHz: int, dwell_ms: int, pulse_us: int) -> int:
    """Time from the end of a dwell's last pulse to the dwell's end, where the next dwell's first
    pulse begins (PROTOCOL.md §3.9, §8); negative when that last pulse overlaps the next one."""
    dwell_us = dwell_ms * US_PER_MS
    last_k = ceil_div(dwell_us * freq_cHz, CENTI_HZ_PERIOD_US) - 1
    last_onset_us = last_k * CENTI_HZ_PERIOD_US // freq_cHz
    return dwell_us - last_onset_us - pulse_us


def _longest_dwell_ms(freq_cHz: int, dwell_ms: int, pulse_us: int) -> int:
    """The longest dwell below ``dwell_ms`` that keeps the boundary gap, or 0 if none of at least
    ``MIN_MODE_MS`` does (the NAK's limit). A plain downward search: it runs once, at a refused
    SET_PROGRAM, and at most 60 000 steps; usually the first dwell below the last onset works."""
    for candidate_ms in range(dwell_ms - 1, MIN_MODE_MS - 1, -1):
        if boundary_clearance_us(freq_cHz, candidate_ms, pulse_us) >= MIN_PULSE_GAP_US:
            return candidate_ms
    return 0


def _check_boundaries(program: SetProgram) -> None:
    """Dense-disperse: the last pulse of each dwell ends ``MIN_PULSE_GAP_US`` before the next
    dwell's first pulse; switch a → b on ``dwell_a_ms``, then b → a on ``dwell_b_ms``."""
    halves = (
        ("dwell_a_ms", program.freq_a_cHz, program.phase_a_us),
        ("dwell_b_ms", program.freq_b_cHz, program.phase_b_us),
    )
    for dwell_name, freq_cHz, phase_us in halves:
        dwell_ms, pulse_us = getattr(program, dwell_name), _pulse_us(program, phase_us)
        if boundary_clearance_us(freq_cHz, dwell_ms, pulse_us) < MIN_PULSE_GAP_US:
            raise _out_of_range(dwell_name, _longest_dwell_ms(freq_cHz, dwell_ms, pulse_us))


def check_intensity(model: DeviceModel, program: SetProgram, command: SetIntensity) -> None:
    """Check a SET_INTENSITY against the device's limits and the channel's stored program.

    Args:
        model: the device's limits table.
        program: the channel's stored program (its phase widths bound the phase charge).
        command: the command as received (channel and state are checked by the caller).

    Raises:
        Refused: ``OUT_OF_RANGE`` on ``target_uA`` or ``slew_uA_per_s`` with the bound crossed.
    """
    _check_target(model, program, command.target_uA, SetIntensity.field_index("target_uA"))
    slew_field = SetIntensity.field_index("slew_uA_per_s")
    if command.slew_uA_per_s < 1:
        raise Refused(NakCode.OUT_OF_RANGE, slew_field, 1)
    if command.slew_uA_per_s > model.max_slew_uA_per_s:
        raise Refused(NakCode.OUT_OF_RANGE, slew_field, model.max_slew_uA_per_s)
