"""The session report as Markdown: a methods-section paragraph, then tables.

Reads only the report dict (:func:`eacontrol.records.report.build_report`), so a JSON report
saved earlier renders the same way; the layout is :mod:`eacontrol.records.sections`.
"""

from __future__ import annotations

from eacontrol.records.blocks import Block, Paragraph
from eacontrol.records.report import Report
from eacontrol.records.sections import notices, report_sections, title

__all__ = ["render_markdown"]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def _block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [block.text, ""]
    lines = ["| " + " | ".join(block.headers) + " |", "|" + "---|" * len(block.headers)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in block.rows]
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    """The report as Markdown: title, methods paragraph, then every section's tables.

    Args:
        report: from :func:`~eacontrol.records.report.build_report` (or its saved JSON).

    Returns:
        Markdown text ending in a newline.
    """
    lines = [f"# {title(report)}", ""]
    for _kind, text in notices(report):  # above everything: an alarm, the simulator
        lines += [f"> **{text}**", ""]
    for section in report_sections(report):
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += _block(block)
    return "\n".join(lines).rstrip("\n") + "\n"
