"""The live view's words for the practitioner: channel and session states, events, modes.

The wire's names (``PROGRAMMED``, ``RAMP_DONE``, ``ELECTRODE_FAULT``) stay in the record and in
the ``-v`` log; the treatment room reads what they mean (issue 16 item 7).
"""

from __future__ import annotations

from eacontrol.device import ChannelReport
from eacontrol.records import Outcome
from eacontrol.records.alarm import ALARMS
from eacontrol.records.refused import REFUSED_MARK
from eacontrol.session import EventKind, SessionEvent, SessionState
from eacontrol.stimulation import Stimulation, StimulationMode
from firmware_protocol import ChannelState

__all__ = [
    "LINK_LOST",
    "NOT_CONFIRMED",
    "channel_state",
    "event_text",
    "half_text",
    "mode_text",
    "outcome_text",
    "state_text",
]

LINK_LOST = ALARMS[Outcome.LINK_LOST]
"""A lost link in words (issue 16 item 4's wording, the record's alarm); the wire detail stays
in the record."""

NOT_CONFIRMED = ALARMS[Outcome.STOP_NOT_CONFIRMED]
"""A stop the device did not confirm, in words (the record's alarm)."""

_SESSION = {
    SessionState.READY: "Ready",
    SessionState.PREFLIGHT: "Checking the device",
    SessionState.RUNNING: "Stimulating",
    SessionState.PAUSED: "PAUSED: outputs at zero, timer held (p resumes)",
    SessionState.STOPPING: "Stopping: turning every output down",
    SessionState.ENDED: "ENDED",
}

_OUTCOMES = {
    Outcome.COMPLETED: "treatment complete: every output confirmed at zero",
    Outcome.STOPPED: "stopped: every output confirmed at zero",
    Outcome.EMERGENCY_STOP: "emergency stop: every output cut and confirmed at zero",
    # The host could not stop these (ending.py): only the device's own lease or button can.
    Outcome.LINK_LOST: LINK_LOST,
    Outcome.STOP_NOT_CONFIRMED: NOT_CONFIRMED,
}


def state_text(state: SessionState) -> str:
    """The session's state in words."""
    return _SESSION[state]


def outcome_text(outcome: Outcome, detail: str) -> str:
    """How the session ended, in words (the final view's message line)."""
    return _OUTCOMES.get(outcome, f"{outcome.value.replace('_', ' ')}: {detail}")


def channel_state(report: ChannelReport) -> str:
    """One word for a channel's output as the device reports it."""
    state = report.state
    if state is ChannelState.RAMPING:
        return "rising" if report.set_mA < report.target_mA else "lowering"
    return {
        ChannelState.IDLE: "off",
        ChannelState.PROGRAMMED: "off",
        ChannelState.RUNNING: "on",
        ChannelState.STOPPING: "lowering",
        ChannelState.FAULT: "FAULT",
    }.get(state, state.name.lower())


def mode_text(stimulation: Stimulation) -> str:
    """The waveform as a practitioner names it: ``2 Hz``, ``2/100 Hz dense-disperse``."""
    f_a = f"{stimulation.frequency_hz:g}"
    if stimulation.mode is StimulationMode.DENSE_DISPERSE:
        return f"{f_a}/{stimulation.frequency_b_hz or 0:g} Hz dense-disperse"
    if stimulation.mode is StimulationMode.INTERMITTENT:
        return f"{f_a} Hz {stimulation.on_s or 0:g} s on/{stimulation.off_s or 0:g} s off"
    return f"{f_a} Hz continuous"


def half_text(stimulation: Stimulation, report: ChannelReport | None) -> str:
    """What the channel delivers now, from the device's reported rate: ``dense 100 Hz`` or
    ``disperse 2 Hz`` for a dense-disperse program (dense is the higher rate, 密), the rate
    otherwise, ``-`` while it delivers nothing."""
    if report is None or report.frequency_hz <= 0:
        return "-"
    rate = f"{report.frequency_hz:g} Hz"
    if stimulation.mode is not StimulationMode.DENSE_DISPERSE:
        return rate
    dense_hz = max(stimulation.frequency_hz, stimulation.frequency_b_hz or 0)
    return f"{'dense' if abs(report.frequency_hz - dense_hz) < 1e-6 else 'disperse'} {rate}"


def _where(event: SessionEvent) -> str:
    return "the device" if event.channel is None else f"channel {event.channel}"


def _mA(event: SessionEvent, scale: float = 1000.0) -> str:
    detail = event.data.get("detail")
    return f"{detail / scale:g} mA" if isinstance(detail, int | float) else "?"


def event_text(event: SessionEvent, paused: bool) -> str:
    """One line of the event log in words, with its session time (``03:12``).

    Args:
        event: the session event.
        paused: the session is paused or pausing (a channel stopping is the pause's doing).
    """
    code = event.data.get("code") if event.kind is not EventKind.INTENSITY else None
    where = _where(event)
    words = (
        {
            "RAMP_DONE": f"{where} reached {_mA(event)}",
            "STOPPED": f"{where} paused: output at zero" if paused else f"{where} output at zero",
            "ELECTRODE_FAULT": f"{where}: electrode open or loose: check the needle and its clip",
            "COMPLIANCE": f"{where} could only drive {_mA(event)}: resistance too high",
            "LEASE_EXPIRED": "the device stopped its outputs: the link to this computer timed out",
            "BUTTON_STOP": "the stop button on the device was pressed",
            "STUCK_OUTPUT": f"{where}: output did not turn off: use the device's own stop",
            "REBOOT": "the device restarted: its outputs are off",
            "MAX_RUN_TIME": "the device's own shut-off timer ended the output",
        }.get(str(code))
        if isinstance(code, str)
        else None
    )
    if event.kind is EventKind.LINK:
        words = LINK_LOST
    ended = "session ended ("
    if event.kind is EventKind.STOP and event.message.startswith(ended):
        value, _, detail = event.message[len(ended) :].partition("): ")
        if value in Outcome.__members__.values():
            words = f"session ended: {outcome_text(Outcome(value), detail)}"
    if words is None and event.kind is EventKind.INTENSITY and "to_mA" in event.data:
        words = (
            f"{where}: rising to {event.data['to_mA']:g} mA (prescribed ramp)"
            if event.data.get("by") == "prescription"
            else None
        )
    if words is None:
        words = event.message
        for mode in StimulationMode:  # "dense_disperse" as the practitioner writes it
            words = words.replace(mode.value, mode.value.replace("_", "-"))
        if event.kind is EventKind.WARNING and REFUSED_MARK in words:
            words = f"{where}: change refused"
    minutes, seconds = divmod(max(int(event.t_s), 0), 60)
    return f"{minutes:02d}:{seconds:02d}  {words}"
