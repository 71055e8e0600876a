"""The one place where API units become integer wire units and back (PROTOCOL.md §1).

API (profiles, the Stimulator, reports) speaks mA, µs, Hz and s as floats; the wire speaks µA,
µs, centi-Hz, ms and s as integers. A value that is not an exact multiple of the wire resolution
is refused rather than rounded silently (a "10 mA" that becomes 1.0 mA is the peers' most common
bug, STYLE.md 7). Golden-field tests pin every conversion.
"""

from __future__ import annotations

import math

from firmware_protocol.errors import UnitError

__all__ = [
    "cHz_to_hz",
    "hz_to_cHz",
    "mA_to_uA",
    "mV_to_V",
    "ms_to_s",
    "nC_to_uC",
    "s_to_ms",
    "s_to_whole_s",
    "uA_to_mA",
    "uC_at_nC",
    "us_to_wire",
]

_TOLERANCE = 1e-6  # in wire units: absorbs binary floating point (0.1 * 1000 = 100.00000000000001)


def _to_wire(value: float, scale: int, field: str, unit: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise UnitError(field, value, f"a finite number of {unit}")
    scaled = value * scale
    # The range first: round() of a huge float (1e306 Hz) would raise OverflowError.
    if not -0.5 < scaled < limit + 0.5:
        raise UnitError(field, value, f"0..{limit / scale:g} {unit} on the wire")
    wire = round(scaled)
    if abs(scaled - wire) > _TOLERANCE or wire < 0:
        raise UnitError(field, value, f"a multiple of {1 / scale:g} {unit} (the wire resolution)")
    if wire == 0 and value != 0:  # 1e-300 mA is not "nothing": never send it as 0 (issue 14)
        raise UnitError(field, value, f"0, or at least {1 / scale:g} {unit} (the wire resolution)")
    return wire


def mA_to_uA(value_mA: float, field: str = "intensity_mA") -> int:
    """Convert milliamperes to wire microamperes (u16; resolution 1 µA).

    Raises:
        UnitError: not finite, negative, finer than 1 µA or above 65.535 mA.
    """
    return _to_wire(value_mA, 1000, field, "mA", 0xFFFF)


def uA_to_mA(value_uA: int) -> float:
    """Convert wire microamperes to milliamperes."""
    return value_uA / 1000


def hz_to_cHz(value_hz: float, field: str = "frequency_hz") -> int:
    """Convert hertz to wire centi-hertz (u16; resolution 0.01 Hz, at most 655.35 Hz).

    Raises:
        UnitError: not finite, negative, finer than 0.01 Hz or out of the u16 range.
    """
    return _to_wire(value_hz, 100, field, "Hz", 0xFFFF)


def cHz_to_hz(value_cHz: int) -> float:
    """Convert wire centi-hertz to hertz."""
    return value_cHz / 100


def us_to_wire(value_us: float, field: str = "phase_width_us") -> int:
    """Check microseconds for the wire (u16; resolution 1 µs).

    Raises:
        UnitError: not finite, negative, not whole or above 65535 µs.
    """
    return _to_wire(value_us, 1, field, "µs", 0xFFFF)


def s_to_ms(value_s: float, field: str = "duration_s") -> int:
    """Convert seconds to wire milliseconds (u16; resolution 1 ms, at most 65.535 s).

    Raises:
        UnitError: not finite, negative, finer than 1 ms or above 65.535 s.
    """
    return _to_wire(value_s, 1000, field, "s", 0xFFFF)


def ms_to_s(value_ms: int) -> float:
    """Convert wire milliseconds to seconds."""
    return value_ms / 1000


def s_to_whole_s(value_s: float, field: str = "max_run_s") -> int:
    """Check whole seconds for the wire (u16).

    Raises:
        UnitError: not finite, negative, not whole or above 65535 s.
    """
    return _to_wire(value_s, 1, field, "s", 0xFFFF)


def nC_to_uC(value_nC: int) -> float:
    """Convert wire nanocoulombs to microcoulombs."""
    return value_nC / 1000


def uC_at_nC(value_uC: float) -> float:
    """A charge in microcoulombs rounded to the wire's 1 nC: a sum or difference of charges
    the device measured, without the float digits it did not measure."""
    return round(value_uC, 3)


def mV_to_V(value_mV: int) -> float:
    """Convert wire millivolts to volts."""
    return value_mV / 1000
