"""The plan (timeline, programs, effective ceilings) and the prescription built from a profile."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from eacontrol.device import connect
from eacontrol.errors import Layer
from eacontrol.profiles import (
    PatientContext,
    PointOverride,
    SitePolicy,
    check_profile,
    load_profile,
    stored_profile_names,
)
from eacontrol.records import parse_prescription
from eacontrol.safety import LimitStack
from eacontrol.safety.limits import DeviceLimits
from eacontrol.session import SessionPlan, build_prescription, effective_ceiling, profile_sha256


@pytest.fixture(scope="module")
def device() -> DeviceLimits:
    """A four-channel simulated device's reported limits, with a 7 mA maximum."""
    with connect("sim://?channels=4&max_intensity_uA=7000") as stim:
        return stim.limits


def test_the_plan_lays_out_the_timeline_with_the_one_program_mapping() -> None:
    profile = load_profile("research_template")
    plan = SessionPlan.build(profile)
    assert plan.channels == (1,)
    assert plan.total_s == 1200
    first, second = plan.steps
    assert (first.start_s, first.end_s, first.hold_s) == (0, 600, 598)
    assert (second.start_s, second.end_s) == (600, 1200)
    assert first.channel(1).stimulation == profile.stimulation(0, 1)
    assert second.channel(1).stimulation.shape == "asymmetric_biphasic"
    assert plan.step_at(599.9) is first and plan.step_at(600) is second
    assert plan.step_at(1200) is None
    with pytest.raises(KeyError):
        first.channel(2)
    assert first.name == "2 Hz" and replace(first, label="").name == "step 1"


def test_parameters_record_every_program_field_and_the_crc() -> None:
    step = SessionPlan.build(load_profile("lbp_2_100hz_han")).steps[0]
    parameters = step.parameters({1: 0x1234ABCD, 2: 0x1})
    json.dumps(parameters)  # JSON-ready
    channel_1 = parameters["channels"]["1"]
    assert channel_1["program_crc"] == "0x1234ABCD"
    assert channel_1["frequency_b_hz"] == 100 and channel_1["dwell_a_s"] == 3
    assert channel_1["ceiling_mA"] == 10


@pytest.mark.parametrize(
    ("on_device", "site", "patient", "value", "layer"),
    [
        (False, None, None, 8.0, Layer.PROFILE),  # the channel's own ceiling
        (True, None, None, 7.0, Layer.DEVICE),
        (
            False,
            SitePolicy(schema_version=1, name="s", max_intensity_mA=7.5),
            None,
            7.5,
            Layer.SITE,
        ),
        (False, None, PatientContext(calibrated_max_mA={1: 4}), 4.0, Layer.PATIENT),
        # On a tie the more fundamental layer is named.
        (True, None, PatientContext(calibrated_max_mA={1: 7}), 7.0, Layer.DEVICE),
    ],
    ids=["profile", "device", "site", "patient", "tie"],
)
def test_the_effective_ceiling_names_the_binding_layer(
    device: DeviceLimits,
    on_device: bool,
    site: SitePolicy | None,
    patient: PatientContext | None,
    value: float,
    layer: Layer,
) -> None:
    profile = load_profile("research_template")
    stack = LimitStack.build(device=device if on_device else None, site=site, patient=patient)
    ceiling = effective_ceiling(profile, 0, 1, stack)
    assert (ceiling.value_mA, ceiling.layer) == (value, layer)
    if layer is Layer.PROFILE:
        assert "channels[0].ceiling_mA" in ceiling.source


@pytest.mark.parametrize("name", stored_profile_names())
def test_every_stored_profile_gives_a_prescription_the_records_accept(name: str) -> None:
    profile = load_profile(name)
    findings = check_profile(profile)
    rx = build_prescription(profile, SessionPlan.build(profile), findings=findings)
    parsed = parse_prescription(rx)
    assert [s["channels"] for s in parsed["steps"]] == [list(s.channels) for s in profile.steps]
    assert [s["duration_s"] for s in parsed["steps"]] == [s.duration_s for s in profile.steps]
    assert [c["electrodes"] for c in parsed["channels"]] == [
        [str(site) for site in c.electrodes] for c in profile.channels
    ]
    assert len(parsed["findings"]) == sum(f.severity == "advisory" for f in findings)


def test_the_prescription_records_patient_flags_and_overrides() -> None:
    profile = load_profile("trigger_point_100hz")
    patient = PatientContext(
        pregnant=True,
        pregnancy_overrides=(
            PointOverride(
                point="GB21",
                reason="no alternative; 2nd trimester, obstetrician consulted",
                authorised_by="Dr A",
                recorded_at=datetime(2025, 5, 1, tzinfo=UTC),
            ),
        ),
        calibrated_max_mA={1: 5},
    )
    rx = build_prescription(profile, SessionPlan.build(profile), patient=patient)
    assert rx["patient_flags"] == ["pregnant", "calibrated maximum 5 mA on channel 1"]
    assert rx["overrides"][0].startswith("GB21: no alternative")
    assert "Dr A" in rx["overrides"][0]
    parse_prescription(rx)


def test_the_profile_hash_is_its_canonical_sha256() -> None:
    profile = load_profile("lbp_2hz")
    digest = profile_sha256(profile)
    assert len(digest) == 64 and digest == profile_sha256(load_profile("lbp_2hz"))
    assert digest != profile_sha256(load_profile("lbp_2_100hz_han"))
