"""pytest plugin of eacontrol: simulator and stimulator fixtures (see docs/testing.md).

Installed with eacontrol (entry point ``pytest11``), so any project that depends on eacontrol
gets, without a conftest:

- ``ea_simulator``: a ``sim://`` URL of a fresh simulated device, in virtual time. Device and
  scenario options come from the ``ea_simulator`` marker::

      @pytest.mark.ea_simulator(channels=4, seed=1, drop=0.01, electrode_off="1@20")
      def test_survives_a_lossy_link(ea_stimulator): ...

- ``ea_stimulator``: an :class:`eacontrol.device.Stimulator` connected to that device (virtual
  time: an hour of stimulation runs in seconds), stopped and closed after the test.
- ``ea_port``: the URL the stimulator connects to (the simulator, or ``--ea-port``).
- ``--ea-port PORT``: point the same tests at a real device (a path or pyserial URL) in real
  time. Tests whose ``ea_simulator`` marker asks for simulator options (fault injection, loads,
  a scenario) are skipped there: a real device cannot honour them. ``--ea-device-serial``
  pins the device's serial number, so a test run never stimulates the wrong unit. A real
  device must be paired with the host first (``eactl pair PORT``, docs/security.md); ``sim://``
  pairs itself in memory.

The plugin never imports the simulator (docs/architecture.md): it reaches it through ``sim://``,
whose
handler package pyserial finds by name.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from os import PathLike
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from eacontrol.device import Stimulator

__all__ = [
    "MARKER",
    "ea_port",
    "ea_simulator",
    "ea_stimulator",
    "pytest_addoption",
    "pytest_configure",
    "simulator_url",
]

MARKER = "ea_simulator"
"""The marker that carries the simulated device's ``sim://`` options."""

OptionValue = str | int | float | bool | PathLike[str]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--ea-port`` and ``--ea-device-serial``."""
    group = parser.getgroup("eacontrol", "eacontrol stimulator fixtures")
    group.addoption(
        "--ea-port",
        metavar="PORT",
        default=None,
        help="run the ea_stimulator tests on this real device (path or pyserial URL) in real "
        "time instead of the simulator; tests that need simulator options are skipped",
    )
    group.addoption(
        "--ea-device-serial",
        metavar="SERIAL",
        default=None,
        help="with --ea-port: the serial number the device must report (refuse any other)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``ea_simulator`` marker (so ``--strict-markers`` accepts it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): device and scenario options of the simulated device the "
        "ea_simulator and ea_stimulator fixtures use, as sim:// URL options (channels=4, "
        "seed=1, drop=0.01, load1='10k', electrode_off='1@20', scenario='file.toml').",
    )


def _text(value: OptionValue) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, PathLike):
        return str(value.__fspath__())
    return str(value)


def simulator_url(options: Mapping[str, OptionValue | list[OptionValue]]) -> str:
    """The ``sim://`` URL for device and scenario options (a list repeats its key).

    >>> simulator_url({"channels": 4, "electrode_off": ["1@2", "2@5"]})
    'sim://?channels=4&electrode_off=1%402&electrode_off=2%405'
    """
    pairs: list[tuple[str, str]] = []
    for key, value in options.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, _text(v)) for v in values)
    return "sim://" + (f"?{urllib.parse.urlencode(pairs)}" if pairs else "")


def _marker_options(node: pytest.Item) -> dict[str, OptionValue | list[OptionValue]]:
    """The marker's options; a marker closer to the test overrides a module's or class's."""
    options: dict[str, OptionValue | list[OptionValue]] = {}
    for mark in reversed(list(node.iter_markers(MARKER))):
        if mark.args:
            raise pytest.UsageError(
                f"{node.nodeid}: @pytest.mark.{MARKER} takes keyword options only, e.g. "
                f"{MARKER}(channels=4, drop=0.01); got {mark.args!r}"
            )
        options.update(mark.kwargs)
    return options


def _register_sim_scheme() -> None:
    from eacontrol.link.transport import register_simulator_scheme

    register_simulator_scheme()


@pytest.fixture
def ea_simulator(request: pytest.FixtureRequest) -> str:
    """A ``sim://`` URL of a fresh simulated device with the marker's options (virtual time).

    Every port opened with it is a new device; ``sim://`` is registered with pyserial, so
    ``serial.serial_for_url(ea_simulator)`` works too.
    """
    _register_sim_scheme()
    return simulator_url(_marker_options(request.node))


@pytest.fixture
def ea_port(request: pytest.FixtureRequest) -> str:
    """The port under test: ``--ea-port`` if given, else the ``ea_simulator`` URL.

    On a real device, a test whose marker sets simulator options is skipped.
    """
    real = request.config.getoption("--ea-port")
    if real is None:
        url: str = request.getfixturevalue("ea_simulator")
        return url
    options = _marker_options(request.node)
    if options:
        pytest.skip(
            f"needs the simulator ({', '.join(sorted(options))}); --ea-port is a real device"
        )
    return str(real)


@pytest.fixture
def ea_stimulator(request: pytest.FixtureRequest, ea_port: str) -> Iterator[Stimulator]:
    """A :class:`~eacontrol.device.Stimulator` connected to ``ea_port``.

    The simulator runs in virtual time (``stim.wait(600)`` returns at once); a real device
    (``--ea-port``) in real time. After the test every output is stopped and confirmed off
    (``StopNotConfirmed`` fails the test's teardown) and the port is closed.
    """
    from eacontrol.device import connect

    real = request.config.getoption("--ea-port") is not None
    pinned = request.config.getoption("--ea-device-serial") if real else None
    stim = connect(ea_port, device_serial=pinned)
    try:
        yield stim
    finally:
        stim.close()
