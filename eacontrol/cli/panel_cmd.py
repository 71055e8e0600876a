"""``eactl panel``: serve the practitioner's panel, a web page for the treatment room.

``--listen`` is loopback by default (127.0.0.1:8765); the URL printed carries a per-run random
token, and every request is checked for its Host and Origin (``eacontrol.cli.panel.security``).
Sessions run on ``--port`` (default: the built-in simulator, paced to real time as ``eactl run``
paces it) and are recorded in the session database (``--db``). Ctrl-C stops the server; a
session still running is emergency-stopped first, confirmed.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import socket
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError
from eacontrol.cli.records_cmd import add_db_option
from eacontrol.cli.signals import Terminated, signals_end_like_ctrl_c
from eacontrol.cli.target import SIMULATED_BANNER, Target, add_target_options, target_from

if TYPE_CHECKING:
    from eacontrol.cli.panel.run import SessionFactory, Started

__all__ = ["DEFAULT_LISTEN", "make_factory", "parse_listen", "register"]

DEFAULT_LISTEN = "127.0.0.1:8765"
"""Where the panel listens unless told: this computer only."""

_MODULES = ("starlette", "uvicorn", "websockets")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (an IP address, ``localhost``, ``[::1]:8765``) → (host, port); port 0:
    any free port, the one chosen is in the printed address.

    Raises:
        UsageError: not HOST:PORT, a port out of range, or an unspecified address (0.0.0.0,
            ::): the Host check needs the one address the browsers use.
    """
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    if host != "localhost":
        try:
            address = ipaddress.ip_address(host)
        except ValueError as err:
            raise UsageError(f"--listen {text!r}: HOST must be an IP address or localhost") from err
        if address.is_unspecified:
            raise UsageError(
                f"--listen {text!r}: give the one address the browsers will use, not {host}"
            )
    return host, int(port_text)


def make_factory(target: Target, db: str | None, *, sample_period_s: float = 1.0) -> SessionFactory:
    """How the panel makes a session: open the store and the device, build the Session."""

    @contextlib.contextmanager
    def factory(profile: str, patient: str | None, operator: str | None) -> Iterator[Started]:
        from eacontrol.cli.panel.run import Started
        from eacontrol.cli.run_cmd import points_text
        from eacontrol.device import connect
        from eacontrol.profiles import load_profile
        from eacontrol.records import RecordStore
        from eacontrol.session import Session

        loaded = load_profile(profile)
        with (
            RecordStore.open(db) as store,
            connect(target.url, device_serial=target.device_serial) as stim,
        ):
            info = stim.info
            session = Session(
                stim,
                loaded,
                store=store,
                operator_id=operator,
                patient_id=patient,
                device_serial=target.device_serial,
                sample_period_s=sample_period_s,
            )
            yield Started(
                session=session,
                status=lambda: stim.last_status,
                device=f"device {info.model} {info.serial}, firmware {info.firmware}, "
                f"on {target.url}",
                title=loaded.name,
                points=points_text(loaded),
                simulated=target.simulator(info.model),
            )

    return factory


def _require_extra() -> None:
    import importlib

    from eacontrol.errors import MissingExtra

    for module in _MODULES:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise MissingExtra(module, "panel", "eactl panel") from err


def _panel(args: argparse.Namespace) -> int:
    """Serve the practitioner's panel: a web page to run stored profiles, with a big STOP.

    Listens on --listen (default 127.0.0.1:8765, this computer only) and prints the address to
    open, with a per-run token; --open opens it in the default browser. The page chooses a
    stored profile and the patient and operator, runs it on --port (default: the built-in
    simulator, in real time) and shows it live; one browser controls, the others view. If the
    controlling page closes or goes silent for 2 s the session pauses. Ctrl-C stops the
    server, emergency-stopping a running session first.
    """
    host, port = parse_listen(args.listen)
    target = target_from(args)
    _require_extra()
    import uvicorn

    from eacontrol.cli.panel.catalog import catalog
    from eacontrol.cli.panel.security import allowed_hosts, is_loopback, new_token
    from eacontrol.cli.panel.server import PanelServer
    from eacontrol.link import RealClock

    token = new_token()
    where = f"{target.url} ({SIMULATED_BANNER})" if target.built_in else target.url
    server = PanelServer(
        make_factory(target, args.db),
        token=token,
        hosts=frozenset(),  # nothing is answered until the port is known (port 0: any free one)
        wall=RealClock(),
        pace=target.built_in,
        profiles=catalog(),
        port_text=where,
        simulated=target.built_in,
        db=args.db,
    )
    print(f"eactl panel: sessions run on {where}", flush=True)
    if not is_loopback(host):
        print(
            "eactl panel: WARNING: listening beyond this computer, over plain http: anyone on "
            "the network who sees the address (and its token) can control a session",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        server.app, host=host, port=port, log_level="warning", ws="websockets-sansio"
    )

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            bound = self.servers[0].sockets[0].getsockname()[1]
            server.allow(allowed_hosts(host, bound))
            shown = f"[{host}]" if ":" in host else host
            url = f"http://{shown}:{bound}/?token={token}"
            print(f"open {url}", flush=True)  # printed once the panel listens
            if args.open:
                import webbrowser

                webbrowser.open(url)

    runner = _Server(config)
    # uvicorn shuts down on SIGINT and SIGTERM (its lifespan's end emergency-stops a running
    # session), then raises the signal again; SIGHUP takes that path too. Either way a session
    # still running is stopped, confirmed, before eactl exits.
    with signals_end_like_ctrl_c():
        try:
            runner.run()
        except SystemExit as failed:  # uvicorn's answer to an address it cannot bind
            raise CliError(
                f"cannot listen on {args.listen} (see the message above)", ExitCode.USAGE
            ) from failed
        except KeyboardInterrupt as interrupt:
            server.run.close()
            if isinstance(interrupt, Terminated):
                print(f"eactl panel: {interrupt}: stopped", file=sys.stderr)
                return interrupt.exit_code
            print("eactl panel: stopped (Ctrl-C)", file=sys.stderr)
            return int(ExitCode.OK)
        finally:
            server.run.close()
    if not runner.started:
        raise CliError(f"cannot listen on {args.listen} (see the message above)", ExitCode.USAGE)
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``panel`` to the command parsers."""
    parser = add_command(commands, "panel", _panel)
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"where to serve the page (default {DEFAULT_LISTEN}: this computer only)",
    )
    parser.add_argument(
        "--open", action="store_true", help="open the page in the default web browser"
    )
    add_db_option(parser)
    add_target_options(parser)
