"""Scenarios: the device, its loads and the fault plan, from a TOML file or from URL/CLI options.

A scenario file (format in ``simulator/README.md``)::

    schema_version = 1
    seed = 7
    baud = 115200

    [device]                  # any DeviceModel field
    serial = "SIM-000042"
    channel_count = 4

    [loads]                   # channel (from 1, as labelled on the device) = load text
    1 = "1k"
    3 = "randles:200,1k,100n"

    [[fault]]                 # a link fault (simulator.hardware.faults.LinkFault)
    kind = "corrupt"
    direction = "to_device"   # to_device | to_host | both (default)
    rate = 0.01

    [[event]]                 # a timed device event (simulator.hardware.faults.DeviceEvent)
    at_s = 12.5
    kind = "electrode_off"
    channel = 2               # from 1, as labelled on the device

Channel numbers in scenario files (and in URL/CLI options and the log) count from 1, as labelled
on the device; the ``Scenario`` dataclass, ``Bench`` and the ``Device`` API keep wire indices,
from 0. ``simulator.numbering`` converts between them; channel 0 or one beyond the device is
refused, never shifted.

Every unknown key, wrong type or out-of-range value raises ``ScenarioError`` naming the file and
the key. URL and command-line options (``simulator.serve.options.scenario_from_options``) start
from such a file and override or add to it. ``simulator.serve.bench.Bench`` runs a scenario on a
clock.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from firmware_protocol import MAX_CHANNELS
from simulator.firmware.keys import MAX_WINDOW_S
from simulator.firmware.model import DeviceModel
from simulator.hardware.faults import (
    DeviceEvent,
    Direction,
    EventKind,
    FaultKind,
    FaultUnit,
    LinkFault,
)
from simulator.hardware.loads import parse_load
from simulator.hardware.wire import DEFAULT_BAUD
from simulator.numbering import channel_index, channel_name

__all__ = [
    "CORES",
    "SCHEMA_VERSION",
    "Scenario",
    "ScenarioError",
    "bundled_scenarios",
    "load_scenario",
    "load_tuple",
    "model_with",
    "scenario_from_dict",
    "wire_index",
]

SCHEMA_VERSION = 1
"""Version of the scenario file format; a file with another version is refused."""


CORES = ("python", "c")
"""The firmware a scenario's device runs: the Python one (default) or the C core in-process."""


class ScenarioError(ValueError):
    """A scenario file or option is invalid; the message names where and which key."""


@dataclass(frozen=True)
class Scenario:
    """Everything that makes one simulated device and its environment.

    Channels here are wire indices, from 0 (``loads[0]`` and ``DeviceEvent(channel=0)`` are
    channel 1 on the device); files and options name them from 1 and convert on the way in.

    Attributes:
        model: the device's own limits and identity.
        seed: seeds every random generator (device, loads, each fault direction).
        baud: wire model line rate; 0 disables it.
        loads: load text per channel, by wire index; a missing or empty entry means the default
            load.
        faults: link fault rules.
        events: timed device events, in the order given.
        pairing_window_s: the device's pairing window opened at boot for this many seconds
            (the pairing button pressed at power-on); 0 leaves it closed.
        core: which firmware runs the device: ``"python"`` (``simulator.firmware``) or ``"c"``
            (the C core in-process, ``simulator.ccore``).

    Raises:
        ScenarioError: a load does not parse, a channel does not exist on the model, or the
            pairing window is outside 0..3600 s, or the core is neither python nor c.
    """

    model: DeviceModel = dataclasses.field(default_factory=DeviceModel)
    seed: int = 0
    baud: int = DEFAULT_BAUD
    loads: tuple[str, ...] = ()
    faults: tuple[LinkFault, ...] = ()
    events: tuple[DeviceEvent, ...] = ()
    pairing_window_s: int = 0
    core: str = "python"

    def __post_init__(self) -> None:
        channels = self.model.channel_count
        if self.core not in CORES:
            raise ScenarioError(f"core must be one of {', '.join(CORES)}, got {self.core!r}")
        if not 0 <= self.pairing_window_s <= MAX_WINDOW_S:
            raise ScenarioError(
                f"pairing window {self.pairing_window_s} s is outside 0..{MAX_WINDOW_S} s"
            )
        if len(self.loads) > channels:
            raise ScenarioError(
                f"load given for {channel_name(len(self.loads) - 1)}; channels are 1..{channels}"
            )
        if self.seed < 0 or self.baud < 0:
            raise ScenarioError("seed and baud must be >= 0")
        for channel, text in enumerate(self.loads):
            if text:
                _check_load(f"load of {channel_name(channel)}", text)
        for event in self.events:
            if event.channel is not None and event.channel >= channels:
                where = f"event {event.kind.value} at {event.at_s} s"
                raise ScenarioError(
                    f"{where} names {channel_name(event.channel)}; channels are 1..{channels}"
                )
            if event.load is not None:
                _check_load(f"event {event.kind.value} at {event.at_s} s", event.load)


def _check_load(where: str, text: str) -> None:
    try:
        parse_load(text, np.random.default_rng(0))
    except ValueError as err:
        raise ScenarioError(f"{where}: {err}") from None


def bundled_scenarios() -> list[str]:
    """Names of the example scenarios shipped in ``simulator/scenarios`` (e.g. "flaky_link")."""
    folder = importlib.resources.files("simulator") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario TOML file, or a bundled scenario by name (``bundled_scenarios()``).

    Raises:
        ScenarioError: the file cannot be read or parsed, or is invalid.
    """
    source = importlib.resources.files("simulator") / "scenarios" / f"{path}.toml"
    if not (isinstance(path, str) and path in bundled_scenarios()):
        source = Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ScenarioError(f"scenario {path}: {err}") from err
    return scenario_from_dict(data, source=str(path))


_TOP_KEYS = {"schema_version", "seed", "baud", "device", "loads", "fault", "event"}


def scenario_from_dict(data: Mapping[str, Any], source: str = "scenario") -> Scenario:
    """Build a scenario from the parsed contents of a scenario file.

    Raises:
        ScenarioError: wrong schema version, unknown key, wrong type or invalid value.
    """
    _no_unknown(source, data, _TOP_KEYS)
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ScenarioError(
            f"{source}: schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}"
        )
    device = _table(source, data, "device")
    model_fields = {f.name: f for f in dataclasses.fields(DeviceModel)}
    _no_unknown(f"{source} [device]", device, set(model_fields))
    overrides = {k: _model_value(f"{source} [device]", k, v) for k, v in device.items()}
    model = model_with(source, DeviceModel(), overrides)
    channels = model.channel_count
    load_texts: dict[int, str] = {}
    for key, text in _table(source, data, "loads").items():
        if not key.isdigit() or not isinstance(text, str):
            raise ScenarioError(
                f'{source} [loads]: expected channel = "load", got {key} = {text!r}'
            )
        load_texts[wire_index(f"{source} [loads] {key}", int(key), channels)] = text
    faults = tuple(
        _fault(f"{source} [[fault]] #{i + 1}", t) for i, t in _items(source, data, "fault")
    )
    events = tuple(
        _event(f"{source} [[event]] #{i + 1}", t, channels)
        for i, t in _items(source, data, "event")
    )
    seed = _int(source, "seed", data.get("seed", 0))
    baud = _int(source, "baud", data.get("baud", DEFAULT_BAUD))
    loads = load_tuple(source, load_texts)
    try:
        return Scenario(model, seed, baud, loads, faults, events)
    except ScenarioError as err:
        raise ScenarioError(f"{source}: {err}") from None


def _no_unknown(where: str, table: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )


def _table(source: str, data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{source}: [{key}] must be a table")
    return value


def _items(source: str, data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{source}: {key} must be an array of tables ([[{key}]])")
    return list(enumerate(value))


def _int(where: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{where}: {key} must be a whole number, got {value!r}")
    return value


def _number(where: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{where}: {key} must be a number, got {value!r}")
    return float(value)


def _model_value(where: str, key: str, value: object) -> object:
    default = getattr(DeviceModel(), key)
    if isinstance(default, tuple):
        if not isinstance(value, list) or len(value) != len(default):
            raise ScenarioError(f"{where}: {key} must be a list of {len(default)} whole numbers")
        return tuple(_int(where, key, v) for v in value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: {key} must be a string, got {value!r}")
        return value
    return _int(where, key, value)


def model_with(where: str, base: DeviceModel, overrides: Mapping[str, Any]) -> DeviceModel:
    """Return ``base`` with some fields changed.

    Raises:
        ScenarioError: an unknown field, or a value the model refuses.
    """
    try:
        return dataclasses.replace(base, **overrides)
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{where}: device: {err}") from None


def wire_index(where: str, number: int, channel_count: int) -> int:
    """The wire index of channel ``number`` (from 1, as written in a file, URL or command line).

    Raises:
        ScenarioError: not a channel of a device with ``channel_count`` channels; the message
            names ``where`` and the range ``1..channel_count``.
    """
    try:
        return channel_index(number, channel_count)
    except ValueError as err:
        raise ScenarioError(f"{where}: {err}") from None


def load_tuple(where: str, texts: Mapping[int, str]) -> tuple[str, ...]:
    """Turn ``{wire index: load text}`` into a per-channel tuple ("" where none is given).

    Raises:
        ScenarioError: a channel beyond the largest possible device.
    """
    if not texts:
        return ()
    if min(texts) < 0 or max(texts) >= MAX_CHANNELS:
        bad = min(texts) if min(texts) < 0 else max(texts)
        raise ScenarioError(
            f"{where}: load for {channel_name(bad)}; channels are 1..{MAX_CHANNELS} at most"
        )
    return tuple(texts.get(ch, "") for ch in range(max(texts) + 1))


def _enum(where: str, key: str, kind: type[Any], value: object) -> Any:
    try:
        return kind(value)
    except ValueError:
        known = ", ".join(m.value for m in kind)
        raise ScenarioError(f"{where}: {key} must be one of {known}, got {value!r}") from None


_FAULT_KEYS = {f.name for f in dataclasses.fields(LinkFault)}
_EVENT_KEYS = {f.name for f in dataclasses.fields(DeviceEvent)}


def _fault(where: str, table: Mapping[str, Any]) -> LinkFault:
    _no_unknown(where, table, _FAULT_KEYS)
    args = dict(table)
    args["kind"] = _enum(where, "kind", FaultKind, table.get("kind"))
    direction = table.get("direction", "both")
    args["direction"] = (
        None if direction == "both" else _enum(where, "direction", Direction, direction)
    )
    args["unit"] = _enum(where, "unit", FaultUnit, table.get("unit", "frame"))
    for key in ("rate", "at_s", "start_s", "stop_s", "delay_ms"):
        if key in args:
            args[key] = _number(where, key, args[key])
    for key in ("count", "bits"):
        if key in args:
            args[key] = _int(where, key, args[key])
    try:
        return LinkFault(**args)
    except ValueError as err:
        raise ScenarioError(f"{where}: {err}") from None


def _event(where: str, table: Mapping[str, Any], channel_count: int) -> DeviceEvent:
    _no_unknown(where, table, _EVENT_KEYS)
    if "at_s" not in table:
        raise ScenarioError(f"{where}: at_s is required")
    args = dict(table)
    args["kind"] = _enum(where, "kind", EventKind, table.get("kind"))
    args["at_s"] = _number(where, "at_s", table["at_s"])
    for key in ("channel", "current_uA"):
        if key in args:
            args[key] = _int(where, key, args[key])
    if "channel" in args:
        args["channel"] = wire_index(where, args["channel"], channel_count)
    if "load" in args and not isinstance(args["load"], str):
        raise ScenarioError(f'{where}: load must be a string such as "10k"')
    try:
        return DeviceEvent(**args)
    except ValueError as err:
        raise ScenarioError(f"{where}: {err}") from None
