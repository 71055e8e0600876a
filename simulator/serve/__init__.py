"""Serving the simulated device to a host: ``sim://`` in virtual time, a pty or TCP in real time.

- ``scenario``: what to simulate (device, loads, faults, events), from TOML or options;
  ``options``: the ``sim://`` URL's options and the command line's one parser;
  ``bench``: a scenario running on a scheduler (device, cable, events), what every way in runs.
- ``port``: ``SimSerial``, the ``sim://`` pyserial port in virtual time;
  ``realtime``: the pty and TCP servers; ``cli``: ``python -m simulator``.
"""

from simulator.serve.bench import Bench
from simulator.serve.options import build_parser, options_from_args, scenario_from_options
from simulator.serve.port import DEFAULT_MAX_BLOCK_S, SimSerial, register_url_handler
from simulator.serve.realtime import MAX_PENDING_BYTES, Endpoint, PtyEndpoint, TcpEndpoint, serve
from simulator.serve.scenario import (
    SCHEMA_VERSION,
    Scenario,
    ScenarioError,
    bundled_scenarios,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "DEFAULT_MAX_BLOCK_S",
    "MAX_PENDING_BYTES",
    "SCHEMA_VERSION",
    "Bench",
    "Endpoint",
    "PtyEndpoint",
    "Scenario",
    "ScenarioError",
    "SimSerial",
    "TcpEndpoint",
    "build_parser",
    "bundled_scenarios",
    "load_scenario",
    "options_from_args",
    "register_url_handler",
    "scenario_from_dict",
    "scenario_from_options",
    "serve",
]
