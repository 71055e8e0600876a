"""Output-stage loads: voltage and impedance at the end of a phase, compliance, contact, parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.hardware.loads import (
    DEFAULT_LOAD,
    Intermittent,
    Load,
    OpenCircuit,
    Randles,
    Resistive,
    ShortCircuit,
    deliverable_uA,
    parse_load,
)

COMPLIANCE_mV = 100_000  # a 100 V source


def test_default_load_is_the_500_ohm_test_load() -> None:
    assert isinstance(DEFAULT_LOAD, Resistive)
    assert DEFAULT_LOAD.ohm == 500


@pytest.mark.parametrize(("ohm", "expected_mV"), [(500, 5000), (1000, 10000), (10_000, 100_000)])
def test_resistive_voltage_is_i_times_r(ohm: float, expected_mV: float) -> None:
    load = Resistive(ohm)
    assert load.peak_voltage_mV(10_000, 300) == expected_mV  # 10 mA
    assert load.impedance_ohm(300) == ohm
    assert not load.is_open(0)


def test_randles_end_of_phase_voltage() -> None:
    load = Randles(r_s_ohm=200, r_ct_ohm=1000, c_dl_nF=100)
    assert load.time_constant_us == pytest.approx(100)  # 1 kΩ · 100 nF = 100 µs
    # One time constant: V = I·(R_s + R_ct·(1 − e^−1)).
    assert load.peak_voltage_mV(1000, 100) == pytest.approx(200 + 1000 * (1 - math.exp(-1)))
    assert load.impedance_ohm(0) == 200
    assert load.impedance_ohm(100_000) == pytest.approx(1200)
    assert not load.is_open(10**9)


@settings(deadline=None)  # no wall-clock limits in tests
@given(
    st.floats(0, 10_000),
    st.floats(1, 100_000),
    st.floats(0.1, 10_000),
    st.floats(0, 20_000),
    st.floats(0, 5000),
)
def test_randles_matches_its_formula_and_lies_between_r_s_and_r_s_plus_r_ct(
    r_s_ohm: float, r_ct_ohm: float, c_dl_nF: float, current_uA: float, phase_us: float
) -> None:
    load = Randles(r_s_ohm, r_ct_ohm, c_dl_nF)
    tau_us = r_ct_ohm * c_dl_nF * 1e-3
    expected_mV = current_uA * (r_s_ohm + r_ct_ohm * (1 - math.exp(-phase_us / tau_us))) / 1000
    assert load.peak_voltage_mV(current_uA, phase_us) == pytest.approx(expected_mV, abs=1e-9)
    z_ohm = load.impedance_ohm(phase_us)
    assert r_s_ohm <= z_ohm <= r_s_ohm + r_ct_ohm
    assert load.impedance_ohm(phase_us + 100) >= z_ohm


def test_open_and_short_circuits() -> None:
    assert OpenCircuit().peak_voltage_mV(1, 300) == math.inf
    assert OpenCircuit().peak_voltage_mV(0, 300) == 0
    assert OpenCircuit().impedance_ohm(300) == math.inf
    assert OpenCircuit().is_open(0)
    assert ShortCircuit().peak_voltage_mV(20_000, 1000) == 0
    assert ShortCircuit().impedance_ohm(1000) == 0
    assert not ShortCircuit().is_open(0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Resistive(0),
        lambda: Resistive(math.nan),
        lambda: Randles(-1, 1000, 100),
        lambda: Randles(200, 0, 100),
        lambda: Randles(200, 1000, math.inf),
    ],
)
def test_invalid_load_values_are_refused(make: object) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        make()  # type: ignore[operator]


# --- compliance ------------------------------------------------------------------------------


def test_within_compliance_the_set_current_is_delivered() -> None:
    assert deliverable_uA(10_000, DEFAULT_LOAD, 300, COMPLIANCE_mV) == (10_000, False)
    # Exactly at compliance is still deliverable: 10 mA · 10 kΩ = 100 V.
    assert deliverable_uA(10_000, Resistive(10_000), 300, COMPLIANCE_mV) == (10_000, False)
    assert deliverable_uA(20_000, ShortCircuit(), 300, COMPLIANCE_mV) == (20_000, False)
    assert deliverable_uA(0, OpenCircuit(), 300, COMPLIANCE_mV) == (0, False)


def test_beyond_compliance_the_current_is_limited() -> None:
    # 20 mA into 10 kΩ needs 200 V; a 100 V source drives 10 mA and reports the limit.
    assert deliverable_uA(20_000, Resistive(10_000), 300, COMPLIANCE_mV) == (10_000, True)
    # A Randles load limits less for short phases, when the double layer has not charged.
    randles = Randles(200, 20_000, 100)  # τ = 2 ms
    short_uA, short_limited = deliverable_uA(20_000, randles, 100, COMPLIANCE_mV)
    long_uA, long_limited = deliverable_uA(20_000, randles, 1000, COMPLIANCE_mV)
    assert not short_limited and short_uA == 20_000
    assert long_limited
    assert long_uA * randles.impedance_ohm(1000) / 1000 == pytest.approx(COMPLIANCE_mV)


def test_open_circuit_takes_no_current() -> None:
    assert deliverable_uA(1000, OpenCircuit(), 300, COMPLIANCE_mV) == (0, True)


def test_deliverable_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="set_uA"):
        deliverable_uA(-1, DEFAULT_LOAD, 300, COMPLIANCE_mV)
    with pytest.raises(ValueError, match="compliance_mV"):
        deliverable_uA(1, DEFAULT_LOAD, 300, -1)


loads = st.one_of(
    st.floats(1, 1e6).map(Resistive),
    st.builds(Randles, st.floats(0, 1e4), st.floats(1, 1e5), st.floats(0.1, 1e4)),
    st.just(ShortCircuit()),
    st.just(OpenCircuit()),
)


@settings(deadline=None)  # no wall-clock limits in tests
@given(st.floats(0, 65_535), loads, st.floats(0, 2000), st.integers(0, 200_000))
def test_delivered_current_never_exceeds_set_or_compliance(
    set_uA: float, load: Load, phase_us: float, compliance_mV: int
) -> None:
    delivered_uA, limited = deliverable_uA(set_uA, load, phase_us, compliance_mV)
    assert 0 <= delivered_uA <= set_uA
    assert load.peak_voltage_mV(delivered_uA, phase_us) <= compliance_mV * (1 + 1e-12)
    if not limited:
        assert delivered_uA == set_uA


# --- intermittent contact --------------------------------------------------------------------


def contact_pattern(load: Intermittent, times_us: list[int]) -> list[bool]:
    return [load.is_open(t) for t in times_us]


TIMES_US = list(range(0, 600_000_000, 250_000))


def test_intermittent_schedule_is_reproducible_from_the_seed() -> None:
    first = Intermittent(DEFAULT_LOAD, np.random.default_rng(42))
    second = Intermittent(DEFAULT_LOAD, np.random.default_rng(42))
    other = Intermittent(DEFAULT_LOAD, np.random.default_rng(43))
    assert contact_pattern(first, TIMES_US) == contact_pattern(second, TIMES_US)
    assert contact_pattern(first, TIMES_US) != contact_pattern(other, TIMES_US)


def test_intermittent_schedule_does_not_depend_on_query_order() -> None:
    ascending = Intermittent(DEFAULT_LOAD, np.random.default_rng(7), 50, 20)
    far_first = Intermittent(DEFAULT_LOAD, np.random.default_rng(7), 50, 20)
    far_first.is_open(TIMES_US[-1])
    backwards = contact_pattern(far_first, TIMES_US[::-1])[::-1]
    assert contact_pattern(ascending, TIMES_US) == backwards


def test_intermittent_starts_in_contact_and_alternates() -> None:
    load = Intermittent(Resistive(1000), np.random.default_rng(1), 100, 10)
    assert not load.is_open(-5) and not load.is_open(0)
    t_us, states = 0, []
    for _ in range(20):
        change_us = load.next_change_us(t_us)
        assert change_us > t_us
        assert load.is_open(change_us - 1) == load.is_open(t_us)
        states.append(load.is_open(change_us))
        t_us = change_us
    assert states == [True, False] * 10
    assert load.impedance_ohm(300) == 1000
    assert load.peak_voltage_mV(1000, 300) == 1000


def test_intermittent_open_fraction_follows_the_means() -> None:
    # Mean contact 90 ms and loss 10 ms: open about 10 % of the time (seeded, so exact rerun).
    load = Intermittent(DEFAULT_LOAD, np.random.default_rng(3), 90, 10)
    samples_us = range(0, 10**9, 10_007)
    fraction = sum(load.is_open(t) for t in samples_us) / len(samples_us)
    assert 0.08 < fraction < 0.12


def test_intermittent_refuses_non_positive_means() -> None:
    with pytest.raises(ValueError, match="mean_loss_ms"):
        Intermittent(DEFAULT_LOAD, np.random.default_rng(0), 100, 0)


# --- parse_load ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500", Resistive(500)),
        ("1k", Resistive(1000)),
        ("2k", Resistive(2000)),
        ("10k", Resistive(10_000)),
        ("1.5K", Resistive(1500)),
        ("1M", Resistive(1e6)),
        (" open ", OpenCircuit()),
        ("OPEN", OpenCircuit()),
        ("short", ShortCircuit()),
        ("randles:200,1k,100n", Randles(200, 1000, 100)),
        ("randles:200, 2k, 0.1u", Randles(200, 2000, 100)),
        ("randles:0,1k,470pF", Randles(0, 1000, 0.47)),
    ],
)
def test_parse_load_accepts(text: str, expected: Load) -> None:
    assert parse_load(text) == expected


def test_parse_intermittent_load() -> None:
    load = parse_load("intermittent:500", np.random.default_rng(0))
    assert isinstance(load, Intermittent)
    assert load.base == Resistive(500)
    nested = parse_load("intermittent:randles:200,1k,100n@3000/150", np.random.default_rng(0))
    assert isinstance(nested, Intermittent)
    assert nested.base == Randles(200, 1000, 100)
    assert (nested.mean_contact_ms, nested.mean_loss_ms) == (3000, 150)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "-5",
        "0",
        "1m",
        "10 k",
        "open:5",
        "randles:200,1k",
        "randles:200,1k,100",
        "randles:200,1k,100x",
        "intermittent:500@3000",
        "intermittent:500@a/b",
        "intermittent:open@0/100",
    ],
)
def test_parse_load_refuses_with_the_text_and_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match="accepted") as caught:
        parse_load(text, np.random.default_rng(0))
    assert repr(text) in str(caught.value)
    assert "randles:200,1k,100n" in str(caught.value)


def test_parse_intermittent_without_rng_is_refused() -> None:
    with pytest.raises(ValueError, match="seeded numpy Generator"):
        parse_load("intermittent:500")
