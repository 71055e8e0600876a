"""The simulator's layers: ``firmware`` ← ``hardware`` ← ``serve`` (simulator/README.md §4).

The firmware package maps one-to-one to a C core, so it imports nothing it could not have
there: ``simulator/firmware/**`` may import ``firmware_protocol``, the standard library and
itself; never the simulated hardware, the servers, the clock, the host, numpy, ``math``
(floats) or pyserial (issue 12: "firmware never imports hardware or host code"). The hardware
never imports the servers. Imports under ``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "simulator" / "firmware").rglob("*.py"))
HARDWARE_FILES = sorted((ROOT / "simulator" / "hardware").rglob("*.py"))

FORBIDDEN = (
    "simulator.hardware",
    "simulator.serve",
    "simulator.clock",
    "eacontrol",
    "numpy",
    "math",
    "serial",
)


def imported_modules(source: str, package: str) -> list[str]:
    """Every module ``source`` imports; relative imports resolved against ``package``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{node.module}" if node.module else parent
            found.append(base)
    return found


def violation(module: str) -> bool:
    """True when the firmware may not import ``module``."""
    if any(module == bad or module.startswith(f"{bad}.") for bad in FORBIDDEN):
        return True
    top = module.split(".")[0]
    return not (
        module == "simulator.firmware"
        or module.startswith("simulator.firmware.")
        or top == "firmware_protocol"
        or top in sys.stdlib_module_names
    )


def test_the_firmware_has_files_to_check() -> None:
    names = {path.name for path in FILES}
    assert {"device.py", "hal.py", "channel.py", "ramp.py", "commands.py", "dose.py"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_firmware_imports_only_the_protocol_the_standard_library_and_itself(path: Path) -> None:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    bad = [m for m in imported_modules(path.read_text(), package) if violation(m)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


@pytest.mark.parametrize("path", HARDWARE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hardware_never_imports_the_servers_or_the_host(path: Path) -> None:
    package = ".".join(path.relative_to(ROOT).parts[:-1])
    modules = imported_modules(path.read_text(), package)
    bad = [m for m in modules if m.split(".")[0] == "eacontrol" or m.startswith("simulator.serve")]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_scan_finds_each_kind_of_forbidden_import() -> None:
    source = (
        "import math\n"
        "import numpy as np\n"
        "from simulator.hardware import loads\n"
        "from ..serve import port\n"
        "from simulator import clock\n"
        "from eacontrol.device import connect\n"
        "from . import ramp\n"
        "import dataclasses\n"
        "from firmware_protocol import Mode\n"
    )
    modules = imported_modules(source, "simulator.firmware")
    assert [m for m in modules if violation(m)] == [
        "math",
        "numpy",
        "simulator.hardware",
        "simulator.serve",
        "simulator",
        "eacontrol.device",
    ]
