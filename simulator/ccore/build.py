"""Building the C firmware core as a shared library, once per source version, for ctypes.

``library_path()`` finds the core's C sources, hashes them (with this package's own shim,
``shim.c``, the compiler and its flags) and returns the shared library built from them in the
per-user cache (``$XDG_CACHE_HOME/eacontrol/ccore/<hash>/``, default ``~/.cache``), compiling
it first with the system C compiler when that version has not been built yet. Two processes
building at once do not collide: each compiles into a file of its own and renames it into place.

Where the sources are, first found:

1. ``$EA_CORE_SRC``: a folder holding the core's ``*.c`` and ``*.h`` (a checkout being worked
   on, e.g. another worktree's ``firmware/src``);
2. ``simulator/ccore/csrc``: the copy an installed package ships (pyproject maps the repository's
   ``firmware/src`` to it);
3. ``firmware/src`` of the repository this package runs from (an editable install, a checkout).

The compiler is ``$CC`` if set, else the first of ``cc``, ``gcc`` and ``clang`` on ``PATH``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = [
    "CFLAGS",
    "REQUIRED_HEADERS",
    "CoreUnavailable",
    "compiler",
    "library_path",
    "source_dir",
    "unavailable",
]

REQUIRED_HEADERS = ("ea_hal.h", "ea_device.h")
"""The core's public headers the binding is written against (``binding.py``)."""

CFLAGS = ("-std=c99", "-O2", "-fPIC", "-shared", "-Wall", "-Wextra", "-Werror", "-pedantic")
"""How the library is compiled: the core's own strict flags, position-independent, shared."""

_HERE = Path(__file__).resolve().parent
SHIM = _HERE / "shim.c"
"""The few C functions the binding needs beside the core's API (struct sizes, the HAL table)."""


class CoreUnavailable(RuntimeError):
    """The C core cannot be built here; the message names what is missing."""


def _candidates() -> list[Path]:
    """Where the sources may be, in the order searched."""
    override = os.environ.get("EA_CORE_SRC")
    found = [Path(override)] if override else []
    return [*found, _HERE / "csrc", _HERE.parents[1] / "firmware" / "src"]


def source_dir() -> Path:
    """The folder of the core's C sources (see the module text for the order searched).

    Raises:
        CoreUnavailable: no folder holds the core's headers; the message lists where it looked.
    """
    candidates = _candidates()
    for folder in candidates:
        if all((folder / name).is_file() for name in REQUIRED_HEADERS):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise CoreUnavailable(
        f"the C firmware core's sources ({', '.join(REQUIRED_HEADERS)} and its *.c) were not "
        f"found; looked in {looked} (set EA_CORE_SRC to a folder holding them)"
    )


def compiler() -> str:
    """The C compiler to build with: ``$CC``, else ``cc``, ``gcc`` or ``clang`` on ``PATH``.

    Raises:
        CoreUnavailable: none is installed.
    """
    names = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise CoreUnavailable(
        f"no C compiler found (tried {', '.join(names)} on PATH): sim://?core=c builds the C "
        "firmware core on first use; install gcc or clang (Debian: apt-get install gcc), or set "
        "CC, or use core=python"
    )


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eacontrol" / "ccore"


def _sources(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.c"))


def _key(cc: str, folder: Path) -> str:
    """A hash of everything the library is built from: sources, headers, shim, compiler, flags."""
    digest = hashlib.sha256()
    for path in [*_sources(folder), *sorted(folder.glob("*.h")), SHIM]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(" ".join([cc, *CFLAGS, sys.platform]).encode())
    return digest.hexdigest()[:20]


def library_path() -> Path:
    """The shared library of the core, built into the per-user cache first if needed.

    Raises:
        CoreUnavailable: no sources, no compiler, or the compiler failed (its output quoted).
    """
    folder = source_dir()
    cc = compiler()
    target_dir = _cache_root() / _key(cc, folder)
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    target = target_dir / f"libeacore{suffix}"
    if target.is_file():
        return target
    target_dir.mkdir(parents=True, exist_ok=True)
    partial = target_dir / f".build-{os.getpid()}{suffix}"
    command = [cc, *CFLAGS, f"-I{folder}", *map(str, _sources(folder)), str(SHIM), "-o"]
    try:
        done = subprocess.run(
            [*command, str(partial)], capture_output=True, text=True, timeout=300, check=False
        )
    except OSError as err:
        raise CoreUnavailable(f"could not run the C compiler {cc}: {err}") from err
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise CoreUnavailable(
            f"building the C firmware core from {folder} failed ({cc}, exit {done.returncode}):\n"
            f"{done.stderr.strip() or done.stdout.strip()}"
        )
    partial.replace(target)
    return target


def unavailable() -> str | None:
    """Why the C core cannot be built here (sources or compiler missing), or None if it can.

    Only looks; nothing is compiled (for a test's skip reason or a benchmark's note).
    """
    try:
        source_dir()
        compiler()
    except CoreUnavailable as err:
        return str(err)
    return None
