"""Layered limits: standard, device, site, patient and profile, and their intersection."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from eacontrol.errors import (
    Finding,
    Layer,
    ProfileError,
    ProfileRefused,
    ProfileSyntaxError,
    Severity,
)
from eacontrol.profiles import (
    PatientContext,
    PointOverride,
    Profile,
    SitePolicy,
    check_profile,
    load_profile,
    load_site_policy,
)
from eacontrol.safety import Bound, LimitStack, Quantity
from eacontrol.safety.engine import DEVICE_SOURCE
from eacontrol.safety.limits import SOURCES, STANDARD, DeviceLimits, StandardLimits
from eacontrol.session.plan import effective_ceiling

DataMaker = Callable[..., dict[str, Any]]
ProfileMaker = Callable[..., Profile]

DEVICE = DeviceLimits(
    channel_count=2,
    max_intensity_mA=15.0,
    min_phase_width_us=50.0,
    max_phase_width_us=800.0,
    min_frequency_hz=1.0,
    max_frequency_hz=150.0,
    max_phase_charge_uC=8.0,
    max_slew_mA_per_s=2.0,
    compliance_V=60.0,
    min_lease_ms=200,
    max_lease_ms=1000,
    max_run_s=1200.0,
    max_interphase_us=100.0,
    max_asym_ratio=4,
)


def refusals(findings: list[Finding]) -> set[tuple[str, Layer]]:
    return {(f.path, f.layer) for f in findings if f.severity is Severity.REFUSE}


def advisories(findings: list[Finding]) -> set[tuple[str, Layer]]:
    return {(f.path, f.layer) for f in findings if f.severity is Severity.ADVISORY}


def test_every_standard_figure_has_a_source() -> None:
    names = {f.name for f in dataclasses.fields(StandardLimits)}
    assert set(SOURCES) == names
    assert all(SOURCES.values())


def bound(
    stack: LimitStack, quantity: Quantity, channel: int | None = None, upper: bool = True
) -> Bound:
    found = stack.upper(quantity, channel) if upper else stack.lower(quantity, channel)
    assert found is not None
    return found


def test_standard_bounds_and_the_tightest_layer_wins() -> None:
    site = SitePolicy(schema_version=1, name="clinic", max_intensity_mA=12, max_frequency_hz=180)
    patient = PatientContext(calibrated_max_mA={1: 6})
    stack = LimitStack.build(device=DEVICE, site=site, patient=patient)
    standard_only = LimitStack.build()
    peak = bound(standard_only, Quantity.INTENSITY)
    assert (peak.value, peak.layer, peak.source) == (
        20.0,
        Layer.STANDARD,
        SOURCES["max_intensity_mA"],
    )
    assert (
        bound(stack, Quantity.INTENSITY, 1).value,
        bound(stack, Quantity.INTENSITY, 1).layer,
    ) == (6.0, Layer.PATIENT)
    assert bound(stack, Quantity.INTENSITY, 1).text == "≤ 6 mA"
    assert bound(stack, Quantity.INTENSITY, 2).layer is Layer.SITE
    assert bound(stack, Quantity.FREQUENCY).layer is Layer.DEVICE
    # A tie (1 Hz from the standard and from the device) names the standard.
    assert bound(stack, Quantity.FREQUENCY, upper=False).layer is Layer.STANDARD
    assert standard_only.upper(Quantity.SLEW) is None
    assert bound(stack, Quantity.SLEW).layer is Layer.DEVICE


def test_a_looser_site_figure_changes_nothing() -> None:
    site = SitePolicy(schema_version=1, name="clinic", max_intensity_mA=30)
    bound = LimitStack.build(site=site).upper(Quantity.INTENSITY)
    assert bound is not None and bound.layer is Layer.STANDARD


def test_device_layer(make_profile: ProfileMaker, step_data: DataMaker) -> None:
    profile = make_profile(
        channels=[{"channel": 3, "electrodes": ["BL23-L", "BL25-L"], "ceiling_mA": 18}],
        steps=[
            step_data(
                channels=[3], frequency_hz=160, phase_width_us=900, intensity_mA=16,
                interphase_gap_us=200, duration_s=1500, ramp_up_s=2,
                shape="asymmetric_biphasic", asym_ratio=5,
            )
        ],
    )  # fmt: skip
    found = check_profile(profile, device=DEVICE)
    assert {
        ("channels[0].channel", Layer.DEVICE),
        ("steps[0].frequency_hz", Layer.DEVICE),
        ("steps[0].phase_width_us", Layer.DEVICE),
        ("steps[0].intensity_mA", Layer.DEVICE),
        ("steps[0].interphase_gap_us", Layer.DEVICE),
        ("steps[0].asym_ratio", Layer.DEVICE),
        ("steps[0].duration_s", Layer.DEVICE),
        ("steps[0].ramp_up_s", Layer.DEVICE),  # 16 mA in 2 s is faster than 2 mA/s
    } <= refusals(found)
    device_findings = [f for f in found if f.layer is Layer.DEVICE]
    assert all(f.source == DEVICE_SOURCE for f in device_findings)
    # The 18 mA ceiling is above the device's 15 mA: lowered, with an advisory, not refused.
    assert ("channels[0].ceiling_mA", Layer.DEVICE) in advisories(found)
    assert ("channels[0].ceiling_mA", Layer.DEVICE) not in refusals(found)


def test_device_compliance_advisory(make_profile: ProfileMaker) -> None:
    weak = dataclasses.replace(DEVICE, compliance_V=3.0)  # 10 mA into 500 ohm needs 5 V
    found = check_profile(make_profile(), device=weak)
    assert ("session.ceiling_mA", Layer.DEVICE) in advisories(found)
    assert not refusals(found)


def test_phase_charge_uses_the_lowered_ceiling(
    make_profile: ProfileMaker, step_data: DataMaker
) -> None:
    # 12 mA ceiling x 700 us = 8.4 uC > the device's 8 uC; lowered to 15 mA? No: 12 < 15.
    profile = make_profile(steps=[step_data(phase_width_us=700, ceiling_mA=12)])
    found = check_profile(profile, device=DEVICE)
    charge = [f for f in found if f.quantity == "phase_charge_uC"]
    assert [(f.path, f.layer, f.value) for f in charge] == [
        ("steps[0].phase_width_us", Layer.DEVICE, pytest.approx(8.4))
    ]
    # With a patient maximum of 10 mA the reachable charge is 7 uC: allowed.
    patient = PatientContext(calibrated_max_mA={1: 10})
    found = check_profile(profile, device=DEVICE, patient=patient)
    assert not [f for f in found if f.quantity == "phase_charge_uC"]
    assert ("steps[0].ceiling_mA", Layer.PATIENT) in advisories(found)


def test_site_policy_file(tmp_path: Path, make_profile: ProfileMaker, step_data: DataMaker) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'schema_version = 1\nname = "Riverside"\nsource = "Policy EA-03 rev 2"\n'
        'max_intensity_mA = 4\nmax_session_s = 900\nrefused_points = ["ub25"]\n'
    )
    site = load_site_policy(policy)
    assert site.refused_points == ("BL25",)
    found = check_profile(
        make_profile(steps=[step_data(intensity_mA=5, duration_s=1000)]), site=site
    )
    assert {
        ("channels[0].electrodes[1]", Layer.SITE),
        ("steps[0].intensity_mA", Layer.SITE),
        ("steps", Layer.SITE),
    } <= refusals(found)
    assert {f.source for f in found if f.layer is Layer.SITE} == {"Policy EA-03 rev 2"}


def test_site_policy_file_problems(tmp_path: Path) -> None:
    nameless = tmp_path / "nameless.toml"
    nameless.write_text('schema_version = 1\nname = "x"\nmax_intensity = 4\n')
    with pytest.raises(ProfileError) as caught:
        load_site_policy(nameless)
    [finding] = caught.value.findings
    assert (finding.path, finding.line) == ("max_intensity", 3)
    assert "max_intensity_mA" in finding.message
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(ProfileSyntaxError):
        load_site_policy(broken)
    with pytest.raises(ProfileError):
        load_site_policy(tmp_path / "missing.toml")
    unsourced = tmp_path / "unsourced.json"
    unsourced.write_text('{"schema_version": 1, "name": "x", "max_phase_charge_uC": 5}')
    assert load_site_policy(unsourced).source == f"site policy {unsourced}"


def test_pacemaker_and_icd_refuse_everything(make_profile: ProfileMaker) -> None:
    found = check_profile(make_profile(), patient=PatientContext(pacemaker=True, icd=True))
    implant = [f for f in found if f.quantity == "implant"]
    assert [(f.path, f.layer, f.value) for f in implant] == [
        ("", Layer.PATIENT, "pacemaker"),
        ("", Layer.PATIENT, "ICD"),
    ]
    assert all("IEC 60601-2-10" in (f.source or "") for f in implant)


def test_pregnancy_points_need_a_recorded_override() -> None:
    pregnant = PatientContext(pregnant=True)
    with pytest.raises(ProfileRefused) as caught:
        load_profile("research_template", patient=pregnant)  # LI4-L on channel 1
    assert [(f.path, f.layer) for f in caught.value.findings if f.severity is Severity.REFUSE] == [
        ("channels[0].electrodes[0]", Layer.PATIENT)
    ]
    override = PointOverride(
        point="li4", reason="labour induction trial, ethics approval 2024/17",
        authorised_by="Dr A. Example", recorded_at=datetime(2024, 5, 1, 9, 30),
    )  # fmt: skip
    allowed = PatientContext(pregnant=True, pregnancy_overrides=(override,))
    profile = load_profile("research_template", patient=allowed)
    found = check_profile(profile, patient=allowed)
    recorded = [f for f in found if f.layer is Layer.PATIENT]
    assert [f.severity for f in recorded] == [Severity.ADVISORY]
    assert "Dr A. Example" in recorded[0].message and "2024-05-01" in recorded[0].message


def test_calibrated_maximum_is_per_channel(
    make_profile: ProfileMaker, step_data: DataMaker
) -> None:
    profile = make_profile(
        channels=[
            {"channel": 1, "electrodes": ["BL23-L", "BL25-L"]},
            {"channel": 2, "electrodes": ["BL23-R", "BL25-R"]},
        ],
        steps=[step_data(channels=[1, 2], intensity_mA=4)],
    )
    patient = PatientContext(calibrated_max_mA={2: 3.5})
    found = check_profile(profile, patient=patient)
    [refusal] = [f for f in found if f.severity is Severity.REFUSE]
    assert (refusal.path, refusal.layer, refusal.allowed) == (
        "steps[0].intensity_mA",
        Layer.PATIENT,
        "≤ 3.5 mA",
    )
    assert refusal.message.startswith("channel 2:")
    stack = LimitStack.build(patient=patient)
    ceilings = [effective_ceiling(profile, 0, ch, stack).value_mA for ch in (1, 2)]
    assert ceilings == [10.0, 3.5]


def test_rms_and_indicator_rules_with_a_stricter_standard(make_profile: ProfileMaker) -> None:
    # Under the built-in table neither can trigger (10 uC per phase caps rms below 10 mA); a
    # stricter table exercises both rules.
    strict = dataclasses.replace(STANDARD, max_rms_500ohm_mA=0.4, indicator_rms_mA=0.1)
    found = check_profile(make_profile(), standard=strict)
    rms = [f for f in found if f.quantity == "rms_500ohm_mA"]
    assert [(f.path, f.layer, f.severity) for f in rms] == [
        ("steps[0].frequency_hz", Layer.STANDARD, Severity.REFUSE)
    ]
    assert rms[0].source == SOURCES["max_rms_500ohm_mA"]
    indicator = [f for f in found if f.quantity == "rms_mA"]
    assert [(f.path, f.severity) for f in indicator] == [
        ("steps[0].intensity_mA", Severity.ADVISORY)
    ]


def test_density_advisories_do_not_refuse(make_profile: ProfileMaker, step_data: DataMaker) -> None:
    needle = {"diameter_mm": 0.1, "inserted_length_mm": 1}
    profile = make_profile(
        channels=[{"channel": 1, "electrodes": ["BL23-L", "BL25-L"], "needle": needle}],
        steps=[step_data(intensity_mA=10, phase_width_us=1000, frequency_hz=200)],
    )
    found = check_profile(profile)
    assert not refusals(found)
    quantities = {f.quantity for f in found if f.severity is Severity.ADVISORY}
    assert {"shannon_k", "current_density_mA_per_cm2", "power_density_W_per_cm2"} <= quantities
    assert all(f.source for f in found)


def test_findings_name_quantity_value_limit_layer_and_source(
    make_profile: ProfileMaker, step_data: DataMaker
) -> None:
    found = check_profile(make_profile(steps=[step_data(frequency_hz=250)]))
    [finding] = found
    assert (finding.quantity, finding.value, finding.allowed) == ("frequency_hz", 250.0, "≤ 200 Hz")
    assert (finding.layer, finding.source) == (Layer.STANDARD, SOURCES["max_frequency_hz"])
