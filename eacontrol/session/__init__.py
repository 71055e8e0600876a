"""The session runner: a profile's timeline on a Stimulator, with live control and a record.

::

    from eacontrol.device import connect
    from eacontrol.profiles import load_profile
    from eacontrol.records import RecordStore
    from eacontrol.session import Session

    with connect(port) as stim, RecordStore.open() as store:
        result = Session(stim, load_profile("lbp_2hz"), store=store).run()

A script driving the ``Stimulator`` itself is recorded with ``with recorded(stim, store,
sites=...)`` (``script.py``, docs/scripting.md "Recording a script").

``docs/session.md`` describes pre-flight, the timeline, live control, events and every way a
session ends.
"""

from eacontrol.session.control import Intent, LiveControl, Request
from eacontrol.session.ending import (
    Ending,
    SessionResult,
    StopKind,
    ending_for,
    fault_text,
    is_channel_local,
    stop_outputs,
)
from eacontrol.session.events import (
    EventKind,
    SessionEvent,
    SessionListener,
    Subscribers,
    from_device_event,
)
from eacontrol.session.plan import (
    Ceiling,
    PlannedChannel,
    PlannedStep,
    SessionPlan,
    effective_ceiling,
)
from eacontrol.session.preflight import Identity, preflight, session_meta
from eacontrol.session.prescription import build_prescription, patient_flags, profile_sha256
from eacontrol.session.recorder import SessionRecorder
from eacontrol.session.runner import Session, Tick
from eacontrol.session.script import ScriptRecord, recorded
from eacontrol.session.state import Progress, SessionState, StepTimer
from eacontrol.session.steps import Emit, StepRunner

__all__ = [
    "Ceiling",
    "Emit",
    "Ending",
    "EventKind",
    "Identity",
    "Intent",
    "LiveControl",
    "PlannedChannel",
    "PlannedStep",
    "Progress",
    "Request",
    "ScriptRecord",
    "Session",
    "SessionEvent",
    "SessionListener",
    "SessionPlan",
    "SessionRecorder",
    "SessionResult",
    "SessionState",
    "StepRunner",
    "StepTimer",
    "StopKind",
    "Subscribers",
    "Tick",
    "build_prescription",
    "effective_ceiling",
    "ending_for",
    "fault_text",
    "from_device_event",
    "is_channel_local",
    "patient_flags",
    "preflight",
    "profile_sha256",
    "recorded",
    "session_meta",
    "stop_outputs",
]
