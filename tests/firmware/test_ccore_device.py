"""``sim://?core=c``: the C core in-process on the simulated hardware (``simulator.ccore``).

How it is built (a per-user cache keyed by the sources, a clear error without a compiler or
sources), how it is selected (the URL's and the command line's ``core``), and that it behaves
as the Python device does where a host can see it: the same session through eacontrol on
both cores gives the same statuses, events and dose, with faults, the stop button and a reboot.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import serial

import simulator
from eacontrol.device import connect
from eacontrol.errors import DeviceFault
from eacontrol.stimulation import Stimulation, StimulationMode
from simulator.ccore import CoreDevice, CoreUnavailable, build, library_path, unavailable
from simulator.serve import ScenarioError, build_parser, options_from_args, scenario_from_options

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable() is not None, reason=f"C core: {unavailable()}"),
]

PROGRAM = Stimulation(
    frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_up_s=2, ramp_down_s=2, max_run_s=60
)
HAN = Stimulation(
    mode=StimulationMode.DENSE_DISPERSE,
    frequency_hz=2,
    frequency_b_hz=100,
    dwell_a_s=3,
    dwell_b_s=3,
    phase_width_us=600,
    phase_width_b_us=200,
    intensity_mA=3.0,
    ramp_up_s=2,
    ramp_down_s=2,
    max_run_s=600,
)


# --- building ------------------------------------------------------------------------------------


def test_the_library_is_built_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = library_path()
    assert first.is_relative_to(tmp_path / "eacontrol" / "ccore")
    stamp = first.stat().st_mtime_ns
    assert library_path() == first
    assert first.stat().st_mtime_ns == stamp  # found, not rebuilt


def test_a_changed_source_builds_a_new_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "src"
    shutil.copytree(build.source_dir(), copy)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EA_CORE_SRC", str(copy))
    before = library_path()
    header = copy / "ea_device.h"
    header.write_text(header.read_text() + "\n/* changed */\n")
    after = library_path()
    assert after != before and after.is_file()


def test_no_compiler_is_named_in_the_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no cc, gcc or clang here
    with pytest.raises(CoreUnavailable, match=r"no C compiler found \(tried cc, gcc, clang"):
        library_path()
    assert "core=python" in str(unavailable())


def test_missing_sources_are_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EA_CORE_SRC", str(tmp_path))
    monkeypatch.setattr(build, "_HERE", tmp_path / "simulator" / "ccore")
    with pytest.raises(CoreUnavailable, match=r"ea_hal\.h, ea_device\.h") as err:
        build.source_dir()
    assert str(tmp_path) in str(err.value) and "EA_CORE_SRC" in str(err.value)


def test_a_failed_build_quotes_the_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "src"
    shutil.copytree(build.source_dir(), copy)
    (copy / "broken.c").write_text("int broken(void) { return undeclared; }\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("EA_CORE_SRC", str(copy))
    with pytest.raises(CoreUnavailable, match="undeclared"):
        library_path()


# --- selecting it --------------------------------------------------------------------------------


def test_the_url_selects_the_c_core() -> None:
    simulator.register_url_handler()
    port = serial.serial_for_url("sim://?core=c&channels=2", timeout=0)
    try:
        assert isinstance(port.device, CoreDevice)
    finally:
        port.close()
    python = serial.serial_for_url("sim://?channels=2", timeout=0)
    try:
        assert not isinstance(python.device, CoreDevice)
    finally:
        python.close()


def test_the_command_line_selects_the_c_core() -> None:
    parser = build_parser()
    args = parser.parse_args(["--pty", "--core", "c"])
    assert scenario_from_options(options_from_args(args, parser)).core == "c"
    assert scenario_from_options({}).core == "python"
    with pytest.raises(ScenarioError, match="core must be one of python, c"):
        scenario_from_options({"core": ["rust"]})


# --- the same as the Python device, as a host sees it --------------------------------------------


def _session(core: str) -> dict[str, object]:
    """One scripted session: a dense-disperse run, an electrode off, a clear, the stop button."""
    seen: dict[str, object] = {}
    url = f"sim://?core={core}&seed=3&channels=2&electrode_off=2@20&stop_button_at=70"
    with connect(url) as stim:
        seen["info"] = (stim.info, stim.limits)
        stim.program(1, HAN)
        stim.program(2, PROGRAM)
        stim.start([1, 2])
        with pytest.raises(DeviceFault) as fault:
            stim.wait(30)
        seen["fault"] = (fault.value.faults, fault.value.channel)
        seen["status"] = stim.status()
        with pytest.raises(DeviceFault) as stopped:
            stim.wait(60)
        seen["button"] = stopped.value.faults
        seen["dose"] = (stim.dose(1), stim.dose(2))
        seen["after"] = stim.status()
        port = stim.frame_log
        seen["frames"] = len(port)
    return seen


def test_a_session_on_the_c_core_is_the_python_devices() -> None:
    python, core = _session("python"), _session("c")
    assert core == python


def test_the_bench_hooks_act_on_the_c_core() -> None:
    device = CoreDevice(rng=np.random.default_rng(1))
    boot = device.boot_id
    assert device.outputs_off and device.next_deadline_us() is None
    device.install_key(7, bytes(range(32)))
    device.reboot(1_000)
    assert device.boot_id != boot and device.key_held(7) and (7, bytes(range(32))) in device.flash
    assert device.forget_key(7) and not device.key_held(7) and device.flash[0] is None
    with pytest.raises(ValueError, match="time went backwards"):
        device.advance(10)
    with pytest.raises(ValueError, match="current_uA"):
        device.stick_output(0, 2_000, -1)
    device.stick_output(0, 2_000, 500)
    assert device.output_uA(0) == 500.0 and not device.outputs_off
    device.advance(50_000)  # the next check opens the relay and latches STUCK_OUTPUT
    assert device.status().channels[0].faults
    assert device.outputs_off


def test_an_installed_package_ships_the_core_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject maps firmware/src to simulator/ccore/csrc (a non-editable install holds it;
    checked by hand with pip install --no-deps --target, docs/firmware-host.md)."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["simulator.ccore.csrc"] == "firmware/src"
    assert "simulator.ccore.csrc" in config["packages"]
    assert set(config["package-data"]["simulator.ccore.csrc"]) == {"*.c", "*.h"}
    assert config["package-data"]["simulator.ccore"] == ["shim.c"]
    monkeypatch.delenv("EA_CORE_SRC", raising=False)
    tree = root / "firmware" / "src"
    installed = build._HERE / "csrc"
    if build._HERE.is_relative_to(root):  # an editable install or the bare tree
        assert build.source_dir() == tree
    else:  # a real install (CI): the package's own copy is used, and it is the tree's sources
        assert build.source_dir() == installed
        shipped = {f.name: f.read_bytes() for f in installed.iterdir() if f.suffix in {".c", ".h"}}
        wanted = {f.name: f.read_bytes() for f in tree.iterdir() if f.suffix in {".c", ".h"}}
        assert shipped == wanted
