"""The one place where host values meet wire fields: channels, and stimulations.

Channel numbers count from 1, as printed on the device and used in profiles, records, reports
and the API; only the wire counts from 0 (PROTOCOL.md §1: ``channel`` and ``channel_mask``).
A :class:`~eacontrol.stimulation.Stimulation` becomes a SET_PROGRAM here and a PROGRAM read
back becomes one again. Values are converted only through ``firmware_protocol.units``: a value
finer than the wire resolution (2.0005 mA) is refused, never rounded. Range checks are not done
here; ``eacontrol.device.program.ProgramChecker`` checks first.
"""

from __future__ import annotations

from collections.abc import Iterable

from eacontrol.safety.engine import Converter, to_wire
from eacontrol.stimulation import PulseShape, Stimulation, StimulationMode
from firmware_protocol import Mode, SetProgram, Shape, units

__all__ = [
    "channel_mask",
    "channel_number",
    "channel_numbers",
    "stimulation_from_wire",
    "stimulation_to_wire",
    "wire_index",
]

_MODES = {mode: Mode[mode.name] for mode in StimulationMode}
_SHAPES = {shape: Shape[shape.name] for shape in PulseShape}


def wire_index(number: int) -> int:
    """The wire index of channel number ``number`` (checked by the caller)."""
    return number - 1


def channel_number(index: int) -> int:
    """The channel number of wire index ``index``."""
    return index + 1


def channel_mask(numbers: Iterable[int]) -> int:
    """The wire ``channel_mask`` of channel numbers."""
    return sum(1 << wire_index(n) for n in set(numbers))


def channel_numbers(mask: int) -> list[int]:
    """The channel numbers set in a wire ``channel_mask``, ascending."""
    return [channel_number(i) for i in range(mask.bit_length()) if mask >> i & 1]


def stimulation_to_wire(number: int, stim: Stimulation) -> SetProgram:
    """The SET_PROGRAM that stores ``stim`` on channel number ``number``.

    Raises:
        ParameterError: a value the wire cannot carry exactly (layer ``schema``).
    """

    def opt(name: str, value: float | None, convert: Converter) -> int:
        return 0 if value is None else to_wire(name, value, convert)

    return SetProgram(
        channel=wire_index(number),
        mode=_MODES[StimulationMode(stim.mode)],
        shape=_SHAPES[PulseShape(stim.shape)],
        freq_a_cHz=to_wire("frequency_hz", stim.frequency_hz, units.hz_to_cHz),
        phase_a_us=to_wire("phase_width_us", stim.phase_width_us, units.us_to_wire),
        freq_b_cHz=opt("frequency_b_hz", stim.frequency_b_hz, units.hz_to_cHz),
        phase_b_us=opt("phase_width_b_us", stim.phase_width_b_us, units.us_to_wire),
        dwell_a_ms=opt("dwell_a_s", stim.dwell_a_s, units.s_to_ms),
        dwell_b_ms=opt("dwell_b_s", stim.dwell_b_s, units.s_to_ms),
        on_ms=opt("on_s", stim.on_s, units.s_to_ms),
        off_ms=opt("off_s", stim.off_s, units.s_to_ms),
        interphase_us=to_wire("interphase_gap_us", stim.interphase_gap_us, units.us_to_wire),
        asym_ratio=stim.asym_ratio,
        target_uA=to_wire("intensity_mA", stim.intensity_mA, units.mA_to_uA),
        ramp_up_ms=to_wire("ramp_up_s", stim.ramp_up_s, units.s_to_ms),
        ramp_down_ms=to_wire("ramp_down_s", stim.ramp_down_s, units.s_to_ms),
        max_run_s=to_wire("max_run_s", stim.max_run_s, units.s_to_whole_s),
    )


def stimulation_from_wire(wire: SetProgram) -> Stimulation:
    """Describe a SET_PROGRAM (or a PROGRAM read back) in API units."""
    mode = StimulationMode[wire.mode.name]
    dense = mode is StimulationMode.DENSE_DISPERSE
    intermittent = mode is StimulationMode.INTERMITTENT
    return Stimulation(
        frequency_hz=units.cHz_to_hz(wire.freq_a_cHz),
        phase_width_us=float(wire.phase_a_us),
        intensity_mA=units.uA_to_mA(wire.target_uA),
        mode=mode,
        frequency_b_hz=units.cHz_to_hz(wire.freq_b_cHz) if dense else None,
        phase_width_b_us=float(wire.phase_b_us) if dense else None,
        dwell_a_s=units.ms_to_s(wire.dwell_a_ms) if dense else None,
        dwell_b_s=units.ms_to_s(wire.dwell_b_ms) if dense else None,
        on_s=units.ms_to_s(wire.on_ms) if intermittent else None,
        off_s=units.ms_to_s(wire.off_ms) if intermittent else None,
        interphase_gap_us=float(wire.interphase_us),
        shape=PulseShape[wire.shape.name],
        asym_ratio=wire.asym_ratio,
        ramp_up_s=units.ms_to_s(wire.ramp_up_ms),
        ramp_down_s=units.ms_to_s(wire.ramp_down_ms),
        max_run_s=float(wire.max_run_s),
    )
