"""``python -m simulator``: run the simulated device in real time behind a pty or a TCP socket.

Examples::

    python -m simulator --pty --channels 4 --seed 1 --pairing-window 60
    python -m simulator --tcp 127.0.0.1:0 --scenario lease.toml -o drop=0.05 -v

The first line on stdout is what a host passes to ``serial.serial_for_url`` (the pty's path or
``socket://HOST:PORT``); the log goes to stderr. The device and scenario options are those of the
``sim://`` URL (``simulator/README.md``): the named flags are shorthands, ``-o KEY=VALUE`` takes
any of them (``simulator.serve.options`` holds the one parser, which ``eactl simulate`` runs too).
Channel numbers (``--load 1=10k``, ``-o electrode_off=2@30``, the log) count from 1, as labelled
on the device. ``--pairing-window SECONDS`` opens the device's pairing window at start-up (closed
otherwise), so one host can pair with it. SIGTERM or SIGINT stops the server (exit status 0).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from simulator.serve.options import build_parser, options_from_args, scenario_from_options
from simulator.serve.realtime import Endpoint, PtyEndpoint, TcpEndpoint, serve
from simulator.serve.scenario import ScenarioError

__all__ = ["main"]


def _endpoint(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Endpoint:
    if args.pty:
        return PtyEndpoint()
    host, _, port = str(args.tcp).rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        parser.error(f"--tcp {args.tcp!r}: expected [HOST:]PORT with PORT 0..65535")
    try:
        return TcpEndpoint(host.strip("[]") or "127.0.0.1", int(port))
    except OSError as err:
        parser.error(f"--tcp {args.tcp}: {err}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for a usage error, through argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        scenario = scenario_from_options(options_from_args(args, parser), source="command line")
    except ScenarioError as err:
        parser.error(str(err))
    serve(scenario, _endpoint(args, parser))
    return 0
