"""``eactl pair PORT`` and ``eactl pair --forget PORT``: pairing keys for real devices.

A device hands out a pairing key only while its pairing window is open, a physical action on
the device (on the simulator: ``python -m simulator --pty --pairing-window SECONDS``). The key
is written to ``$XDG_CONFIG_HOME/eacontrol/keys/SERIAL.json`` (0600, in a 0700 directory); the
command prints the device's serial number and the key id, never the key. ``sim://`` needs no
pairing: it pairs itself in memory at every connect.
"""

from __future__ import annotations

import argparse

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import ExitCode

__all__ = ["register"]


def _pair(args: argparse.Namespace) -> int:
    """Pair this host with a device, or forget a pairing.

    Pairing asks the device on PORT for a key while its pairing window is open (a button on a
    real unit; on the simulator --pairing-window SECONDS) and stores it for the device's serial
    number under $XDG_CONFIG_HOME/eacontrol/keys (owner-only permissions; a key file or
    directory that others can read or write is refused). It prints the serial number and the
    key id, never the key. With --forget, the device erases this host's key (when it answers)
    and the host's key file is deleted.
    """
    from eacontrol.device.pair_port import forget_port, pair_port

    if args.forget:
        done = forget_port(args.port)
        if done.erased_on_device:
            print(
                f"the device serial {done.serial} erased key id {done.key_id} (FORGET acknowledged)"
            )
        else:
            print(
                f"the device serial {done.serial} did NOT erase key id {done.key_id}: "
                f"{done.device_note}"
            )
        print(f"deleted this host's key file {done.deleted}")
        return int(ExitCode.OK)
    result = pair_port(args.port, label=args.label)
    info = result.info
    print(
        f"paired with {info.model} serial {result.key.serial} on {args.port}: key id "
        f"{result.key.key_id}, stored in {result.stored_at}"
    )
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``pair`` to the command parsers."""
    parser = add_command(commands, "pair", _pair)
    parser.add_argument("port", metavar="PORT", help="the device: a path or pyserial URL")
    parser.add_argument(
        "--forget",
        action="store_true",
        help="erase this host's key on the device (when it answers) and delete the key file",
    )
    parser.add_argument(
        "--label",
        metavar="TEXT",
        help="how the device lists this host (at most 16 characters; default user@host)",
    )
