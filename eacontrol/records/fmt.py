"""Numbers with units for reports: a few significant digits, SI prefixes, readable durations,
times of day in the local zone.

Rounding is for reading only; the JSON report and the exports keep full precision. Records
store UTC; only what a person reads is shown in the local time zone (``TZ`` honoured).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

__all__ = [
    "charge",
    "clock",
    "count",
    "current",
    "duration",
    "frequency",
    "impedance",
    "join_words",
    "local_time",
    "moment",
    "percent",
    "sig",
    "width",
]

_THIN_SPACE = "\u2009"  # SI digit grouping: a thin space, not a comma or a dot
_NOT_RECORDED = "—"


def sig(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, no exponent, no trailing zeros.

    Digits of the integer part are never rounded away (1234 stays 1234).
    """
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{round(value, decimals):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def current(mA: float | None) -> str:
    """A current in mA, e.g. ``3.5 mA``."""
    return _NOT_RECORDED if mA is None else f"{sig(mA)} mA"


def frequency(hz: float | None) -> str:
    """A pulse rate, e.g. ``2 Hz``, ``100 Hz``, ``2.5 Hz``."""
    return "unknown rate" if hz is None else f"{sig(hz, 4)} Hz"


def width(us: float | None) -> str:
    """A phase width or gap in µs."""
    return _NOT_RECORDED if us is None else f"{sig(us, 4)} µs"


def impedance(ohm: float | None) -> str:
    """An impedance, e.g. ``820 Ω``, ``1.2 kΩ``."""
    if ohm is None:
        return _NOT_RECORDED
    return f"{sig(ohm / 1000)} kΩ" if abs(ohm) >= 1000 else f"{sig(ohm)} Ω"


def charge(uC: float | None) -> str:
    """A charge with the prefix that suits it: nC, µC, mC or C."""
    if uC is None:
        return _NOT_RECORDED
    size = abs(uC)
    if 0 < size < 1:
        return f"{sig(uC * 1000)} nC"
    if size < 1e3:
        return f"{sig(uC)} µC"
    if size < 1e6:
        return f"{sig(uC / 1e3)} mC"
    return f"{sig(uC / 1e6)} C"


def percent(pct: float | None) -> str:
    """A percentage with two significant digits, e.g. ``0.012 %``."""
    return _NOT_RECORDED if pct is None else f"{sig(pct, 2)} %"


def count(n: int | None) -> str:
    """An integer grouped in thousands by thin spaces."""
    return _NOT_RECORDED if n is None else f"{n:,}".replace(",", _THIN_SPACE)


def duration(s: float | None) -> str:
    """A duration: ``1.5 s``, ``45 s``, ``20 min``, ``25 min 12 s``, ``1 h 5 min``."""
    if s is None:
        return _NOT_RECORDED
    if s < 60:
        return f"{sig(s)} s"
    whole = round(s)
    hours, rest = divmod(whole, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or hours:
        parts.append(f"{minutes} min")
    if seconds and not hours:
        parts.append(f"{seconds} s")
    return " ".join(parts)


def clock(t_s: float) -> str:
    """Session time as ``m:ss.s`` (``12:03.5``)."""
    minutes, seconds = divmod(round(max(t_s, 0.0), 1), 60)
    return f"{int(minutes)}:{seconds:04.1f}"


def local_time(when: datetime) -> str:
    """An instant in the local time zone with its name and offset from UTC:
    ``2026-12-06 23:46:03 CET (+01:00)``. The zone is the process's (``TZ``, else the system's);
    a naive ``when`` is taken as UTC, which is how records store every time.
    """
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    local = aware.astimezone()
    offset_min = round((local.utcoffset() or timedelta(0)).total_seconds() / 60)
    hours, minutes = divmod(abs(offset_min), 60)
    sign = "-" if offset_min < 0 else "+"
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} ({sign}{hours:02d}:{minutes:02d})"


def moment(iso_text: str | None) -> str:
    """A stored ISO 8601 time as :func:`local_time` shows it; ``—`` when not recorded."""
    if iso_text is None:
        return _NOT_RECORDED
    return local_time(datetime.fromisoformat(iso_text))


def join_words(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
