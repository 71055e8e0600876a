"""``eactl run PROFILE``: run a session, with a live view and keys, and record it.

Order, so that nothing is stimulated before every check has passed: the profile is loaded (site
and patient layers), the session database opened, the device connected (its port opened
exclusively: a busy port is refused before anyone is asked), the operator confirms (without
``--yes``: every device, the built-in simulator too when there is a terminal to answer on), then
the session runner's pre-flight adds the device layer. Every way out ends in a confirmed stop
(the runner's and the Stimulator's), and the terminal is restored. SIGTERM and SIGHUP take
Ctrl-C's path (``eacontrol.cli.signals``): a confirmed stop, the record closed with the signal
named, then exit 128 + its number.

Without ``--port`` the device is the built-in simulator, paced to real time; ``--fast`` runs it
in virtual time and prints only the summary. ``--lsl [NAME]`` streams the session's events as
Lab Streaming Layer markers (``eacontrol.session.lsl``, the optional extra ``lsl``); the outlet
is made before the operator is asked, so a recorder (LabRecorder) can connect to it then.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from eacontrol.cli.clinical_opts import add_clinical_options, clinical_from, study_from
from eacontrol.cli.command import Commands, add_command, add_profile_argument
from eacontrol.cli.exitcodes import CliError, ExitCode, UsageError
from eacontrol.cli.keys import Terminal
from eacontrol.cli.layers import add_layer_options, layers_from
from eacontrol.cli.output import discard_stdout, printable
from eacontrol.cli.records_cmd import add_db_option
from eacontrol.cli.signals import Terminated, signals_end_like_ctrl_c
from eacontrol.cli.table import duration_text, number, render_table
from eacontrol.cli.target import SIMULATED_BANNER, Target, add_target_options, target_from
from eacontrol.errors import SessionStopped

if TYPE_CHECKING:
    from eacontrol.profiles import Profile
    from eacontrol.records import RecordStore
    from eacontrol.session import Session, SessionResult

__all__ = [
    "LSL_STREAM_NAME",
    "confirm",
    "confirmation_lines",
    "points_text",
    "register",
    "summary_lines",
]

LSL_STREAM_NAME = "eacontrol-markers"
"""``eacontrol.session.lsl.DEFAULT_STREAM_NAME``, repeated so that the help is built without
importing the session layer; a test checks that the two agree."""


def points_text(profile: Profile) -> dict[int, str]:
    """Each channel's needle pair as the practitioner reads it: ``BL23-L – BL25-L``."""
    return {c.channel: " – ".join(str(site) for site in c.electrodes) for c in profile.channels}


def confirmation_lines(
    profile: Profile, target: Target, patient: str | None, *, simulated: bool
) -> list[str]:
    """What the operator confirms: patient, duration, and per channel its needles, the start
    intensity (zero: every step ramps up from zero) and its first step's target and ramp."""
    from eacontrol.cli.plainwords import mode_text  # imports the device layer: not at startup

    where = f"{target.url}  ({SIMULATED_BANNER})" if simulated else target.url
    steps = len(profile.steps)
    lines = [
        f"About to stimulate: {printable(profile.name)} on {where}",
        f"  patient {printable(patient) if patient else 'not given'}",
        f"  duration {duration_text(profile.total_duration_s)} in {steps} step(s)",
    ]
    points = points_text(profile)
    for channel in sorted(points):
        first = next(i for i, step in enumerate(profile.steps) if channel in step.channels)
        stimulation = profile.stimulation(first, channel)
        titration = profile.steps[first].titration(channel)
        rising = f"rising to {number(stimulation.intensity_mA)} mA"
        if titration is not None:  # the practitioner raises it: the target is guidance
            rising = (
                f"rising to {number(titration.start_mA)} mA, then raised by you to "
                f"{printable(titration.sensation)} (target {number(titration.target_mA)} mA)"
            )
        sham_on_s = profile.steps[first].sham_on_s
        if profile.steps[first].intensity == "sham_zero":
            rising = "staying at 0 mA (sham: the device on, no current)"
        elif sham_on_s is not None:
            rising += f", down to 0 mA after {number(sham_on_s)} s (sham)"
        lines.append(
            f"  channel {channel}  {printable(points[channel])}  from 0 mA, {rising} over "
            f"{number(stimulation.ramp_up_s)} s (step {first + 1}: {mode_text(stimulation)})"
        )
    lines.append("  Check the needles, the leads and the patient. Start? [y/N] ")
    return lines


def confirm(
    profile: Profile,
    target: Target,
    patient: str | None = None,
    *,
    simulated: bool = False,
    blind: bool = False,
) -> None:
    """Ask the operator to confirm the session (y/N on the terminal); ``blind``: without the
    profile's name or any intensity (``blinding.py``).

    Raises:
        CliError: the operator did not answer yes (exit 4: nothing was stimulated).
    """
    if blind:
        from eacontrol.cli.blinding import blind_confirmation_lines

        where = f"{target.url}  ({SIMULATED_BANNER})" if simulated else target.url
        steps = len(profile.steps)
        points = points_text(profile)
        lines = blind_confirmation_lines(points, profile.total_duration_s, steps, where, patient)
    else:
        lines = confirmation_lines(profile, target, patient, simulated=simulated)
    print("\n".join(lines), end="", flush=True)
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise CliError("not started: the operator did not confirm", ExitCode.STOPPED)


def summary_lines(result: SessionResult, store: RecordStore, steps: int) -> list[str]:
    """The session summary: outcome, length, steps, delivered totals per channel, record."""
    lines = [
        f"session {result.session_id} ended: {result.outcome.value}: {result.detail}",
        f"  length {duration_text(result.duration_s)} ({number(result.duration_s, 1)} s), "
        f"{result.steps_completed}/{steps} step(s) completed",
    ]
    per_channel: dict[int, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0])
    for totals in store.totals(result.session_id):
        row = per_channel[totals.channel]
        row[0] += totals.pulses_a + totals.pulses_b
        row[1] += totals.on_time_s
        row[2] = max(row[2], totals.peak_mA)
        row[3] += totals.charge_pos_uC
        row[4] += totals.net_charge_uC
    rows = [
        (ch, int(r[0]), duration_text(r[1]), number(r[2]), number(r[3]), number(r[4]))
        for ch, r in sorted(per_channel.items())
    ]
    headers = ("CH", "PULSES", "ON", "PEAK mA", "Q+ µC", "NET µC")
    lines += ["  delivered, as the device counted:"]
    lines += ["  " + line for line in render_table(headers, rows, right=(1, 3, 4, 5)).splitlines()]
    reached = [
        f"ch {e.channel} "
        + (f"{number(mA)} mA ({e.data.get('how')})" if isinstance(mA, float) else "not reached")
        for e in store.events(result.session_id)
        if e.kind == "treatment" and "how" in e.data
        for mA in [e.data.get("treatment_intensity_mA")]
    ]
    if reached:
        lines.append(f"  treatment intensity: {', '.join(reached)}")
    lines.append(f"  record: eactl log show {result.session_id} --db {store.path}")
    return lines


def _check_mode(args: argparse.Namespace, target: Target, terminal: Terminal) -> None:
    if args.fast and args.port is not None:
        raise UsageError("--fast runs the built-in simulator in virtual time: not with --port")
    if not target.built_in and not args.yes and not terminal.interactive:
        raise UsageError(
            "a real device needs the operator's confirmation on a terminal; "
            "pass --yes to run without it (and without keys)"
        )


def _run(args: argparse.Namespace) -> int:
    """Run a session with a live view and keys, and record it.

    Run PROFILE on the device (default: the built-in simulator, in real time) with a live view:
    elapsed and remaining time, the planned end, per channel its needles, mode, set and measured
    intensity, alarms. It asks before starting unless --yes. Keys: ↑/+ and ↓/- raise and lower
    the selected channel by 0.5 mA, 0 sets it to zero, z every channel, 1-8 select, t marks the
    selected channel's level as its treatment intensity (titration), r resumes a channel held
    by a fault of its lead once re-clipped, n writes a note, p pauses and resumes, s or q stops
    (ramp down), Esc or space is the emergency stop, ? lists the keys;
    Ctrl-C, SIGTERM and SIGHUP always end in a confirmed stop.
    """
    with signals_end_like_ctrl_c():
        return _run_session(args)


def _run_session(args: argparse.Namespace) -> int:
    from eacontrol.cli.blinding import BLIND_TITLE
    from eacontrol.cli.console import LiveConsole
    from eacontrol.device import connect
    from eacontrol.link import RealClock
    from eacontrol.profiles import load_profile
    from eacontrol.records import Outcome, RecordStore
    from eacontrol.session import Session

    layers = layers_from(args)
    target = target_from(args)
    terminal = Terminal(interactive=False if (args.yes or args.fast) else None)
    _check_mode(args, target, terminal)
    profile = load_profile(args.profile, site=layers.site, patient=layers.patient)
    clinical, study = clinical_from(args), study_from(args)
    if args.lsl is not None:
        from eacontrol.session.lsl import require_pylsl

        require_pylsl()  # a missing extra is refused before the device is opened
    with RecordStore.open(args.db) as store, contextlib.ExitStack() as outlets:
        with connect(target.url, device_serial=target.device_serial) as stim:
            info = stim.info
            simulated = target.simulator(info.model)  # a pty or TCP simulator too
            # Nothing is sent until run(): made first, so that the LSL outlet (if any) is
            # there while the operator is asked, for a recorder to connect to.
            session = Session(
                stim,
                profile,
                store=store,
                operator_id=args.operator,
                patient_id=args.patient,
                patient=layers.patient,
                site=layers.site,
                device_serial=target.device_serial,
                clinical=clinical,
                study=study,
                sample_period_s=args.sample_period,
            )
            if args.lsl is not None:
                _open_lsl(outlets, session, args.lsl, args.lsl_wait)
            if not args.yes and (terminal.interactive or not target.built_in):
                confirm(profile, target, args.patient, simulated=simulated, blind=study.blinded)
            banner = target.banner(info.model)
            device = f"device {info.model} {info.serial}, firmware {info.firmware}, on {target.url}"
            console = LiveConsole(
                session,
                terminal,
                sys.stdout,
                RealClock(),
                lambda: stim.last_status,
                title=BLIND_TITLE if study.blinded else profile.name,
                device_line=device,
                simulated=simulated,
                pace=target.built_in and not args.fast,  # the built-in's virtual clock
                echo=not args.fast,
                points=points_text(profile),
                patient=args.patient,
                operator=args.operator,
                blind=study.blinded,
            )
            if not console.interactive and not args.fast:
                name = BLIND_TITLE if study.blinded else printable(profile.name)
                print(f"eactl run: {name} on {device}{banner}", flush=True)
            if not console.interactive:
                print(*_no_keys_notes(profile), sep="\n", end="", flush=True)
            session.subscribe(console.event)
            try:
                with terminal:
                    console.open()
                    try:
                        result = session.run(on_tick=None if args.fast else console.tick)
                    finally:
                        _after_signal(console.close)
            except KeyboardInterrupt as interrupt:
                return _interrupted(interrupt, session, store, simulated, study.blinded)
            except SessionStopped:
                _print_summary(session, store, simulated, blind=study.blinded)
                raise
        _print_summary(session, store, simulated, blind=study.blinded)
    stopped = result.outcome in (Outcome.STOPPED, Outcome.EMERGENCY_STOP)
    return int(ExitCode.STOPPED if stopped else ExitCode.OK)


def _no_keys_notes(profile: Profile) -> list[str]:
    """For a run without keys (``--yes``, ``--fast``): each titrated step stays at its start
    level, since nobody can raise it; said before it runs, so a summary of 0 mA is no
    surprise."""
    return [
        f"note: step {i + 1} is titrated (each channel from {number(step.start_intensity_mA or 0)}"
        " mA, raised by the operator): without keys (--yes, --fast) it stays there\n"
        for i, step in enumerate(profile.steps)
        if step.intensity.titrated
    ]


def _open_lsl(outlets: contextlib.ExitStack, session: Session, name: str, wait_s: float) -> None:
    """Make the LSL marker outlet of ``session`` (closed with ``outlets``), say so, and wait
    up to ``wait_s`` for a consumer (saying whether one came)."""
    from eacontrol.session.lsl import LslMarkers

    markers = outlets.enter_context(LslMarkers(session, name))
    print(
        f"LSL markers: stream {printable(name)!r} (type Markers, source id "
        f"{printable(markers.source_id)!r})",
        flush=True,
    )
    if wait_s > 0:
        came = markers.wait_for_consumers(wait_s)
        print(
            "LSL markers: a recorder is connected"
            if came
            else f"LSL markers: no recorder connected within {wait_s:g} s: starting anyway "
            "(markers before one connects are not replayed)",
            flush=True,
        )


def _wait_seconds(text: str) -> float:
    """A wait in seconds: a finite number, 0 to 600 (exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 600:  # a design value: ten minutes to start a recorder is plenty
        raise argparse.ArgumentTypeError(f"'{printable(text)}' is not 0 to 600 seconds")
    return value


def _stream_name(text: str) -> str:
    """An LSL stream name: printable, not empty (exit 2)."""
    if not text.strip() or text != printable(text):
        raise argparse.ArgumentTypeError(
            f"'{printable(text)}' is not a stream name: printable text, not empty"
        )
    return text


def _after_signal(output: Callable[[], object]) -> None:
    """Write ``output``; after SIGTERM or SIGHUP, a terminal that is gone (hung up) is no error:
    the stop is confirmed and the record closed, there is only nobody left to tell."""
    try:
        output()
    except OSError:
        if not isinstance(sys.exception(), Terminated):
            raise


def _interrupted(
    interrupt: KeyboardInterrupt,
    session: Session,
    store: RecordStore,
    simulated: bool,
    blind: bool,
) -> int:
    """Ctrl-C (exit 4) or a signal (exit 128 + its number) ended the session after its
    confirmed stop: the summary and one line saying so."""
    if not isinstance(interrupt, Terminated):
        _print_summary(session, store, simulated, blind=blind)
        print("eactl: interrupted: every output was cut and confirmed off", file=sys.stderr)
        return int(ExitCode.STOPPED)
    try:
        _print_summary(session, store, simulated, blind=blind)
        print(f"eactl: {interrupt}: every output was cut and confirmed off", file=sys.stderr)
        sys.stdout.flush()
    except OSError:  # the terminal hung up (SIGHUP): the record says it all
        discard_stdout()
    return interrupt.exit_code


def _print_summary(
    session: Session, store: RecordStore, simulated: bool, *, blind: bool = False
) -> None:
    from eacontrol.cli.blinding import blind_summary_lines

    if session.result is not None:
        steps = len(session.plan.steps)
        lines = (
            blind_summary_lines(session.result, str(store.path), steps)
            if blind
            else summary_lines(session.result, store, steps)
        )
        print("\n".join(lines))
        if simulated:
            print(f"  {SIMULATED_BANNER}: a device simulator, no patient was stimulated")


def _identifier(text: str) -> str:
    """An operator or patient identifier: printable text (no control characters, which a
    terminal would obey when the record is shown; exit 2)."""
    if text != printable(text):
        raise argparse.ArgumentTypeError(
            f"'{printable(text)}' holds control characters: an identifier is printable text"
        )
    return text


def register(commands: Commands) -> None:
    """Add ``run`` to the command parsers."""
    parser = add_command(
        commands,
        "run",
        _run,
        epilog="exit codes: 0 completed, 4 stopped by the operator, Ctrl-C or a fault (outputs "
        "confirmed at zero), 143 / 129 ended by SIGTERM / SIGHUP (outputs confirmed at zero, "
        "the record names the signal), 3 device, link or records error, 1 profile refused.",
    )
    add_profile_argument(parser)
    parser.add_argument(
        "--operator", metavar="ID", type=_identifier, help="the operator's identifier (recorded)"
    )
    parser.add_argument(
        "--patient", metavar="ID", type=_identifier, help="the patient's identifier (recorded)"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="run the built-in simulator in virtual time and print the summary",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="do not ask for confirmation; no keys and no live view (events are printed)",
    )
    parser.add_argument(
        "--sample-period",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="record every channel's set and measured current this often (default 1; at "
        "least one heartbeat period, 0.1 s at the default lease)",
    )
    parser.add_argument(
        "--lsl-wait",
        type=_wait_seconds,
        default=0.0,
        metavar="SECONDS",
        help="with --lsl: before starting, wait up to SECONDS for a recorder (LabRecorder) to "
        "connect to the stream (LSL does not replay markers sent before it connects); "
        "started either way, saying so",
    )
    parser.add_argument(
        "--lsl",
        nargs="?",
        const=LSL_STREAM_NAME,
        type=_stream_name,
        metavar="NAME",
        help="stream the session's events as Lab Streaming Layer markers (stream NAME, default "
        f"{LSL_STREAM_NAME}; the optional extra 'lsl'); the outlet is open while you are asked",
    )
    add_db_option(parser)
    add_target_options(parser)
    add_layer_options(parser)
    add_clinical_options(parser)
