"""``eactl clear-fault``: show a device's latched faults and clear them after its self-test.

The device clears a fault only after a self-test of the channel's output stage with the relay
open finds no current (PROTOCOL.md §3.10). This command shows what the device reports per channel
(state, faults, measured current), sends one CLEAR_FAULT per channel so each self-test result is
the channel's own, shows the result and the channels afterwards, and refuses with exit code 3
(a device failure) when any self-test fails: that fault stays latched until the device is
power-cycled, and the stage needs service if it recurs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode
from eacontrol.cli.table import render_table
from eacontrol.cli.target import add_target_options, target_from

if TYPE_CHECKING:
    from eacontrol.device import Stimulator
    from eacontrol.device.status import DeviceStatus

__all__ = ["register"]

_SELF_TEST_FAILED = "SELF_TEST_FAILED"
"""``DeviceNak.code`` of a CLEAR_FAULT refused by the self-test (firmware_protocol.NakCode)."""


def _table(status: DeviceStatus) -> str:
    rows = [
        (
            report.channel,
            report.state.name,
            ", ".join(report.faults) or "-",
            f"{report.measured_mA:g}",
        )
        for report in status.channels
    ]
    return render_table(("CHANNEL", "STATE", "FAULTS", "MEASURED mA"), rows, right=(0, 3))


def _faulted(status: DeviceStatus) -> list[int]:
    from firmware_protocol import ChannelState

    return [r.channel for r in status.channels if r.faults or r.state == ChannelState.FAULT]


def _clear_one(stim: Stimulator, channel: int, faulted: bool) -> tuple[str, str | None]:
    """CLEAR_FAULT on one channel: the line to print, and why it was not cleared (None: it was,
    or had nothing to clear)."""
    from eacontrol.errors import DeviceNak
    from firmware_protocol.units import uA_to_mA

    try:
        cleared = stim.clear_fault(channel)
    except DeviceNak as err:
        if err.code != _SELF_TEST_FAILED:
            raise
        line = (
            f"channel {channel}: SELF-TEST FAILED: {uA_to_mA(err.limit):g} mA measured with the "
            "relay open and the source at zero; the fault stays latched until the device is "
            "power-cycled"
        )
        return line, "failed its self-test"
    if channel in cleared:
        return (
            f"channel {channel}: self-test passed (no current with the relay open); cleared",
            None,
        )
    if faulted:  # acknowledged, yet not named as self-tested and cleared: not cleared
        line = (
            f"channel {channel}: NOT CLEARED: the device acknowledged CLEAR_FAULT without "
            "naming this channel as self-tested and cleared; its fault stays latched"
        )
        return line, "was not confirmed cleared by the device"
    return f"channel {channel}: no latched fault, nothing to clear", None


def _clear_fault(args: argparse.Namespace) -> int:
    """Show latched faults and clear them after the device's output self-test.

    Show what the device reports per channel (state, latched faults, measured current) and clear
    the latched faults of the faulted channels (or those given with --channel). The device
    clears a channel only after a self-test of its output stage with the relay open finds no
    current; a failing self-test is refused with exit code 3 and the fault stays latched until
    the device is power-cycled.
    """
    from eacontrol.device import connect

    target = target_from(args)
    with connect(target.url, device_serial=target.device_serial) as stim:
        info = stim.info
        print(
            f"device: {info.model} {info.serial}, firmware {info.firmware}, on {target.url}"
            f"{target.banner(info.model)}"
        )
        before = stim.status()
        print(_table(before))
        faulted = _faulted(before)
        channels = sorted(set(args.channel)) if args.channel else faulted
        if not channels:
            print("no latched faults: nothing to clear")
            return int(ExitCode.OK)
        results = [_clear_one(stim, channel, channel in faulted) for channel in channels]
        print("\n".join(line for line, _ in results))
        print("after:")
        print(_table(stim.status()))
    failed = [
        f"channel {channel} {why}"
        for channel, (_, why) in zip(channels, results, strict=True)
        if why is not None
    ]
    if failed:
        raise CliError(
            f"refused: {'; '.join(failed)}; the fault stays latched until the device is "
            "power-cycled (have it serviced if that recurs)",
            ExitCode.DEVICE,
        )
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``clear-fault`` to the command parsers."""
    parser = add_command(commands, "clear-fault", _clear_fault)
    parser.add_argument(
        "--channel",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="a channel to clear, from 1 as labelled on the device; repeatable (default: every "
        "channel with a latched fault)",
    )
    add_target_options(parser)
