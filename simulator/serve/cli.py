"""``python -m simulator``: run the simulated device in real time behind a pty or a TCP socket.

Examples::

    python -m simulator --pty --channels 4 --seed 1
    python -m simulator --tcp 127.0.0.1:0 --scenario lease.toml -o drop=0.05 -v

The first line on stdout is what a host passes to ``serial.serial_for_url`` (the pty's path or
``socket://HOST:PORT``); the log goes to stderr. The device and scenario options are those of the
``sim://`` URL (``simulator/README.md``): the named flags are shorthands, ``-o KEY=VALUE`` takes
any of them. Channel numbers (``--load 1=10k``, ``-o electrode_off=2@30``, the log) count from 1,
as labelled on the device. SIGTERM or SIGINT stops the server (exit status 0).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from simulator.serve.port import scenario_from_options
from simulator.serve.scenario import ScenarioError
from simulator.serve.realtime import Endpoint, PtyEndpoint, TcpEndpoint, serve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Run the simulated EA stimulator in real time behind a pty or a TCP socket.",
        epilog="Options and the scenario file format: simulator/README.md.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="serve on TCP for pyserial's socket:// (HOST defaults to 127.0.0.1; PORT 0 = free)",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario TOML file")
    parser.add_argument("--channels", type=int, metavar="N", help="channel count, 1..8")
    parser.add_argument("--seed", type=int, metavar="N", help="seed of every random generator")
    parser.add_argument("--baud", type=int, metavar="N", help="wire model baud (0 = off)")
    parser.add_argument("--serial", metavar="TEXT", help="serial number the device reports")
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="CH=LOAD",
        help="load on channel CH (from 1, as labelled on the device), e.g. 1=10k or "
        "3=randles:200,1k,100n; repeatable",
    )
    parser.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any sim:// URL option, e.g. drop=0.1 or unplug_at=12.5; repeatable",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every fault")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def _options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}

    def add(key: str, value: str) -> None:
        options.setdefault(key, []).append(value)

    for key in ("scenario", "channels", "seed", "baud", "serial"):
        value = getattr(args, key)
        if value is not None:
            add(key, str(value))
    for item in args.load:
        channel, sep, load = item.partition("=")
        if not sep or not channel.isdigit():
            parser.error(f"--load {item!r}: expected CH=LOAD with CH from 1, e.g. 1=10k")
        add(f"load{channel}", load)
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"-o {item!r}: expected KEY=VALUE")
        add(key, value)
    return options


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
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(
        stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        scenario = scenario_from_options(_options(args, parser), source="command line")
    except ScenarioError as err:
        parser.error(str(err))
    serve(scenario, _endpoint(args, parser))
    return 0


if __name__ == "__main__":
    sys.exit(main())
