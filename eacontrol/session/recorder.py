"""The session's record: events, steps, samples and delivered totals, written as they happen.

The session begins its record on the calling thread (a database problem stops it there, before
any stimulation); from then on every record goes to a :class:`~eacontrol.records.writer.
RecordWriter`, which writes it on its own thread and connection, so the control loop never
waits for SQLite (a lock held by another program used to block it until the device's lease
expired). Events and steps are queued when they happen; samples are queued every
``flush_period_s`` (at most 1 s by default), and the writer commits each record at once.

Each call checks the writer: a record refused, or the database refusing records for longer than
:data:`~eacontrol.records.writer.STALL_BOUND_s`, is a ``RecordError`` at once; the runner then
cuts every output, confirms it, and ends the session ``records_unavailable``. The record of that
end is queued behind everything else; closing waits for the queue to be written (the database
frees) up to :data:`~eacontrol.records.writer.CLOSE_WAIT_s`. While the runner is stopping after
an error, calls are best effort (``quiet``): a failing database must never prevent a stop.

Samples carry the device time they were measured at (the STATUS's uptime), and events the device
time they happened at where the device told it (an EVENT's uptime). A sample due when the
latest STATUS is older than ``stale_after_s`` is recorded as missing (a gap), never filled from
an older STATUS: after a link blackout the record shows the blackout, not the last current.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from eacontrol.device import ChannelDose, DeviceStatus
from eacontrol.errors import EAError, Layer, ParameterError, RecordError
from eacontrol.link import Clock
from eacontrol.records import (
    Annotation,
    ChannelTotals,
    Outcome,
    RecordStore,
    Sample,
    SampleGap,
    SessionMeta,
    StepRecord,
)
from eacontrol.records.writer import CLOSE_WAIT_s, RecordWriter, WRITER_BUSY_TIMEOUT_s
from eacontrol.safety.engine import check_number
from eacontrol.session.events import SessionEvent

__all__ = ["SessionRecorder", "record_period"]

log = logging.getLogger(__name__)

_IMPEDANCE_CHANGE = 0.25  # relative change of a channel's impedance worth an event


class SessionRecorder:
    """Writes one session's record.

    Attributes:
        session_id: the record's id.
        quiet: log write failures instead of raising them (set while stopping after an error).
        writer: the record writer (its thread writes to its own connection).
    """

    def __init__(
        self,
        store: RecordStore,
        meta: SessionMeta,
        *,
        clock: Clock | None = None,
        stale_after_s: float = math.inf,
    ) -> None:
        """Begin the session's record and start its writer.

        Args:
            store: the open session database (the writer opens its own connection to it).
            meta: the session's identity.
            clock: the clock of STATUS receive times (the Stimulator's), to judge a STATUS's
                age; None: every STATUS is fresh.
            stale_after_s: a STATUS older than this gives a missing sample, not a sample.

        Raises:
            RecordError: the database cannot take it (nothing was stimulated yet).
            ParameterError: the prescription does not have the documented shape.
        """
        # Opened and begun with the caller's patience; then the writer's short busy timeout.
        own = RecordStore.open(store.path, busy_timeout_s=store.busy_timeout_s, threaded=True)
        try:
            self.session_id = own.begin_session(meta)
            own.set_busy_timeout(WRITER_BUSY_TIMEOUT_s)
        except BaseException:
            own.close()
            raise
        self.writer = RecordWriter(own, name=f"records-{self.session_id}")
        self._started_at = meta.started_at
        self._clock = clock
        self._stale_after_s = stale_after_s
        self.quiet = False
        self._errors: list[EAError] = []
        self._samples: list[Sample] = []
        self._gaps: list[SampleGap] = []
        self._impedance: dict[int, float | None] = {}
        self._lock = threading.Lock()  # the annotations seen and found: the writer's and ours
        self._annotations_seen: set[int] = set()
        self._annotations_found: list[Annotation] = []

    @property
    def failures(self) -> list[EAError]:
        """The write errors swallowed while quiet, and the records the database refused."""
        return self._errors + self.writer.failures

    def _write(self, what: str, action: Callable[[RecordStore], None]) -> None:
        """Queue a record (never lost), then raise what stops records being written."""
        try:
            self.writer.submit(what, action)
            problem = self.writer.problem()
            if problem is not None:
                raise problem
        except EAError as err:
            if not self.quiet:
                raise
            log.error("session %d: %s: %s", self.session_id, what, err)
            if not any(str(e) == str(err) for e in self._errors):
                self._errors.append(err)

    def event(self, event: SessionEvent, device_uptime_s: float | None = None) -> None:
        """Record an event now, with the device time it happened at where that is known.

        Args:
            event: the event.
            device_uptime_s: the device's uptime when it happened; None: the event's own
                (``event.device_uptime_s``), else a device event's (``data["device_uptime_s"]``:
                its EVENT's uptime, or the STATUS it was learned from), else unknown. A host
                event's device time stays unknown: it is never taken from an earlier STATUS.
        """
        told = event.data.get("device_uptime_s")
        if device_uptime_s is None and event.device_uptime_s is None:
            known = isinstance(told, int | float) and not isinstance(told, bool)
            device_uptime_s = float(told) if known and told is not None else None
        if device_uptime_s is not None:
            event = dataclasses.replace(event, device_uptime_s=device_uptime_s)
        sid, recorded = self.session_id, event
        self._write("event", lambda store: store.record_event(sid, recorded))

    def annotation(self, annotation: Annotation) -> None:
        """Record a note or adverse event given during the session (``eactl annotate``'s
        record: one home for both)."""
        sid = self.session_id

        def add(store: RecordStore) -> None:
            added = store.add_annotation(sid, annotation)
            with self._lock:
                self._annotations_seen.add(added)  # this session's own: not relayed

        self._write("annotation", add)

    def added_elsewhere(self) -> list[Annotation]:
        """The annotations another program added to this session's record (``eactl annotate``
        from another terminal) that the writer has found since the last call; asks the writer
        to look again (in its thread, after every record queued before: this session's own
        notes are known by then)."""
        sid = self.session_id
        with self._lock:
            found, self._annotations_found = self._annotations_found, []

        def look(store: RecordStore) -> None:
            with self._lock:
                new = [a for a in store.annotations(sid) if a.id not in self._annotations_seen]
                self._annotations_seen.update(a.id for a in new)
                self._annotations_found += new

        self._write("annotations read", look)
        return found

    def started_at(self) -> datetime:
        """The record's start (UTC)."""
        return self._started_at

    def step(self, record: StepRecord) -> None:
        """Record a step's start, or (same index) its end."""
        sid = self.session_id
        self._write("step", lambda store: store.record_step(sid, record))

    def totals(self, step_index: int, doses: Sequence[tuple[int, ChannelDose]]) -> None:
        """Record the device's totals of a step: (channel number, DOSE) pairs."""
        rows = [ChannelTotals.from_dose(d, channel=n, step_index=step_index) for n, d in doses]
        sid = self.session_id
        if rows:
            self._write("totals", lambda store: store.record_totals(sid, rows))

    def sample(self, t_s: float, status: DeviceStatus, channels: Sequence[int]) -> list[int]:
        """Take a sample of every channel from a STATUS; keep it for the next flush.

        A STATUS older than ``stale_after_s`` gives a missing sample (a gap) instead.

        Args:
            t_s: session time.
            status: the latest STATUS.
            channels: the channel numbers to sample (1-based).

        Returns:
            The channels whose impedance changed enough to report (by more than 25 %, or to or
            from open/unknown) while they delivered current.
        """
        age_s = None if self._clock is None else max(0.0, self._clock.now() - status.time_s)
        if age_s is not None and age_s > self._stale_after_s:
            reason = (
                f"no STATUS for {age_s:.3f} s (more than {self._stale_after_s:g} s): the link "
                "brought no measurement"
            )
            self._gaps.append(SampleGap(t_s, age_s, reason))
            return []
        changed = []
        reports = {r.channel: r for r in status.channels}
        for n in channels:
            report = reports[n]
            self._samples.append(
                Sample(
                    t_s,
                    n,
                    report.set_mA,
                    report.measured_mA,
                    report.impedance_ohm,
                    status.uptime_s,
                )
            )
            if report.measured_mA <= 0:
                continue
            new = None if report.impedance_ohm is None else float(report.impedance_ohm)
            if n not in self._impedance or _changed(self._impedance[n], new):
                self._impedance[n] = new
                changed.append(n)
        return changed

    def missing(self, t_s: float, reason: str) -> None:
        """Record a sample due at ``t_s`` as missing (no STATUS at all)."""
        self._gaps.append(SampleGap(t_s, None, reason))

    def flush(self) -> None:
        """Queue the samples and gaps kept since the last flush (and check the writer)."""
        sid = self.session_id
        samples, self._samples = self._samples, []
        gaps, self._gaps = self._gaps, []
        if samples:
            self._write("samples", lambda store: store.record_samples(sid, samples))
        if gaps:
            self._write("missing samples", lambda store: store.record_gaps(sid, gaps))
        if not samples and not gaps:
            self._check()

    def _check(self) -> None:
        problem = self.writer.problem()
        if problem is not None and not self.quiet:
            raise problem

    def end(self, outcome: Outcome, t_s: float, detail: str) -> None:
        """Flush, queue the session's end at session time ``t_s``, and write everything.

        Raises:
            RecordError: (not quiet) records could not be written within ``CLOSE_WAIT_s``.
        """
        self.flush()
        ended_at: datetime = self._started_at + timedelta(seconds=max(0.0, t_s))
        sid = self.session_id
        self._write("end", lambda store: store.end_session(sid, outcome, ended_at, detail))
        left = self.writer.close(CLOSE_WAIT_s)
        if left:
            err = RecordError(
                f"session {sid}: {left} record(s), the session's end among them, could not be "
                f"written within {CLOSE_WAIT_s:g} s and are lost: {self.writer.last_error()}"
            )
            if not self.quiet:
                raise err
            log.error("%s", err)
            self._errors.append(err)


def _changed(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is not new
    return abs(new - old) > _IMPEDANCE_CHANGE * old


_MIN_PERIOD_s = 0.001
"""The shortest record period: the wire's time resolution (1 ms, PROTOCOL.md §1). Far shorter
ones (1e-300 s) are below a float's resolution of session time and would never advance."""


def record_period(name: str, value: float, heartbeat_s: float | None = None) -> float:
    """A period of the record (samples, commits, totals) in seconds, checked.

    Args:
        name: the parameter's name, for the refusal.
        value: the period asked for.
        heartbeat_s: for the sample period, the heartbeat period: a sample is a STATUS, and
            one arrives per heartbeat, so sampling faster would record the same STATUS again as
            if it were new (the record never fills a sample from an older one).

    Raises:
        ParameterError: not a number of seconds of at least 0.001 s (or one heartbeat period).
    """
    seconds = check_number(name, value, "s")
    shortest = max(_MIN_PERIOD_s, heartbeat_s or 0.0)
    if not seconds >= shortest:
        why = "" if heartbeat_s is None else " (one heartbeat period: one STATUS per sample)"
        raise ParameterError(name, value, f">= {shortest:g} s{why}", Layer.SCHEMA)
    return seconds
