"""The alarm a session's record carries when its outputs were not confirmed off at its end.

A lost link or a stop the device did not confirm leaves the outputs in a state nothing
confirmed: the device's own lease is meant to stop them. The record says so in plain words, as
an ``alarm`` event at the session's end (:meth:`RecordStore.end_session
<eacontrol.records.store.RecordStore.end_session>` adds it), and the report shows it above
everything else (issue 16 item 4). The wire detail stays in the session's ``detail`` and in
the ``link`` and ``stop`` events.
"""

from __future__ import annotations

from eacontrol.records.model import Outcome

__all__ = ["ALARMS", "ALARM_KIND", "INTRUSION_KIND", "alarm_text"]

ALARM_KIND = "alarm"
"""The event kind of the alarm."""

INTRUSION_KIND = "intrusion"
"""The event kind of frames the device refused as not the paired host's (a forged tag, a
replay: ``eacontrol.session.intrusion``); the report shows them above everything else."""

ALARMS = {
    Outcome.LINK_LOST: (
        "connection to the device lost — outputs not confirmed off — use the device's own stop"
    ),
    Outcome.STOP_NOT_CONFIRMED: (
        "the device did not confirm the stop — outputs not confirmed off — use the device's own "
        "stop"
    ),
}
"""The endings that leave the outputs not confirmed off (``INTERRUPTED`` less ``aborted``, whose
process ended without a word on the outputs), each with its alarm in plain words."""


def alarm_text(outcome: Outcome | str) -> str:
    """The alarm of an ending, in plain words; "" for an ending that confirmed the outputs off.

    Args:
        outcome: how the session ended (an ``Outcome`` or its value, as in a saved report).
    """
    try:
        return ALARMS.get(Outcome(outcome), "")
    except ValueError:  # an outcome a newer eacontrol wrote
        return ""
