"""The blinded operator view of ``eactl run --blind``: what a blinded operator may see.

In a controlled trial the operator who runs the session may have to be blind to the condition
(verum or sham): a ``sham_zero`` channel and a verum channel must look the same on the host's
screen. With ``--blind`` nothing that tells them apart is shown — the record keeps everything,
and the report (``eactl log show``) unblinds whoever reads it:

- the confirmation names the patient, the duration, the steps' count and each channel's
  needles, not the profile's name, any intensity or any sham;
- the live view's title is ``blinded session``; its table shows no target, set, measured or
  ceiling intensity (``•••``), nor what an output does now (rising, on, lowering, off, the
  dense-disperse half: a sham's output is off before a verum's), only a fault, a held channel
  or an output not known; its timer shows no step name, and no titration guidance is shown;
- a sham step lasts as long as a verum's: its outputs are at zero when it ramps down, and the
  session waits out the ramp's time (``session.steps``);
- of the session's events only those a blinded operator must act on are listed (faults,
  alarms, the session's stop, a lost link, intrusions, the operator's own requests and notes);
  a channel's own stop, intensity,
  treatment, threshold, progress and warning events are not (a sham's switch-off is progress,
  and a refused raise above a sham's 0 mA ceiling is a warning);
- the operator's keys work as ever (lowering and every stop at once), each answered in words
  that do not depend on the condition: ``channel 2: raised`` or ``channel 2: not raised``;
- the summary gives the outcome, the length and the record, not the delivered totals.
"""

from __future__ import annotations

from collections.abc import Mapping

from eacontrol.cli.output import printable
from eacontrol.cli.table import duration_text, number
from eacontrol.session import EventKind, SessionEvent, SessionResult

__all__ = [
    "BLIND_TITLE",
    "HIDDEN",
    "SHOWN_KINDS",
    "blind_confirmation_lines",
    "blind_summary_lines",
    "hide_intensities",
    "shown",
]

BLIND_TITLE = "blinded session"
"""The live view's title for a blinded operator (the profile's name would tell the arm)."""

HIDDEN = "•••"
"""A value a blinded operator is not shown."""

SHOWN_KINDS = frozenset(
    {
        EventKind.FAULT,
        EventKind.ALARM,
        EventKind.STOP,
        EventKind.LINK,
        EventKind.INTRUSION,
        EventKind.OPERATOR,
        EventKind.MARKER,
    }
)
"""The event kinds a blinded operator is shown: what needs their action, and their own."""

_HIDDEN_COLUMNS = ("TARGET mA", "SET mA", "MEASURED mA", "MEAS mA", "CEILING mA", "NOW")
_SHOWN_STATES = ("FAULT", "HELD", "UNKNOWN", "-")


def hide_intensities(cells: Mapping[str, str]) -> dict[str, str]:
    """A channel's row of the live view with every intensity hidden, and what its output does
    now (a sham at 0 mA neither rises nor lowers, and is off before a verum's ramp-down ends):
    only a fault, a held channel or an unknown output is shown."""
    row = {name: HIDDEN if name in _HIDDEN_COLUMNS else v for name, v in cells.items()}
    if cells.get("STATE") not in _SHOWN_STATES:
        row["STATE"] = HIDDEN
    return row


def shown(event: SessionEvent) -> bool:
    """Whether a blinded operator is shown ``event``: a kind in :data:`SHOWN_KINDS`, and of
    the stops only the session's (a channel's own stop comes at once in a sham at 0 mA)."""
    if event.kind is EventKind.STOP:
        return event.channel is None
    return event.kind in SHOWN_KINDS


def blind_confirmation_lines(
    points: Mapping[int, str], duration_s: float, steps: int, where: str, patient: str | None
) -> list[str]:
    """What a blinded operator confirms: patient, duration, each channel's needles."""
    lines = [
        f"About to stimulate: {BLIND_TITLE} on {where}",
        f"  patient {printable(patient) if patient else 'not given'}",
        f"  duration {duration_text(duration_s)} in {steps} step(s); intensities hidden "
        "(blinded: the record keeps them)",
    ]
    lines += [f"  channel {n}  {printable(points[n])}" for n in sorted(points)]
    lines.append("  Check the needles, the leads and the patient. Start? [y/N] ")
    return lines


def blind_summary_lines(result: SessionResult, db: str, steps: int) -> list[str]:
    """The session summary for a blinded operator: outcome, length, steps and the record."""
    return [
        f"session {result.session_id} ended: {result.outcome.value}",
        f"  length {duration_text(result.duration_s)} ({number(result.duration_s, 1)} s), "
        f"{result.steps_completed}/{steps} step(s) completed",
        "  blinded: what was delivered is in the record (unblinding: eactl log show "
        f"{result.session_id} --db {db})",
    ]
