"""The screen of ``eactl run``: a pure function from the session's state to lines of text.

::

    eactl run: Low back pain, 2 Hz                                   *** SIMULATED DEVICE ***
    device EA-SIM-6 SIM-000001, firmware 1.0.0, on sim://   session 12   operator OP-1
    RUNNING   step 1/1 (2 Hz, gentle twitch)
    elapsed 03:12   remaining 21:48   [#####-------------------------------]  12%

    CH  TARGET mA  SET mA  MEASURED mA  IMPEDANCE Ω  CEILING mA  STATE
    >1        3.0    3.00         2.98         1020           8  RUNNING
     2        3.0    3.00         2.99          980           8  RUNNING

    faults: none
    > channel 1: 2.5 → 3 mA (operator)
    events: ...
    keys: ↑/+ raise  ↓/- lower  1-8 select  p pause/resume  s/q stop  Esc/space EMERGENCY STOP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eacontrol.cli.table import duration_text, number, render_table
from eacontrol.cli.target import SIMULATED_BANNER
from eacontrol.device import DeviceStatus
from eacontrol.session import Progress, SessionEvent, SessionPlan

__all__ = ["BAR_WIDTH", "KEY_HELP", "Screen", "progress_bar", "remaining_s", "render"]

KEY_HELP = (
    "keys: ↑/+ raise  ↓/- lower  1-8 select channel  p pause/resume  s/q stop  "
    "Esc/space EMERGENCY STOP  (Ctrl-C: stop)"
)
BAR_WIDTH = 40


@dataclass(frozen=True)
class Screen:
    """What the view shows besides the session's own state.

    Attributes:
        title: the profile's name.
        device: the device line (model, serial, firmware, port).
        simulated: True for the built-in simulator (the banner is shown).
        session_id: the record's id, once known.
        selected: the channel the keys act on.
        message: the latest operator feedback (a refusal, a confirmation).
        events: the latest session events, oldest first.
        faults: every fault and alarm of the session so far (an alarm starts with "ALARM:").
        interactive: whether keys are read (the key help is shown).
    """

    title: str
    device: str
    simulated: bool
    session_id: int | None
    selected: int
    message: str
    events: Sequence[SessionEvent]
    faults: Sequence[str]
    interactive: bool


def remaining_s(plan: SessionPlan, progress: Progress, done_s: float) -> float:
    """Session time left: the running step's rest and every later step (nominal).

    Args:
        plan: the timeline.
        progress: the session's snapshot.
        done_s: nominal time already done when no step runs (between steps, at the end).
    """
    step = progress.step
    if step is None:
        return max(plan.total_s - done_s, 0.0)
    later = sum(s.duration_s for s in plan.steps[step.index + 1 :])
    return (progress.step_remaining_s or 0.0) + later


def progress_bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """``[#####-----]  50%`` for a fraction in 0..1 (clamped)."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = int(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}] {fraction * 100:3.0f}%"


def _channel_rows(
    plan: SessionPlan, progress: Progress, status: DeviceStatus | None, selected: int
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    reports = {r.channel: r for r in status.channels} if status else {}
    for n in plan.channels:
        report = reports.get(n)
        target = progress.targets.get(n)
        step = progress.step
        ceiling = None
        if step is not None and n in step.numbers:
            ceiling = step.channel(n).ceiling.value_mA
        ohm = report.impedance_ohm if report else None
        rows.append(
            (
                f"{'>' if n == selected else ' '}{n}",
                "-" if target is None else f"{target:.1f}",
                f"{report.set_mA:.2f}" if report else "-",
                f"{report.measured_mA:.2f}" if report else "-",
                "open/unknown" if report and ohm is None else "-" if ohm is None else str(ohm),
                "-" if ceiling is None else number(ceiling),
                report.state.name if report else "-",
            )
        )
    return rows


def render(
    screen: Screen,
    plan: SessionPlan,
    progress: Progress,
    status: DeviceStatus | None,
    done_s: float,
) -> list[str]:
    """The whole screen, line by line (no escape codes).

    Args:
        screen: the view's own state.
        plan: the timeline.
        progress: the session's snapshot.
        status: the device's latest STATUS, or None before the first.
        done_s: nominal session time done when no step runs.
    """
    banner = f"   *** {SIMULATED_BANNER} ***" if screen.simulated else ""
    session = f"   session {screen.session_id}" if screen.session_id is not None else ""
    lines = [f"eactl run: {screen.title}{banner}", f"{screen.device}{session}"]
    step = progress.step
    where = ""
    if step is not None:
        where = (
            f"   step {step.index + 1}/{len(plan.steps)} ({step.name})   "
            f"step {duration_text(progress.step_elapsed_s)} of {duration_text(step.duration_s)}"
        )
    lines.append(f"{progress.state.name}{where}")
    left = remaining_s(plan, progress, done_s)
    fraction = 1 - left / plan.total_s if plan.total_s else 1.0
    lines.append(
        f"elapsed {duration_text(progress.t_s)}   remaining {duration_text(left)}   "
        f"{progress_bar(fraction)}"
    )
    lines.append("")
    headers = ("CH", "TARGET mA", "SET mA", "MEASURED mA", "IMPEDANCE Ω", "CEILING mA", "STATE")
    table = render_table(
        headers, _channel_rows(plan, progress, status, screen.selected), right=(1, 2, 3, 4, 5)
    )
    lines.extend(table.splitlines())
    lines.append("")
    lines.append("faults: " + ("; ".join(screen.faults) if screen.faults else "none"))
    lines.append(f"> {screen.message}" if screen.message else ">")
    lines.append("events:")
    lines.extend(f"  {event}" for event in screen.events)
    if screen.interactive:
        lines.append(KEY_HELP)
    return lines
