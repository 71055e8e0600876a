"""``eactl ports``: the serial ports present, with USB VID:PID, serial number and description.

A device is best pinned by its USB serial number: paths renumber when it is re-plugged
(``eacontrol.device.ports``).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import ExitCode
from eacontrol.cli.table import render_table

if TYPE_CHECKING:
    from eacontrol.device import PortInfo

__all__ = ["register"]


def present_ports() -> list[PortInfo]:
    """Every serial port present now (``eacontrol.device.find_ports``, which loads pyserial)."""
    from eacontrol.device import find_ports as find

    return find()


def _ports(args: argparse.Namespace) -> int:
    """List serial ports with VID:PID, serial number and description.

    List the serial ports present now, with their USB vendor:product id, USB serial number and
    description.
    """
    ports = present_ports()
    if args.json:
        records = [
            {
                "device": p.device,
                "vid_pid": p.vid_pid,
                "serial_number": p.serial_number,
                "description": p.description,
                "manufacturer": p.manufacturer,
                "location": p.location,
            }
            for p in ports
        ]
        print(json.dumps(records, indent=2, ensure_ascii=False))
        return int(ExitCode.OK)
    if not ports:
        print("no serial ports found")
        return int(ExitCode.OK)
    rows = [
        (p.device, p.vid_pid or "-", p.serial_number or "-", p.description, p.manufacturer or "-")
        for p in ports
    ]
    print(render_table(("PORT", "VID:PID", "SERIAL NUMBER", "DESCRIPTION", "MANUFACTURER"), rows))
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``ports`` to the command parsers."""
    parser = add_command(commands, "ports", _ports)
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
