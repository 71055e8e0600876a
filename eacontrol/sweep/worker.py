"""One sweep session in a worker: connect to ``sim://``, run, record, summarise as one row.

:func:`run_trial` is what an executor runs (a module-level function, so every executor can
pickle it by name). Each trial has its own record store in a temporary folder, removed
afterwards, so workers never share a database; the session runs in the simulator's virtual
time, and the record's start time is a fixed instant (:data:`RECORD_EPOCH`), so a trial gives
the same row wherever and whenever it runs.

The row (:data:`ROW_COLUMNS`, then per channel ``ch<N>_<quantity>`` for
:data:`CHANNEL_QUANTITIES`) is the device's delivered totals as the record keeps them
(``eacontrol.records.ChannelDelivery``): what was delivered, never what was prescribed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from eacontrol.device import connect
from eacontrol.errors import EAError, ProfileRefused
from eacontrol.records import RecordStore, parse_prescription
from eacontrol.records.delivered import channel_delivery
from eacontrol.session import Session
from eacontrol.sweep.grid import Value
from eacontrol.sweep.trial import Trial
from firmware_protocol import units

__all__ = [
    "CHANNEL_QUANTITIES",
    "ERROR",
    "RECORD_EPOCH",
    "REFUSED",
    "ROW_COLUMNS",
    "Row",
    "run_trial",
]

Row = dict[str, Value | None]
"""One row of the table: the point's axes, then the columns below (None: not known)."""

REFUSED = "refused"
"""``outcome`` of a point refused before anything was stimulated: by the profile models, or by
a limit layer at pre-flight (``error`` says which and why)."""

ERROR = "error"
"""``outcome`` of a point whose session could not begin for another reason (a ``sim://`` option
the simulator refuses, a records problem); ``error`` says what."""

ROW_COLUMNS = ("point", "seed", "outcome", "detail", "error", "session_s")
"""The columns after the axes: the point's index and seed, how its session ended (a record
``Outcome`` such as ``completed`` or ``fault``, or :data:`REFUSED` / :data:`ERROR`), the
record's detail, the error raised (``Type: message``), and the session's length in virtual
seconds as recorded (longer than the step's ``duration_s`` by its programming and stop)."""

CHANNEL_QUANTITIES = (
    "pulses",
    "charge_pos_uC",
    "charge_neg_uC",
    "total_charge_uC",
    "net_charge_uC",
    "peak_mA",
    "rms_mA",
    "on_time_s",
    "measured_max_mA",
    "impedance_max_ohm",
)
"""Per channel, from the device's DOSE totals (pulses, charges in µC, peak and rms current,
time with the output active) and the samples (largest measured current, largest impedance)."""

RECORD_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
"""The start time recorded for every sweep session: a fixed instant, so that nothing in a
trial depends on the wall clock (the session's own times are virtual)."""


def run_trial(trial: Trial) -> Row:
    """Run one trial's session on its own ``sim://`` device and record store; return its row.

    Every way a session can end is a row, not an exception: refused by the profile models or a
    limit layer (``outcome = "refused"``), failed to begin (``"error"``), or begun and ended by
    any outcome the record knows (``completed``, ``fault``, ``link_lost``, …), with what the
    device delivered up to then.

    Args:
        trial: the point, its profile and its ``sim://`` options.

    Returns:
        The row: the axes, :data:`ROW_COLUMNS`, and ``ch<N>_<quantity>`` per channel.
    """
    row: Row = dict(trial.point.values)
    row.update(point=trial.point.index, seed=trial.point.seed)
    if trial.profile is None:
        return row | {"outcome": REFUSED, "detail": None, "error": trial.refused}
    channels = [c.channel for c in trial.profile.channels]
    with tempfile.TemporaryDirectory(prefix="eacontrol-sweep-") as folder:
        try:
            store = RecordStore.open(Path(folder) / "sweep.db")
        except EAError as err:
            return row | _not_begun(ERROR, err, channels)
        with store:
            session_id, raised = _run(trial, store)
            if session_id is None:
                outcome = REFUSED if isinstance(raised, ProfileRefused) else ERROR
                return row | _not_begun(outcome, raised, channels)
            return row | _delivered(store, session_id, raised, channels)


def _run(trial: Trial, store: RecordStore) -> tuple[int | None, EAError | None]:
    """Run the session; (its record's id or None if it never began, the error it raised)."""
    assert trial.profile is not None
    session: Session | None = None
    try:
        with connect(trial.url) as stim:
            session = Session(stim, trial.profile, store=store, utc_now=lambda: RECORD_EPOCH)
            session.run()
    except EAError as err:
        return (None if session is None else session.session_id), err
    return session.session_id, None


def _error_text(err: BaseException | None) -> str | None:
    return None if err is None else f"{type(err).__name__}: {err}"


def _not_begun(outcome: str, err: EAError | None, channels: list[int]) -> Row:
    row: Row = {"outcome": outcome, "detail": None, "error": _error_text(err)}
    row["session_s"] = None
    for n in channels:
        row.update(dict.fromkeys((f"ch{n}_{q}" for q in CHANNEL_QUANTITIES), None))
    return row


def _delivered(
    store: RecordStore, session_id: int, err: EAError | None, channels: list[int]
) -> Row:
    summary = store.session(session_id)
    rx = parse_prescription(summary.meta.prescription)
    totals = store.totals(session_id)
    samples = store.samples(session_id)
    row: Row = {
        "outcome": summary.outcome.value,
        "detail": summary.detail,
        "error": _error_text(err),
        "session_s": summary.duration_s,
    }
    for n in channels:
        got: Mapping[str, object] = channel_delivery(rx, n, totals, samples)
        pos, neg = got["charge_pos_uC"], got["charge_neg_uC"]
        both = isinstance(pos, float) and isinstance(neg, float)
        total = units.uC_at_nC(pos + neg) if both else None  # type: ignore[operator]
        for q in CHANNEL_QUANTITIES:
            value = total if q == "total_charge_uC" else got[q]
            assert value is None or isinstance(value, int | float)
            row[f"ch{n}_{q}"] = value
    return row
