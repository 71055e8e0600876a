"""The screen of ``eactl run``: a pure function from the session's state to lines of text.

At 120 columns::

    *** SIMULATED DEVICE ***   eactl run: Low back pain, 2/100 Hz dense-disperse (Han)
    device EA-SIM-6 SIM-000001, firmware 1.0.0, on sim://   session 12
    patient P-7   operator OP-1   time 10:32:05
    Stimulating   step 1/1 (2/100 Hz)   step 03:12 of 25:00
    elapsed 03:12   remaining 21:48   ends 10:54   [#####-------------------------]  12%

    CH  POINTS           MODE                     NOW            TARGET mA  SET mA  ...  STATE
    >1  BL23-L – BL25-L  2/100 Hz dense-disperse  dense 100 Hz         3.0    3.00  ...  on
     2  BL23-R – BL25-R  2/100 Hz dense-disperse  dense 100 Hz         0.0    0.00  ...  HELD
    ch 1, 2: titrate → target 3 mA (guidance), sensation: strong but comfortable tingling

    faults: none
    > channel 1: target 3 mA
    events:
      03:10  channel 1 reached 3 mA
    keys: ↑/+ raise  ↓/- lower  0 ch to zero  z all to zero  1-8 select  p pause ...

The screen fits the terminal (``render(..., size=(columns, lines))``): no line is as wide as
the terminal (a line that fills the last column makes the terminal wrap, or erase that column
on the next clear-to-end-of-line), narrower tables drop columns, and when lines run short the
view keeps, in order, the stop keys, the timer and an alarm, each channel's intensity, the
faults and alarms (folded onto more lines, never cut) and the operator's message, and drops the
event log first, then the blank lines, the header, the help.

When the outputs are not confirmed off (the link to the device lost, a stop the device did not
confirm) the last STATUS says nothing about now: every channel shows ``UNKNOWN`` with ``?`` for
set and measured intensity, and ``*** ALARM: connection to the device lost: outputs not
confirmed off: use the device's own stop ***`` stays under the timer, on the ENDED screen too
(issue 16 item 4).

A channel held at zero by a fault of its lead shows ``HELD`` and an alarm under the timer
(``*** ALARM: channel 2 held at zero: lead open or loose (ELECTRODE): re-clip it, select 2 and
press r ***``), kept like the timer; a titrated step's guidance and sensation follow the table
(issue 16 items 1 and 3).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eacontrol.cli.blinding import hide_intensities
from eacontrol.cli.plainwords import channel_state, half_text, mode_text, state_text
from eacontrol.cli.table import duration_text, number, render_table
from eacontrol.cli.target import SIMULATED_BANNER
from eacontrol.device import ChannelReport, DeviceStatus
from eacontrol.session import Progress, SessionPlan

__all__ = [
    "BAR_WIDTH",
    "KEY_HELP",
    "KEY_HELP_SHORT",
    "KEY_LIST",
    "UNKNOWN",
    "Screen",
    "held_alarms",
    "progress_bar",
    "remaining_s",
    "render",
    "titration_lines",
]

KEY_HELP = (
    "keys: ↑/+ ↓/- step  0 ch to 0  z all to 0  1-8 ch  t mark  r resume  n note  p pause  "
    "s stop  Esc EMERGENCY  ? help"
)
KEY_HELP_SHORT = "Esc/space EMERGENCY STOP  s stop  z all to 0  ? keys"
KEY_LIST = (
    "every key:",
    "  ↑ or +        raise the selected channel by 0.5 mA (at most once a second)",
    "  ↓ or -        lower the selected channel by 0.5 mA at once (hold to repeat)",
    "  0             the selected channel to zero at once",
    "  z             every channel to zero at once (the session goes on)",
    "  1 … 8         select that channel",
    "  t             mark the selected channel's level: treatment intensity or next threshold",
    "  r             resume the selected channel after its lead is re-clipped",
    "  n             write a note or the patient's response (Enter records it)",
    "  p             pause (outputs to zero, timer held) / resume (from zero)",
    "  s or q        stop the treatment (every output ramps down)",
    "  Esc or space  EMERGENCY STOP: every output off at once",
    "  Ctrl-C        stop the treatment, confirmed",
    "  ?             show / hide this list",
)
"""The help (``?``): every key of ``eacontrol.cli.keys``."""

BAR_WIDTH = 40
_MIN_BAR = 10
_TABLES: tuple[tuple[str, ...], ...] = (
    ("CH", "POINTS", "MODE", "NOW", "TARGET mA", "SET mA", "MEASURED mA", "IMPEDANCE Ω", "STATE"),
    ("CH", "POINTS", "MODE", "NOW", "SET mA", "MEAS mA", "STATE"),
    ("CH", "POINTS", "NOW", "SET mA", "MEAS mA", "STATE"),
    ("CH", "POINTS", "SET mA", "MEAS mA", "STATE"),
    ("CH", "SET mA", "MEAS mA", "STATE"),
)
"""The channel table's columns, widest first: the first that fits the terminal is drawn."""
_RIGHT = {"TARGET mA", "SET mA", "MEASURED mA", "MEAS mA", "IMPEDANCE Ω"}


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
        events: the latest session events in words (``plainwords.event_text``), oldest first.
        faults: every fault and alarm of the session so far, in words.
        interactive: whether keys are read (the key help is shown).
        points: each channel's needle pair (``BL23-L – BL25-L``).
        patient / operator: who is treated and by whom (None: not given).
        clock: the local time of day (``10:32:05``), or empty.
        ends_at: the planned local end time (``10:54``), or empty.
        banner: a notice in capitals under the timer (the end of treatment, a new step).
        help: the key list is shown instead of the event log.
        alarm: the outputs are not confirmed off (a lost link, a stop not confirmed): this
            alarm in words stays under the timer and every channel shows UNKNOWN, since the
            last STATUS no longer says what the device does.
        blind: the operator is blinded (``eactl run --blind``): no intensity, ceiling, step
            name or titration guidance is shown (``blinding.py``).
    """

    title: str
    device: str
    simulated: bool
    session_id: int | None
    selected: int
    message: str
    events: Sequence[str]
    faults: Sequence[str]
    interactive: bool
    points: Mapping[int, str] = field(default_factory=dict)
    patient: str | None = None
    operator: str | None = None
    clock: str = ""
    ends_at: str = ""
    banner: str = ""
    help: bool = False
    alarm: str = ""
    blind: bool = False


UNKNOWN = "UNKNOWN"
"""A channel's state once its output is not confirmed (the set and measured columns say ``?``)."""


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


def _cells(
    n: int, screen: Screen, progress: Progress, report: ChannelReport | None
) -> dict[str, str]:
    step = progress.step
    planned = step.channel(n) if step is not None and n in step.numbers else None
    target = progress.targets.get(n)
    ohm = report.impedance_ohm if report else None
    impedance = "-" if ohm is None else str(ohm)
    return {
        "CH": f"{'>' if n == screen.selected else ' '}{n}",
        "POINTS": screen.points.get(n, "-"),
        "MODE": mode_text(planned.stimulation) if planned else "-",
        "NOW": half_text(planned.stimulation, report) if planned else "-",
        "TARGET mA": "-" if target is None else f"{target:.1f}",
        "SET mA": f"{report.set_mA:.2f}" if report else "-",
        "MEASURED mA": f"{report.measured_mA:.2f}" if report else "-",
        "MEAS mA": f"{report.measured_mA:.2f}" if report else "-",
        "IMPEDANCE Ω": "open/unknown" if report and ohm is None else impedance,
        "CEILING mA": number(planned.ceiling.value_mA) if planned else "-",
        "STATE": "HELD" if n in progress.held else channel_state(report) if report else "-",
    }


def titration_lines(progress: Progress) -> list[str]:
    """Per channel of a titrated step: ``ch 1, 2: titrate → target 4 mA (guidance), sensation:
    …`` (channels sharing one titration on one line), then the levels marked."""
    step = progress.step
    if step is None:
        return []
    shared: dict[str, list[int]] = {}
    for c in step.channels:
        t = c.titration
        if t is not None:
            text = f"titrate → target {t.target_mA:g} mA (guidance), sensation: {t.sensation}"
            shared.setdefault(text, []).append(c.channel)
    lines = [f"ch {', '.join(map(str, chs))}: {text}" for text, chs in shared.items()]
    if progress.marked:
        marked = ", ".join(f"ch {n} {mA:g} mA" for n, mA in sorted(progress.marked.items()))
        lines.append(f"treatment intensity marked: {marked}")
    found = [
        f"ch {n} {key.removesuffix('_threshold_mA')} {mA:g} mA"
        for n, kinds in sorted(progress.thresholds.items())
        for key, mA in sorted(kinds.items(), reverse=True)  # sensory, then motor
    ]
    if found:
        lines.append(f"thresholds marked: {', '.join(found)} (t marks the next)")
    return lines


def held_alarms(progress: Progress) -> list[str]:
    """An alarm per channel held at zero by a fault of its lead, with what to do."""
    return [
        f"*** ALARM: channel {n} held at zero: {why}: re-clip it, select {n} and press r ***"
        for n, why in sorted(progress.held.items())
    ]


def _unknown(cells: dict[str, str]) -> dict[str, str]:
    """A row whose output is not confirmed: no number from the last STATUS is shown as now."""
    unknown = dict.fromkeys(("SET mA", "MEASURED mA", "MEAS mA", "IMPEDANCE Ω", "NOW"), "?")
    return {**cells, **unknown, "STATE": UNKNOWN}


def _table(
    plan: SessionPlan, progress: Progress, status: DeviceStatus | None, screen: Screen, width: int
) -> list[str]:
    reports = {r.channel: r for r in status.channels} if status else {}
    cells = [_cells(n, screen, progress, reports.get(n)) for n in plan.channels]
    if screen.alarm:
        cells = [_unknown(c) for c in cells]
    if screen.blind:
        cells = [hide_intensities(c) for c in cells]
    lines: list[str] = []
    for columns in _TABLES:
        rows = [tuple(c[name] for name in columns) for c in cells]
        right = [i for i, name in enumerate(columns) if name in _RIGHT]
        lines = render_table(columns, rows, right=right).splitlines()
        if max(len(line) for line in lines) < width:
            break
    return lines


def _timer(
    plan: SessionPlan, progress: Progress, screen: Screen, done_s: float, width: int
) -> list[str]:
    step = progress.step
    where = ""
    if step is not None:
        name = "" if screen.blind else f" ({step.name})"
        where = (
            f"   step {step.index + 1}/{len(plan.steps)}{name}   "
            f"step {duration_text(progress.step_elapsed_s)} of {duration_text(step.duration_s)}"
        )
    left = remaining_s(plan, progress, done_s)
    fraction = 1 - left / plan.total_s if plan.total_s else 1.0
    ends = f"   ends {screen.ends_at}" if screen.ends_at else ""
    times = f"elapsed {duration_text(progress.t_s)}   remaining {duration_text(left)}{ends}"
    room = width - 1 - len(times) - 3 - len("[] 100%")
    if room >= _MIN_BAR:
        times += f"   {progress_bar(fraction, min(room, BAR_WIDTH))}"
    return [f"{state_text(progress.state)}{where}", times]


def _header(screen: Screen) -> list[str]:
    # The simulator's banner first: a narrow terminal cuts the end of a line, never this.
    banner = f"*** {SIMULATED_BANNER} ***   " if screen.simulated else ""
    session = f"   session {screen.session_id}" if screen.session_id is not None else ""
    people = [
        f"patient {screen.patient or 'not given'}",
        f"operator {screen.operator or 'not given'}",
    ]
    if screen.clock:
        people.append(f"time {screen.clock}")
    return [f"{banner}eactl run: {screen.title}", f"{screen.device}{session}", "   ".join(people)]


def render(
    screen: Screen,
    plan: SessionPlan,
    progress: Progress,
    status: DeviceStatus | None,
    done_s: float,
    size: tuple[int, int] = (120, 40),
) -> list[str]:
    """The whole screen, line by line (no escape codes), fitted to the terminal.

    Args:
        screen: the view's own state.
        plan: the timeline.
        progress: the session's snapshot.
        status: the device's latest STATUS, or None before the first.
        done_s: nominal session time done when no step runs.
        size: the terminal's columns and lines.
    """
    width, height = size
    # The alarm, faults and the message wrap (their words are never cut); other lines are cut.
    faults = "faults: " + ("; ".join(screen.faults) if screen.faults else "none")
    message = f"> {screen.message}" if screen.message else ">"
    fold = textwrap.TextWrapper(max(width - 1, 20), subsequent_indent="  ", break_on_hyphens=False)
    events = ["events:", *(f"  {event}" for event in screen.events)]
    log = list(KEY_LIST) if screen.help else events
    keys = KEY_HELP if len(KEY_HELP) < width else KEY_HELP_SHORT
    # (priority, lines) in screen order: kept from priority 0 up while lines remain, the last
    # one kept cut short (the first rows of a table, the first events).
    sections: list[tuple[int, list[str]]] = [
        (5, _header(screen)),
        (1, _timer(plan, progress, screen, done_s, width)),
        (1, fold.wrap(f"*** ALARM: {screen.alarm} ***") if screen.alarm else []),
        (1, [line for alarm in held_alarms(progress) for line in fold.wrap(alarm)]),
        (1, [f"*** {screen.banner} ***"] if screen.banner else []),
        (6, [""]),
        (2, _table(plan, progress, status, screen, width)),
        (3, [] if screen.blind else titration_lines(progress)),
        (6, [""]),
        (3, fold.wrap(faults)),
        (3, fold.wrap(message) or [">"]),
        (4 if screen.help else 7, log),
        (0, [keys] if screen.interactive else []),
    ]
    room = height
    kept: dict[int, list[str]] = {}
    for index in sorted(range(len(sections)), key=lambda i: sections[i][0]):
        whole = sections[index][1]
        lines = whole[: max(room, 0)]
        if whole is log and len(lines) == 1 < len(whole):
            lines = []  # a heading without one line under it is no use
        kept[index] = lines
        room -= len(lines)
    out = [line for index in sorted(kept) for line in kept[index]]
    return [line[: width - 1] for line in out]
