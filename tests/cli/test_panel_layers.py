"""eactl panel (issue 19): the site and patient limit layers as eactl run's options, --blind
refused, and the setup screen's derived dose as eactl show derives it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from panel_pages import PROFILE, page_on

from eacontrol.cli.layers import Layers, layers_from
from eacontrol.cli.panel_cmd import BLIND_REFUSED, layers_text
from eacontrol.cli.show_cmd import DERIVED_HEADERS, derived_rows
from eacontrol.cli.table import number
from eacontrol.profiles import PatientContext, load_profile, load_site_policy

Eactl = Callable[..., Any]


def _ended(page: Any) -> dict[str, Any]:
    ended = page.until(lambda m: m["type"] == "view" and m["phase"] == "ended")
    return dict(ended["result"])


def test_a_profile_the_patient_layer_refuses_is_refused_as_eactl_run_refuses_it(
    tmp_path: Path, eactl: Eactl
) -> None:
    ran = eactl(
        "run", PROFILE, "--patient-flags", "pregnant", "--fast", "--db", str(tmp_path / "x.db")
    )
    assert ran.code == 1
    refusal = ran.err.removeprefix("eactl: ").strip()
    assert "BL23-L is on the lumbosacral region" in refusal
    layers = Layers(None, PatientContext(pregnant=True))
    with page_on(tmp_path / "r.db", layers=layers) as page:
        assert page.hello["layers"] == ""  # the words are eactl panel's: test_the_layers_in_words
        offered = {p["name"]: p for p in page.hello["profiles"]}
        assert any("lumbosacral region" in r for r in offered[PROFILE]["refusals"])  # before start
        page.send(type="start", profile=PROFILE, placement=[1, 2], patient="P-017")
        assert page.reply()["ok"]  # asked: the session's own checks refuse it
        result = _ended(page)
    assert result["not_started"] is True  # "NOT STARTED: nothing was stimulated"
    assert result["text"] == f"ProfileRefused: {refusal}"


def test_a_calibrated_maximum_caps_the_channel_from_the_panel(tmp_path: Path) -> None:
    layers = Layers(None, PatientContext(calibrated_max_mA={1: 5.0}))
    with page_on(tmp_path / "r.db", layers=layers) as page:
        offered = {p["name"]: p for p in page.hello["profiles"]}[PROFILE]
        assert offered["refusals"] == []
        assert "channel 1: ceiling 10 mA lowered to the patient limit 5 mA" in offered["advisories"]
        dose = {(d["step"], d["channel"]): d for d in offered["dose"]}
        assert (dose[0, 1]["ceiling_mA"], dose[0, 1]["ceiling_layer"]) == (5.0, "patient")
        assert dose[0, 2]["ceiling_layer"] == "profile"
        running = page.start()
        ceilings = {c["channel"]: c["ceiling_mA"] for c in running["channels"]}
        assert ceilings[1] == 5.0  # the session applies the layer: the most + can set
        assert ceilings[2] > 5.0
        page.send(type="stop")
        assert _ended(page)["outcome"] == "emergency_stop"


def test_a_site_policy_caps_every_channel_from_the_panel(tmp_path: Path) -> None:
    policy = tmp_path / "site.toml"
    policy.write_text('schema_version = 1\nname = "Clinic A"\nmax_intensity_mA = 4\n')
    with page_on(tmp_path / "r.db", layers=Layers(load_site_policy(str(policy)), None)) as page:
        offered = {p["name"]: p for p in page.hello["profiles"]}[PROFILE]
        assert "ceiling 10 mA lowered to the site limit 4 mA" in offered["advisories"]
        running = page.start()
        assert {c["channel"]: c["ceiling_mA"] for c in running["channels"]} == {1: 4.0, 2: 4.0}
        page.send(type="stop")
        assert _ended(page)["outcome"] == "emergency_stop"


def test_the_layer_options_are_eactl_runs(tmp_path: Path, eactl: Eactl) -> None:
    db = str(tmp_path / "r.db")
    for bad in (
        ("--patient-flags", "pregnant,wooden-leg"),
        ("--calibrated-max", "1:5"),
        ("--implant-clearance", "Dr A;2026-11-30;letter 1"),  # without pacemaker or icd
        ("--site", str(tmp_path / "missing.toml")),
    ):
        run = eactl("run", PROFILE, "--fast", "--db", db, *bad)
        panel = eactl("panel", "--listen", "127.0.0.1:0", "--db", db, *bad)
        assert (panel.code, panel.err) == (run.code, run.err), bad
        assert panel.code in (1, 2)
        assert panel.out == ""  # refused before anything listens


def test_the_layers_in_words() -> None:
    args = argparse.Namespace(
        site=None,
        patient_flags="ICD, pregnant",
        implant_clearance="Dr A Khan;2026-11-30;letter EP-2291",
        calibrated_max=["2=4.5", "1=5"],
    )
    assert layers_text(args, layers_from(args)) == (
        "patient flags icd, pregnant; implant clearance Dr A Khan;2026-11-30;letter EP-2291; "
        "calibrated maximum channel 1: 5 mA; calibrated maximum channel 2: 4.5 mA"
    )
    none = argparse.Namespace(
        site=None, patient_flags="", implant_clearance=None, calibrated_max=[]
    )
    assert layers_text(none, layers_from(none)) == ""


def test_blind_is_refused_with_the_reason(tmp_path: Path, eactl: Eactl) -> None:
    refused = eactl("panel", "--blind", "--listen", "127.0.0.1:0", "--db", str(tmp_path / "r.db"))
    assert refused.code == 2
    assert refused.err == f"eactl: {BLIND_REFUSED}\n"
    assert "would unblind the operator" in refused.err
    assert "eactl run --blind" in refused.err
    assert refused.out == ""


@pytest.mark.parametrize("name", ["research_template", PROFILE])
def test_the_setup_dose_is_eactl_shows(tmp_path: Path, name: str) -> None:
    with page_on(tmp_path / "r.db") as page:
        entry = {p["name"]: p for p in page.hello["profiles"]}[name]
    shown = derived_rows(load_profile(name))
    assert len(shown) == len(entry["dose"])
    for row, d in zip(shown, entry["dose"], strict=True):
        cells = dict(zip(DERIVED_HEADERS, row, strict=True))
        per_rate = " ".join(f"{number(r)}Hz:{number(t, 1)}" for r, t in d["seconds_per_rate"])
        assert cells == {
            "STEP": str(d["step"]),
            "CH": str(d["channel"]),
            "PULSES": str(d["pulses"]),
            "Q/PHASE µC": number(d["phase_charge_uC"]),
            "NET µC": number(d["net_charge_uC"]),
            "Irms mA": number(d["rms_mA"]),
            "MEAN Irms mA": number(d["mean_rms_mA"]),
            "DUTY %": number(d["duty_percent"], 1),
            "SECONDS PER RATE": per_rate,
            "SHANNON k": "-" if d["shannon_k"] is None else number(d["shannon_k"], 2),
            "J mA/cm²": number(d["current_density_mA_per_cm2"]),
            "P W/cm²": number(d["power_density_W_per_cm2"], 4),
        }
    if name == "research_template":  # needle geometry: the densities and Shannon k
        assert entry["dose"][0]["shannon_k"] == pytest.approx(1.085, abs=0.001)
