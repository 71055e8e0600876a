"""Report numbers: significant digits, SI prefixes, durations."""

from __future__ import annotations

import pytest
from zone import local_zone

from eacontrol.records import fmt


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (3.0, 3, "3"),
        (2.5, 3, "2.5"),
        (2.9412, 3, "2.94"),
        (0.000026178, 2, "0.000026"),
        (1234.6, 3, "1235"),
        (100.0, 4, "100"),
        (-0.01, 3, "-0.01"),
        (0.0, 3, "0"),
        (-0.0001, 1, "-0.0001"),
    ],
)
def test_sig(value: float, digits: int, text: str) -> None:
    assert fmt.sig(value, digits) == text


@pytest.mark.parametrize(
    ("uC", "text"),
    [(0.01, "10 nC"), (-0.5, "-500 nC"), (7.2, "7.2 µC"), (38880.0, "38.9 mC"), (2.5e6, "2.5 C")],
)
def test_charge_picks_a_prefix(uC: float, text: str) -> None:
    assert fmt.charge(uC) == text


@pytest.mark.parametrize(
    ("s", "text"),
    [
        (1.5, "1.5 s"),
        (45.0, "45 s"),
        (1200.0, "20 min"),
        (1502.0, "25 min 2 s"),
        (3900.0, "1 h 5 min"),
        (None, "—"),
    ],
)
def test_duration(s: float | None, text: str) -> None:
    assert fmt.duration(s) == text


def test_units() -> None:
    assert fmt.current(3.5) == "3.5 mA"
    assert fmt.frequency(2.0) == "2 Hz" and fmt.frequency(None) == "unknown rate"
    assert fmt.width(600.0) == "600 µs"
    assert fmt.impedance(820.0) == "820 Ω" and fmt.impedance(1100.0) == "1.1 kΩ"
    assert fmt.percent(0.000262) == "0.00026 %"
    assert fmt.count(60000) == "60\u2009000"
    assert fmt.clock(59.96) == "1:00.0" and fmt.clock(725.5) == "12:05.5"
    with local_zone("UTC"):
        assert fmt.moment("2025-03-04T09:30:00.000000+00:00") == "2025-03-04 09:30:00 UTC (+00:00)"
