"""``eactl panel``: serve the practitioner's panel, a web page for the treatment room.

``--listen`` is loopback by default (127.0.0.1:8765); the URL printed carries a per-run random
token, and every request is checked for its Host and Origin (``eacontrol.cli.panel.security``).
Sessions run on ``--port`` (default: the built-in simulator, paced to real time as ``eactl run``
paces it) and are recorded in the session database (``--db``). The site and patient limit
layers are ``eactl run``'s options, defined and parsed once (``eacontrol.cli.layers``): every
profile the page offers is checked with them, and every session started from the page applies
them. ``--blind`` is refused (exit 2): the page is not a blinded operator's view
(:data:`BLIND_REFUSED`). Ctrl-C stops the server; a session still running is emergency-stopped
first, confirmed.
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
from eacontrol.cli.layers import PATIENT_FLAGS, Layers, add_layer_options, layers_from
from eacontrol.cli.records_cmd import add_db_option
from eacontrol.cli.signals import Terminated, signals_end_like_ctrl_c
from eacontrol.cli.target import SIMULATED_BANNER, Target, add_target_options, target_from

if TYPE_CHECKING:
    from eacontrol.cli.panel.run import SessionFactory, Started

__all__ = [
    "BLIND_REFUSED",
    "DEFAULT_LISTEN",
    "layers_text",
    "make_factory",
    "parse_listen",
    "register",
]

DEFAULT_LISTEN = "127.0.0.1:8765"
"""Where the panel listens unless told: this computer only."""

BLIND_REFUSED = (
    "--blind: the panel does not run blinded sessions: its start screen names each profile and "
    "shows its plan, intensities and dose, and every page is sent the set and measured currents, "
    "which would unblind the operator; run a blinded session with eactl run --blind"
)
"""Why ``eactl panel --blind`` is a usage error (docs/panel.md)."""

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


def layers_text(args: argparse.Namespace, layers: Layers) -> str:
    """The limit layers in force, as the start screen names them ("" when none is given)."""
    from eacontrol.cli.output import printable

    words = []
    if layers.site is not None:
        words.append(f"site policy {printable(args.site)}")
    patient = layers.patient
    if patient is not None:
        flags = [f for f in PATIENT_FLAGS if getattr(patient, f)]
        if flags:
            words.append(f"patient flags {', '.join(flags)}")
        if patient.implant_clearance is not None:
            words.append(f"implant clearance {printable(args.implant_clearance)}")
        words += [
            f"calibrated maximum channel {n}: {mA:g} mA"
            for n, mA in sorted(patient.calibrated_max_mA.items())
        ]
    return "; ".join(words)


def make_factory(
    target: Target,
    db: str | None,
    *,
    layers: Layers | None = None,
    sample_period_s: float = 1.0,
) -> SessionFactory:
    """How the panel makes a session: open the store and the device, build the Session.

    ``layers``: the site and patient layers, applied as ``eactl run`` applies them (the profile
    loaded with them, then the session's pre-flight checks them again with the device's).
    """
    site = None if layers is None else layers.site
    patient_layer = None if layers is None else layers.patient

    @contextlib.contextmanager
    def factory(profile: str, patient: str | None, operator: str | None) -> Iterator[Started]:
        from eacontrol.cli.panel.run import Started
        from eacontrol.cli.run_cmd import points_text
        from eacontrol.device import connect
        from eacontrol.profiles import load_profile
        from eacontrol.records import RecordStore
        from eacontrol.session import Session

        loaded = load_profile(profile, site=site, patient=patient_layer)
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
                patient=patient_layer,
                site=site,
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
    controlling page closes or goes silent for 2 s the session pauses. The limit layers
    (--site, --patient-flags, --implant-clearance, --calibrated-max) are eactl run's and apply
    to every session started from the page; --blind is refused. Ctrl-C stops the server,
    emergency-stopping a running session first.
    """
    if args.blind:
        raise UsageError(BLIND_REFUSED)
    host, port = parse_listen(args.listen)
    layers = layers_from(args)
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
        make_factory(target, args.db, layers=layers),
        token=token,
        hosts=frozenset(),  # nothing is answered until the port is known (port 0: any free one)
        wall=RealClock(),
        pace=target.built_in,
        profiles=catalog(site=layers.site, patient=layers.patient),
        port_text=where,
        simulated=target.built_in,
        db=args.db,
        layers=layers_text(args, layers),
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
    parser.add_argument(
        "--blind",
        action="store_true",
        help="refused (exit 2): the page shows what would unblind the operator; use eactl run "
        "--blind",
    )
    add_db_option(parser)
    add_target_options(parser)
    add_layer_options(parser)  # eactl run's, with its meaning and parsing
