"""The stored profile library: every profile loads, validates and is documented."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from eacontrol.errors import Severity
from eacontrol.profiles import (
    STORED_PACKAGE,
    load_profile,
    profile_dose,
    stored_profile_names,
    validate_file,
)
from eacontrol.stimulation import StimulationMode

NAMES = stored_profile_names()


def test_at_least_eight_profiles() -> None:
    assert len(NAMES) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_loads_under_the_standard_layer(name: str) -> None:
    validation = validate_file(name)
    assert not [f for f in validation.findings if f.severity is Severity.REFUSE]
    profile = load_profile(name)
    assert profile.indication and profile.description
    assert profile.references
    assert any("WHO" in r for r in profile.references) or name == "research_template"
    for i in range(len(profile.steps)):
        for ch in profile.steps[i].channels:
            assert profile.stimulation(i, ch).intensity_mA <= profile.ceiling(i, ch)[0] <= 20
    dose = profile_dose(profile)
    assert all(d.phase_charge_uC <= 10 for d in dose.steps)


def test_the_library_covers_every_mode_and_the_issue_examples() -> None:
    modes = {step.MODE for name in NAMES for step in load_profile(name).steps}
    assert modes == set(StimulationMode)
    han = load_profile("lbp_2_100hz_han").stimulation(0, 1)
    assert (han.frequency_hz, han.frequency_b_hz, han.dwell_a_s, han.dwell_b_s) == (2, 100, 3, 3)
    tcm = load_profile("tcm_dense_disperse").stimulation(0, 1)
    assert (tcm.dwell_a_s, tcm.dwell_b_s) == (1.5, 1.5)
    sparse = load_profile("intermittent_1_5s").stimulation(0, 1)
    assert (sparse.on_s, sparse.off_s) == (1.5, 1.5)
    assert load_profile("trigger_point_100hz").stimulation(0, 1).frequency_hz == 100
    low_back = load_profile("lbp_2hz")
    assert 1200 <= low_back.total_duration_s <= 1500  # 20-25 min
    codes = {site.point.code for ch in low_back.channels for site in ch.electrodes}
    assert {"BL23", "BL25", "BL40"} <= codes


def test_readme_lists_every_profile_with_its_sources() -> None:
    readme = resources.files(STORED_PACKAGE).joinpath("README.md").read_text(encoding="utf-8")
    library = readme.split("## The library", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", library, flags=re.MULTILINE))
    assert listed == set(NAMES)
    for source in ("Han 2003", "Wang 2005", "Cheng 1987", "Cummings 2011", "Shannon 1992"):
        assert f"**{source}**" in readme
