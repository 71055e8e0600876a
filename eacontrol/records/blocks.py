"""The pieces a report is laid out in: paragraphs and tables of plain text, in titled sections.

Markdown and HTML render the same blocks (:mod:`eacontrol.records.sections`); each escapes the
text for its format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Block", "Paragraph", "Section", "Table", "para", "table"]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Paragraph | Table


@dataclass(frozen=True)
class Section:
    """A titled section."""

    title: str
    blocks: tuple[Block, ...]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[Block]:
    """A table of ``rows`` (each cell as text), as a one-block list."""
    return [Table(tuple(headers), tuple(tuple(str(v) for v in row) for row in rows))]


def para(text: str) -> list[Block]:
    """A paragraph, as a one-block list."""
    return [Paragraph(text)]
