"""A channel's stimulation checked against the standard and device layers before it is sent
(PROTOCOL.md §3.9, §5.8), and a program read back compared with the one sent.

Every value is checked before anything is sent, against the intersection of the standard layer
(``eacontrol.safety.limits.STANDARD``) and the device's reported limits; a refusal is a
``ParameterError`` naming the parameter, the value, the allowed range with its unit, the layer
and the source. Conversion is ``eacontrol.device.wire``'s: a value finer than the wire
resolution (2.0005 mA) is refused, never rounded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

from eacontrol.device.wire import channel_number, stimulation_to_wire, wire_index
from eacontrol.errors import Layer, ParameterError, ReadbackMismatch
from eacontrol.safety.engine import Bound, LimitStack, Quantity, to_wire
from eacontrol.safety.limits import SOURCES, DeviceLimits
from eacontrol.safety.timing import check_boundaries
from eacontrol.stimulation import MODE_FIELDS, PulseShape, Stimulation, StimulationMode
from firmware_protocol import Program, SetProgram, units

__all__ = ["ProgramChecker", "compare_readback"]

E = TypeVar("E", StimulationMode, PulseShape)
_OPTIONAL = ("frequency_b_hz", "phase_width_b_us", "dwell_a_s", "dwell_b_s", "on_s", "off_s")
_SRC_SESSION = SOURCES["max_session_s"]
_SRC_TIMING = "PROTOCOL.md §8: a pulse must end before the next one starts"
_PC_PER_UC = 1_000_000  # picocoulombs per microcoulomb: µA × µs is pC
_MIN_SLEW_mA_per_s = 0.001  # 1 µA/s, the wire's resolution (PROTOCOL.md §3.9)
# max_run_s: whole seconds from 1 (the stack's standard layer caps it at the session length).
_RUN = (Bound(Quantity.RUN, 1, Layer.STANDARD, _SRC_SESSION, upper=False),)
_SYMMETRIC = (
    Bound(Quantity.ASYM_RATIO, 1, Layer.SCHEMA, "symmetric pulses have ratio 1", upper=False),
    Bound(Quantity.ASYM_RATIO, 1, Layer.SCHEMA, "symmetric pulses have ratio 1"),
)


class ProgramChecker:
    """Checks API values against the standard layer ∩ one device's limits and converts them.

    The limits are the limit engine's (``eacontrol.safety.engine``): the standard layer, the
    device's reported limits and what the wire format can carry. A refusal is the first value
    out of range, in field order, as a ``ParameterError`` naming the layer and its source.
    """

    def __init__(self, limits: DeviceLimits, device_source: str) -> None:
        """Args:
        limits: the connected device's limits (from HELLO_ACK).
        device_source: how to name the device in refusals (model, serial).
        """
        self.limits = limits
        self._dev = device_source
        self.stack = LimitStack.build(device=limits, device_source=device_source)

    def channel(self, channel: object) -> int:
        """Return the wire index of channel number ``channel``.

        Raises:
            ParameterError: not an integer in 1..channel_count.
        """
        count = self.limits.channel_count
        if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= count:
            raise ParameterError(
                "channel",
                channel,
                f"1..{count} (as labelled on the device)",
                Layer.DEVICE,
                self._dev,
            )
        return wire_index(channel)

    def channels(self, channels: int | Iterable[int] | None) -> list[int]:
        """Checked channel numbers, ascending and each once (every channel when None).

        Raises:
            ParameterError: an empty list, or a channel as :meth:`channel` refuses it.
        """
        if channels is None:
            return list(range(1, self.limits.channel_count + 1))
        listed = [channels] if isinstance(channels, int) else list(channels)
        if not listed:
            raise ParameterError("channels", channels, "at least one channel", Layer.SCHEMA)
        return sorted({channel_number(self.channel(c)) for c in listed})

    def intensity(self, intensity_mA: float, program: SetProgram) -> int:
        """Check a live intensity for ``program`` and return it in µA.

        Raises:
            ParameterError: out of range, or above the phase-charge limit of the program.
        """
        self.stack.check("intensity_mA", intensity_mA, Quantity.INTENSITY)
        target_uA = to_wire("intensity_mA", intensity_mA, units.mA_to_uA)
        phases = [program.phase_a_us]
        if program.mode.name == StimulationMode.DENSE_DISPERSE.name:
            phases.append(program.phase_b_us)
        self._check_charge(intensity_mA, target_uA, max(phases))
        return target_uA

    def slew(self, slew_mA_per_s: float) -> int:
        """Check an intensity slew rate and return it in µA/s.

        Raises:
            ParameterError: not within 0.001 mA/s..the device's maximum slew.
        """
        floor = Bound(Quantity.SLEW, _MIN_SLEW_mA_per_s, Layer.DEVICE, self._dev, upper=False)
        self.stack.check("slew_mA_per_s", slew_mA_per_s, Quantity.SLEW, floor)
        return to_wire("slew_mA_per_s", slew_mA_per_s, units.mA_to_uA)

    def program(self, channel: int, stim: Stimulation) -> SetProgram:
        """Check every field of ``stim`` and return its SET_PROGRAM for channel number ``channel``.

        Raises:
            ParameterError: not a Stimulation, or the first value out of range (in field
                order), naming its layer.
        """
        if not isinstance(stim, Stimulation):
            raise ParameterError("stimulation", stim, "an eacontrol.Stimulation", Layer.SCHEMA)
        self.channel(channel)
        mode = _choice("mode", stim.mode, StimulationMode)
        _choice("shape", stim.shape, PulseShape)
        for name in _OPTIONAL:
            value = getattr(stim, name)
            if name in MODE_FIELDS[mode] and value is None:
                raise ParameterError(name, None, f"a value: required in mode {mode}", Layer.SCHEMA)
            if name not in MODE_FIELDS[mode] and value is not None:
                raise ParameterError(name, value, f"unset: not used in mode {mode}", Layer.SCHEMA)
        ratio = self._asym_ratio(stim)
        check = self.stack.check
        interphase_us = check("interphase_gap_us", stim.interphase_gap_us, Quantity.INTERPHASE_GAP)
        halves: list[tuple[str, float | None, str, float | None]] = [
            ("frequency_hz", stim.frequency_hz, "phase_width_us", stim.phase_width_us)
        ]
        if mode is StimulationMode.DENSE_DISPERSE:
            halves.append(
                ("frequency_b_hz", stim.frequency_b_hz, "phase_width_b_us", stim.phase_width_b_us)
            )
        for f_name, f_hz, p_name, p_us in halves:
            frequency = check(f_name, f_hz, Quantity.FREQUENCY)
            phase = check(p_name, p_us, Quantity.PHASE_WIDTH)
            longest = math.floor((1e6 / frequency - interphase_us) / (1 + ratio))
            if phase > longest:
                raise ParameterError(
                    p_name,
                    p_us,
                    f"<= {longest} us at {frequency:g} Hz with interphase {interphase_us:g} us "
                    f"and ratio {ratio}",
                    Layer.SCHEMA,
                    _SRC_TIMING,
                )
        window = self.stack.lower(Quantity.WINDOW), self.stack.upper(Quantity.WINDOW)
        dwell_window = tuple(
            Bound(Quantity.DWELL, b.value, b.layer, b.source, b.upper) for b in window if b
        )
        for name in MODE_FIELDS[mode]:
            if name in ("dwell_a_s", "dwell_b_s"):
                check(name, getattr(stim, name), Quantity.DWELL, *dwell_window)
            elif name in ("on_s", "off_s"):
                check(name, getattr(stim, name), Quantity.WINDOW)
        check("intensity_mA", stim.intensity_mA, Quantity.INTENSITY)
        check("ramp_up_s", stim.ramp_up_s, Quantity.START_RAMP)
        check("ramp_down_s", stim.ramp_down_s, Quantity.RAMP_DOWN)
        check("max_run_s", stim.max_run_s, Quantity.RUN, *_RUN)
        wire = stimulation_to_wire(channel, stim)
        self._check_charge(stim.intensity_mA, wire.target_uA, wire.phase_a_us)
        if mode is StimulationMode.DENSE_DISPERSE:
            self._check_charge(stim.intensity_mA, wire.target_uA, wire.phase_b_us)
        self._check_ramp(stim.ramp_up_s, wire.target_uA, wire.ramp_up_ms)
        check_boundaries(wire)  # dense-disperse switches keep the pulse gap (issue 14 item 4)
        return wire

    def _asym_ratio(self, stim: Stimulation) -> int:
        ratio = stim.asym_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int):
            raise ParameterError("asym_ratio", ratio, "a whole number", Layer.SCHEMA)
        if stim.shape is PulseShape.SYMMETRIC_BIPHASIC:
            self.stack.check("asym_ratio", ratio, Quantity.ASYM_RATIO, *_SYMMETRIC)
        else:
            floor = Bound(Quantity.ASYM_RATIO, 2, Layer.DEVICE, self._dev, upper=False)
            self.stack.check("asym_ratio", ratio, Quantity.ASYM_RATIO, floor)
        return ratio

    def _check_charge(self, intensity_mA: float, target_uA: int, phase_us: int) -> None:
        # The device's integer comparison: µA × µs = pC, against the limit in pC.
        bound = self.stack.upper(Quantity.PHASE_CHARGE)
        assert bound is not None  # the standard layer always sets one
        limit_pC = round(bound.value * _PC_PER_UC)
        if phase_us and target_uA * phase_us > limit_pC:
            highest_mA = units.uA_to_mA(limit_pC // phase_us)
            raise ParameterError(
                "intensity_mA",
                intensity_mA,
                f"<= {highest_mA:g} mA at phase width {phase_us} us "
                f"(phase charge <= {bound.value:g} uC)",
                bound.layer,
                bound.source,
            )

    def _check_ramp(self, ramp_up_s: float, target_uA: int, ramp_up_ms: int) -> None:
        slew_uA_per_s = units.mA_to_uA(self.limits.max_slew_mA_per_s, "max_slew_mA_per_s")
        shortest_ms = -(-target_uA * 1000 // slew_uA_per_s)
        if target_uA > 0:
            shortest_ms = max(shortest_ms, 1)
        if ramp_up_ms < shortest_ms:
            raise ParameterError(
                "ramp_up_s",
                ramp_up_s,
                f">= {units.ms_to_s(shortest_ms):g} s for {units.uA_to_mA(target_uA):g} mA at the "
                "device's "
                f"maximum slew of {self.limits.max_slew_mA_per_s:g} mA/s",
                Layer.DEVICE,
                self._dev,
            )


def _choice(parameter: str, value: object, kind: type[E]) -> E:
    options = [member.value for member in kind]
    if not isinstance(value, str) or value not in options:
        raise ParameterError(parameter, value, " | ".join(options), Layer.SCHEMA)
    return kind(value)


def compare_readback(sent: SetProgram, read: Program, crc: int) -> None:
    """Compare a program read back with the one sent, field by field, then its CRC.

    Raises:
        ReadbackMismatch: naming the first wire field that differs.
    """
    back = read.as_set_program()
    for field in SetProgram.LAYOUT:
        if getattr(sent, field.name) != getattr(back, field.name):
            raise ReadbackMismatch(
                channel_number(sent.channel),
                field.name,
                getattr(sent, field.name),
                getattr(back, field.name),
            )
    if read.program_crc != crc:
        raise ReadbackMismatch(
            channel_number(sent.channel), "program_crc", f"0x{crc:08X}", f"0x{read.program_crc:08X}"
        )
