"""Which device ``eactl plan`` and ``eactl run`` talk to: ``--port``, or the built-in simulator.

Without ``--port`` the device is the simulator, reached through a ``sim://`` URL (eacontrol never
imports it, docs/architecture.md); ``--sim-option KEY=VALUE`` passes any ``sim://`` option to it (a
seed, loads, faults to rehearse). Every screen that shows such a device says
:data:`SIMULATED_BANNER`.
"""

from __future__ import annotations

import argparse
import urllib.parse
from dataclasses import dataclass

from eacontrol.cli.exitcodes import UsageError

__all__ = ["SIMULATED_BANNER", "Target", "add_target_options", "target_from"]

SIMULATED_BANNER = "SIMULATED DEVICE"
"""Shown on every screen whose device is a simulator (``Target.simulator``)."""


@dataclass(frozen=True)
class Target:
    """The device to connect to.

    Attributes:
        url: a device path or pyserial URL.
        built_in: True for the built-in simulator (a ``sim://`` URL: in-process, on its virtual
            clock), known before connecting.
        device_serial: the serial number the device must report, or None.
    """

    url: str
    built_in: bool
    device_serial: str | None

    def simulator(self, device_model: str) -> bool:
        """True when the connected device is a simulator: the built-in one, or a pty or TCP
        simulator by the model it reports (the record's rule, ``eacontrol.records.simulated``),
        so the screen says what the record says."""
        from eacontrol.records.simulated import is_simulator  # not at eactl's start-up

        return is_simulator(self.url, device_model)

    def banner(self, device_model: str) -> str:
        """``"  SIMULATED DEVICE"`` to follow a device line when it is a simulator, else ""."""
        return f"  {SIMULATED_BANNER}" if self.simulator(device_model) else ""


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--port``, ``--device-serial`` and ``--sim-option``."""
    group = parser.add_argument_group("device")
    group.add_argument(
        "--port",
        metavar="URL",
        help="the device: a path (/dev/ttyACM0, COM3) or pyserial URL; default: the built-in "
        "simulator",
    )
    group.add_argument(
        "--device-serial",
        metavar="SERIAL",
        help="refuse any device that does not report this serial number",
    )
    group.add_argument(
        "--sim-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a sim:// option for the built-in simulator (seed=1, load1=10k, "
        "electrode_off=1@60, ...); repeatable",
    )


def target_from(args: argparse.Namespace) -> Target:
    """The device the options name.

    Raises:
        UsageError: ``--sim-option`` with ``--port``, or an option that is not KEY=VALUE.
    """
    if args.port is not None:
        if args.sim_option:
            raise UsageError("--sim-option configures the built-in simulator: not with --port")
        # URL schemes are case-insensitive (RFC 3986 §3.1): SIM:// is the simulator too.
        built_in = urllib.parse.urlsplit(args.port).scheme == "sim"
        return Target(args.port, built_in, args.device_serial)
    pairs = []
    for item in args.sim_option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--sim-option {item!r}: expected KEY=VALUE, e.g. seed=1")
        pairs.append((key, value))
    query = urllib.parse.urlencode(pairs)
    return Target("sim://" + (f"?{query}" if query else ""), True, args.device_serial)
