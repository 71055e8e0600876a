"""``make -C firmware host``: the C core behind a pty or TCP in real time (firmware/host/).

The host program is built by ``firmware/host.mk`` with gcc and clang under the strict flags and
once under ASan and UBSan; ``eacontrol.connect()`` drives it unchanged. The conformance suite
(the plugin's user project, ``tests/plugin/project``, as ``--ea-port`` runs it on a real device)
passes against the host build over a pty (the sanitizer build, so a memory error fails it) and
against ``sim://?core=c``. The core's sources are ``$EA_CORE_SRC`` when set (another tree during
development), else ``firmware/src``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from plugin_project import run_project

from eacontrol.device import connect
from eacontrol.device.pair_port import pair_port
from simulator.ccore import unavailable

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable() is not None, reason=f"C core: {unavailable()}"),
    pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed"),
]


def _make(target: str, build: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", str(FIRMWARE), "-f", "host.mk", target, f"BUILD={build}"],
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build folder after ``make host`` and ``make host-sanitize``."""
    build = tmp_path_factory.mktemp("host-build")
    for target in ("host", "host-sanitize"):
        done = _make(target, build)
        assert done.returncode == 0, done.stdout + done.stderr
    return build


@contextmanager
def running(binary: Path, *args: str) -> Iterator[str]:
    """Start the host program; yield the first line it prints (its port); SIGTERM it after."""
    process = subprocess.Popen(
        [str(binary), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline().strip()
    try:
        assert line, process.stderr.read()
        yield line
    finally:
        process.terminate()
        assert process.wait(timeout=30) == 0
        log = process.stderr.read()
        process.stdout.close()
        process.stderr.close()
        assert "runtime error" not in log and "AddressSanitizer" not in log, log


def test_make_host_builds_with_gcc_and_clang_under_strict_flags(host_build: Path) -> None:
    for name in ("ea-host", "ea-host.gcc", "ea-host.clang", "ea-host.sanitize"):
        assert (host_build / name).is_file(), name
    out = _make("host", host_build)  # up to date: nothing rebuilt, nothing fails
    assert out.returncode == 0, out.stderr


def test_usage_errors_exit_2_and_say_why(host_build: Path) -> None:
    host = str(host_build / "ea-host")
    none = subprocess.run([host], capture_output=True, text=True, timeout=10)
    assert none.returncode == 2 and "one of the arguments --pty --tcp is required" in none.stderr
    scenario = subprocess.run(
        [host, "--pty", "--scenario", "x.toml"], capture_output=True, text=True, timeout=10
    )
    assert scenario.returncode == 2 and "python -m simulator --core c" in scenario.stderr
    load = subprocess.run(
        [host, "--pty", "--load", "9=1k"], capture_output=True, text=True, timeout=10
    )
    assert load.returncode == 2 and "--load" in load.stderr


@pytest.mark.pty
def test_connect_drives_the_host_build_on_a_pty(host_build: Path) -> None:
    with running(
        host_build / "ea-host",
        "--pty",
        "--serial",
        "HOST-1",
        "--pairing-window",
        "60",
        "--channels",
        "2",
        "-q",
    ) as path:
        assert path.startswith("/dev/")
        pair_port(path)
        with connect(path, device_serial="HOST-1") as stim:
            assert stim.limits.channel_count == 2
            assert stim.status().outputs_off()


@pytest.mark.tcp
def test_connect_drives_the_host_build_over_tcp(host_build: Path) -> None:
    with running(
        host_build / "ea-host", "--tcp", "127.0.0.1:0", "--pairing-window", "60", "-q"
    ) as url:
        assert url.startswith("socket://127.0.0.1:")
        pair_port(url)
        with connect(url) as stim:
            assert stim.info.serial == "SIM-000001"


@pytest.mark.pty
def test_the_key_file_keeps_a_pairing_across_a_power_cycle(
    host_build: Path, tmp_path: Path
) -> None:
    keys = tmp_path / "flash.keys"
    host = host_build / "ea-host"
    with running(host, "--pty", "--pairing-window", "60", "--key-file", str(keys), "-q") as path:
        pair_port(path)
    line = keys.read_text().splitlines()[1]
    assert line.startswith("0 ") and len(line.split()[2]) == 64
    assert keys.stat().st_mode & 0o077 == 0  # a secret: the owner's only
    with (
        running(host, "--pty", "--key-file", str(keys), "-q") as path,  # no window now
        connect(path) as stim,
    ):
        assert stim.status().outputs_off()


# --- the conformance suite ------------------------------------------------------------------------

PASSING_ON_A_PORT = {
    "test_device_reports_limits_and_starts_with_outputs_off": "passed",
    "test_ramps_to_the_intensity_and_stops_at_zero": "passed",
    "test_the_marker_configures_the_simulated_device": "skipped",
    "test_a_needle_coming_out_is_a_latched_fault": "skipped",
    "test_long_stimulation_runs_in_virtual_time": "passed",
    "test_the_url_opens_with_pyserial_too": "passed",
}


def run_conformance(tmp_path: Path, *options: str) -> dict[str, str]:
    """The plugin's user project (tests/plugin/project) in its own pytest: name → outcome."""
    found, output = run_project(tmp_path, *options, timeout_s=600)
    outcomes = {name: outcome for name, (outcome, _) in found.items()}
    assert outcomes == PASSING_ON_A_PORT, output[-4000:]
    return outcomes


@pytest.mark.pty
@pytest.mark.slow
def test_the_conformance_suite_passes_on_the_sanitized_host_build(
    host_build: Path, tmp_path: Path
) -> None:
    with running(
        host_build / "ea-host.sanitize",
        "--pty",
        "--serial",
        "BENCH-C",
        "--pairing-window",
        "60",
        "-q",
    ) as path:
        pair_port(path)
        run_conformance(tmp_path, "--ea-port", path, "--ea-device-serial", "BENCH-C")


@pytest.mark.slow
def test_the_conformance_suite_passes_on_sim_core_c(tmp_path: Path) -> None:
    run_conformance(tmp_path, "--ea-port", "sim://?core=c")
