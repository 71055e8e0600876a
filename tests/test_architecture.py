"""House rules that keep the layers honest (docs/architecture.md, STYLE.md 1, 8, 9)."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("eacontrol", "firmware_protocol", "simulator")


def _imports(package: str) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package in the source tree."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_firmware_protocol_imports_no_sibling_and_does_no_io() -> None:
    forbidden = {
        "eacontrol",
        "simulator",
        "serial",
        "time",
        "socket",
        "threading",
        "asyncio",
        "os",
        "io",
        "subprocess",
        "select",
    }
    for path, names in _imports("firmware_protocol").items():
        assert not names & forbidden, f"{path} imports {sorted(names & forbidden)}"


def test_simulator_never_imports_eacontrol() -> None:
    """The device's interlocks are an independent second layer, not a copy of the host's."""
    for path, names in _imports("simulator").items():
        assert "eacontrol" not in names, path


def test_eacontrol_never_imports_simulator() -> None:
    """The host reaches the simulator only through a pyserial URL (sim://)."""
    for path, names in _imports("eacontrol").items():
        assert "simulator" not in names, path


def test_only_the_real_clocks_read_time() -> None:
    allowed = {"eacontrol/link/clock.py", "simulator/clock.py"}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = str(path.relative_to(ROOT))
            text = path.read_text()
            if rel in allowed:
                continue
            for call in ("time.sleep(", "time.monotonic(", "time.time(", "time.perf_counter("):
                assert call not in text, f"{rel} calls {call}) directly: inject a clock"


def test_every_package_directory_is_listed_in_pyproject() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = {name: ROOT / path for name, path in config.get("package-dir", {}).items()}
    found = set(mapped)
    for package in PACKAGES:
        for init in (ROOT / package).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    assert found == listed


@pytest.mark.parametrize("package", PACKAGES)
def test_public_api_is_sorted_and_exported(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    for name in names:
        assert hasattr(module, name), f"{package}.__all__ names missing {name}"


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_ship_type_information(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert (Path(module.__file__).parent / "py.typed").exists()


def test_every_public_error_is_exported_from_the_package() -> None:
    import eacontrol
    import eacontrol.errors

    assert set(eacontrol.errors.__all__) <= set(eacontrol.__all__)
    for name in eacontrol.errors.__all__:
        assert getattr(eacontrol, name) is getattr(eacontrol.errors, name)


def test_importing_eacontrol_stays_light() -> None:
    """`eactl --help` must start fast: the package root imports no pydantic, numpy or serial."""
    import subprocess
    import sys

    code = (
        "import sys, eacontrol; print(sorted({'pydantic', 'numpy', 'serial'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# The layers of eacontrol, lowest first (docs/architecture.md "Who may import whom"). A
# package may import its own layer's siblings only where listed, and any lower layer.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors"}),
    frozenset({"anatomy", "link"}),
    frozenset({"safety"}),
    frozenset({"stimulation"}),
    frozenset({"device", "profiles", "records"}),
    frozenset({"session"}),
    frozenset({"sweep"}),
    frozenset({"cli", "testing"}),
)


def _layer(unit: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if unit in layer)


def _eacontrol_edges() -> set[tuple[str, str, str]]:
    """(file, importing unit, imported unit) for every import between eacontrol's packages."""
    edges: set[tuple[str, str, str]] = set()
    for path in sorted((ROOT / "eacontrol").rglob("*.py")):
        rel = path.relative_to(ROOT / "eacontrol")
        unit = rel.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
                if node.module == "eacontrol":
                    modules = [f"eacontrol.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "eacontrol" and len(parts) > 1 and parts[1] != unit:
                    edges.add((str(rel), unit, parts[1]))
    return edges


def test_every_eacontrol_package_has_a_layer() -> None:
    units = {
        p.name.removesuffix(".py")
        for p in (ROOT / "eacontrol").iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"
    }
    assert units == set().union(*LAYERS)


def test_eacontrol_imports_only_downwards() -> None:
    """The package root is a lazy facade: only its ``__version__`` may be imported inside."""
    wrong = []
    for path, unit, imported in sorted(_eacontrol_edges()):
        if unit == "__init__" or imported == "__version__":
            continue
        if _layer(imported) >= _layer(unit):
            wrong.append(f"{path}: {unit} (layer {_layer(unit)}) imports {imported}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_scan_sees_imports_between_packages() -> None:
    edges = {(unit, imported) for _, unit, imported in _eacontrol_edges()}
    assert ("session", "device") in edges
    assert ("device", "link") in edges


def test_the_root_holds_only_the_facade_errors_and_the_stimulation_type() -> None:
    modules = {p.name for p in (ROOT / "eacontrol").glob("*.py")}
    assert modules == {"__init__.py", "errors.py", "stimulation.py"}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_is_over_500_lines(package: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / package).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert not long
