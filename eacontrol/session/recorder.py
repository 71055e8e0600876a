"""The session's record: events, steps, samples and delivered totals, written as they happen.

Events and steps are committed when they happen (the store commits every write). Samples are
taken every ``sample_period_s`` and committed in batches every ``flush_period_s`` (each commit
is a synchronous disk write: one per second would cost more than the whole simulated device),
so a crash loses at most the last batch of samples, never an event. A write that fails is a
``RecordError`` at once; the runner then stops stimulation. While the runner is stopping after
an error, writes are best effort (``quiet``): a failing database must never prevent a stop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from eacontrol.device import ChannelDose, DeviceStatus
from eacontrol.errors import EAError
from eacontrol.records import (
    ChannelTotals,
    Outcome,
    RecordStore,
    Sample,
    SessionMeta,
    StepRecord,
)
from eacontrol.session.events import SessionEvent

__all__ = ["SessionRecorder"]

log = logging.getLogger(__name__)

_IMPEDANCE_CHANGE = 0.25  # relative change of a channel's impedance worth an event


class SessionRecorder:
    """Writes one session's record.

    Attributes:
        session_id: the record's id.
        quiet: log write failures instead of raising them (set while stopping after an error).
        failures: the write errors swallowed while quiet.
    """

    def __init__(self, store: RecordStore, meta: SessionMeta) -> None:
        """Begin the session's record.

        Raises:
            RecordError: the database cannot take it (nothing was stimulated yet).
            ParameterError: the prescription does not have the documented shape.
        """
        self._store = store
        self._started_at = meta.started_at
        self.session_id = store.begin_session(meta)
        self.quiet = False
        self.failures: list[EAError] = []
        self._samples: list[Sample] = []
        self._impedance: dict[int, float | None] = {}

    def _write(self, what: str, action: Any, *args: Any) -> None:
        try:
            action(self.session_id, *args)
        except EAError as err:
            if not self.quiet:
                raise
            log.error("session %d: %s not recorded: %s", self.session_id, what, err)
            self.failures.append(err)

    def event(self, event: SessionEvent) -> None:
        """Record an event now."""
        self._write("event", self._store.record_event, event)

    def step(self, record: StepRecord) -> None:
        """Record a step's start, or (same index) its end."""
        self._write("step", self._store.record_step, record)

    def totals(self, step_index: int, doses: Sequence[tuple[int, ChannelDose]]) -> None:
        """Record the device's totals of a step: (channel number, DOSE) pairs."""
        rows = [ChannelTotals.from_dose(d, channel=n, step_index=step_index) for n, d in doses]
        if rows:
            self._write("totals", self._store.record_totals, rows)

    def sample(self, t_s: float, status: DeviceStatus, channels: Sequence[int]) -> list[int]:
        """Take a sample of every channel from a STATUS; keep it for the next flush.

        Args:
            t_s: session time.
            status: the latest STATUS.
            channels: the channel numbers to sample (1-based).

        Returns:
            The channels whose impedance changed enough to report (by more than 25 %, or to or
            from open/unknown) while they delivered current.
        """
        changed = []
        reports = {r.channel: r for r in status.channels}
        for n in channels:
            report = reports[n]
            self._samples.append(
                Sample(t_s, n, report.set_mA, report.measured_mA, report.impedance_ohm)
            )
            if report.measured_mA <= 0:
                continue
            new = None if report.impedance_ohm is None else float(report.impedance_ohm)
            if n not in self._impedance or _changed(self._impedance[n], new):
                self._impedance[n] = new
                changed.append(n)
        return changed

    def flush(self) -> None:
        """Commit the samples kept since the last flush."""
        if self._samples:
            samples, self._samples = self._samples, []
            self._write("samples", self._store.record_samples, samples)

    def end(self, outcome: Outcome, t_s: float, detail: str) -> None:
        """Flush the samples and mark the session ended at session time ``t_s``."""
        self.flush()
        ended_at: datetime = self._started_at + timedelta(seconds=max(0.0, t_s))
        self._write("end", self._store.end_session, outcome, ended_at, detail)


def _changed(old: float | None, new: float | None) -> bool:
    if old is None or new is None:
        return old is not new
    return abs(new - old) > _IMPEDANCE_CHANGE * old
