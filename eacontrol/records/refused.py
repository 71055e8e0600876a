"""Refused operator presses in the report: one summary line instead of one event row each.

The session records every refused intensity change as a ``warning`` event whose message starts
with :data:`REFUSED_MARK` (``eacontrol.session.runner``) and carries the rule's text
(``eacontrol.session.control``). Holding a key can make dozens of them; the report counts them
by reason in one line, and its event table leaves them out (the exports keep every one).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from eacontrol.records.blocks import Block, para
from eacontrol.records.report import EventItem, Report

__all__ = ["REFUSED_MARK", "is_refused", "refused_blocks", "refused_line"]

REFUSED_MARK = "operator request refused"
"""The start of the warning the session records for a refused operator change."""

_REASONS = (
    # (text of the rule in the message, what was refused, why in plain words)
    ("operator step interval", "raise", "too soon after the previous raise"),
    ("operator step;", "raise", "larger than one operator step"),
    ("in this step", "raise", "above the channel's ceiling"),
)


def is_refused(event: EventItem) -> bool:
    """Whether ``event`` is a refused operator press."""
    return event["kind"] == "warning" and event["message"].startswith(REFUSED_MARK)


def _reason(message: str) -> tuple[str, str]:
    for text, what, why in _REASONS:
        if text in message:
            return what, why
    return "change", "outside the allowed values"


def refused_line(events: Iterable[EventItem]) -> str | None:
    """``Refused presses: 3 raises refused (too soon after the previous raise) on channel 1.``,
    one clause per reason in order of first occurrence; None when nothing was refused."""
    counts: Counter[tuple[str, str]] = Counter()
    channels: dict[tuple[str, str], set[int]] = {}
    for e in events:
        if is_refused(e):
            key = _reason(e["message"])
            counts[key] += 1
            if e["channel"] is not None:
                channels.setdefault(key, set()).add(e["channel"])
    if not counts:
        return None
    clauses = []
    for (what, why), n in counts.items():
        on = sorted(channels.get((what, why), ()))
        where = f" on channel{'s' if len(on) > 1 else ''} {', '.join(map(str, on))}" if on else ""
        clauses.append(f"{n} {what}{'s' if n != 1 else ''} refused ({why}){where}")
    return f"Refused presses: {'; '.join(clauses)}."


def refused_blocks(r: Report) -> list[Block]:
    """The summary line as a paragraph, or nothing when no press was refused."""
    line = refused_line(r["events"])
    return [] if line is None else para(line)
