"""Issue 14 item 12: bad input gets a clear error naming the field and the allowed range, exit 1
or 2, never a traceback or exit 70 (and never a hang).

Before the fix (measured on main): huge integers in a profile gave ``internal error:
OverflowError`` / ``ValueError`` (exit 70); output to a full disk ``internal error: OSError``
(exit 70); ``program(1, None)`` an ``AttributeError``; ``sample_period_s=1e-300`` hung;
``intensity_mA = 1e-300`` validated and went out as 0 µA; a UTF-8 BOM gave "malformed TOML:
Invalid statement"; control characters in ``--patient`` reached the terminal raw; ``SIM://`` was
recorded as a real device; 3000 "mA" gave no hint of µA."""

from __future__ import annotations

import argparse
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import eacontrol
from eacontrol.cli.target import target_from
from eacontrol.errors import Layer, ParameterError
from eacontrol.profiles import loads_profile, validate_text
from eacontrol.records import RecordStore
from eacontrol.session import Session
from eacontrol.stimulation import Stimulation

from .conftest import VALID_TOML

Run = Callable[..., Any]

BIG = 10**30  # beyond TOML's 64-bit integers
HUGE = "9" * 5000  # beyond Python's 4300-digit limit on int()


def _clean(err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err


@pytest.mark.parametrize(
    ("old", "new", "path", "allowed"),
    [
        ("channel = 1\n", f"channel = {BIG}\n", "channels[0].channel", "≤ 255"),
        ("channels = [1]", f"channels = [{BIG}]", "steps[0].channels[0]", "≤ 255"),
        ("schema_version = 1", f"schema_version = {BIG}", "schema_version", "allowed 1"),
        ("duration_s = 600", f"duration_s = {10**400}", "steps[0].duration_s", "≤ 86400"),
        ("ramp_up_s = 3", f"ramp_up_s = {10**400}", "steps[0].ramp_up_s", "≤ 86400"),
        ("duration_s = 600", f"duration_s = -{10**400}", "steps[0].duration_s", "> 0"),
        ("channel = 1\n", f"channel = {HUGE}\n", ":6: a number with more than", "64-bit"),
        ("schema_version = 1", f"schema_version = {HUGE}", ":1: a number with more", "64-bit"),
    ],
    ids=[
        "channel",
        "step channel",
        "schema_version",
        "duration",
        "ramp",
        "negative duration",
        "5000-digit channel",
        "5000-digit schema_version",
    ],
)
@pytest.mark.parametrize("command", ["validate", "show", "run"])
def test_i14_12_huge_integers_in_a_profile_are_refused_with_field_and_range(
    eactl: Run,
    profile_file: Callable[[str, str], Path],
    tmp_path: Path,
    command: str,
    old: str,
    new: str,
    path: str,
    allowed: str,
) -> None:
    assert old in VALID_TOML
    source = profile_file("huge.toml", VALID_TOML.replace(old, new, 1))
    extra = ("--fast", "--db", str(tmp_path / "s.db")) if command == "run" else ()
    result = eactl(command, str(source), *extra)
    assert result.code == 1, result.err
    _clean(result.err)
    text = result.out + result.err
    assert path in text and allowed in text, text


def test_i14_12_huge_integer_in_json_is_refused() -> None:
    text = (
        f'{{"schema_version": 1, "name": "x", "channels": [{{"channel": {10**400}, '
        '"electrodes": ["BL23-L", "BL25-L"]}], "steps": []}'
    )
    result = validate_text(text, fmt="json", file="p.json")
    assert result.refused
    (finding,) = [f for f in result.refusals if f.path == "channels[0].channel"]
    assert finding.allowed == "≤ 255" and "401 digits" in finding.message


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_i14_12_a_full_disk_is_a_clear_error(
    console_script: Path, profile_file: Callable[[str, str], Path]
) -> None:
    source = profile_file("p.toml", VALID_TOML)
    database = subprocess.run(
        [str(console_script), "run", str(source), "--fast", "--db", "/dev/full"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert database.returncode == 3, database.stderr
    assert "disk is full" in database.stderr
    _clean(database.stderr)
    with open("/dev/full", "w") as full:
        output = subprocess.run(
            [str(console_script), "validate", str(source)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert output.returncode == 1, output.stderr
    assert "cannot write the output: No space left on device" in output.stderr
    _clean(output.stderr)


@pytest.mark.parametrize("bad", [None, "2 Hz", 5, {"intensity_mA": 2}])
def test_i14_12_program_takes_only_a_stimulation(bad: object) -> None:
    with eacontrol.connect("sim://") as stim, pytest.raises(ParameterError) as caught:
        stim.program(1, bad)  # type: ignore[arg-type]
    assert caught.value.parameter == "stimulation"
    assert caught.value.layer is Layer.SCHEMA


def _refused_session(tmp_path: Path, **periods: float) -> ParameterError:
    """The refusal of a Session on the built-in simulator with these record periods."""
    with (
        eacontrol.connect("sim://") as stim,
        RecordStore.open(tmp_path / "s.db") as store,
        pytest.raises(ParameterError) as caught,
    ):
        Session(stim, loads_profile(VALID_TOML), store=store, **periods)
    return caught.value


@pytest.mark.parametrize("period", [1e-300, 0.0005, 0.0, -1.0])
def test_i14_12_a_record_period_below_a_millisecond_is_refused(
    period: float, tmp_path: Path
) -> None:
    refused = _refused_session(tmp_path, flush_period_s=period)
    assert refused.parameter == "flush_period_s" and ">= 0.001 s" in refused.allowed


@pytest.mark.parametrize("period", [1e-300, 0.0005, 0.05, 0.0999])
def test_i17_a_sample_period_below_one_heartbeat_is_refused(period: float, tmp_path: Path) -> None:
    """A sample is a STATUS and one comes per heartbeat (lease/5: 0.1 s at the default lease):
    sampling faster would record the same STATUS again as if it were new."""
    refused = _refused_session(tmp_path, sample_period_s=period)
    assert refused.parameter == "sample_period_s"
    assert refused.allowed == ">= 0.1 s (one heartbeat period: one STATUS per sample)"


def test_i14_12_an_intensity_below_the_device_resolution_is_refused() -> None:
    result = validate_text(VALID_TOML.replace("intensity_mA = 3", "intensity_mA = 1e-300"))
    paths = {(f.path, f.allowed) for f in result.refusals}
    assert ("steps[0].intensity_mA", "≥ 0.001 mA") in paths
    stimulation = Stimulation(frequency_hz=2, phase_width_us=600, intensity_mA=1e-300)
    with eacontrol.connect("sim://") as stim, pytest.raises(ParameterError) as caught:
        stim.program(1, stimulation)
    assert "at least 0.001 mA" in caught.value.allowed


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_i14_12_a_utf8_bom_is_accepted(fmt: str) -> None:
    if fmt == "toml":
        data = b"\xef\xbb\xbf" + VALID_TOML.encode()
    else:
        import json
        import tomllib

        data = b"\xef\xbb\xbf" + json.dumps(tomllib.loads(VALID_TOML)).encode()
    result = validate_text(data, fmt=fmt, file=f"bom.{fmt}")  # type: ignore[arg-type]
    assert not result.refused, result.findings


def test_i14_12_control_characters_in_identifiers(
    eactl: Run, tmp_path: Path, profile_file: Callable[[str, str], Path]
) -> None:
    source = profile_file("p.toml", VALID_TOML)
    db = tmp_path / "s.db"
    result = eactl("run", str(source), "--fast", "--db", str(db), "--patient", "P\x1b[31mRED\x07")
    assert result.code == 2
    assert "'P\\x1b[31mRED\\x07' holds control characters" in result.err
    assert "\x1b" not in result.err
    # A record written by a script with them: shown escaped, never obeyed by the terminal.
    with eacontrol.connect("sim://") as stim, RecordStore.open(db) as store:
        profile = loads_profile(VALID_TOML.replace("duration_s = 600", "duration_s = 10"))
        Session(stim, profile, store=store, patient_id="P\x1b[2J", operator_id="O\rX").run()
    listing = eactl("log", "list", "--db", str(db))
    assert listing.code == 0, listing.err
    assert "P\\x1b[2J" in listing.out and "O\\x0dX" in listing.out
    assert "\x1b" not in listing.out and "\r" not in listing.out


@pytest.mark.parametrize("url", ["SIM://", "Sim://?seed=2"])
def test_i14_12_sim_url_in_any_case_is_the_simulator(url: str) -> None:
    with eacontrol.connect(url) as stim:
        assert stim.simulated
        assert stim.url.startswith("sim://")
    args = argparse.Namespace(port=url, sim_option=[], device_serial=None)
    assert target_from(args).built_in


def test_i14_12_thousands_of_milliamperes_hint_at_microamperes() -> None:
    result = validate_text(VALID_TOML.replace("intensity_mA = 3", "intensity_mA = 3000"))
    (finding,) = [f for f in result.refusals if f.allowed == "≤ 1000.0 mA"]
    assert "did you mean 3 mA? (3000 looks like µA)" in finding.message
