"""A script's own ``Stimulator`` calls, recorded: ``with recorded(stim, store, sites=...) as rec``.

::

    with connect("sim://?seed=1") as stim, RecordStore.open() as store:
        with recorded(stim, store, sites={1: ("LI4-L", "LI11-L")}, patient_id="P-07") as rec:
            stim.program(1, han)
            stim.start(1)
            stim.wait(600)
        print(rec.session_id, rec.outcome)

The record is a session like the runner's, told apart as a script's (``eacontrol.records.
scripted``): profile ``script``, no steps prescribed ahead, each program sent a step record.
It is written from the Stimulator's observer hooks (``eacontrol.device.commands``), through the
session recorder (``SessionRecorder``: its own writer thread, never blocking the script):

* every command the script sends, once acknowledged, as an event: ``program`` (progress; with
  the step record), ``start`` (intensity: the ramp to the program's target), ``set_intensity``
  (intensity, ``by: script``), ``stop`` (stop, with the device uptime of the STATUS that
  confirmed it), ``clear_fault`` (operator); device events as the runner records them;
* a sample of every channel with needle sites from the STATUS the Stimulator already polls, at
  ``sample_period_s`` (a STATUS older than half the lease: a missing sample, as the runner);
* the device's totals of each program, read before the channel is programmed again (a
  SET_PROGRAM resets them) and at the end;
* the end with its cause (``ending.ending_for``, as the runner: a normal exit is ``completed``,
  an exception ``error``, a ``DeviceFault`` (or a ``SessionStopped`` caused by one) ``fault``,
  ``LinkLost`` ``link_lost``, a ``RecordError`` ``records_unavailable``), after every output is
  stopped as that ending needs (ramp-down on a normal exit) and the device confirmed it.

The record only holds what it saw: it begins only with every output off at zero, and refuses
(before anything is sent) a program on a channel without needle sites or a start of a channel
programmed before it began. A failing database is raised at the script's next
``wait``/``service``/command (a ``RecordError``: leaving the block then cuts every output). The
operator-step rule (≤ 0.5 mA per increase, 1 s apart) is the session runner's; a script's
``set_intensity`` is bound by the standard's and the device's limits only (README "Safety").
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from eacontrol.device import DeviceEvent, Stimulator
from eacontrol.device.commands import DeviceCommand
from eacontrol.errors import (
    DeviceError,
    DeviceFault,
    EAError,
    Layer,
    LinkError,
    ParameterError,
    RecordError,
    SessionError,
    SessionStopped,
    StopNotConfirmed,
)
from eacontrol.link import HEARTBEAT_FRACTION
from eacontrol.records import ClinicalDetails, Outcome, RecordStore, StepRecord, Study
from eacontrol.safety import LimitStack
from eacontrol.session.ending import Ending, StopKind, ending_for, fault_text, stop_outputs
from eacontrol.session.events import EventKind, SessionEvent, from_device_event
from eacontrol.session.recorder import SessionRecorder, record_period
from eacontrol.session.script_meta import (
    ScriptIdentity,
    checked_sites,
    describe_program,
    program_ceiling_mA,
    script_meta,
    source_sha256,
)
from eacontrol.stimulation import Stimulation

__all__ = ["ScriptRecord", "recorded"]

_NORMAL = Ending(Outcome.COMPLETED, "the script ended normally", StopKind.RAMP_DOWN, True)
_EVENT_KINDS = {Outcome.FAULT: EventKind.FAULT, Outcome.LINK_LOST: EventKind.LINK}


def recorded(
    stim: Stimulator,
    store: RecordStore,
    *,
    sites: Mapping[int, Sequence[str]],
    name: str | None = None,
    source: str | Path | None = None,
    patient_id: str | None = None,
    operator_id: str | None = None,
    indication: str = "",
    clinical: ClinicalDetails | None = None,
    study: Study | None = None,
    sample_period_s: float = 1.0,
    flush_period_s: float = 1.0,
    utc_now: Callable[[], datetime] | None = None,
) -> ScriptRecord:
    """Record what a script does with ``stim`` inside a ``with`` block (see the module).

    Args:
        stim: the connected stimulator (its clock is the record's clock).
        store: the open session database.
        sites: for each channel the script uses, its two needle sites (``"LI4-L"``).
        name: the script's name for the record (profile ``script: NAME``); default ``script``.
        source: the script's file: its sha256 is the record's profile hash (default: the
            sha256 of the record's prescription, i.e. of its sites and name).
        patient_id / operator_id: identifiers for the record.
        indication: what the stimulation is for, as the report states it.
        clinical / study: the practitioner's account and the session's place in a study.
        sample_period_s: session time between samples (at least one heartbeat period).
        flush_period_s: session time between commits of the samples.
        utc_now: the wall clock for the record's start; default ``datetime.now(UTC)``.

    Raises:
        ParameterError: a channel the device lacks, sites that are not two known needle
            sites, a period out of range, a source file that cannot be read.
    """
    identity = ScriptIdentity(
        name, source_sha256(source), patient_id, operator_id, indication, clinical, study
    )
    return ScriptRecord(
        stim,
        store,
        checked_sites(stim, sites),
        identity,
        (
            record_period("sample_period_s", sample_period_s, stim.lease_s / HEARTBEAT_FRACTION),
            record_period("flush_period_s", flush_period_s),
        ),
        utc_now or (lambda: datetime.now(UTC)),
    )


class ScriptRecord:
    """One script's session record; a context manager (``recorded`` makes it).

    Attributes:
        session_id: the record's id (None until the block begins).
        outcome: ``running`` inside the block, then how it ended.
        detail: why it ended, in words.
    """

    def __init__(
        self,
        stim: Stimulator,
        store: RecordStore,
        sites: dict[int, list[str]],
        identity: ScriptIdentity,
        periods: tuple[float, float],
        utc_now: Callable[[], datetime],
    ) -> None:
        """Prepare the record; nothing is written until the block begins (use ``recorded``)."""
        self._stim, self._store, self._sites = stim, store, sites
        self._identity = identity
        self._periods, self._utc_now = periods, utc_now
        self._stack = LimitStack.build(device=stim.limits)
        self._recorder: SessionRecorder | None = None
        self._t0 = 0.0
        self._due = [0.0, 0.0]  # next sample, next flush (session time)
        self._steps: dict[int, StepRecord] = {}  # the program in force on each channel
        self._programs = 0  # programs recorded: the next one's step index
        self._targets: dict[int, float] = {}
        self._problem: RecordError | None = None
        self._ending = False
        self._unsubscribe: list[Callable[[], None]] = []
        self.session_id: int | None = None
        self.outcome = Outcome.RUNNING
        self.detail = ""

    @property
    def t_s(self) -> float:
        """Session time: seconds since the record began."""
        return self._stim.clock.now() - self._t0

    # --- beginning -----------------------------------------------------------------------------

    def __enter__(self) -> ScriptRecord:
        stim = self._stim
        if self._recorder is not None:
            raise SessionError("this record has already begun; call recorded() again")
        if self._store.read_only:
            raise RecordError(f"session database {self._store.path}: opened read-only")
        busy = [
            f"channel {r.channel} is {r.state.name} at {r.measured_mA:g} mA"
            for r in stim.status().channels
            if not r.output_off
        ]
        if busy:
            raise SessionError(
                f"refusing to begin the record: {'; '.join(busy)}. Every output must be off at "
                "zero when a record begins, so it holds everything delivered; nothing was sent"
            )
        meta = script_meta(stim, self._sites, self._identity, self._utc_now())
        self._t0 = stim.clock.now()
        # As the runner: a STATUS older than half the lease no longer says what flows.
        self._recorder = SessionRecorder(
            self._store, meta, clock=stim.clock, stale_after_s=stim.lease_s / 2
        )
        self.session_id = self._recorder.session_id
        self._unsubscribe = [
            stim.on_command(self._on_command),
            stim.on_status(self._on_status),
            stim.on_event(self._on_device_event),
        ]
        channels = ", ".join(f"{n} ({' – '.join(s)})" for n, s in self._sites.items())
        self._emit(EventKind.PROGRESS, None, f"script started: channel(s) {channels}", {})
        return self

    # --- what the Stimulator tells -------------------------------------------------------------

    def _emit(
        self, kind: EventKind, channel: int | None, message: str, data: dict[str, Any]
    ) -> None:
        """Record an event now; a records problem is kept and raised at the next check."""
        if channel is not None and channel not in self._sites:
            channel, data = None, data | {"channel": channel}  # the record takes only its own
        with self._keeping() as recorder:
            recorder.event(SessionEvent(self.t_s, kind, channel, message, data))

    @contextlib.contextmanager
    def _keeping(self) -> Iterator[SessionRecorder]:
        """Write to the recorder; a records problem is kept (the record queued all the same)
        and raised at the next check: a note after a command must not fail that command."""
        assert self._recorder is not None
        try:
            yield self._recorder
        except RecordError as err:
            self._problem = self._problem or err

    def _check(self) -> None:
        if self._problem is not None and not self._ending:
            raise self._problem

    def _on_command(self, note: DeviceCommand) -> None:
        if not note.sent:
            self._check()
            self._before(note)
            return
        n = note.channels[0] if note.channels else None
        if note.kind == "program" and n is not None and note.stimulation is not None:
            self._programmed(n, note.stimulation, note.program_crc)
        elif note.kind == "start":
            for c in note.channels:
                step = self._steps[c]
                to = float(step.parameters["channels"][str(c)]["intensity_mA"])
                ramp = step.parameters["channels"][str(c)]["ramp_up_s"]
                self._targets[c] = to
                text = f"channel {c}: started, ramp from 0 to {to:g} mA over {ramp:g} s (script)"
                data = {"command": "start", "from_mA": 0.0, "to_mA": to, "by": "script"}
                self._emit(EventKind.INTENSITY, c, text, data)
        elif note.kind == "set_intensity" and n is not None and note.intensity_mA is not None:
            before, to = self._targets.get(n), note.intensity_mA
            self._targets[n] = to
            was = "" if before is None else f"{before:g} → "
            text = f"channel {n}: {was}{to:g} mA at {note.slew_mA_per_s:g} mA/s (script)"
            data = {"command": "set_intensity", "from_mA": before, "to_mA": to, "by": "script"}
            self._emit(EventKind.INTENSITY, n, text, data | {"slew_mA_per_s": note.slew_mA_per_s})
        elif note.kind == "stop":
            self._stopped(note)
        elif note.kind == "clear_fault":
            cleared = ", ".join(map(str, note.channels)) or "none"
            data = {"command": "clear_fault", "cleared": list(note.channels)}
            self._emit(EventKind.OPERATOR, None, f"faults cleared on channel(s) {cleared}", data)

    def _before(self, note: DeviceCommand) -> None:
        """Refuse what the record could not hold; read a program's totals before a new one."""
        for n in note.channels:
            if n not in self._sites:
                allowed = (
                    f"a channel given needle sites in recorded(sites=...): {list(self._sites)}"
                )
                raise ParameterError("channel", n, allowed, Layer.SCHEMA)
            if note.kind == "start" and n not in self._steps:
                allowed = "a channel programmed inside the recorded() block (its program on record)"
                raise ParameterError("channels", n, allowed, Layer.SCHEMA)
        if note.kind == "program":
            self._close_steps(note.channels, totals=True)

    def _programmed(self, n: int, stimulation: Stimulation, crc: int | None) -> None:
        index, self._programs = self._programs, self._programs + 1
        fields = dataclasses.asdict(stimulation) | {
            "program_crc": None if crc is None else f"0x{crc:08X}",
            "ceiling_mA": program_ceiling_mA(self._stack, stimulation),
            "intensity": "fixed",
        }
        label = f"channel {n}, program {index + 1}"
        step = StepRecord(
            index, label, stimulation.mode, self.t_s, None, {"channels": {str(n): fields}}
        )
        self._steps[n] = step
        self._targets[n] = 0.0
        with self._keeping() as recorder:
            recorder.step(step)
        crc_text = fields["program_crc"]
        text = f"channel {n} programmed ({label}): {describe_program(stimulation)}, {crc_text}"
        self._emit(EventKind.PROGRESS, n, text, {"command": "program", "step_index": index})

    def _stopped(self, note: DeviceCommand) -> None:
        for c in note.channels:
            self._targets[c] = 0.0
        how = "cut at once" if note.immediate else "ramped down"
        uptime = None if note.status is None else note.status.uptime_s
        text = (
            f"channel(s) {', '.join(map(str, note.channels))} stopped ({how}): outputs confirmed "
            f"off by the device's STATUS"
            + ("" if uptime is None else f" at device uptime {uptime:.3f} s")
        )
        data = {"command": "stop", "immediate": note.immediate, "confirmed": True}
        self._emit(EventKind.STOP, None, text, data | {"device_uptime_s": uptime})

    def _on_status(self, time_s: float) -> None:
        status = self._stim.last_status
        t = time_s - self._t0
        if status is not None and t >= self._due[0]:
            assert self._recorder is not None
            changed = self._recorder.sample(t, status, list(self._sites))
            reports = {r.channel: r for r in status.channels}
            for n in changed:
                ohm = reports[n].impedance_ohm
                text = "open or unknown" if ohm is None else f"{ohm} ohm"
                self._emit(EventKind.IMPEDANCE, n, f"channel {n}: impedance {text}", {"ohm": ohm})
            self._due[0] = _next(self._due[0], self._periods[0], t)
        if t >= self._due[1]:
            with self._keeping() as recorder:
                recorder.flush()
            self._due[1] = _next(self._due[1], self._periods[1], t)
        self._check()

    def _on_device_event(self, event: DeviceEvent) -> None:
        e = from_device_event(event, event.time_s - self._t0)
        self._emit(e.kind, e.channel, e.message, e.data)

    # --- the end -------------------------------------------------------------------------------

    def _close_steps(self, channels: Sequence[int], *, totals: bool) -> None:
        """End the step records of ``channels`` (reading their totals first if ``totals``)."""
        for n in channels:
            step = self._steps.pop(n, None)
            if step is None:
                continue
            if totals:
                try:
                    dose = self._stim.dose(n)
                except (DeviceError, LinkError) as err:
                    self._emit(EventKind.WARNING, n, f"channel {n}: totals not read: {err}", {})
                else:
                    with self._keeping() as recorder:
                        recorder.totals(step.index, [(n, dose)])
            ended = dataclasses.replace(step, ended_s=self.t_s)
            with self._keeping() as recorder:
                recorder.step(ended)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._recorder is not None
        self._ending = True
        cause: BaseException | None = exc
        if isinstance(exc, SessionStopped) and isinstance(exc.__cause__, DeviceFault):
            cause = exc.__cause__
        if cause is None and self._problem is not None:
            cause = self._problem
        ending = _NORMAL if cause is None else ending_for(cause)
        self._recorder.quiet = cause is not None
        outcome, detail = ending.outcome, ending.detail
        raised = exc if exc is not None else cause  # a SessionStopped propagates as it is
        if cause is not None:
            kind = _EVENT_KINDS.get(outcome, EventKind.WARNING)
            channel = cause.channel if isinstance(cause, DeviceFault) else None
            self._emit(kind, channel, ending.detail, {"cause": outcome.value})
        try:
            stop_outputs(self._stim, ending.stop)
            if cause is None:
                self._stim.check_faults()  # latched during the ramp-down: not a normal end
        except DeviceFault as fault:
            outcome, detail, raised = Outcome.FAULT, fault_text(fault), fault
            self._recorder.quiet = True
            self._emit(EventKind.FAULT, fault.channel, detail, {"cause": outcome.value})
        except EAError as err:
            alarm = err if isinstance(err, StopNotConfirmed) else StopNotConfirmed(str(err))
            outcome, detail, raised = Outcome.STOP_NOT_CONFIRMED, str(alarm), alarm
            if cause is not None:
                alarm.add_note(f"the script ended because of {type(cause).__name__}: {cause}")
            ending = dataclasses.replace(ending, read_totals=False)
        try:
            self._close_steps(list(self._steps), totals=ending.read_totals)
        finally:
            for unsubscribe in self._unsubscribe:
                unsubscribe()
        self.outcome, self.detail = outcome, detail
        self._emit(EventKind.STOP, None, f"script ended ({outcome.value}): {detail}", {})
        self._recorder.end(outcome, self.t_s, detail)
        for failure in self._recorder.failures:
            if raised is not None:
                raised.add_note(f"not recorded: {failure}")
        if raised is not None and raised is not exc:
            raise raised from exc


def _next(due: float, period: float, now: float) -> float:
    """The first of ``due``, ``due + period``, ... later than ``now``: as the runner, periods
    the script spent inside one command (a stop's ramp-down) are not sampled."""
    while due <= now:
        due += period
    return due
