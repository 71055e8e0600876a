"""``eactl sweep``: a parameter grid of simulated sessions, in parallel, as one CSV or JSON table.

The grid comes from ``--axis NAME=V1,V2,...`` flags and/or a TOML file's ``[axes]`` table; each
point runs as one continuous step on ``sim://`` (``eacontrol.sweep.continuous_trial``, its axes
in docs/sweeps.md). The table goes to stdout or ``--output``; a summary line to stderr. Refused
points are rows of the table, not a failure: the exit code is 0 whenever the table was written.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError

if TYPE_CHECKING:
    from eacontrol.sweep import SweepTable, Value

__all__ = ["axis_values", "grid_axes", "register", "table_text"]

FORMATS = ("csv", "json")


def axis_values(text: str) -> list[Value]:
    """``2,100`` → ``[2, 100]``; each value a whole number, else a number, else the text."""
    values: list[Value] = []
    for part in text.split(","):
        item = part.strip()
        for kind in (int, float):
            try:
                values.append(kind(item))
                break
            except ValueError:
                continue
        else:
            values.append(item)
    return values


def grid_axes(flags: Sequence[str], file: Path | None) -> dict[str, list[Value]]:
    """The axes of the file's ``[axes]`` table, then of the ``--axis`` flags, in order.

    Raises:
        UsageError: a flag is not ``NAME=V1,V2,...``, or names an axis twice.
        CliError: the file cannot be read, is not TOML, or holds more than an ``[axes]`` table
            of lists (the message names the file and the key).
    """
    axes: dict[str, list[Value]] = {}
    if file is not None:
        axes.update(_file_axes(file))
    for flag in flags:
        name, sep, values = flag.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise UsageError(f"--axis {flag!r}: expected NAME=V1,V2,... e.g. intensity_mA=1,2")
        if name.strip() in axes:
            raise UsageError(f"--axis {name.strip()}: this axis is given twice")
        axes[name.strip()] = axis_values(values)
    if not axes:
        raise UsageError("no axis: give --axis NAME=V1,V2,... or --grid FILE")
    return axes


def _file_axes(file: Path) -> dict[str, list[Value]]:
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as err:
        raise CliError(f"{file}: cannot read the grid file: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CliError(f"{file}: not a TOML file: {err}") from None
    extra = sorted(set(document) - {"axes"})
    if extra or not isinstance(document.get("axes"), dict):
        raise CliError(
            f"{file}: expected only an [axes] table (name = [values]), found "
            f"{extra or ['no [axes] table']}"
        )
    axes: dict[str, list[Value]] = {}
    for name, values in document["axes"].items():
        if not isinstance(values, list):
            raise CliError(f"{file}: axes.{name} = {values!r}: expected a list, e.g. [1, 2]")
        axes[name] = values
    return axes


def table_text(table: SweepTable, fmt: str) -> str:
    """The table as CSV (a header, one line per point, empty where unknown) or JSON (a list of
    objects, null where unknown)."""
    if fmt == "json":
        return json.dumps(list(table.rows), indent=1, ensure_ascii=False) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table.columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table.rows)
    return out.getvalue()


def _sweep(args: argparse.Namespace) -> int:
    """Run a parameter grid of simulated sessions and print their table.

    Each point of the grid (the cross product of the axes) runs as one session of a continuous
    step on its own simulated device (sim://), in virtual time, in parallel processes, through
    the same limit engine as any profile; the table holds what each delivered (per channel:
    pulses, charges in µC, peak and rms mA, on time). Axes: frequency_hz, phase_width_us,
    intensity_mA, duration_s, ramp_up_s, ramp_down_s, channels, load (docs/sweeps.md). A
    point the limits refuse is a row with outcome "refused". Exit 0 when the table was written,
    1 for an invalid grid, 2 for a wrong command line.
    """
    from eacontrol.sweep import Grid, SerialExecutor, run_sweep

    grid = Grid(grid_axes(args.axis, args.grid))
    table = run_sweep(
        grid,
        executor=SerialExecutor() if args.serial else None,
        max_workers=args.workers,
        seed=args.seed,
    )
    text = table_text(table, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as err:
            raise CliError(f"{args.output}: cannot write the table: {err.strerror}") from err
    outcomes: dict[str, int] = {}
    for row in table:
        outcomes[str(row["outcome"])] = outcomes.get(str(row["outcome"]), 0) + 1
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    print(f"{len(table)} point(s): {counts}", file=sys.stderr)
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``eactl sweep``."""
    parser = add_command(commands, "sweep", _sweep)
    parser.add_argument(
        "--axis",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="an axis and its values, e.g. intensity_mA=1,2,4 or load=500,10k; repeatable",
    )
    parser.add_argument(
        "--grid", type=Path, metavar="FILE", help="a TOML file with an [axes] table of lists"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N", help="processes (default: one a core)")
    where.add_argument("--serial", action="store_true", help="run every session in this process")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="the base seed (0)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or json")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write the table here, not to stdout"
    )
