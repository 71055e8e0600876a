"""The firmware does no float arithmetic on stimulation quantities (issue 12, done-when).

Two checks: the source of ``simulator/firmware`` has no float literal, no ``float()``,
``round()`` or ``complex()`` call, no true division and no negative power; and after a real
session on the simulated hardware (dense-disperse, a ramp, a slew, a ramp-down stop, a stuck
output found and latched, doses read) every number reachable in the firmware's own objects is
a Python ``int`` (a float, or a numpy scalar handed over through the HAL, fails).
"""

from __future__ import annotations

import ast
import dataclasses
import numbers
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from firmware_protocol import Ack, ChannelState, Mode, SetIntensity, Shape, Stop, StopMode
from simulator.firmware import (
    Channel,
    Delivered,
    DeviceModel,
    DoseCounters,
    Firmware,
    Ramp,
    ReplyCache,
)
from simulator.hardware.device import Device

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

ROOT = Path(__file__).resolve().parents[3]
FILES = sorted((ROOT / "simulator" / "firmware").rglob("*.py"))
MS = 1_000
S = 1_000_000

_FLOAT_MAKERS = {"float", "round", "complex"}


def float_arithmetic(source: str) -> list[str]:
    """Where ``source`` makes or computes a float: ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, float | complex):
            found.append(f"{line}: literal {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _FLOAT_MAKERS:
                found.append(f"{line}: {node.func.id}()")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"{line}: true division")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = node.right
            if not (isinstance(exponent, ast.Constant) and isinstance(exponent.value, int)):
                found.append(f"{line}: a power that may be negative")
    return sorted(found, key=lambda entry: int(entry.split(":")[0]))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_firmware_source_has_no_float_arithmetic(path: Path) -> None:
    assert float_arithmetic(path.read_text()) == [], path.relative_to(ROOT)


def test_the_source_scan_finds_every_kind() -> None:
    source = (
        "a = 0.5\nb = float(x)\nc = round(y)\nd = x / y\ne //= 2\nf /= 3\ng = 2**n\nh = 2**64\n"
    )
    assert float_arithmetic(source) == [
        "1: literal 0.5",
        "2: float()",
        "3: round()",
        "4: true division",
        "6: true division",
        "7: a power that may be negative",
    ]


# --- the objects after a real session ------------------------------------------------------------

_WALKED = ("simulator.firmware", "firmware_protocol")
"""Objects of these packages are the firmware's own: their attributes are walked. Anything
else reachable (the output stages, the random source) is the hardware behind the HAL."""


def walk(root: Firmware) -> tuple[list[tuple[str, object]], set[type]]:
    """Every number reachable from the firmware's own state, as (path, value), and the types
    of the firmware objects passed through on the way."""
    found: list[tuple[str, object]] = []
    types: set[type] = set()
    seen: set[int] = set()
    # The simulated Device adds the hardware it runs on; the firmware's state is the rest.
    hardware = {"recorder", "outputs"} if isinstance(root, Device) else set()
    stack: list[tuple[str, object]] = [
        (f"device.{name}", value) for name, value in vars(root).items() if name not in hardware
    ]
    while stack:
        path, value = stack.pop()
        if isinstance(value, numbers.Number):
            found.append((path, value))
            continue
        if id(value) in seen or isinstance(value, str | bytes | bytearray) or value is None:
            continue
        seen.add(id(value))
        if isinstance(value, dict):
            stack += [(f"{path}[{k!r}]", v) for k, v in value.items()]
            stack += [(f"{path}.key", k) for k in value]
        elif isinstance(value, list | tuple | set | frozenset):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        elif type(value).__module__.startswith(_WALKED) and not callable(value):
            types.add(type(value))
            if dataclasses.is_dataclass(value):
                fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
            else:
                fields = dict(vars(value)) if hasattr(value, "__dict__") else {}
            stack += [(f"{path}.{name}", v) for name, v in fields.items()]
    return found, types


def _run_session(host: RawHost, make_program: ProgramFactory) -> None:
    host.hello()
    dense = make_program(Mode.DENSE_DISPERSE, channel=0, target_uA=4999, ramp_up_ms=1500)
    # Asymmetric: every negative phase carries a fraction of a nC in the hardware's ledger.
    asym = make_program(
        channel=1, shape=Shape.ASYMMETRIC_BIPHASIC, asym_ratio=3, freq_a_cHz=777, target_uA=3001
    )
    crcs = {f"ch{p.channel}": host.program(p) for p in (dense, asym)}
    assert isinstance(host.start(**crcs), Ack)
    host.run_with_heartbeats(host.now_us + 700 * MS)  # mid-ramp
    host.dose(0)
    host.run_with_heartbeats(host.now_us + 4 * S)  # into dense-disperse half b
    host.ok(SetIntensity(channel=0, target_uA=3333, slew_uA_per_s=777))
    host.run_with_heartbeats(host.now_us + 1234 * MS)  # mid-slew
    host.ok(Stop(channel_mask=0b01, mode=StopMode.RAMP_DOWN))
    host.run_with_heartbeats(host.now_us + 300 * MS)  # mid-ramp-down
    host.device.stick_output(1, host.now_us, 123)
    host.run_with_heartbeats(host.now_us + 2 * S)
    assert host.device.channel_state(0) == ChannelState.PROGRAMMED
    assert host.device.channel_state(1) == ChannelState.FAULT
    for channel in (0, 1):
        host.dose(channel)
    host.heartbeat()


def test_every_number_in_the_firmware_is_an_int_after_a_session(
    host: RawHost, make_program: ProgramFactory
) -> None:
    _run_session(host, make_program)
    device = host.device
    found, walked_types = walk(device)
    not_int = [(path, type(v).__name__, v) for path, v in found if not isinstance(v, int)]
    assert not_int == []
    # The walk reached the state that matters, and that state saw non-round quantities.
    paths = {path for path, _ in found}
    for expected in ("._ramp.end_uA", ".dose.total.charge_neg_nC", ".dose.total.square_uA2_us"):
        assert any(path.endswith(expected) for path in paths), expected
    assert {Channel, Ramp, DoseCounters, Delivered, DeviceModel, ReplyCache} <= walked_types
    assert device.channels[1].dose.total.charge_neg_nC > 0
    assert device.channels[1].dose.rms_uA > 0


def test_the_walk_catches_a_float_and_a_numpy_scalar(
    host: RawHost, make_program: ProgramFactory
) -> None:
    import numpy as np

    channel = host.device.channels[0]
    channel.target_uA = 2.5  # type: ignore[assignment]
    channel.dose.total = Delivered(peak_uA=np.int64(7))  # type: ignore[arg-type]
    bad = {path for path, v in walk(host.device)[0] if not isinstance(v, int)}
    assert bad == {"device._channels[0].target_uA", "device._channels[0].dose.total.peak_uA"}
