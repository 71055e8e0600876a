"""What every page draws, built in the session loop's thread from the session's own reports.

A snapshot is a JSON-ready dict made from ``Session.progress()``, the plan and the device's
latest STATUS (``Stimulator.last_status``); the web server only forwards it. Nothing here
decides anything: the words come from ``eacontrol.cli.plainwords``, as in the terminal view.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from eacontrol.cli.liveview import held_alarms, remaining_s, titration_lines
from eacontrol.cli.plainwords import channel_state, half_text, mode_text, state_text
from eacontrol.device import DeviceStatus
from eacontrol.session import Progress, SessionPlan

__all__ = ["running_view"]


def _channels(
    plan: SessionPlan,
    progress: Progress,
    status: DeviceStatus | None,
    points: Mapping[int, str],
    unknown: bool,
) -> list[dict[str, Any]]:
    reports = {r.channel: r for r in status.channels} if status else {}
    step = progress.step
    rows = []
    for n in plan.channels:
        report = reports.get(n)
        planned = step.channel(n) if step is not None and n in step.numbers else None
        row: dict[str, Any] = {
            "channel": n,
            "points": points.get(n, ""),
            "mode": mode_text(planned.stimulation) if planned else "",
            "now": half_text(planned.stimulation, report) if planned else "",
            "target_mA": progress.targets.get(n),
            "ceiling_mA": planned.ceiling.value_mA if planned else None,
            "set_mA": report.set_mA if report else None,
            "measured_mA": report.measured_mA if report else None,
            "impedance_ohm": report.impedance_ohm if report else None,
            "state": "HELD" if n in progress.held else channel_state(report) if report else "-",
        }
        if unknown:  # the last STATUS no longer says what the device does
            row.update(set_mA=None, measured_mA=None, impedance_ohm=None, now="?")
            row["state"] = "UNKNOWN"
        rows.append(row)
    return rows


def running_view(
    plan: SessionPlan,
    progress: Progress,
    status: DeviceStatus | None,
    *,
    done_s: float,
    points: Mapping[int, str],
    alarms: Sequence[str],
    events: Sequence[str],
    unknown: bool = False,
) -> dict[str, Any]:
    """The running view's data.

    Args:
        plan: the timeline.
        progress: the session's snapshot.
        status: the device's latest STATUS, or None before the first.
        done_s: nominal session time done (the countdown between steps).
        points: each channel's needle pair.
        alarms: the alarms to show, in words (faults, a lost link, a paused unattended session).
        events: the latest session events in words, oldest first.
        unknown: the outputs are not confirmed off (a lost link): no number is shown as now.
    """
    step = progress.step
    left_s = remaining_s(plan, progress, done_s)
    return {
        "state": progress.state.value,
        # The terminal's key hint ("(p resumes)") has no place on the page.
        "state_text": re.sub(r"\s*\([^)]*\)$", "", state_text(progress.state)),
        "t_s": progress.t_s,
        "remaining_s": left_s,
        "total_s": plan.total_s,
        "step": None
        if step is None
        else {
            "index": step.index,
            "count": len(plan.steps),
            "name": step.name,
            "elapsed_s": progress.step_elapsed_s,
            "duration_s": step.duration_s,
        },
        "channels": _channels(plan, progress, status, points, unknown),
        "guidance": titration_lines(progress),
        "alarms": [*alarms, *held_alarms(progress)],
        "events": list(events),
    }
