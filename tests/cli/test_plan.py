"""eactl plan: the commands a session would send, built and not sent, and the totals."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eacontrol.cli.plan_cmd import session_time
from firmware_protocol import (
    FrameDecoder,
    GetProgram,
    KeyKind,
    SetProgram,
    Start,
    Stop,
    StopMode,
)

Run = Callable[..., Any]


def test_plan_lists_each_steps_commands_in_order(eactl: Run) -> None:
    result = eactl("plan", "lbp_2_100hz_han")
    assert result.code == 0, result.err
    out = result.out
    assert out.startswith(
        "Plan of Low back pain, 2/100 Hz dense-disperse (Han): a dry run, nothing was "
        "programmed or started  SIMULATED DEVICE\n"
    )
    commands = re.findall(r"^  \S+(?: → \S+)?  ([A-Z_]+)", out, flags=re.M)
    assert commands == [
        "SET_PROGRAM", "GET_PROGRAM", "SET_PROGRAM", "GET_PROGRAM", "START", "HEARTBEAT",
        "GET_DOSE", "GET_DOSE", "STOP", "GET_STATUS", "GET_DOSE", "GET_DOSE",
    ]  # fmt: skip
    # The wire fields, in wire units: 2 Hz = 200 cHz, 100 Hz = 10000 cHz, 3 s dwells.
    assert (
        "channel=0 mode=DENSE_DISPERSE shape=SYMMETRIC_BIPHASIC freq_a_cHz=200 phase_a_us=600 "
        "freq_b_cHz=10000 phase_b_us=200 dwell_a_ms=3000 dwell_b_ms=3000" in out
    )
    # Titrated (issue 16 item 1): the program ramps to the start level, 0; 3 mA is guidance.
    assert "target_uA=0 ramp_up_ms=3000 ramp_down_ms=2000 max_run_s=1800" in out
    # The hold is 1800 - 2 s: a heartbeat every 0.1 s, the device's totals every 60 s.
    assert "00:00.000 → 29:57.900  HEARTBEAT × 17980" in out
    assert "01:00.000 → 29:00.000  GET_DOSE × 29  channel 1" in out
    assert "29:58.000  STOP  ramp every output down over 2 s" in out
    assert "channel_mask=0b00111111 mode=RAMP_DOWN" in out  # every channel of the 6-channel sim


def test_plan_totals(eactl: Run) -> None:
    out = eactl("plan", "lbp_2_100hz_han").out
    totals = out.split("\nTotals: ")[1].splitlines()
    assert totals[0] == "30:00 (1800 s), 1 step(s), at the prescribed targets"
    # 900 s at 2 Hz + 900 s at 100 Hz; Q = 3 mA x 600 us; Irms at 100 Hz = 0.6 mA.
    assert totals[3].split() == ["1", "91800", "30:00", "2Hz:900s", "100Hz:900s", "1.8", "0.6"]
    assert totals[-1].startswith(
        "commands: SET_PROGRAM 2, GET_PROGRAM 2, START 1, HEARTBEAT 17980, GET_DOSE 60, STOP 1"
    )


def test_frames_decode_to_the_listed_messages(eactl: Run) -> None:
    out = eactl("plan", "research_template", "--frames").out
    assert "frames: untagged, counters numbered as listed" in out
    listed = re.findall(r"frame \(counter (\d+), untagged\): ([0-9a-f ]+)", out)
    frames = [bytes.fromhex(h) for _, h in listed]
    decoder = FrameDecoder()
    decoded = [item.decode() for data in frames for item in decoder.feed(data)]
    assert [d.header.counter for d in decoded] == [int(c) for c, _ in listed]
    assert [d.header.counter for d in decoded] == list(range(1, len(frames) + 1))
    # Untagged (key 0, session 0): a major-2 device acts on none of them (docs/cli.md).
    assert {(d.header.key, d.header.session_id) for d in decoded} == {(KeyKind.NONE, 0)}
    messages = [d.message for d in decoded]
    first, readback, start = messages[:3]
    assert isinstance(first, SetProgram) and isinstance(readback, GetProgram)
    assert (first.channel, first.freq_a_cHz, first.phase_a_us) == (0, 200, 600)
    assert first.target_uA == 2000
    assert isinstance(start, Start) and start.channel_mask == 0b1
    stops = [m for m in messages if isinstance(m, Stop)]
    assert [s.mode for s in stops] == [StopMode.RAMP_DOWN, StopMode.RAMP_DOWN]  # one per step
    second = [m for m in messages if isinstance(m, SetProgram)][1]
    assert (second.freq_a_cHz, second.phase_a_us, second.asym_ratio) == (10000, 200, 4)


def test_plan_with_the_device_layer_refuses(eactl: Run) -> None:
    result = eactl("plan", "lbp_2hz", "--sim-option", "channels=2")
    assert result.code == 1
    assert "layer device" in result.err
    assert result.out == ""


def test_plan_of_a_refused_profile_connects_to_nothing(
    eactl: Run, profile_file: Callable[[str, str], Path], refused_toml: str
) -> None:
    result = eactl("plan", str(profile_file("bad.toml", refused_toml)), "--port", "/dev/ttyNONE")
    assert result.code == 1  # refused before the (missing) port is opened
    assert "steps[0].intensity_mA" in result.err


def test_plan_on_a_missing_port_is_a_link_error(eactl: Run) -> None:
    result = eactl("plan", "lbp_2hz", "--port", "/dev/ttyNONE")
    assert result.code == 3
    assert "/dev/ttyNONE" in result.err


def test_plan_advisories_are_listed(eactl: Run) -> None:
    out = eactl("plan", "research_template").out
    assert "advisory: " in out and "rms current density" in out


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "00:00.000"), (1.9996, "00:02.000"), (3725.25, "1:02:05.250")]
)
def test_session_time(seconds: float, text: str) -> None:
    assert session_time(seconds) == text
