"""The fault matrix's rows for issue 14: what each injects, when, and what it must end in.

Each row is a :class:`Row`: how to arm the fault on a cell (after the port and the store are
open, before ``run()``), how the world recovers once the session has ended (the other process
lets go of its lock, space is freed), and the row's own checks on top of the matrix's four.
``test_fault_matrix.py`` runs them like the other rows; the signal rows run in a child process
(``signal_child.py``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scenario_file import scenario

from eacontrol.errors import EAError
from eacontrol.records import INTRUSION_KIND

from .injections import DbLock, DiskFull, ForeignWriter, blackout

__all__ = [
    "BLACKOUT_S",
    "CLEAR_WATCH_S",
    "DB_LOCK_LONG_S",
    "DB_LOCK_SHORT_S",
    "ROWS",
    "SIGNAL_ROWS",
    "FOREIGN_TARGET_uA",
    "Row",
]

FOREIGN_TARGET_uA = 4000
"""The foreign writer raises channel 1 to 4 mA: above both steps' 2 and 2.5 mA, within the
device's own limits (so the device accepts it, as it would from the host)."""
DB_LOCK_SHORT_S = 1.5
"""The lock of issue 14 item 8: 1.5 s, three leases, blocked the loop and ended the session as a
device fault."""
DB_LOCK_LONG_S = math.inf
"""The long lock lasts until the session has ended (or :data:`BLOCKED_REAL_CAP_S`): longer than
the record writer's stall bound (``eacontrol.records.writer.STALL_BOUND_s``, 3 s of real time),
while the session runs paced to real time."""
BLOCKED_REAL_CAP_S = 8.0
"""The most real time a lock or a full disk lasts: past the writer's 3 s stall bound with room
to spare, within the 10 s a closing session waits for its records (``CLOSE_WAIT_s``)."""
BLACKOUT_S = 1.2
"""Longer than the lease (0.5 s: the device stops by itself) and than a sample period (1 s: at
least one sample falls inside), shorter than the host's link-loss limit (three leases, 1.5 s):
the link comes back and the session ends by the device's fault, not by a lost link."""
CLEAR_WATCH_S = 2.0
"""After the refused clear, the stuck channel is watched this long (every 10 ms check of the
device) for any current: 2 s is over twenty stuck-output checks of a device that re-closed its
relay (issue 14 item 3 measured 44-90 % DC time after a clear)."""


@dataclass
class Row:
    """One issue-14 row of the matrix.

    Attributes:
        kind: the row's name in the table.
        expected: the outcome's value in each phase (pre-flight, ramp, hold, transition,
            ramp-down).
        detail: what the record's detail must match (any outcome but completed).
        query: builds the cell's ``sim://`` query from (phase instant, tmp path).
        arm: arms the fault on an open cell at the phase's instant.
        settle: after the run, the world recovers (a lock let go, space freed).
        check: the row's own checks, after the matrix's.
        wrap: a context around the whole cell (the full disk's connection factory); what it
            gives is the cell's ``extras["wrapped"]``.
        tick: builds the cell's ``on_tick`` (pacing to real time), or None.
        needs: the issue-14 item (and its branch) whose behaviour the row tests.
    """

    kind: str
    expected: tuple[str, str, str, str, str]
    detail: str
    needs: str
    query: Callable[[float, Path], str] = lambda _at, _tmp: ""
    arm: Callable[[Any, float], None] = lambda _cell, _at: None
    settle: Callable[[Any], None] = lambda _cell: None
    check: Callable[[Any, Any, str], None] = lambda _cell, _ended, _phase: None
    wrap: Callable[[Path], contextlib.AbstractContextManager[Any]] = lambda _tmp: (
        contextlib.nullcontext()
    )
    tick: Callable[[Any], Callable[[Any], None] | None] = lambda _cell: None


# --- foreign command -----------------------------------------------------------------------


def _foreign_arm(cell: Any, at_s: float) -> None:
    writer = ForeignWriter(cell.port)
    writer.set_intensity(at_s, 0, FOREIGN_TARGET_uA)
    cell.extras["foreign"] = writer


def _foreign_check(cell: Any, ended: Any, phase: str) -> None:
    writer: ForeignWriter = cell.extras["foreign"]
    assert writer.sent, "the foreign frame was never sent"
    # Protocol major 2: the device drops the frame for its tag and counts it; nothing changes,
    # in every phase, and the output never goes above the host's own 2.5 mA.
    assert cell.port.device.auth_fail_count >= len(writer.sent), "the forged frame was not refused"
    peak_uA = cell.watch.peak_uA[0]
    assert peak_uA <= 2500, f"raised to {peak_uA} µA by a frame the device should have dropped"
    # ... and the session's record says so: one intrusion event with the device's own count.
    foreign = [e for e in cell.store.events(ended.record.id) if e.kind == INTRUSION_KIND]
    assert len(foreign) == 1, f"{phase}: the refused frame was not recorded: {foreign}"
    assert foreign[0].data["bad_tag"] == len(writer.sent)
    assert foreign[0].data["auth_fail_count"] == cell.port.device.auth_fail_count


# --- stuck output, clear attempt -----------------------------------------------------------


def _stuck_query(at_s: float, tmp: Path) -> str:
    event = 'kind = "stuck_output"\nchannel = 1\ncurrent_uA = 1500\n'
    return scenario(tmp, f"[[event]]\nat_s = {at_s}\n{event}")


def _clear_check(cell: Any, ended: Any, phase: str) -> None:
    """The operator tries CLEAR_FAULT on the stuck channel after the session ended: refused by
    the self-test (the relay open, the stage still drives DC), and no current ever flows."""
    device = cell.port.device
    cell.watch.excused.discard(0)  # from now on the stuck channel's current counts
    try:
        cell.stim.clear_fault(1)
    except EAError as err:
        refusal: EAError | None = err
    else:
        refusal = None
    dc_seen = []
    for _ in range(round(CLEAR_WATCH_S / 0.01)):
        cell.port.clock.sleep(0.01)
        if device.output_uA(0) > 0:
            dc_seen.append(cell.port.clock.now())
    assert refusal is not None, "CLEAR_FAULT of a stuck output was accepted"
    assert not dc_seen, f"DC flowed after the clear attempt at {dc_seen[:3]} s"


# --- DB lock, DB full ----------------------------------------------------------------------


class _Blocker(Protocol):
    """A :class:`DbLock` or a :class:`DiskFull`: records cannot be written while ``locked``."""

    @property
    def locked(self) -> bool: ...


def _release_at_the_end(cell: Any, release: Callable[[], None]) -> None:
    """The other process lets go once the session has announced its end: the session's last
    records are written while it closes, not lost to a lock that outlives it."""

    def listener(event: Any) -> None:
        if event.kind.value == "stop" and event.message.startswith("session ended"):
            release()

    cell.session.subscribe(listener)


def _paced(cell: Any) -> Callable[[Any], None]:
    """An ``on_tick`` that paces device time to real time while records are blocked, as
    ``eactl run`` paces the simulator: the record writer's stall bound is real time."""
    since: list[tuple[float, float]] = []

    def tick(_session: Any) -> None:
        blocker: _Blocker = cell.extras["blocker"]
        if not blocker.locked:
            since.clear()
            return
        now = cell.port.clock.now()
        if not since:
            since.append((now, time.monotonic()))
        device0, real0 = since[0]
        ahead_s = (now - device0) - (time.monotonic() - real0)
        if ahead_s > 0:
            time.sleep(ahead_s)

    return tick


def _lock_arm(device_s: float, real_cap_s: float) -> Callable[[Any, float], None]:
    def arm(cell: Any, at_s: float) -> None:
        lock = DbLock(cell.db_path)
        lock.hold(cell.port, at_s, at_s + device_s, real_cap_s)
        cell.extras["blocker"] = lock
        _release_at_the_end(cell, lock.release)

    return arm


def _settle(cell: Any) -> None:
    """The other process has let go, or lets go now; space is freed."""
    blocker = cell.extras["blocker"]
    if isinstance(blocker, DbLock):
        assert blocker.held, "the lock was never taken"
        blocker.close()
    else:
        assert blocker.failed, "no write ever met the full disk"
        blocker.free()


def _every_sample(cell: Any, ended: Any, phase: str) -> None:
    """A short lock loses nothing: the record holds every sample the clean run recorded (the
    loop was never held up, so they fall at the same session times), and no gap."""
    clean = cell.extras["timeline"].samples
    got = {(s.t_s, s.channel) for s in cell.store.samples(ended.record.id)}
    missing = sorted(clean - got)
    assert not missing, f"{len(missing)} sample(s) of the clean run missing: {missing[:4]}"
    gaps = getattr(cell.store, "gaps", None)
    if gaps is not None:
        assert not gaps(ended.record.id), "samples recorded as missing"


@contextlib.contextmanager
def _disk_wrap(tmp: Path) -> Iterator[DiskFull]:
    """The cell's disk, installed before its store opens (``Row.wrap``)."""
    with DiskFull(tmp / "sessions.sqlite3").installed() as disk:
        yield disk


def _disk_arm(cell: Any, at_s: float) -> None:
    disk: DiskFull = cell.extras["wrapped"]
    disk.fill(cell.port, at_s, BLOCKED_REAL_CAP_S)
    cell.extras["blocker"] = disk
    _release_at_the_end(cell, disk.free)


# --- blackout, stale samples ---------------------------------------------------------------


def _blackout_query(at_s: float, tmp: Path) -> str:
    return scenario(tmp, blackout(at_s, at_s + BLACKOUT_S))


def _no_stale_sample(cell: Any, ended: Any, phase: str) -> None:
    """No sample is filled from an older STATUS (issue 14 item 9): each sample's device time
    (the STATUS's uptime; the device booted at time 0) is at most half a lease before the
    session time it is recorded at, and the periods the blackout withheld are recorded as
    missing (in the ramp and the hold, where the step loop runs through the blackout). Before
    device times were recorded, a sample inside the blackout is stale."""
    at_s, t0 = cell.extras["instant_s"], cell.t0_device_s
    start, stop = at_s - t0, at_s + BLACKOUT_S - t0  # session time
    fresh_s = cell.stim.lease_s / 2 + 0.01  # the recorder's bound, plus the wire's latency
    stale = []
    for s in cell.store.samples(ended.record.id):
        measured_at = getattr(s, "device_uptime_s", None)
        if measured_at is None:
            if start <= s.t_s < stop:
                stale.append((round(s.t_s, 3), s.channel, s.measured_mA, "no device time"))
        elif t0 + s.t_s - measured_at > fresh_s:
            stale.append((round(s.t_s, 3), s.channel, s.measured_mA, measured_at))
    assert not stale, f"samples filled from an older STATUS: {stale[:4]}"
    if phase not in ("ramp", "hold"):
        return  # no step loop samples through the blackout: programming, a stop confirmed
    due = [t for t, ch in cell.extras["timeline"].samples if ch == 1]
    withheld = [t for t in due if start + fresh_s <= t < stop]
    if withheld:
        gaps = [g.t_s for g in cell.store.gaps(ended.record.id)]
        assert any(start <= g < stop for g in gaps), f"due at {withheld}, no gap: {gaps}"


C, F, E, S = "completed", "fault", "device_mismatch", "stop_not_confirmed"
R = "records_unavailable"

ROWS: dict[str, Row] = {
    row.kind: row
    for row in (
        Row(
            "foreign command",
            (C, C, C, C, C),
            r"",
            "item 2 (stop)",
            arm=_foreign_arm,
            check=_foreign_check,
        ),
        Row(
            "stuck output, clear",
            (F, F, F, F, F),
            r"channel 1 .*STUCK_OUTPUT",
            "item 3 (faults)",
            query=_stuck_query,
            check=_clear_check,
        ),
        Row(
            f"DB lock {DB_LOCK_SHORT_S:g} s",
            (C, C, C, C, C),
            r"",
            "item 8 (records)",
            arm=_lock_arm(DB_LOCK_SHORT_S, DB_LOCK_SHORT_S),
            settle=_settle,
            check=_every_sample,
        ),
        Row(
            "DB lock, long",
            (R, R, R, R, C),
            r"records unavailable",
            "item 8 (records)",
            arm=_lock_arm(DB_LOCK_LONG_S, BLOCKED_REAL_CAP_S),
            settle=_settle,
            tick=_paced,
        ),
        Row(
            "DB full",
            (R, R, R, R, C),
            r"records unavailable.*full",
            "item 8 (records)",
            arm=_disk_arm,
            settle=_settle,
            wrap=_disk_wrap,
            tick=_paced,
        ),
        Row(
            "blackout, stale samples",
            (S, F, F, S, F),
            r"channel \d .*LEASE|\(LEASE\)|no longer knows session|NOT CONFIRMED",
            "item 9 (records)",
            query=_blackout_query,
            check=_no_stale_sample,
        ),
    )
}
"""The in-process rows, in the table's order.

Why, where it is not obvious:

- foreign command: under protocol major 2 the foreign frame's tag does not verify, so the
  device drops it in every phase (``auth_fail_count`` +1, no reply) and the session completes
  with the output never above the host's 2.5 mA. (Under major 1 it was executed on a running
  channel and only the host's device-mismatch check caught it.)
- blackout in pre-flight and at the transition: a command (SET_PROGRAM, START) loses all its
  transmissions inside the blackout, and the stop that follows waits one lease for a STATUS the
  blackout withholds: the hard alarm (stop not confirmed), although nothing was on — the record
  says what the host knows. In the ramp, the hold and the ramp-down the device's lease expires
  first, which under major 2 closes the session for good; its EVENT SESSION_CLOSED (LEASE) is
  lost in the blackout, so once the link is back the next heartbeat is answered NAK NO_SESSION
  and the record says the device no longer knew the session.
"""

SIGNAL_ROWS = ("SIGTERM", "SIGHUP")
"""The signal rows (``eactl run`` in a child process)."""
