"""Plain-text tables and number formatting for eactl's output."""

from __future__ import annotations

import math
from collections.abc import Sequence

from eacontrol.cli.output import printable

__all__ = ["count_text", "duration_text", "number", "render_table"]


def number(value: float | None, digits: int = 3) -> str:
    """A number with up to ``digits`` significant decimals and no trailing zeros (``-`` for None).

    Examples: 3.0 → ``3``, 0.1234 → ``0.123``, 0.0004 → ``0.0004``, -inf → ``-inf``.
    """
    if value is None:
        return "-"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    # A value too small for the fixed decimals keeps its significant digits (0.0004 → 0.0004).
    return f"{value:.{digits}g}" if text in ("0", "-0") else text


def count_text(count: int, one: str, many: str) -> str:
    """``1 advisory``, ``2 advisories``: a count with the word that fits it."""
    return f"{count} {one if count == 1 else many}"


def duration_text(seconds: float | None) -> str:
    """Seconds as ``MM:SS`` (``H:MM:SS`` from an hour), or ``-`` for None; rounded down."""
    if seconds is None:
        return "-"
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()
) -> str:
    """Columns padded to their widest cell, a dashed rule under the header.

    Args:
        headers: the column titles.
        rows: the cells (any object; shown with ``str``, control characters escaped: a cell
            may hold text from outside, such as a patient id, ``output.printable``).
        right: indices of the columns to right-align (numbers).

    Returns:
        The table, lines joined by newlines, without a trailing newline.
    """
    cells = [[printable(str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)
