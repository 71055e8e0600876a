"""Issue 16 item 13: a calibrated maximum names a channel the profile drives and a current the
other layers allow (before: ``--calibrated-max 1=600`` and an unused channel passed silently)."""

from __future__ import annotations

import pytest

from eacontrol.errors import Layer, Severity
from eacontrol.profiles import PatientContext, validate_file
from eacontrol.safety.limits import DeviceLimits


def _refusals(
    patient: PatientContext, device: DeviceLimits | None = None
) -> list[tuple[str, Layer]]:
    result = validate_file("lbp_2hz", patient=patient, device=device)
    return [(f.path, f.layer) for f in result.findings if f.severity is Severity.REFUSE]


def test_i16_13_a_calibrated_maximum_above_the_standard_limit_is_refused() -> None:
    patient = PatientContext(calibrated_max_mA={1: 600})
    assert _refusals(patient) == [("patient.calibrated_max_mA[1]", Layer.STANDARD)]


def test_i16_13_a_calibrated_maximum_above_the_device_is_refused_naming_the_device() -> None:
    device = DeviceLimits(
        channel_count=4, max_intensity_mA=8.0, min_phase_width_us=50.0,
        max_phase_width_us=1000.0, min_frequency_hz=1.0, max_frequency_hz=200.0,
        max_phase_charge_uC=10.0, max_slew_mA_per_s=5.0, compliance_V=60.0, min_lease_ms=200,
        max_lease_ms=1000, max_run_s=3600.0, max_interphase_us=500.0, max_asym_ratio=8,
    )  # fmt: skip
    patient = PatientContext(calibrated_max_mA={2: 9.0})
    assert ("patient.calibrated_max_mA[2]", Layer.DEVICE) in _refusals(patient, device)


def test_i16_13_a_calibrated_maximum_for_a_channel_the_profile_does_not_use_is_refused() -> None:
    result = validate_file("lbp_2hz", patient=PatientContext(calibrated_max_mA={7: 3.0}))
    (finding,) = [f for f in result.findings if f.severity is Severity.REFUSE]
    assert finding.path == "patient.calibrated_max_mA[7]"
    assert "drives channel(s) 1, 2, 3, 4" in finding.message


@pytest.mark.parametrize("calibrated", [{1: 3.0}, {1: 3.0, 4: 6.0}])
def test_i16_13_a_sensible_calibration_passes(calibrated: dict[int, float]) -> None:
    assert _refusals(PatientContext(calibrated_max_mA=calibrated)) == []
