"""``python -m benchmarks``: run every benchmark, print the table, write ``results.json``.

Run from the repository root, against the installed packages::

    python -m benchmarks                      # all; writes benchmarks/results.json
    python -m benchmarks --only codec,cli_start
    python -m benchmarks --quick              # tiny parameters: checks, not figures; no file
    python -m benchmarks --layers             # adds a cProfile breakdown of session_speed

Exit status 0 when every benchmark ran (goals missed included: they are reported, not
enforced), 1 when one raised (its entry in the JSON holds the error), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from benchmarks.figure import Figure, Json
from benchmarks.layers import measure_layers
from benchmarks.machine import REPO_ROOT, git_state, load_average, machine, utc_date
from benchmarks.references import measure_references
from benchmarks.suite import BENCHMARKS, Benchmark, needs_pty

__all__ = ["DEFAULT_OUTPUT", "FORMAT", "main", "reference_line", "table"]

DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results.json"
FORMAT = "eacontrol-benchmarks/1"
"""The JSON's format and version."""


def _number(x: float) -> str:
    if x == 0 or not abs(x) < 1e15:
        return f"{x:g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _ratio(figure: Figure) -> str:
    if figure.name == "host_cpu":
        return f"{figure.ratio:.2%} of a core"
    return f"{_number(figure.ratio)}×"


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table (what BENCHMARKS.md records)."""
    lines = [
        "| benchmark | figure (median) | limit, same run | ratio | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = "n/a" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(
            f"| `{f.name}` | {_number(f.value)} {f.unit} | {_number(f.limit)} {f.unit} "
            f"({f.limit_is}) | {_ratio(f)} | {f.goal} | {met} |"
        )
    return "\n".join(lines)


def reference_line(references: dict[str, Json]) -> str:
    """The machine's reference figures of the run, for beside the table."""
    echo = references.get("bare_echo_us")
    echo_text = "n/a (no ptys)" if not isinstance(echo, float) else f"{echo:.1f} µs"
    python = references.get("python_c_pass_s")
    python_text = f"{python:.4f} s" if isinstance(python, float) else "n/a"
    return f"This machine in this run: bare pty echo {echo_text}, `python -c pass` {python_text}."


def _parser() -> argparse.ArgumentParser:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the eacontrol benchmarks (issue 8); print the table and write the JSON.",
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help=f"comma-separated subset of: {', '.join(names)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny parameters: shows every benchmark runs; figures mean nothing; writes no file "
        "unless --output is given",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="also profile a session_speed session (cProfile) and record its time per layer",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"the JSON file (default {DEFAULT_OUTPUT.relative_to(REPO_ROOT)}; '-' for none)",
    )
    return parser


def _chosen(parser: argparse.ArgumentParser, only: str | None) -> list[Benchmark]:
    if only is None:
        return list(BENCHMARKS)
    wanted = [name.strip() for name in only.split(",") if name.strip()]
    known = {b.name: b for b in BENCHMARKS}
    unknown = [name for name in wanted if name not in known]
    if unknown or not wanted:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(known)}")
    return [known[name] for name in wanted]


def _write(path: Path, document: dict[str, Json]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temporary, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    chosen = _chosen(parser, args.only)
    output: Path | None = args.output
    if output is None and not args.quick:
        output = DEFAULT_OUTPUT
    if output is not None and str(output) == "-":
        output = None
    started = time.perf_counter()
    document: dict[str, Json] = {
        "format": FORMAT,
        "date": utc_date(),
        "git": git_state(),
        "machine": machine(),
        "quick": bool(args.quick),
    }
    print("references: bare echo and python -c pass …", file=sys.stderr, flush=True)
    references = measure_references(echo_count=5, spawns=1) if args.quick else measure_references()
    document["references"] = references
    results: dict[str, Json] = {}
    figures: list[Figure] = []
    failed = False
    for bench in chosen:
        if bench.pty and needs_pty():
            results[bench.name] = {"skipped": "needs POSIX ptys"}
            print(f"{bench.name}: skipped (needs POSIX ptys)", file=sys.stderr)
            continue
        print(f"{bench.name}: {bench.what} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            figure = (bench.quick if args.quick else bench.full)()
        except Exception as err:  # reported in the JSON; the other benchmarks still run
            failed = True
            results[bench.name] = {"error": f"{type(err).__name__}: {err}"}
            traceback.print_exc()
            continue
        entry = figure.to_json()
        entry["wall_s"] = time.perf_counter() - t0
        results[bench.name] = entry
        figures.append(figure)
    if args.layers:
        print("layers: session_speed under cProfile …", file=sys.stderr, flush=True)
        document["layers"] = measure_layers(8.0 if args.quick else 120.0)
    document["total_wall_s"] = time.perf_counter() - started
    document["load_average_at_end"] = load_average()
    document["benchmarks"] = results
    print(table(figures))
    print(f"\n{reference_line(references)}")
    print(f"\n{len(figures)} benchmark(s) in {document['total_wall_s']:.1f} s", end="")
    if output is not None:
        _write(output, document)
        print(f"; wrote {output}")
    else:
        print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
