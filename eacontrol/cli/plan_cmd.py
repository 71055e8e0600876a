"""``eactl plan PROFILE [--port URL] [--frames]``: a dry run of a session.

The device is asked who it is (HELLO, GET_STATUS; the connection closes with a STOP, as every
connection does), so the plan uses its limits and channel count; nothing is programmed or
started. Printed: the device, then per step the exact commands in order (with ``--frames`` each
frame in hex), then the totals the profile prescribes and the number of commands.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command, add_profile_argument
from eacontrol.cli.exitcodes import ExitCode
from eacontrol.cli.layers import add_layer_options, layers_from
from eacontrol.cli.output import printable
from eacontrol.cli.table import duration_text, number, render_table
from eacontrol.cli.target import add_target_options, target_from

if TYPE_CHECKING:
    from eacontrol.cli.wireplan import PlannedCommand
    from eacontrol.device import DeviceInfo
    from eacontrol.profiles import Profile
    from eacontrol.session import SessionPlan

__all__ = ["register", "session_time"]


def session_time(seconds: float) -> str:
    """Session time as ``MM:SS.mmm`` (``H:MM:SS.mmm`` from an hour)."""
    total_ms = round(seconds * 1000)
    return f"{duration_text(total_ms // 1000)}.{total_ms % 1000:03d}"


def _when(command: PlannedCommand) -> str:
    if command.until_s is None or command.count == 1:
        return session_time(command.at_s)
    return f"{session_time(command.at_s)} → {session_time(command.until_s)}"


def _command_lines(
    commands: list[PlannedCommand], plan: SessionPlan, info: DeviceInfo, frames: bool
) -> list[str]:
    from eacontrol.cli.wireplan import message_text

    lines: list[str] = []
    counter = 0
    current = -1
    for command in commands:
        if command.step != current:
            current = command.step
            step = plan.steps[current]
            lines.append(
                f"\nstep {step.index + 1}/{len(plan.steps)} ({step.name}): {step.mode} on "
                f"channel(s) {', '.join(str(n) for n in step.numbers)}, "
                f"{session_time(step.start_s)} → {session_time(step.end_s)}"
            )
        times = f" × {command.count}" if command.count > 1 else ""
        lines.append(f"  {_when(command)}  {command.name}{times}  {command.note}")
        fields = message_text(command.message)
        if fields:
            lines.append(f"      {fields}")
        if frames:
            counter += 1
            hex_bytes = command.frame(counter).hex(" ")
            lines.append(f"      frame (counter {counter}, untagged): {hex_bytes}")
    return lines


def _totals(profile: Profile, commands: list[PlannedCommand]) -> list[str]:
    from eacontrol.profiles import profile_dose

    dose = profile_dose(profile)
    rows = []
    for channel in sorted(dose.pulses_by_channel):
        doses = [d for d in dose.steps if d.channel == channel]
        rates = dose.time_per_frequency_s[channel]
        rows.append(
            (
                channel,
                dose.pulses_by_channel[channel],
                duration_text(sum(rates.values())),
                " ".join(f"{number(r)}Hz:{number(t, 1)}s" for r, t in rates.items()),
                number(max(d.phase_charge_uC for d in doses)),
                number(max(d.rms_mA for d in doses)),
            )
        )
    counts: Counter[str] = Counter()
    for command in commands:
        counts[command.name] += command.count
    sent = ", ".join(f"{name} {count}" for name, count in counts.items())
    return [
        f"\nTotals: {duration_text(dose.duration_s)} ({number(dose.duration_s)} s), "
        f"{len(profile.steps)} step(s), at the prescribed targets",
        render_table(
            ("CH", "PULSES", "ON", "TIME PER RATE", "MAX Q/PHASE µC", "MAX Irms mA"),
            rows,
            right=(1, 4, 5),
        ),
        f"commands: {sent} (STOP and GET_STATUS at least; repeated until confirmed)",
    ]


def _plan(args: argparse.Namespace) -> int:
    """Dry run: the exact commands a session would send, and its totals.

    Print, without stimulating, every command a session of PROFILE would send to the device,
    step by step, and the totals it prescribes. The device (or the built-in simulator) is only
    asked for its identity and limits.
    """
    from eacontrol.cli.wireplan import session_commands
    from eacontrol.device import connect
    from eacontrol.device.program import ProgramChecker
    from eacontrol.profiles import validate_file
    from eacontrol.safety import LimitStack
    from eacontrol.session import SessionPlan

    layers = layers_from(args)
    target = target_from(args)
    validate_file(args.profile, site=layers.site, patient=layers.patient).raise_for_refusals()
    with connect(target.url, device_serial=target.device_serial) as stim:
        info = stim.info
        result = validate_file(
            args.profile, device=stim.limits, site=layers.site, patient=layers.patient
        )
        profile = result.raise_for_refusals()
        stack = LimitStack.build(device=stim.limits, site=layers.site, patient=layers.patient)
        plan = SessionPlan.build(profile, stack)
        checker = ProgramChecker(stim.limits, f"device {info.model} {info.serial}")
        commands = session_commands(plan, checker, info.lease_s)
    banner = target.banner(info.model)
    name = printable(profile.name)
    print(f"Plan of {name}: a dry run, nothing was programmed or started{banner}")
    print(
        f"device: {info.model} {info.serial}, firmware {info.firmware}, "
        f"{info.limits.channel_count} channels, lease {info.lease_s:g} s, on {target.url}"
    )
    if args.frames:
        print("frames: untagged, counters numbered as listed (see docs)")
    print("\n".join(_command_lines(commands, plan, info, args.frames)))
    print("\n".join(_totals(profile, commands)))
    for finding in result.advisories:
        print(f"advisory: {finding}")
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``plan`` to the command parsers."""
    parser = add_command(commands, "plan", _plan)
    add_profile_argument(parser)
    parser.add_argument("--frames", action="store_true", help="also print each frame in hex")
    add_target_options(parser)
    add_layer_options(parser)
