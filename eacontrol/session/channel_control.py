"""The session's controls for titration, held channels and notes (mixed into ``Session``).

- :meth:`ChannelControls.mark_treatment`: the channel's level now is its treatment intensity
  (``treatment.py``); the live view's ``t`` key.
- :meth:`ChannelControls.mark_threshold`: in a threshold step, the channel's level now is its
  sensory or motor threshold (``thresholds.py``); the ``t`` key there.
- :meth:`ChannelControls.resume_channel`: a channel held at zero by a fault of its load, its
  lead re-clipped, restarts from zero with its ramp (``holding.py``); the ``r`` key.
- :meth:`ChannelControls.note`: a note or the patient's response (de qi, twitch, comfort),
  recorded at once as the session's annotation, the record ``eactl annotate`` adds to (one
  home for notes), and published as a ``marker`` event; the ``n`` key, or a script's
  ``session.note("needles checked")`` at any time of a session.

Like every live control these are requests checked when made and carried out by the session
loop (``control.py``), called from ``on_tick`` or a subscriber in the loop's thread.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eacontrol.errors import Layer, ParameterError, SessionError
from eacontrol.profiles.titration import IntensityMode, ThresholdKind
from eacontrol.records import Annotation, AnnotationKind
from eacontrol.session.control import Intent, LiveControl, Request
from eacontrol.session.events import EventKind
from eacontrol.session.recorder import SessionRecorder
from eacontrol.session.state import Progress, SessionState

__all__ = ["ChannelControls"]


class ChannelControls:
    """Titration, held channels and notes; ``Session`` provides the state they use."""

    _control: LiveControl
    _recorder: SessionRecorder | None
    _relay_due_s = 0.0  # the next look for annotations added elsewhere, session time

    @property
    def state(self) -> SessionState:  # pragma: no cover - Session's
        raise NotImplementedError

    @property
    def t_s(self) -> float:  # pragma: no cover - Session's
        raise NotImplementedError

    def _require(self, states: set[SessionState], action: str) -> float:  # pragma: no cover
        raise NotImplementedError

    def progress(self) -> Progress:  # pragma: no cover - Session's
        raise NotImplementedError

    def _emit(
        self, kind: EventKind, channel: object, message: str, data: dict[str, Any]
    ) -> None:  # pragma: no cover - Session's
        raise NotImplementedError

    def mark_treatment(self, channel: int) -> float:
        """Mark ``channel``'s live target as its treatment intensity in the running step (the
        sensation the profile names is reached); the last mark of a step counts.

        Returns:
            The intensity marked, mA.

        Raises:
            SessionError: no step is stimulating; the channel is held by a fault or at zero.
            ParameterError: the running step does not drive the channel.
        """
        t = self._require({SessionState.RUNNING}, "mark a treatment intensity")
        self._control.ceiling(channel)  # a channel of the running step
        if channel in self._control.held:
            raise SessionError(f"channel {channel} is held at zero by a fault: resume it first")
        target = self._control.targets[channel]
        if target <= 0:
            raise SessionError(
                f"channel {channel} is at zero: raise it to the sensation first, then mark it"
            )
        self._control.request(Request(Intent.MARK_TREATMENT, t, channel, target))
        self._emit(
            EventKind.TREATMENT,
            channel,
            f"channel {channel}: {target:g} mA marked as the treatment intensity",
            {"marked_mA": target},
        )
        return target

    def mark_threshold(self, channel: int, kind: ThresholdKind | str | None = None) -> float:
        """Mark ``channel``'s live target as its ``kind`` threshold (``sensory`` or ``motor``;
        None: the next not yet marked, sensory first) in a running threshold step. Recorded at
        once; a later relative step is set from the last mark of the session.

        Returns:
            The intensity marked, mA.

        Raises:
            SessionError: no threshold step is stimulating the channel; the channel is held by
                a fault or at zero; a motor threshold below the sensory one.
            ParameterError: the running step does not drive the channel; an unknown kind.
        """
        self._require({SessionState.RUNNING}, "mark a threshold")
        self._control.ceiling(channel)  # a channel of the running step
        now = self.progress()
        step = now.step
        assert step is not None  # running
        if step.channel(channel).setting is not IntensityMode.THRESHOLD:
            raise SessionError(
                f"step {step.index + 1} ({step.name}) is not a threshold step: thresholds are "
                'marked in a step with intensity = "threshold"'
            )
        if channel in self._control.held:
            raise SessionError(f"channel {channel} is held at zero by a fault: resume it first")
        thresholds = self._control.thresholds
        found = thresholds.next_kind(channel) if kind is None else _kind(kind)
        target = self._control.targets[channel]
        thresholds.mark(channel, found, target)
        self._emit(
            EventKind.THRESHOLD,
            channel,
            f"channel {channel}: {found} threshold {target:g} mA",
            {
                "threshold": found.value,
                "intensity_mA": target,
                "step_index": step.index,
                "at_step_s": now.step_elapsed_s,
            },
        )
        return target

    def resume_channel(self, channel: int) -> None:
        """Restart a channel held by a fault of its load, once its lead is re-clipped: the
        device self-tests its output stage (CLEAR_FAULT), then it STARTs from zero with its
        ramp, to its prescription or its titration's start level.

        Raises:
            SessionError: no step is stimulating, or the channel is not held.
        """
        t = self._require({SessionState.RUNNING}, "resume a channel")
        held = self._control.held
        if channel not in held:
            listed = ", ".join(str(n) for n in sorted(held)) or "none"
            raise SessionError(
                f"channel {channel} is not held by a fault (held channels: {listed})"
            )
        if channel not in self._control.targets:
            raise SessionError(f"channel {channel} is not driven by the running step")
        self._control.request(Request(Intent.RESUME_CHANNEL, t, channel))

    def note(self, text: str) -> int:
        """Record a note or the patient's response now, as a time-stamped annotation.

        Returns:
            The session time it was recorded at, rounded down to whole seconds.

        Raises:
            SessionError: the record has not begun, or the session has ended (use ``eactl
                annotate`` after the session).
            ParameterError: empty or overlong text.
        """
        if self._recorder is None or self.state is SessionState.ENDED:
            raise SessionError(
                f"cannot add a note: the session is {self.state.value} (after the session: "
                "eactl annotate)"
            )
        t = self.t_s
        annotation = Annotation(
            kind=AnnotationKind.NOTE,
            added_at=self._recorder.started_at() + timedelta(seconds=t),
            t_s=t,
            note=text,
        )
        self._recorder.annotation(annotation)
        # ... and a marker in the event stream, at the same session time, for subscribers (a
        # lab's event outlet, an exported timeline) that read events, not annotations.
        self._emit(EventKind.MARKER, None, f"note: {annotation.note}", {"annotation": "note"})
        return int(t)

    def _relay_annotations(self) -> None:
        """Publish the annotations another program added as ``marker`` events (each once, at
        the session time it was found), at most every :data:`RELAY_PERIOD_s`."""
        if self._recorder is None or self.t_s < self._relay_due_s:
            return
        self._relay_due_s = self.t_s + RELAY_PERIOD_s
        for a in self._recorder.added_elsewhere():
            what = f"{a.severity} {a.event}" if a.kind is AnnotationKind.ADVERSE_EVENT else a.note
            words = what or (a.response.value if a.response is not None else "")
            self._emit(
                EventKind.MARKER,
                None,
                f"{a.kind.value.replace('_', ' ')} added from another program: {words}",
                {"annotation": a.kind.value, "annotation_id": a.id, "elsewhere": True},
            )


RELAY_PERIOD_s = 1.0
"""Design value: how often a running session looks for annotations another program added
(``eactl annotate`` from another terminal), to publish each as a ``marker`` event: the default
flush period of the record, so a note typed elsewhere reaches the event stream (an LSL outlet,
the live view) within about a second, and the database is read once a second at most."""


def _kind(kind: ThresholdKind | str) -> ThresholdKind:
    """A threshold kind given as text or enum.

    Raises:
        ParameterError: not ``sensory`` or ``motor``.
    """
    try:
        return ThresholdKind(kind)
    except ValueError:
        allowed = " or ".join(k.value for k in ThresholdKind)
        raise ParameterError("kind", kind, allowed, Layer.SCHEMA) from None
