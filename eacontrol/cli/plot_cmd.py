"""``eactl plot PROFILE -o FILE.png``: the session's intensity envelope per channel and a zoom
on the pulse shapes.

matplotlib is the optional extra ``plot`` (``pip install 'eacontrol[plot]'``); without it the
command says so and exits 1. Figures are drawn on matplotlib's object API with the Agg canvas
(no pyplot, no display, no global state); the file format follows the suffix (png, pdf, svg).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eacontrol.cli.command import Commands, add_command, add_profile_argument
from eacontrol.cli.exitcodes import CliError, ExitCode
from eacontrol.cli.layers import add_layer_options, layers_from

if TYPE_CHECKING:
    from eacontrol.profiles import Profile

__all__ = ["MISSING_MATPLOTLIB", "draw", "register"]

MISSING_MATPLOTLIB = (
    "plot needs matplotlib, the optional extra 'plot': pip install 'eacontrol[plot]'"
)


def _matplotlib() -> tuple[Any, Any]:
    """matplotlib's Figure class and Agg canvas class, imported only when plotting."""
    try:
        figure = importlib.import_module("matplotlib.figure")
        agg = importlib.import_module("matplotlib.backends.backend_agg")
    except ImportError as err:
        raise CliError(MISSING_MATPLOTLIB) from err
    return figure.Figure, agg.FigureCanvasAgg


def draw(profile: Profile, path: Path, dpi: int = 100) -> None:
    """Draw the envelope per channel and the pulse shapes into ``path``.

    Raises:
        CliError: matplotlib is missing, the format is unknown, or the file cannot be written.
    """
    from eacontrol.cli.envelope import channel_envelope, pulse_shapes

    figure_class, canvas_class = _matplotlib()
    channels = [ch.channel for ch in profile.channels]
    rows = len(channels) + 1
    fig = figure_class(figsize=(10, 1.6 * len(channels) + 3.2), layout="constrained")
    canvas_class(fig)
    grid = fig.add_gridspec(rows, 1, height_ratios=[1] * len(channels) + [2])
    first = None
    for row, channel in enumerate(channels):
        axes = fig.add_subplot(grid[row], sharex=first)
        first = first or axes
        times_s, mA = channel_envelope(profile, channel)
        axes.plot(times_s / 60, mA, color=f"C{row % 10}", linewidth=1)
        axes.set_ylabel(f"ch {channel}\nmA")
        axes.set_ylim(bottom=0)
        axes.grid(alpha=0.3)
    if first is not None:
        first.set_title(f"{profile.name}: intensity envelope (peak of the primary phase)")
    fig.axes[len(channels) - 1].set_xlabel("session time, min")
    zoom = fig.add_subplot(grid[len(channels)])
    for trace in pulse_shapes(profile):
        zoom.plot(trace.times_us, trace.mA, label=trace.label, linewidth=1.2)
    zoom.axhline(0, color="black", linewidth=0.5)
    zoom.set_title("pulse shapes (one pulse of each train, at the target intensity)")
    zoom.set_xlabel("time from pulse start, µs")
    zoom.set_ylabel("mA")
    zoom.legend(fontsize="small")
    zoom.grid(alpha=0.3)
    try:
        fig.savefig(path, dpi=dpi)
    except ValueError as err:  # matplotlib's error for a suffix it has no writer for
        raise CliError(f"cannot write {path}: {err}") from err
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from err


def _plot(args: argparse.Namespace) -> int:
    """Plot the intensity envelope per channel and the pulse shapes (needs matplotlib).

    Plot the intensity envelope of the whole session per channel, and one pulse of each pulse
    train. Needs the optional extra 'plot' (matplotlib).
    """
    _matplotlib()  # say that matplotlib is missing before the profile is even read
    from eacontrol.profiles import load_profile

    layers = layers_from(args)
    profile = load_profile(args.profile, site=layers.site, patient=layers.patient)
    draw(profile, Path(args.output), dpi=args.dpi)
    print(f"wrote {args.output}")
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``plot`` to the command parsers."""
    parser = add_command(commands, "plot", _plot)
    add_profile_argument(parser)
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the image (.png, .pdf, .svg)"
    )
    parser.add_argument("--dpi", type=int, default=100, metavar="N", help="resolution (png)")
    add_layer_options(parser)
