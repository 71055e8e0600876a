"""Session events: what a practitioner's screen shows and the session record keeps.

Every :class:`SessionEvent` is recorded (committed at once by the store) and then given to each
subscriber, in the session loop's thread. Kinds (:class:`EventKind`):

========== ==========================================================================
progress   the session or a step started, ramped, ended; a channel finished its ramp
intensity  a channel's target changed (the step's prescription, or the operator)
impedance  a channel's load impedance changed by more than 25 %, or became open/unknown
fault      the device latched a fault (channel and fault named), or rebooted; a channel held
           at zero by a fault of its load (``data.held``)
treatment  a channel's treatment intensity at a step's end (``data.treatment_intensity_mA``)
threshold  a channel's sensory or motor threshold marked in a threshold step (``thresholds.py``)
alarm      the device did what the host did not command (``device_mismatch``): outputs cut
warning    an advisory of the profile check, a refused operator request, a device shut-off
stop       outputs stopped: a channel's STOPPED event, the session's final stop
link       the link to the device was lost
intrusion  the device refused frames that were not this host's (bad tag, replay): ``intrusion.py``
operator   pause, resume, stop and emergency stop requests; a held channel restarted
marker     a note added during the session (``Session.note``; the annotation is the record)
device     any other device event
========== ==========================================================================
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from eacontrol.device import DeviceEvent
from eacontrol.device.events import subscribe_to
from eacontrol.records import INTRUSION_KIND, EventRecord
from firmware_protocol import EventCode

__all__ = ["EventKind", "SessionEvent", "SessionListener", "Subscribers", "from_device_event"]

log = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    """The kinds of session events (the records' ``events.kind``)."""

    PROGRESS = "progress"
    INTENSITY = "intensity"
    IMPEDANCE = "impedance"
    FAULT = "fault"
    ALARM = "alarm"
    WARNING = "warning"
    STOP = "stop"
    LINK = "link"
    OPERATOR = "operator"
    TREATMENT = "treatment"
    THRESHOLD = "threshold"
    DEVICE = "device_event"
    INTRUSION = INTRUSION_KIND
    MARKER = "marker"


@dataclass(frozen=True)
class SessionEvent(EventRecord):
    """Something that happened in a session: the record's ``EventRecord`` with a known kind.

    Attributes:
        t_s: session time (seconds from the session's start, on the session clock).
        kind: what sort of event.
        channel: the channel number (1-based), or None for the whole session/device.
        message: what happened, in words for the practitioner.
        data: details, JSON-ready.
    """

    kind: EventKind

    def __str__(self) -> str:
        return f"[{self.t_s:9.3f} s] {self.kind}: {self.message}"


SessionListener = Callable[[SessionEvent], None]
"""A subscriber: called with every session event, in the session loop's thread."""


class Subscribers:
    """The session's subscribers."""

    def __init__(self) -> None:
        self._listeners: list[SessionListener] = []

    def add(self, listener: SessionListener) -> Callable[[], None]:
        """Call ``listener`` with every future event; return a function that unsubscribes."""
        return subscribe_to(self._listeners, listener)

    def publish(self, event: SessionEvent, *, quiet: bool = False) -> None:
        """Give ``event`` to every subscriber.

        Args:
            event: the event.
            quiet: log a subscriber's exception instead of raising it (while stopping: a
                failing display must never prevent a stop).

        Raises:
            Exception: what a subscriber raised, unless ``quiet``.
        """
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                if not quiet:
                    raise
                log.exception("session event subscriber failed while stopping")


_FAULTS = {
    EventCode.ELECTRODE_FAULT,
    EventCode.COMPLIANCE,
    EventCode.LEASE_EXPIRED,
    EventCode.STUCK_OUTPUT,
    EventCode.BUTTON_STOP,
    EventCode.REBOOT,
}
_KINDS = {
    EventCode.RAMP_DONE: EventKind.PROGRESS,
    EventCode.STOPPED: EventKind.STOP,
    EventCode.MAX_RUN_TIME: EventKind.WARNING,
} | dict.fromkeys(_FAULTS, EventKind.FAULT)


def from_device_event(event: DeviceEvent, t_s: float) -> SessionEvent:
    """The session event for a device event learned at session time ``t_s``.

    Args:
        event: the device's event (its channel already numbered from 1 by the Stimulator).
        t_s: session time.
    """
    return SessionEvent(
        t_s=t_s,
        kind=_KINDS.get(event.code, EventKind.DEVICE),
        channel=event.channel,
        message=event.describe(),
        data={
            "code": event.name,
            "detail": event.detail,
            "device_uptime_s": event.device_uptime_s,
            "source": event.source,
        },
    )
