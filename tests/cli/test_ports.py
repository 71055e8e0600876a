"""eactl ports, through main(argv), with the operating system's port list replaced."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eacontrol.device import PortInfo

Run = Callable[..., Any]

PORTS = [
    PortInfo("/dev/ttyACM0", 0x2E8A, 0x000A, "EA6-000123", "EA stimulator", "eacontrol", "1-1.2"),
    PortInfo("/dev/ttyS0", None, None, None, "n/a"),
]


def test_ports_table(eactl: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", lambda: PORTS)
    result = eactl("ports")
    assert result.code == 0
    header, _, usb, plain = result.out.splitlines()
    assert header.split() == ["PORT", "VID:PID", "SERIAL", "NUMBER", "DESCRIPTION", "MANUFACTURER"]
    assert usb.split() == [
        "/dev/ttyACM0",
        "2E8A:000A",
        "EA6-000123",
        "EA",
        "stimulator",
        "eacontrol",
    ]
    assert plain.split() == ["/dev/ttyS0", "-", "-", "n/a", "-"]


def test_ports_none(eactl: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", list)
    result = eactl("ports")
    assert (result.code, result.out) == (0, "no serial ports found\n")


def test_ports_json(eactl: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", lambda: PORTS)
    records = json.loads(eactl("ports", "--json").out)
    assert records[0] == {
        "device": "/dev/ttyACM0",
        "vid_pid": "2E8A:000A",
        "serial_number": "EA6-000123",
        "description": "EA stimulator",
        "manufacturer": "eacontrol",
        "location": "1-1.2",
    }
    assert records[1]["vid_pid"] is None
