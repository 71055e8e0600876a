"""The C core against the Python device under random host traffic, byte for byte.

The hypothesis state machine of ``tests/simulator/test_stateful.py`` (random valid and
arbitrary commands, retransmissions, foreign sessions, garbage, corrupted frames, waits, link
faults, loads coming off, stuck outputs, reboots, the stop button) runs on a *twin* device: the
Python ``Device`` and the C ``CoreDevice`` side by side on the same simulated hardware inputs,
each with its own copy of the same seeded random source. Every byte the host sends goes to
both; at every output the two must have sent the same bytes and report the same STATUS. The
machine's own invariants (limits, lease, charge balance) keep running on the Python twin.
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from tiers import examples

import firmware_protocol as fp
from simulator.ccore import CoreDevice, unavailable
from simulator.firmware import DeviceModel
from simulator.hardware.device import Device
from simulator.hardware.loads import Load

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable() is not None, reason=f"C core: {unavailable()}"),
]

_PATH = Path(__file__).resolve().parents[1] / "simulator" / "test_stateful.py"
_SPEC = importlib.util.spec_from_file_location("ea_stateful_machine", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
stateful = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(stateful)


def _describe(data: bytes) -> list[str]:
    """The frames of ``data``, decoded (tags unchecked: the device's own)."""
    out = []
    for item in fp.FrameDecoder().feed(data):
        if isinstance(item, fp.RawFrame):
            try:
                out.append(f"{item.header} {item.decode().message}")
            except fp.FrameError as err:
                out.append(f"{item.header} undecodable: {err}")
        else:
            out.append(repr(item))
    return out


class Divergence(AssertionError):
    """The two cores answered differently."""


class TwinDevice:
    """The Python device and the C core on the same inputs; compares what they send.

    Built by ``Bench`` in place of ``Device`` (same arguments). Everything the machine reads
    that is not compared here comes from the Python twin.
    """

    def __init__(
        self,
        model: DeviceModel = DeviceModel(),  # noqa: B008 - frozen
        *,
        rng: np.random.Generator,
        loads: Sequence[Load] | None = None,
        now_us: int = 0,
    ) -> None:
        twin_rng = copy.deepcopy(rng)  # the same stream of random numbers, drawn separately
        self.python = Device(model, rng=rng, loads=loads, now_us=now_us)
        self.core = CoreDevice(model, rng=twin_rng, loads=loads, now_us=now_us)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.python, name)

    def _both(self, name: str, *args: Any) -> None:
        getattr(self.python, name)(*args)
        getattr(self.core, name)(*args)

    def receive(self, data: bytes, now_us: int) -> None:
        self._both("receive", data, now_us)

    def advance(self, now_us: int) -> None:
        self._both("advance", now_us)

    def next_deadline_us(self) -> int | None:
        found = [d for d in (self.python.next_deadline_us(), self.core.next_deadline_us()) if d]
        return min(found, default=None)

    def take_output(self) -> bytes:
        python, core = self.python.take_output(), self.core.take_output()
        now_us = self.python.now_us
        if python != core:
            raise Divergence(
                f"at {now_us} µs the devices sent different frames:\n"
                f"  python: {_describe(python)}\n  c:      {_describe(core)}"
            )
        if (want := self.python.status()) != (got := self.core.status()):
            raise Divergence(f"at {now_us} µs STATUS differs:\n  python: {want}\n  c:      {got}")
        return python

    def set_load(self, channel: int, load: Load, now_us: int) -> None:
        self._both("set_load", channel, load, now_us)

    def stick_output(self, channel: int, now_us: int, current_uA: int) -> None:
        self._both("stick_output", channel, now_us, current_uA)

    def reboot(self, now_us: int) -> None:
        self._both("reboot", now_us)

    def press_stop_button(self, now_us: int) -> None:
        self._both("press_stop_button", now_us)

    def open_pairing_window(self, now_us: int, seconds: int) -> None:
        self._both("open_pairing_window", now_us, seconds)


@pytest.fixture(autouse=True)
def _twins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sim:// bench of this module builds a twin device."""
    monkeypatch.setattr("simulator.serve.bench.Device", TwinDevice)


TestTwinMachine = pytest.mark.slow(cast(Any, stateful.DeviceMachine).TestCase)
TestTwinMachine.settings = settings(
    max_examples=examples(40),
    stateful_step_count=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
