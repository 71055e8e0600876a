"""Every command once as a real subprocess of the installed ``eactl`` console script.

(``simulate`` runs as a subprocess in test_simulate.py.)
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Script = Callable[..., subprocess.CompletedProcess[str]]


def test_version_and_usage(script: Script) -> None:
    version = script("--version")
    assert (version.returncode, version.stdout.startswith("eactl (eacontrol) ")) == (0, True)
    usage = script("no-such-command")
    assert usage.returncode == 2
    assert "invalid choice: 'no-such-command'" in usage.stderr


def test_profiles_validate_show_schema(
    script: Script, profile_file: Callable[[str, str], Path], refused_toml: str
) -> None:
    listed = script("profiles")
    assert listed.returncode == 0 and "lbp_2_100hz_han" in listed.stdout
    bad = profile_file("bad.toml", refused_toml)
    refused = script("validate", "lbp_2hz", str(bad))
    assert refused.returncode == 1
    assert f"{bad}:15: steps[0].intensity_mA" in refused.stdout
    shown = script("show", "tcm_dense_disperse")
    assert shown.returncode == 0 and "dense_disperse" in shown.stdout
    schema = script("schema")
    assert json.loads(schema.stdout)["title"] == "Profile"


def test_refused_show_prints_no_traceback(
    script: Script, profile_file: Callable[[str, str], Path], refused_toml: str
) -> None:
    result = script("show", str(profile_file("bad.toml", refused_toml)))
    assert result.returncode == 1
    assert result.stderr.startswith("eactl: profile ")
    assert "Traceback" not in result.stderr


def test_ports(script: Script) -> None:
    result = script("ports", "--json")
    assert result.returncode == 0
    assert isinstance(json.loads(result.stdout), list)


def test_log_and_report(script: Script, recorded_db: Path, tmp_path: Path) -> None:
    db = ("--db", str(recorded_db))
    listed = script("log", "list", "--json", *db)
    assert [s["id"] for s in json.loads(listed.stdout)] == [1]
    shown = script("log", "show", "1", *db)
    assert shown.returncode == 0 and "outcome:  completed" in shown.stdout
    exported = script("log", "export", "1", "--format", "csv", "--table", "events", *db)
    header = "session_id,t_s,utc,device_uptime_s,kind,channel,message,data"
    assert exported.stdout.splitlines()[0] == header
    report = script("report", "1", "--format", "json", *db)
    assert json.loads(report.stdout)["session"]["outcome"] == "completed"
    unknown = script("report", "42", *db)
    assert (unknown.returncode, unknown.stderr.count("\n")) == (1, 1)


def test_plot(script: Script, tmp_path: Path) -> None:
    target = tmp_path / "plot.png"
    result = script("plot", "intermittent_1_5s", "-o", str(target))
    if importlib.util.find_spec("matplotlib") is None:
        assert result.returncode == 1
        assert "pip install 'eacontrol[plot]'" in result.stderr
        pytest.skip("matplotlib (extra 'plot') missing: the message was checked")
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:4] == b"\x89PNG"


def test_plan_and_a_fast_run(
    script: Script, profile_file: Callable[[str, str], Path], valid_toml: str, tmp_path: Path
) -> None:
    plan = script("plan", "trigger_point_100hz", "--frames")
    assert plan.returncode == 0, plan.stderr
    assert "SET_PROGRAM" in plan.stdout and "frame (counter 1, untagged): " in plan.stdout
    db = tmp_path / "s.sqlite3"
    short = profile_file("short.toml", valid_toml.replace("duration_s = 600", "duration_s = 20"))
    run = script("run", str(short), "--fast", "--db", str(db), "--sim-option", "seed=2")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("session 1 ended: completed")
    listed = script("log", "list", "--json", "--db", str(db))
    assert json.loads(listed.stdout)[0]["outcome"] == "completed"
