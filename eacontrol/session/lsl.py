"""A session's events as a Lab Streaming Layer (LSL) marker stream, for LabRecorder and any
LSL inlet (EEG, fNIRS, eye tracking recorded alongside).

pylsl is the optional extra ``lsl`` (``pip install "eacontrol[lsl]"``; its wheels bundle
liblsl), imported only when an outlet is made. :class:`LslMarkers` subscribes to a
:class:`~eacontrol.session.Session`'s events (``Session.subscribe``: the events the live view
and the record get, in the session loop's thread) and pushes one marker per event of the table
below; every other event (impedance, advisories, treatment levels...) is left out.

================= =====================================================================
marker            from the session event
================= =====================================================================
session_start     the session started (``session_id``, ``profile``, ``steps``, ``planned_s``)
step_start        a step started (``step_index``, ``name``, ``mode``, ``duration_s``)
step_end          a step ended (``step_index``, ``name``, ``mode``, ``paused_s``)
intensity         a channel's target changed (``channel``, ``to_mA``, ``from_mA`` or null,
                  ``by``: ``prescription`` or ``operator``)
marker            a note added during the session (``text``: ``Session.note``)
operator          pause, resume, stop and emergency stop requests, a held channel restarted
stop              outputs stopped (a channel's STOPPED)
fault             a device fault, a channel held at zero by its load's fault
alarm             the device did what the host did not command: outputs cut
link_lost         the link to the device was lost
session_end       the session ended (``outcome``)
================= =====================================================================

Each marker is one string sample, a JSON object: ``marker`` (the name above), ``t_s`` (session
time), ``channel`` (null: the whole session), ``message`` (in words) and the fields named
above; a device's event also carries ``device_uptime_s``, the device's own clock when it
happened.

**Time.** Every marker's LSL timestamp is ``start_lsl_s + t_s``: the session time of the event
(the Stimulator's clock, the same ``t_s`` as in the record and its exports) on an LSL clock
whose zero is the session's start. ``start_lsl_s`` is taken once, when the outlet sees its
first event: ``local_clock() - t_s`` of that event (or given). One offset for the whole
session, so the intervals between markers are exactly the session's; in real time the markers
line up with other LSL streams of the same computer to within the loop's latency (a few
milliseconds), and LSL's own clock offsets align them across computers. In virtual time
(``sim://``) a session's minutes pass in milliseconds, so the timestamps run ahead of LSL's
clock: they are the session's times, not when the samples were sent.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any, Self

from eacontrol.errors import MissingExtra
from eacontrol.session.events import EventKind, SessionEvent
from eacontrol.session.plan import SessionPlan
from eacontrol.session.runner import Session

__all__ = [
    "DEFAULT_STREAM_NAME",
    "MARKERS",
    "STREAM_TYPE",
    "LslMarkers",
    "marker_for",
    "require_pylsl",
]

DEFAULT_STREAM_NAME = "eacontrol-markers"
"""The stream's name when none is given (``eactl run --lsl``)."""

STREAM_TYPE = "Markers"
"""The stream's type: the name LabRecorder and the LSL tools use for event streams."""

MARKERS = (
    "session_start",
    "step_start",
    "step_end",
    "intensity",
    "marker",
    "operator",
    "stop",
    "fault",
    "alarm",
    "link_lost",
    "session_end",
)
"""Every marker name, in the order of the table above."""

_SIMPLE = {
    EventKind.MARKER: "marker",
    EventKind.OPERATOR: "operator",
    EventKind.FAULT: "fault",
    EventKind.ALARM: "alarm",
    EventKind.LINK: "link_lost",
}


def require_pylsl() -> Any:
    """Import pylsl (the extra ``lsl``) and return the module.

    Raises:
        MissingExtra: it is not installed (the message names ``pip install "eacontrol[lsl]"``).
    """
    try:
        return importlib.import_module("pylsl")
    except ImportError as err:
        raise MissingExtra("pylsl", "lsl", "an LSL marker outlet") from err


def _progress(event: SessionEvent, plan: SessionPlan) -> tuple[str, dict[str, Any]] | None:
    data = event.data
    what = data.get("progress")  # the session's and the steps' bounds say which they are
    if what == "session_start":
        return "session_start", {
            "profile": plan.profile_name,
            "steps": data.get("steps"),
            "planned_s": data.get("planned_s"),
        }
    index = data.get("step_index")
    if what not in ("step_start", "step_end") or not isinstance(index, int):
        return None  # a ramp, the sham switch-off: not a bound
    step = plan.steps[index]
    fields = {"step_index": index, "name": step.label, "mode": str(step.mode)}
    if what == "step_start":
        return "step_start", fields | {"duration_s": data.get("duration_s")}
    return "step_end", fields | {"paused_s": data.get("paused_s")}


def _classify(event: SessionEvent, plan: SessionPlan) -> tuple[str, dict[str, Any]] | None:
    data = event.data
    if event.kind is EventKind.PROGRESS:
        return _progress(event, plan)
    if event.kind is EventKind.INTENSITY:
        return "intensity", {
            "to_mA": data.get("to_mA"),
            "from_mA": data.get("from_mA"),
            "by": data.get("by"),
        }
    if event.kind is EventKind.STOP:
        if event.channel is None and "outcome" in data:  # the session's own end
            return "session_end", {"outcome": data["outcome"]}
        return "stop", {}
    if event.kind is EventKind.MARKER:
        return "marker", {"text": event.message.removeprefix("note: ")}
    if event.kind in _SIMPLE:
        return _SIMPLE[event.kind], {}
    return None


def marker_for(
    event: SessionEvent, plan: SessionPlan, session_id: int | None = None
) -> dict[str, Any] | None:
    """The marker a session event becomes (the module's table), or None when it is not one.

    Args:
        event: the session event.
        plan: the session's plan (the steps' names and modes).
        session_id: the record's id, for ``session_start``.

    Returns:
        The marker's fields (JSON-ready; ``marker`` first), or None.
    """
    found = _classify(event, plan)
    if found is None:
        return None
    name, fields = found
    marker: dict[str, Any] = {
        "marker": name,
        "t_s": event.t_s,
        "channel": event.channel,
        "message": event.message,
    }
    if name == "session_start":
        marker["session_id"] = session_id
    marker |= fields
    uptime = event.data.get("device_uptime_s")
    if isinstance(uptime, int | float):
        marker["device_uptime_s"] = uptime
    return marker


class LslMarkers:
    """An LSL marker outlet fed by one session's events (the module's table and time mapping).

    ::

        session = Session(stim, profile, store=store)
        with LslMarkers(session, "ea-markers") as markers:
            session.run()

    Args:
        session: the session; the outlet subscribes to its events at once (make it before
            ``run()`` to see ``session_start``).
        name: the stream's name (LabRecorder lists streams by it).
        source_id: the stream's unique source id (an inlet recovers a restarted outlet by it);
            default ``eacontrol:<name>``.
        start_lsl_s: the LSL time of the session's start; default ``local_clock() - t_s`` at
            the first event the outlet sees.
        lsl_clock: LSL's clock (default ``pylsl.local_clock``; injected in tests).

    Attributes:
        name: the stream's name.
        source_id: the stream's source id.
        pushed: how many markers it has pushed.

    Raises:
        MissingExtra: pylsl is not installed (``pip install "eacontrol[lsl]"``).
    """

    def __init__(
        self,
        session: Session,
        name: str = DEFAULT_STREAM_NAME,
        *,
        source_id: str | None = None,
        start_lsl_s: float | None = None,
        lsl_clock: Callable[[], float] | None = None,
    ) -> None:
        pylsl = require_pylsl()
        self._session = session
        self._clock: Callable[[], float] = lsl_clock or pylsl.local_clock
        self._start_lsl_s = start_lsl_s
        self.name = name
        self.source_id = source_id or f"eacontrol:{name}"
        info = pylsl.StreamInfo(
            name, STREAM_TYPE, 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, self.source_id
        )
        desc = info.desc()
        desc.append_child_value("manufacturer", "eacontrol")
        desc.append_child_value("profile", session.plan.profile_name)
        desc.append_child_value("markers", ",".join(MARKERS))
        desc.append_child_value(
            "time", "LSL timestamp = LSL time of the session's start + session time t_s"
        )
        self._outlet: Any = pylsl.StreamOutlet(info)
        self._unsubscribe: Callable[[], None] | None = session.subscribe(self.push)
        self.pushed = 0

    @property
    def start_lsl_s(self) -> float | None:
        """The LSL time of the session's start (None until the first event)."""
        return self._start_lsl_s

    def lsl_time(self, t_s: float) -> float:
        """The LSL timestamp of session time ``t_s`` (fixes ``start_lsl_s`` on first use)."""
        if self._start_lsl_s is None:
            self._start_lsl_s = self._clock() - t_s
        return self._start_lsl_s + t_s

    def push(self, event: SessionEvent) -> None:
        """Push the marker of ``event``, if it is one (the session calls this)."""
        marker = marker_for(event, self._session.plan, self._session.session_id)
        if marker is None or self._outlet is None:
            return
        text = json.dumps(marker, ensure_ascii=False)
        self._outlet.push_sample([text], self.lsl_time(event.t_s), True)
        self.pushed += 1

    def wait_for_consumers(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for an inlet to connect; True when one has."""
        if self._outlet is None:
            return False
        return bool(self._outlet.wait_for_consumers(timeout_s))

    def close(self) -> None:
        """Unsubscribe and close the outlet (safe twice)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._outlet = None  # pylsl destroys the outlet when its object goes

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
