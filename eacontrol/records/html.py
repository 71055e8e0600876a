"""The session report as one printable HTML page, for a patient file.

Self-contained: the CSS is inline (a print stylesheet included: A4, no page break inside a
table row), and the page loads nothing (no script, font, image or link). Every recorded string
(patient and operator ids, profile text, messages, notes) is escaped with
:func:`html.escape`, quotes included, so a record can never inject markup. The sections are
the Markdown report's (:mod:`eacontrol.records.sections`).

PDF is not produced: it would need a PDF library (a new, heavy dependency) for what every
browser does from this page with "Print → Save as PDF".
"""

from __future__ import annotations

from html import escape

from eacontrol.records.blocks import Block, Paragraph
from eacontrol.records.report import Report
from eacontrol.records.sections import notices, report_sections, title

__all__ = ["render_html"]

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; font-size: 11pt; line-height: 1.4;
       max-width: 60em; margin: 2em auto; padding: 0 1em; color: #000; background: #fff; }
h1 { font-size: 16pt; border-bottom: 2px solid #000; padding-bottom: 0.2em; }
h2 { font-size: 13pt; margin-top: 1.5em; border-bottom: 1px solid #888; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; font-size: 9.5pt; }
th, td { border: 1px solid #888; padding: 0.2em 0.4em; text-align: left; vertical-align: top; }
th { background: #eee; }
p.simulated, p.alarm { font-weight: bold; border: 2px solid #000; padding: 0.4em; }
p.alarm { border-width: 4px; font-size: 13pt; }
footer { margin-top: 2em; font-size: 9pt; color: #444; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { margin: 0; max-width: none; font-size: 10pt; }
  h2 { break-after: avoid; }
  tr, p { break-inside: avoid; }
  th { background: #eee; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _text(value: str) -> str:
    return escape(value, quote=True)


def _block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        return [f"<p>{_text(block.text)}</p>"]
    head = "".join(f"<th>{_text(h)}</th>" for h in block.headers)
    lines = ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    lines += ["<tr>" + "".join(f"<td>{_text(v)}</td>" for v in row) + "</tr>" for row in block.rows]
    return [*lines, "</tbody>", "</table>"]


def render_html(report: Report) -> str:
    """The report as a self-contained, printable HTML5 page.

    Args:
        report: from :func:`~eacontrol.records.report.build_report` (or its saved JSON).

    Returns:
        HTML text ending in a newline; every recorded string escaped.
    """
    name = _text(title(report))
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Nothing may be loaded from anywhere: the page stands alone in a patient file.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">",
        f"<title>{name}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{name}</h1>",
    ]
    lines += [f'<p class="{kind}">{_text(text)}</p>' for kind, text in notices(report)]
    for section in report_sections(report):
        lines.append(f"<section><h2>{_text(section.title)}</h2>")
        for block in section.blocks:
            lines += _block(block)
        lines.append("</section>")
    lines += [
        f"<footer>eacontrol report version {report['report_version']}, session "
        f"{report['session']['id']}, eacontrol {_text(report['session']['software_version'])}"
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(lines) + "\n"
