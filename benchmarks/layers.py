"""Where a heartbeat period's time goes, per layer: the ``session_speed`` session (shortened) run
once under ``cProfile``, its self time summed per layer (``python -m benchmarks --layers``).

A layer is a package one level down (``eacontrol.link``, ``simulator.firmware``,
``firmware_protocol``, …); the standard library and other packages are summed by their top-level
name, what has no file (builtins, C functions) as ``builtins``, except the main thread's waits on
a lock (the record writer thread's hand-over: ``waiting``). Only the main thread is profiled (the
record writer runs beside it); connect, pre-flight and the final stop are inside, a few per cent
of a 120-s session. cProfile slows Python code by
about 2–3× and C code less, so the shares mean more than the microseconds: the figure per period
is the profiled time, to compare runs of the same code, not with ``session_speed``'s own.
"""

from __future__ import annotations

import cProfile
import pstats
import sysconfig
from collections import defaultdict
from pathlib import Path

from benchmarks.figure import Json
from benchmarks.session_speed import one_session

__all__ = ["layer_of", "measure_layers"]

_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_PACKAGES = ("eacontrol", "simulator", "firmware_protocol", "benchmarks")


def layer_of(filename: str) -> str:
    """The layer a function's file belongs to (module docstring)."""
    if not filename or filename.startswith("<") or filename == "~":
        return "builtins" if filename == "~" else "python (generated code)"
    parts = Path(filename).resolve().parts
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _PACKAGES:
            below = parts[i + 1 : -1]
            return ".".join((parts[i], below[0])) if below else parts[i]
    path = Path(filename).resolve()
    if path.is_relative_to(_STDLIB) and "site-packages" not in parts:
        return f"stdlib.{path.relative_to(_STDLIB).parts[0].removesuffix('.py')}"
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return path.stem


def measure_layers(duration_s: float = 120.0, seed: int = 1) -> dict[str, Json]:
    """Profile one ``session_speed`` session of ``duration_s``; its self time per layer.

    Returns:
        ``periods`` (heartbeat periods run), ``profiled_us_per_period`` (all layers) and
        ``layers``: each layer's share of the self time (%) and profiled µs per period, largest
        first; ``calls_per_period``: Python and C function calls.
    """
    one_session(5.0, seed)  # imports and first-use set-up outside the profile
    profiler = cProfile.Profile()
    profiler.enable()
    _, _, outcome, periods = one_session(duration_s, seed)
    profiler.disable()
    stats = pstats.Stats(profiler)
    per_layer: dict[str, float] = defaultdict(float)
    calls = 0
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, ncalls, tottime, _, _) in entries.items():
        waits = filename == "~" and "acquire" in function
        per_layer["waiting" if waits else layer_of(filename)] += tottime
        calls += ncalls
    total = sum(per_layer.values())
    ordered = sorted(per_layer.items(), key=lambda item: -item[1])
    return {
        "session_s": duration_s,
        "outcome": outcome,
        "periods": periods,
        "profiled_us_per_period": total / periods * 1e6,
        "calls_per_period": calls / periods,
        "layers": {
            name: {
                "percent": round(100 * t / total, 1),
                "us_per_period": round(t / periods * 1e6, 1),
            }
            for name, t in ordered
            if t / total >= 0.001
        },
    }
