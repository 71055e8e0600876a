"""The simulator's options, in one place: the ``sim://`` URL's, and the command line's parser.

``scenario_from_options`` turns flat ``key=value`` options (a URL's query, or ``-o KEY=VALUE``)
into a ``Scenario``; ``build_parser`` is the one argument parser of ``python -m simulator``,
whose named flags are shorthands for those options. ``eactl simulate`` forwards its arguments
unchanged to ``python -m simulator``, so this parser is also the one behind it (eacontrol never
imports the simulator). Options: ``simulator/README.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Mapping, Sequence

from simulator.firmware.model import DeviceModel
from simulator.hardware.faults import DeviceEvent, Direction, EventKind, FaultKind, LinkFault
from simulator.serve.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    load_tuple,
    model_with,
    wire_index,
)

__all__ = ["build_parser", "options_from_args", "parse_number", "scenario_from_options"]

_KINDS = tuple(k.value for k in FaultKind)
_TIMED = {
    "unplug_at": EventKind.UNPLUG,
    "reboot_at": EventKind.REBOOT,
    "stop_button_at": EventKind.STOP_BUTTON,
}
_CHANNEL_TIMED = {"electrode_off": EventKind.ELECTRODE_OFF, "electrode_on": EventKind.ELECTRODE_ON}
_LOAD_KEY = re.compile(r"load(\d+)")
_CHANNEL_AT = re.compile(r"(\d+)@(.+)")


def scenario_from_options(
    options: Mapping[str, Sequence[str]], source: str = "options"
) -> Scenario:
    """Build a scenario from flat ``key=value`` options (each key with its list of values).

    Keys: ``scenario`` (a TOML file to start from), ``core`` (``python`` or ``c``: which
    firmware runs the device), ``seed``, ``baud``, ``pairing_window``
    (whole seconds the pairing window is open from boot, 0 = closed), ``channels`` (alias of
    ``channel_count``), any ``DeviceModel`` field, ``load<N>`` (channel N), a frame fault
    rate ``<kind>``, ``<kind>_to_device`` or ``<kind>_to_host`` for drop, duplicate, corrupt,
    truncate and delay (with ``delay_ms``), ``unplug_at``, ``reboot_at``, ``stop_button_at``
    (seconds), and ``electrode_off``/``electrode_on`` as ``<channel>@<seconds>`` (repeatable).
    Channel numbers count from 1, as labelled on the device (``load1`` is the first output);
    the scenario returned holds wire indices, from 0.

    Raises:
        ScenarioError: an unknown or repeated key, or a bad value (a channel number outside
            ``1..N`` for the device's N channels, e.g. ``load0``, is refused, never shifted).
    """
    for key, values in options.items():
        if len(values) != 1 and key not in _CHANNEL_TIMED:
            raise ScenarioError(f"{source}: {key} given {len(values)} times")
    one = {k: v[-1] for k, v in options.items()}
    base = load_scenario(one["scenario"]) if "scenario" in one else Scenario()
    model_fields = {f.name for f in dataclasses.fields(DeviceModel)}
    overrides = {
        name: _model_value(source, name, value)
        for key, value in one.items()
        if (name := _model_field(key)) in model_fields
    }
    model = model_with(source, base.model, overrides)
    channels = model.channel_count
    loads = dict(enumerate(base.loads))
    faults, events = list(base.faults), list(base.events)
    seed, baud = base.seed, base.baud
    window_s = base.pairing_window_s
    core = one.get("core", base.core)
    delay_ms = parse_number(source, "delay_ms", one["delay_ms"]) if "delay_ms" in one else 0.0
    for key, value in one.items():
        if key in ("scenario", "delay_ms", "core") or _model_field(key) in model_fields:
            continue
        if key in ("seed", "baud"):
            number = _whole(source, key, value)
            seed, baud = (number, baud) if key == "seed" else (seed, number)
        elif key == "pairing_window":
            window_s = _whole(source, key, value)
        elif match := _LOAD_KEY.fullmatch(key):
            loads[wire_index(f"{source}: {key}", int(match[1]), channels)] = value
        elif key.split("_to_")[0] in _KINDS:
            faults.append(_fault(source, key, value, delay_ms))
        elif key in _TIMED:
            events.append(DeviceEvent(parse_number(source, key, value), _TIMED[key]))
        elif key in _CHANNEL_TIMED:
            events.extend(_channel_event(source, key, v, channels) for v in options[key])
        else:
            raise ScenarioError(f"{source}: unknown option {key!r} (see simulator/README.md)")
    if "delay_ms" in one and not any(f.kind is FaultKind.DELAY for f in faults):
        raise ScenarioError(f"{source}: delay_ms given without a delay rate")
    load_texts = load_tuple(source, loads)
    try:
        return Scenario(
            model,
            seed,
            baud,
            load_texts,
            tuple(faults),
            tuple(events),
            pairing_window_s=window_s,
            core=core,
        )
    except ScenarioError as err:
        raise ScenarioError(f"{source}: {err}") from None


def _model_field(key: str) -> str:
    return "channel_count" if key == "channels" else key


def _whole(source: str, key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ScenarioError(f"{source}: {key}={value!r} is not a whole number") from None


def parse_number(source: str, key: str, value: str) -> float:
    """A finite number ≥ 0 given as text (seconds, milliseconds).

    Raises:
        ScenarioError: ``value`` is not one (the message names ``source`` and ``key``).
    """
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < float("inf"):
        raise ScenarioError(f"{source}: {key}={value!r} is not a finite number >= 0")
    return number


def _model_value(source: str, key: str, value: str) -> object:
    default = getattr(DeviceModel(), key)
    if isinstance(default, tuple):
        return tuple(_whole(source, key, part) for part in value.split("."))
    return value if isinstance(default, str) else _whole(source, key, value)


def _fault(source: str, key: str, value: str, delay_ms: float) -> LinkFault:
    kind, _, direction = key.partition("_to_")
    try:
        return LinkFault(
            FaultKind(kind),
            direction=Direction(f"to_{direction}") if direction else None,
            rate=parse_number(source, key, value),
            delay_ms=delay_ms if kind == FaultKind.DELAY.value else 0.0,
        )
    except ValueError as err:
        raise ScenarioError(f"{source}: {key}={value!r}: {err}") from None


def _channel_event(source: str, key: str, value: str, channel_count: int) -> DeviceEvent:
    match = _CHANNEL_AT.fullmatch(value)
    if match is None:
        raise ScenarioError(
            f"{source}: {key}={value!r} must be <channel>@<seconds>, e.g. 1@10.5 "
            "(channels numbered from 1)"
        )
    channel = wire_index(f"{source}: {key}={value}", int(match[1]), channel_count)
    return DeviceEvent(parse_number(source, key, match[2]), _CHANNEL_TIMED[key], channel)


# --- the command line --------------------------------------------------------------------------

_SHORTHANDS = ("scenario", "core", "channels", "seed", "baud", "serial", "pairing_window")
"""Named flags that are the URL options of the same names."""


def build_parser(prog: str = "python -m simulator") -> argparse.ArgumentParser:
    """The argument parser of ``python -m simulator`` (and so of ``eactl simulate``)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the simulated EA stimulator in real time behind a pty or a TCP socket. "
        "The first line printed is the port to open (a pty path, or socket://HOST:PORT); the "
        "log goes to stderr. Stop it with Ctrl-C or SIGTERM (exit status 0).",
        epilog="Device and scenario options are those of sim:// URLs, and -o KEY=VALUE takes any "
        "of them (e.g. -o drop=0.05 -o unplug_at=30). Options and the scenario file format: "
        "simulator/README.md.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument(
        "--tcp",
        metavar="[HOST:]PORT",
        help="serve on TCP for pyserial's socket:// (HOST defaults to 127.0.0.1; PORT 0 = free)",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario TOML file or bundled name")
    parser.add_argument(
        "--core",
        choices=("python", "c"),
        help="the firmware that runs the device: python (default) or c, the C core in-process "
        "(built with the system C compiler on first use)",
    )
    parser.add_argument("--channels", type=int, metavar="N", help="channel count, 1..8")
    parser.add_argument("--seed", type=int, metavar="N", help="seed of every random generator")
    parser.add_argument("--baud", type=int, metavar="N", help="wire model baud (0 = off)")
    parser.add_argument("--serial", metavar="TEXT", help="serial number the device reports")
    parser.add_argument(
        "--pairing-window",
        type=int,
        metavar="SECONDS",
        help="open the device's pairing window for SECONDS from start-up (the pairing button "
        "of a real unit): one host may pair with 'eactl pair PORT' meanwhile; default closed",
    )
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
        help="any sim:// URL option, e.g. drop=0.1, unplug_at=12.5 or electrode_off=1@20; "
        "repeatable",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="log every fault")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def options_from_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> dict[str, list[str]]:
    """The URL options the parsed command line names (for ``scenario_from_options``).

    Exits through ``parser.error`` (status 2) on a malformed ``--load`` or ``-o``.
    """
    options: dict[str, list[str]] = {}

    def add(key: str, value: str) -> None:
        options.setdefault(key, []).append(value)

    for key in _SHORTHANDS:
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
