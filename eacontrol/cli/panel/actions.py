"""Each command of the page as the Session call ``eactl run``'s key makes (no logic of its own).

=================== ======================================================= ==============
page                session call                                            ``eactl run``
=================== ======================================================= ==============
``raise`` (ch)      ``adjust(ch, +0.5)``; refused within 1 s: "wait 0.6 s"  ↑ / +
``lower`` (ch)      ``adjust(ch, -min(0.5, target))``: never below zero     ↓ / -
``mark`` (ch)       ``mark_threshold`` in a threshold step, else            t
                    ``mark_treatment``
``resume_channel``  ``resume_channel(ch)`` (a held channel, re-clipped)     r
``zero_all``        ``set_intensity(ch, 0)`` for every channel above zero   z
``pause``/``resume`` ``pause()`` / ``resume()``                             p
``note`` (text)     ``note(text)``: a time-stamped annotation (the record)  n, Enter
``end``             ``stop()``: every output ramped down, confirmed         s
``stop``            ``emergency_stop()``: cut at once, confirmed            Esc / space
=================== ======================================================= ==============

Called only in the session loop's thread (``run.PanelRun.tick``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from eacontrol.cli.console import STEP_mA, mark_level
from eacontrol.cli.table import duration_text
from eacontrol.errors import ParameterError, SessionError

if TYPE_CHECKING:
    from eacontrol.session import Session

__all__ = ["ACTIONS", "CHANNEL_ACTIONS", "act"]

ACTIONS = (
    "raise",
    "lower",
    "mark",
    "resume_channel",
    "zero_all",
    "pause",
    "resume",
    "note",
    "end",
    "stop",
)
"""What a controlling page may ask of a running session (``end``: ``Session.stop``, a ramp-down;
``stop``: ``Session.emergency_stop``; ``note``: ``Session.note``, a note or the patient's
response in words, as ``eactl run``'s ``n`` records it)."""

CHANNEL_ACTIONS = frozenset({"raise", "lower", "mark", "resume_channel"})
"""The actions that name a channel."""


def act(session: Session, action: str, channel: int | None, text: str = "") -> str:
    """Carry out one page command on ``session`` (the loop's thread); returns it in words.
    ``text``: what a ``note`` records.

    Raises:
        SessionError / ParameterError: the session refused it (as it refuses a key).
    """
    from eacontrol.session import SessionState

    if action == "pause":
        session.pause()
        return "pausing: ramping down, the step's timer held"
    if action == "resume":
        session.resume()
        return "resuming: re-ramping from zero"
    if action == "note":  # paused too, as the terminal's n; not once the session has ended
        return f"note recorded at {duration_text(session.note(text))}"
    if action == "end":
        session.stop()
        return "ending: ramping every output down"
    if action == "resume_channel":
        assert channel is not None
        session.resume_channel(channel)
        return f"channel {channel}: device self-test, then restarting from zero"
    if action == "mark":
        assert channel is not None
        return mark_level(session, channel)
    if session.state is not SessionState.RUNNING:
        raise SessionError(f"cannot change an intensity: the session is {session.state.value}")
    targets = session.progress().targets
    if action == "zero_all":
        for n, target in sorted(targets.items()):
            if target > 0:
                session.set_intensity(n, 0.0)
        return "every channel: to zero at once"
    assert channel is not None
    target = targets.get(channel, 0.0)
    if action == "lower":
        if target <= 0:
            return f"channel {channel} is already at zero"
        session.adjust(channel, -min(STEP_mA, target))  # never below zero
    else:
        try:
            session.adjust(channel, STEP_mA)
        except ParameterError:
            wait_s = session.increase_wait_s(channel)
            if wait_s <= 0:
                raise
            wait_s = math.ceil(wait_s * 10) / 10  # one step a second: say how long
            raise SessionError(
                f"wait {wait_s:.1f} s to raise channel {channel} again (lowering never waits)"
            ) from None
    return f"channel {channel}: target {session.progress().targets.get(channel, 0.0):g} mA"
