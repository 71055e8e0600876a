"""eactl plot: the envelope and pulse shapes (computed without matplotlib), and the image."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eacontrol.cli.envelope import channel_envelope, pulse_shapes
from eacontrol.profiles import load_profile, loads_profile

Run = Callable[..., Any]

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="matplotlib (extra 'plot') missing"
)


@pytest.fixture
def two_steps(two_channel_profile: Callable[..., str]) -> str:
    """60 s at 2 Hz on channel 1, then 7 s of asymmetric 4 Hz trains (1.5 s on/off) on both."""
    return two_channel_profile(
        "two steps",
        {"channels": [1], "ramp_up_s": 3, "duration_s": 60},
        {"mode": "intermittent", "frequency_hz": 4, "phase_width_us": 500,
         "interphase_gap_us": 50, "shape": "asymmetric_biphasic", "asym_ratio": 4,
         "on_s": 1.5, "off_s": 1.5, "intensity_mA": 4, "duration_s": 7},
    )  # fmt: skip


def test_envelope_ramps_holds_and_is_zero_where_a_step_skips_the_channel(two_steps: str) -> None:
    profile = loads_profile(two_steps)
    times, mA = channel_envelope(profile, 2)
    first = times <= 60
    assert np.all(mA[first] == 0)  # step 0 does not drive channel 2
    times, mA = channel_envelope(profile, 1)
    assert list(zip(times[:4], mA[:4], strict=True)) == [(0, 0), (3, 3), (58, 3), (60, 0)]


def test_intermittent_envelope_is_gated_and_follows_the_ramps(two_steps: str) -> None:
    profile = loads_profile(two_steps)
    times, mA = channel_envelope(profile, 2)
    step = [(float(t), float(a)) for t, a in zip(times[2:], mA[2:], strict=True)]  # after step 0
    # Ramps: 0 at 60 s, 4 mA from 62 s to 65 s, 0 at 67 s. Trains of 1.5 s every 3 s from 60 s:
    # 60-61.5 (ramping), 63-64.5 (plateau), 66-67 (ramping down, cut by the step's end).
    assert step == [
        (60, 0), (60, 0), (61.5, 3), (61.5, 0),
        (63, 0), (63, 4), (64.5, 4), (64.5, 0),
        (66, 0), (66, 2), (67, 0), (67, 0),
    ]  # fmt: skip


def test_a_ramp_corner_inside_a_train_is_kept(two_steps: str) -> None:
    profile = loads_profile(two_steps.replace("on_s = 1.5", "on_s = 3"))
    times, mA = channel_envelope(profile, 2)
    step = [(float(t), float(a)) for t, a in zip(times[2:7], mA[2:7], strict=True)]
    assert step == [(60, 0), (60, 0), (62, 4), (63, 4), (63, 0)]


def test_pulse_shapes_are_charge_balanced(two_steps: str) -> None:
    profile = loads_profile(two_steps)
    traces = pulse_shapes(profile)
    assert [t.label for t in traces] == [
        "steps[0] 2 Hz, 600 µs, 3 mA, symmetric",
        "steps[1] 4 Hz, 500 µs, 4 mA, asymmetric 1:4",
    ]
    for trace in traces:
        charge = np.trapezoid(trace.mA, trace.times_us)
        assert charge == pytest.approx(0, abs=1e-9)
    asym = traces[1]
    assert asym.mA.min() == -1.0  # -I/r
    assert asym.times_us[-2] == 500 + 50 + 4 * 500  # both phases and the gap


def test_dense_disperse_shows_both_trains() -> None:
    labels = [t.label for t in pulse_shapes(load_profile("lbp_2_100hz_han"))]
    assert labels == [
        "steps[0] 2 Hz, 600 µs, 3 mA, symmetric",
        "steps[0] 100 Hz, 200 µs, 3 mA, symmetric",
    ]


def _no_matplotlib(name: str) -> object:
    raise ImportError(f"No module named {name!r}")


def test_missing_matplotlib_is_a_clear_message(
    eactl: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("eacontrol.cli.plot_cmd.importlib.import_module", _no_matplotlib)
    result = eactl("plot", "lbp_2hz", "-o", str(tmp_path / "x.png"))
    assert result.code == 1
    assert result.err == (
        "eactl: plot needs matplotlib, the optional extra 'plot': pip install 'eacontrol[plot]'\n"
    )
    assert not (tmp_path / "x.png").exists()


@needs_matplotlib
def test_plot_writes_a_png(eactl: Run, tmp_path: Path) -> None:
    target = tmp_path / "session.png"
    result = eactl("plot", "lbp_2_100hz_han", "-o", str(target))
    assert result.code == 0
    assert result.out == f"wrote {target}\n"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_matplotlib
def test_plot_unknown_format_is_refused(eactl: Run, tmp_path: Path) -> None:
    result = eactl("plot", "lbp_2hz", "-o", str(tmp_path / "session.xyz"))
    assert result.code == 1
    assert "Format 'xyz' is not supported" in result.err


def test_plot_output_is_required(eactl: Run) -> None:
    assert eactl("plot", "lbp_2hz").code == 2
