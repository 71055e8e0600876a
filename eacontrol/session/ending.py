"""How a session ends: the outcome recorded for each way out, and the stop each one needs.

=================================== ============ =========================== ===================
end                                 outcome      stop                        then
=================================== ============ =========================== ===================
every step ran                      completed    each step's ramp-down       ``run`` returns
``stop()``                          stopped      ramp-down, confirmed        ``run`` returns
``emergency_stop()``                emergency    immediate, confirmed        ``run`` returns
emergency stop overtaking a START   emergency    immediate, confirmed        ``SessionStopped``
channel-local fault (ELECTRODE,     —            that channel only (the      the session goes on
COMPLIANCE) on a step's channel                  device cut it; confirmed)   (see below)
latched fault (``DeviceFault``)     fault        every channel ramped down   ``SessionStopped``
STATUS ≠ commands (DeviceMismatch)  device_mis.. immediate, confirmed        ``SessionStopped``
device rebooted / session gone      fault        immediate (already off)     ``SessionStopped``
``LinkLost``                        link_lost    none: the device's lease    ``LinkLost``
``StopNotConfirmed``                stop_not_... none possible               ``StopNotConfirmed``
``RecordError``                     records_un.. immediate, confirmed        ``RecordError``
``KeyboardInterrupt`` (Ctrl-C)      stopped      immediate, confirmed        ``KeyboardInterrupt``
any other exception                 error        immediate, confirmed        the exception
=================================== ============ =========================== ===================

``eactl run`` raises SIGTERM and SIGHUP as a ``KeyboardInterrupt`` whose message names the
signal (``eacontrol.cli.signals``); the record's detail then names it instead of Ctrl-C.

A **channel-local fault** (:data:`CHANNEL_LOCAL_FAULTS`: the load of one needle pair — an
open circuit, a resistance too high for the set current) ends nothing: the step runner confirms
that channel's output at zero, holds it there with an alarm, and the other channels go on; the
practitioner re-clips the lead and resumes the channel (``Session.resume_channel``: CLEAR_FAULT,
the device's self-test, then START from zero). Every other fault concerns the device (a stuck
output or DC, the lease, the stop button, a failed self-test, a mismatch, a reboot) and ends
the session as above. docs/safety.md lists which is which and why.

A stop that the device does not confirm turns any of these into ``stop_not_confirmed`` and
raises ``StopNotConfirmed`` (the hard alarm: use the device's hardware stop).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from eacontrol.device import Stimulator
from eacontrol.errors import DeviceFault, DeviceMismatch, LinkLost, RecordError, StopNotConfirmed
from eacontrol.records import Outcome, SessionSummary

__all__ = [
    "CHANNEL_LOCAL_FAULTS",
    "Ending",
    "SessionResult",
    "StopKind",
    "alarm_data",
    "ending_for",
    "fault_text",
    "is_channel_local",
    "reboot_seen",
    "stop_outputs",
]

log = logging.getLogger(__name__)

_SESSION_GONE = {"REBOOT", "NO_SESSION"}

CHANNEL_LOCAL_FAULTS = frozenset({"ELECTRODE", "COMPLIANCE"})
"""Faults that concern one channel's load, not the device: ELECTRODE (open circuit: a needle or
clip came off) and COMPLIANCE (the load's resistance too high to drive the set current). The
device latches them on that channel only and cuts only its output (PROTOCOL.md §3.10)."""


def reboot_seen(began_boot_id: int, stim: Stimulator) -> DeviceFault | None:
    """The REBOOT fault if the device is on another boot than the session began on, else None.

    Protocol major 2: a stop whose session the device no longer knows is confirmed in a new
    session (``Link.rejoin``), whose HELLO_ACK names the boot: a reboot whose EVENT was lost,
    or one during the session's last stop, is seen there.
    """
    now = stim.info.boot_id
    if now == began_boot_id:
        return None
    return DeviceFault(
        f"the device rebooted (boot_id 0x{began_boot_id:08X} → 0x{now:08X}); every output "
        "was confirmed off on the new boot",
        None,
        ("REBOOT",),
    )


def is_channel_local(exc: BaseException) -> bool:
    """Whether ``exc`` is a latched fault of one channel's load only (held, not the end).

    A mismatch, a reboot, an emergency stop or any fault outside :data:`CHANNEL_LOCAL_FAULTS`
    concerns the device: it is not.
    """
    return (
        type(exc) is DeviceFault
        and exc.channel is not None
        and bool(exc.faults)
        and set(exc.faults) <= CHANNEL_LOCAL_FAULTS
    )


class StopKind(enum.Enum):
    """The stop an end needs."""

    NONE = "none"
    RAMP_DOWN = "ramp-down"
    IMMEDIATE = "immediate"


@dataclass(frozen=True)
class Ending:
    """What an exception means for the session.

    Attributes:
        outcome: the outcome to record.
        detail: why, in words.
        stop: the stop to perform.
        read_totals: whether the device's totals of the running step can still be read.
    """

    outcome: Outcome
    detail: str
    stop: StopKind
    read_totals: bool


def fault_text(fault: DeviceFault) -> str:
    """A device fault in words for the practitioner: which channel, which fault."""
    faults = ", ".join(fault.faults)
    if fault.channel is None:
        return f"device fault ({faults}): {fault}"
    return f"channel {fault.channel} stopped by a latched fault ({faults}): its output is off"


def ending_for(exc: BaseException) -> Ending:
    """The ending an exception calls for.

    Args:
        exc: what ended the session.
    """
    if isinstance(exc, DeviceMismatch):
        # The device did something the host did not command (a foreign command, a stuck
        # stage): the Stimulator has cut every output already; cut again, confirmed.
        detail = f"device mismatch: {exc}"
        return Ending(Outcome.DEVICE_MISMATCH, detail, StopKind.IMMEDIATE, read_totals=True)
    if isinstance(exc, DeviceFault) and exc.faults == ("EMERGENCY_STOP",):
        # An emergency stop from another thread refused the START the loop was sending.
        detail = "emergency stop (from another thread): every output cut at once"
        return Ending(Outcome.EMERGENCY_STOP, detail, StopKind.IMMEDIATE, read_totals=True)
    if isinstance(exc, DeviceFault):
        gone = bool(set(exc.faults) & _SESSION_GONE)
        return Ending(
            Outcome.FAULT,
            fault_text(exc),
            StopKind.IMMEDIATE if gone else StopKind.RAMP_DOWN,
            # A reboot reset the device's totals; a session the device no longer knows left
            # them (same boot): the stop's new session reads them, unless it finds a reboot.
            read_totals="REBOOT" not in exc.faults,
        )
    if isinstance(exc, LinkLost):
        return Ending(Outcome.LINK_LOST, str(exc), StopKind.NONE, read_totals=False)
    if isinstance(exc, StopNotConfirmed):
        return Ending(Outcome.STOP_NOT_CONFIRMED, str(exc), StopKind.NONE, read_totals=False)
    if isinstance(exc, RecordError):
        detail = f"the session database failed, stimulation stopped at once: {exc}"
        return Ending(Outcome.RECORDS_UNAVAILABLE, detail, StopKind.IMMEDIATE, read_totals=False)
    if isinstance(exc, KeyboardInterrupt):
        # A KeyboardInterrupt with a message is a signal routed into this path ("ended by
        # SIGTERM", eacontrol.cli.signals): the record names it, not Ctrl-C.
        detail = f"{str(exc) or 'interrupted (Ctrl-C)'}: every output cut at once"
        return Ending(Outcome.STOPPED, detail, StopKind.IMMEDIATE, read_totals=True)
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Ending(Outcome.ERROR, detail, StopKind.IMMEDIATE, read_totals=True)


def alarm_data(exc: BaseException) -> dict[str, object]:
    """The record's data for the event that ends a session by ``exc`` (the mismatch's fields)."""
    if not isinstance(exc, DeviceMismatch):
        return {}
    return {
        "cause": Outcome.DEVICE_MISMATCH.value,
        "field": exc.field,
        "expected": exc.expected,
        "reported": exc.reported,
    }


def stop_outputs(stim: Stimulator, stop: StopKind) -> None:
    """Stop every output of ``stim`` as ``stop`` says and wait for the device to confirm it.

    A Ctrl-C during a ramp-down does not abandon the stop: every output is cut at once instead.

    Raises:
        StopNotConfirmed: the device did not confirm.
    """
    if stop is StopKind.NONE:
        return
    try:
        stim.stop(None, immediate=stop is StopKind.IMMEDIATE)
    except KeyboardInterrupt:
        log.warning("interrupted while stopping: cutting every output at once")
        stim.stop(None, immediate=True)


@dataclass(frozen=True)
class SessionResult:
    """How a session ended.

    Attributes:
        session_id: the session's record id.
        outcome: the outcome recorded.
        detail: why it ended, in words.
        duration_s: session time from its start to its end.
        steps_completed: steps that ran to their planned end.
        record: the session as stored, or None if the database could not be read.
    """

    session_id: int
    outcome: Outcome
    detail: str
    duration_s: float
    steps_completed: int
    record: SessionSummary | None
