"""A channel's program in API units, checked against the standard and device layers, then
converted to its SET_PROGRAM wire fields (PROTOCOL.md §3.8, §5.4).

Every value is checked before anything is sent, against the intersection of the standard layer
(``eacontrol.safety.limits.STANDARD``) and the device's reported limits; a refusal is a
``ParameterError`` naming the parameter, the value, the allowed range with its unit, the layer
and the source. Conversion happens only through ``firmware_protocol.units``: a value finer than
the wire resolution (2.0005 mA) is refused, never rounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, TypeVar

from eacontrol.errors import Layer, ParameterError, ReadbackMismatch
from eacontrol.safety.bounds import Bound, Converter, check_range, to_wire
from eacontrol.safety.limits import SOURCES, STANDARD, DEFAULT_SESSION_s, DeviceLimits
from firmware_protocol import Mode, Program, SetProgram, Shape, units

__all__ = ["ChannelProgram", "ModeName", "ProgramChecker", "ShapeName", "compare_readback"]

ModeName = Literal["continuous", "dense_disperse", "intermittent"]
ShapeName = Literal["symmetric", "asymmetric"]
E = TypeVar("E", Mode, Shape)

_MODE_NAMES: dict[Mode, ModeName] = {
    Mode.CONTINUOUS: "continuous",
    Mode.DENSE_DISPERSE: "dense_disperse",
    Mode.INTERMITTENT: "intermittent",
}
_SHAPE_NAMES: dict[Shape, ShapeName] = {
    Shape.SYMMETRIC_BIPHASIC: "symmetric",
    Shape.ASYMMETRIC_BIPHASIC: "asymmetric",
}
_MODES: dict[str, Mode] = {name: mode for mode, name in _MODE_NAMES.items()}
_SHAPES: dict[str, Shape] = {name: shape for shape, name in _SHAPE_NAMES.items()}
_MODE_FIELDS: dict[str, tuple[str, ...]] = {
    "continuous": (),
    "dense_disperse": ("frequency_b_hz", "phase_width_b_us", "dwell_a_s", "dwell_b_s"),
    "intermittent": ("on_s", "off_s"),
}
_OPTIONAL = ("frequency_b_hz", "phase_width_b_us", "dwell_a_s", "dwell_b_s", "on_s", "off_s")

# Sources of the standard layer: eacontrol.safety.limits.SOURCES (DESIGN.md §4).
_SRC_INTENSITY = SOURCES["max_intensity_mA"]
_SRC_PHASE = SOURCES["max_phase_width_us"]
_SRC_FREQUENCY = SOURCES["max_frequency_hz"]
_SRC_DWELL = SOURCES["max_dwell_s"]
_SRC_CHARGE = SOURCES["max_phase_charge_uC"]
_SRC_RAMP = SOURCES["min_start_ramp_s"]
_SRC_SESSION = SOURCES["max_session_s"]
_SRC_PROTOCOL = "PROTOCOL.md §3.8"
_SRC_TIMING = "PROTOCOL.md §8: a pulse must end before the next one starts"
_PC_PER_UC = 1_000_000  # picocoulombs per microcoulomb: µA × µs is pC
_WINDOW_s = (0.1, 60.0)  # dwell and on/off windows on the wire: 100..60000 ms (§3.8)
_MAX_WIRE_MS_s = 65.535  # u16 milliseconds


@dataclass(frozen=True)
class ChannelProgram:
    """What one channel should deliver, in API units.

    Attributes:
        frequency_hz: pulse rate (continuous, intermittent) or the rate of half a
            (dense-disperse, e.g. 2 Hz of 2/100 Hz).
        phase_width_us: width of each phase at ``frequency_hz``.
        intensity_mA: peak current of the first phase once ramped up.
        mode: ``"continuous"``, ``"dense_disperse"`` or ``"intermittent"``.
        frequency_b_hz: dense-disperse only: the rate of half b (e.g. 100 Hz).
        phase_width_b_us: dense-disperse only: the phase width in half b.
        dwell_a_s / dwell_b_s: dense-disperse only: time in each half (3 s, Han).
        on_s / off_s: intermittent only: on and off windows.
        interphase_us: gap between the two phases of a pulse.
        shape: ``"symmetric"`` biphasic, or ``"asymmetric"`` charge-balanced biphasic whose
            second phase is ``intensity / asym_ratio`` for ``width × asym_ratio``.
        asym_ratio: 1 for symmetric, 2.. for asymmetric.
        ramp_up_s: rise from 0 to the intensity at START (standard: 2-5 s).
        ramp_down_s: fall to 0 at a ramp-down STOP.
        max_run_s: the device's own shut-off for this run, whole seconds.
    """

    frequency_hz: float
    phase_width_us: float
    intensity_mA: float
    mode: ModeName = "continuous"
    frequency_b_hz: float | None = None
    phase_width_b_us: float | None = None
    dwell_a_s: float | None = None
    dwell_b_s: float | None = None
    on_s: float | None = None
    off_s: float | None = None
    interphase_us: float = 0
    shape: ShapeName = "symmetric"
    asym_ratio: int = 1
    ramp_up_s: float = 3.0
    ramp_down_s: float = 2.0
    max_run_s: float = DEFAULT_SESSION_s

    @classmethod
    def from_wire(cls, wire: SetProgram) -> ChannelProgram:
        """Describe a SET_PROGRAM (or a PROGRAM read back) in API units."""
        dense = wire.mode == Mode.DENSE_DISPERSE
        intermittent = wire.mode == Mode.INTERMITTENT
        return cls(
            frequency_hz=units.cHz_to_hz(wire.freq_a_cHz),
            phase_width_us=float(wire.phase_a_us),
            intensity_mA=units.uA_to_mA(wire.target_uA),
            mode=_MODE_NAMES[wire.mode],
            frequency_b_hz=units.cHz_to_hz(wire.freq_b_cHz) if dense else None,
            phase_width_b_us=float(wire.phase_b_us) if dense else None,
            dwell_a_s=units.ms_to_s(wire.dwell_a_ms) if dense else None,
            dwell_b_s=units.ms_to_s(wire.dwell_b_ms) if dense else None,
            on_s=units.ms_to_s(wire.on_ms) if intermittent else None,
            off_s=units.ms_to_s(wire.off_ms) if intermittent else None,
            interphase_us=float(wire.interphase_us),
            shape=_SHAPE_NAMES[wire.shape],
            asym_ratio=wire.asym_ratio,
            ramp_up_s=units.ms_to_s(wire.ramp_up_ms),
            ramp_down_s=units.ms_to_s(wire.ramp_down_ms),
            max_run_s=float(wire.max_run_s),
        )


class ProgramChecker:
    """Checks API values against the standard layer ∩ one device's limits and converts them."""

    def __init__(self, limits: DeviceLimits, device_source: str) -> None:
        """Args:
        limits: the connected device's limits (from HELLO_ACK).
        device_source: how to name the device in refusals (model, serial).
        """
        self.limits = limits
        self._dev = device_source
        d = limits
        self._intensity = (
            Bound(0, STANDARD.max_intensity_mA, Layer.STANDARD, _SRC_INTENSITY),
            Bound(0, d.max_intensity_mA, Layer.DEVICE, device_source),
        )
        self._phase = (
            Bound(
                STANDARD.min_phase_width_us,
                STANDARD.max_phase_width_us,
                Layer.STANDARD,
                _SRC_PHASE,
            ),
            Bound(d.min_phase_width_us, d.max_phase_width_us, Layer.DEVICE, device_source),
        )
        self._frequency = (
            Bound(
                STANDARD.min_frequency_hz, STANDARD.max_frequency_hz, Layer.STANDARD, _SRC_FREQUENCY
            ),
            Bound(d.min_frequency_hz, d.max_frequency_hz, Layer.DEVICE, device_source),
        )
        self._max_charge_uC = min(
            (STANDARD.max_phase_charge_uC, Layer.STANDARD, _SRC_CHARGE),
            (d.max_phase_charge_uC, Layer.DEVICE, device_source),
            key=lambda t: t[0],
        )

    def channel(self, channel: object) -> int:
        """Return the wire index of channel number ``channel``.

        Channel numbers count from 1, as printed on the device and used in profiles, records
        and reports; only the wire counts from 0. This is the one place that converts.

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
        return channel - 1

    def intensity(self, intensity_mA: float, program: SetProgram) -> int:
        """Check a live intensity for ``program`` and return it in µA.

        Raises:
            ParameterError: out of range, or above the phase-charge limit of the program.
        """
        check_range("intensity_mA", intensity_mA, "mA", *self._intensity)
        target_uA = to_wire("intensity_mA", intensity_mA, units.mA_to_uA)
        phases = [program.phase_a_us]
        if program.mode == Mode.DENSE_DISPERSE:
            phases.append(program.phase_b_us)
        self._check_charge(intensity_mA, target_uA, max(phases))
        return target_uA

    def slew(self, slew_mA_per_s: float) -> int:
        """Check an intensity slew rate and return it in µA/s.

        Raises:
            ParameterError: not within 0.001 mA/s..the device's maximum slew.
        """
        check_range(
            "slew_mA_per_s",
            slew_mA_per_s,
            "mA/s",
            Bound(0.001, self.limits.max_slew_mA_per_s, Layer.DEVICE, self._dev),
        )
        return to_wire("slew_mA_per_s", slew_mA_per_s, units.mA_to_uA)

    def program(self, channel: int, prog: ChannelProgram) -> SetProgram:
        """Check every field of ``prog`` and return its SET_PROGRAM for channel number ``channel``.

        Raises:
            ParameterError: the first value out of range (in field order), naming its layer.
        """
        channel = self.channel(channel)
        mode = _choice("mode", prog.mode, _MODES)
        shape = _choice("shape", prog.shape, _SHAPES)
        for name in _OPTIONAL:
            value = getattr(prog, name)
            if name in _MODE_FIELDS[prog.mode] and value is None:
                raise ParameterError(
                    name, None, f"a value: required in mode {prog.mode}", Layer.SCHEMA
                )
            if name not in _MODE_FIELDS[prog.mode] and value is not None:
                raise ParameterError(
                    name, value, f"unset: not used in mode {prog.mode}", Layer.SCHEMA
                )
        ratio = self._asym_ratio(prog)
        interphase_us = check_range(
            "interphase_us",
            prog.interphase_us,
            "us",
            Bound(0, self.limits.max_interphase_us, Layer.DEVICE, self._dev),
        )
        halves: list[tuple[str, float | None, str, float | None]] = [
            ("frequency_hz", prog.frequency_hz, "phase_width_us", prog.phase_width_us)
        ]
        if prog.mode == "dense_disperse":
            halves.append(
                ("frequency_b_hz", prog.frequency_b_hz, "phase_width_b_us", prog.phase_width_b_us)
            )
        for f_name, f_hz, p_name, p_us in halves:
            frequency = check_range(f_name, f_hz, "Hz", *self._frequency)
            phase = check_range(p_name, p_us, "us", *self._phase)
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
        window = Bound(*_WINDOW_s, Layer.DEVICE, _SRC_PROTOCOL)
        dwell = Bound(STANDARD.min_dwell_s, STANDARD.max_dwell_s, Layer.STANDARD, _SRC_DWELL)
        windows: dict[str, tuple[Bound, ...]] = {
            "dwell_a_s": (dwell, window),
            "dwell_b_s": (dwell, window),
        }
        windows |= {"on_s": (window,), "off_s": (window,)}
        for name in _MODE_FIELDS[prog.mode]:
            if name in windows:
                check_range(name, getattr(prog, name), "s", *windows[name])
        check_range("intensity_mA", prog.intensity_mA, "mA", *self._intensity)
        check_range(
            "ramp_up_s",
            prog.ramp_up_s,
            "s",
            Bound(STANDARD.min_start_ramp_s, STANDARD.max_start_ramp_s, Layer.STANDARD, _SRC_RAMP),
        )
        check_range(
            "ramp_down_s",
            prog.ramp_down_s,
            "s",
            Bound(0, _MAX_WIRE_MS_s, Layer.DEVICE, _SRC_PROTOCOL),
        )
        check_range(
            "max_run_s",
            prog.max_run_s,
            "s",
            Bound(1, STANDARD.max_session_s, Layer.STANDARD, _SRC_SESSION),
            Bound(1, self.limits.max_run_s, Layer.DEVICE, self._dev),
        )
        wire = self._to_wire(channel, mode, shape, ratio, prog)
        self._check_charge(prog.intensity_mA, wire.target_uA, wire.phase_a_us)
        if mode == Mode.DENSE_DISPERSE:
            self._check_charge(prog.intensity_mA, wire.target_uA, wire.phase_b_us)
        self._check_ramp(prog.ramp_up_s, wire.target_uA, wire.ramp_up_ms)
        return wire

    def _asym_ratio(self, prog: ChannelProgram) -> int:
        ratio = prog.asym_ratio
        if prog.shape == "symmetric":
            bound = Bound(1, 1, Layer.SCHEMA, "symmetric pulses have ratio 1")
        else:
            bound = Bound(2, self.limits.max_asym_ratio, Layer.DEVICE, self._dev)
        if isinstance(ratio, bool) or not isinstance(ratio, int):
            raise ParameterError("asym_ratio", ratio, "a whole number", Layer.SCHEMA)
        check_range("asym_ratio", ratio, "", bound)
        return ratio

    def _to_wire(
        self, channel: int, mode: Mode, shape: Shape, ratio: int, p: ChannelProgram
    ) -> SetProgram:
        def opt(name: str, value: float | None, convert: Converter) -> int:
            return 0 if value is None else to_wire(name, value, convert)

        return SetProgram(
            channel=channel,
            mode=mode,
            shape=shape,
            freq_a_cHz=to_wire("frequency_hz", p.frequency_hz, units.hz_to_cHz),
            phase_a_us=to_wire("phase_width_us", p.phase_width_us, units.us_to_wire),
            freq_b_cHz=opt("frequency_b_hz", p.frequency_b_hz, units.hz_to_cHz),
            phase_b_us=opt("phase_width_b_us", p.phase_width_b_us, units.us_to_wire),
            dwell_a_ms=opt("dwell_a_s", p.dwell_a_s, units.s_to_ms),
            dwell_b_ms=opt("dwell_b_s", p.dwell_b_s, units.s_to_ms),
            on_ms=opt("on_s", p.on_s, units.s_to_ms),
            off_ms=opt("off_s", p.off_s, units.s_to_ms),
            interphase_us=to_wire("interphase_us", p.interphase_us, units.us_to_wire),
            asym_ratio=ratio,
            target_uA=to_wire("intensity_mA", p.intensity_mA, units.mA_to_uA),
            ramp_up_ms=to_wire("ramp_up_s", p.ramp_up_s, units.s_to_ms),
            ramp_down_ms=to_wire("ramp_down_s", p.ramp_down_s, units.s_to_ms),
            max_run_s=to_wire("max_run_s", p.max_run_s, units.s_to_whole_s),
        )

    def _check_charge(self, intensity_mA: float, target_uA: int, phase_us: int) -> None:
        # The device's integer comparison: µA × µs = pC, against the limit in pC.
        limit_uC, layer, source = self._max_charge_uC
        limit_pC = round(limit_uC * _PC_PER_UC)
        if phase_us and target_uA * phase_us > limit_pC:
            highest_mA = units.uA_to_mA(limit_pC // phase_us)
            raise ParameterError(
                "intensity_mA",
                intensity_mA,
                f"<= {highest_mA:g} mA at phase width {phase_us} us "
                f"(phase charge <= {limit_uC:g} uC)",
                layer,
                source,
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


def _choice(parameter: str, value: object, options: dict[str, E]) -> E:
    if not isinstance(value, str) or value not in options:
        raise ParameterError(parameter, value, " | ".join(options), Layer.SCHEMA)
    return options[value]


def compare_readback(sent: SetProgram, read: Program, crc: int) -> None:
    """Compare a program read back with the one sent, field by field, then its CRC.

    Raises:
        ReadbackMismatch: naming the first wire field that differs.
    """
    back = read.as_set_program()
    for field in SetProgram.LAYOUT:
        if getattr(sent, field.name) != getattr(back, field.name):
            raise ReadbackMismatch(
                sent.channel + 1, field.name, getattr(sent, field.name), getattr(back, field.name)
            )
    if read.program_crc != crc:
        raise ReadbackMismatch(
            sent.channel + 1, "program_crc", f"0x{crc:08X}", f"0x{read.program_crc:08X}"
        )
