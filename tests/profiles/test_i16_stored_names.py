"""Issue 16 item 14: findings about a stored profile name it as the repository does."""

from __future__ import annotations

from eacontrol.errors import Severity
from eacontrol.profiles import PatientContext, validate_file


def test_i16_14_findings_name_the_stored_profile_not_its_installed_path() -> None:
    result = validate_file("lbp_2hz", patient=PatientContext(pacemaker=True))
    refusals = [f for f in result.findings if f.severity is Severity.REFUSE]
    assert refusals
    assert {f.file for f in refusals} == {"profiles/lbp_2hz.toml"}
    assert not any("site-packages" in str(f) for f in result.findings)
