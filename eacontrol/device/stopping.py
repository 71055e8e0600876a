"""STOP and its confirmation (PROTOCOL.md §3.6): resent until STATUS shows the outputs off.

The ACK of a STOP only says it was accepted; the device's own STATUS is the confirmation. The
host sends STOP, polls STATUS, resends STOP (with a new seq) while it is unacknowledged or a
newer STATUS still shows a masked channel ramping or running, and returns only when a STATUS
that answers a request sent *after* the first STOP shows every masked channel inactive with zero
measured current. If none comes within one lease period after the outputs should have reached
zero, it raises ``StopNotConfirmed``: a hard alarm telling the operator to use the device's
hardware stop. It never returns without confirmation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from eacontrol.errors import EAError, StopNotConfirmed
from eacontrol.link import Link
from firmware_protocol import (
    MAX_CHANNELS,
    Ack,
    ChannelState,
    GetStatus,
    SetProgram,
    Status,
    Stop,
    StopMode,
    units,
)

__all__ = ["confirm_stop", "mask_channels", "ramp_down_estimate_s"]

log = logging.getLogger(__name__)

_STILL_ON = (ChannelState.RAMPING, ChannelState.RUNNING)


def mask_channels(mask: int) -> list[int]:
    """Return the wire indices (from 0) whose bits are set in ``mask``."""
    return [n for n in range(MAX_CHANNELS) if mask >> n & 1]


def ramp_down_estimate_s(program: SetProgram, latest: Status | None) -> float:
    """How long a ramp-down STOP of ``program``'s channel takes, from the latest STATUS.

    The device ramps from the set value now at the program's rate (ramp_down over the target),
    so a set value raised above the program's target takes proportionally longer.
    """
    scale = 1.0
    channel = program.channel
    if latest is not None and program.target_uA and channel < len(latest.channels):
        scale = max(1.0, latest.channels[channel].set_uA / program.target_uA)
    return units.ms_to_s(program.ramp_down_ms) * scale


def _masked(status: Status, mask: int) -> list[int]:
    return [n for n in mask_channels(mask) if n < len(status.channels)]


def _confirmed(status: Status, mask: int) -> bool:
    return all(
        not status.channels[n].state.output_active and status.channels[n].measured_uA == 0
        for n in _masked(status, mask)
    )


def _alarm(link: Link, mask: int, waited_s: float, reason: str) -> StopNotConfirmed:
    channels = [n + 1 for n in mask_channels(mask)]
    return StopNotConfirmed(
        f"STOP of channel(s) {channels} NOT CONFIRMED after {waited_s:.3f} s: "
        f"{reason}. PRESS THE DEVICE'S HARDWARE STOP BUTTON or disconnect the electrodes.",
        channels=channels,
        frames=link.frame_log.format(16),
    )


def confirm_stop(
    link: Link,
    mask: int,
    mode: StopMode,
    ramp_down_s: float,
    escalate: Callable[[], bool] | None = None,
) -> Status:
    """Stop the channels in ``mask`` and wait for a STATUS that shows them off.

    Args:
        link: the link (its session may have ended by reboot: STOP and GET_STATUS work in any
            session).
        mask: channel mask.
        mode: ramp-down or immediate.
        ramp_down_s: how long the outputs may take to reach zero (0 for immediate).
        escalate: during a ramp-down, asked on every wait; when it returns True (an emergency
            stop was asked for) the STOP becomes IMMEDIATE at once, never after the ramp.

    Returns:
        The confirming STATUS.

    Raises:
        StopNotConfirmed: no confirming STATUS within ``ramp_down_s`` + one lease, or the link
            failed (the cause is chained).
    """
    clock = link.clock
    started = clock.now()
    lease_s = link.lease_s or 0.0
    deadline = started + ramp_down_s + lease_s
    stop = Stop(channel_mask=mask, mode=mode)
    try:
        link.check(session=False)
        first = stop_seq = link.send(stop)
        acked_after = None  # the seq after which a STATUS reflects an accepted STOP
        poll = link.send(GetStatus())
        while True:
            status = link.status_after(first)
            if status is not None and _confirmed(status, mask):
                link.forget(stop_seq)
                link.forget(poll)
                return status
            now = clock.now()
            if stop.mode is StopMode.RAMP_DOWN and escalate is not None and escalate():
                # An emergency stop during the ramp-down: cut the outputs now (§3.6: an
                # IMMEDIATE cuts a running ramp) and confirm within one lease from here.
                log.warning("emergency stop during a ramp-down: cutting the outputs at once")
                stop = Stop(channel_mask=mask, mode=StopMode.IMMEDIATE)
                link.forget(stop_seq)
                first = stop_seq = link.send(stop)
                acked_after = None
                deadline = min(deadline, now + lease_s)
                continue
            if now >= deadline:
                raise _alarm(link, mask, now - started, _describe(status, mask))
            reply = link.reply_to(stop_seq)
            if reply is not None and isinstance(reply.message, Ack):
                acked_after = stop_seq
            still_on = (
                acked_after is not None
                and (newer := link.status_after(acked_after)) is not None
                and any(newer.channels[n].state in _STILL_ON for n in _masked(newer, mask))
            )
            if still_on or (
                acked_after is None and now >= link.sent_at(stop_seq) + link.reply_timeout_s
            ):
                link.forget(stop_seq)
                stop_seq = link.send(stop)
                acked_after = None
            if now >= link.sent_at(poll) + link.reply_timeout_s:
                link.forget(poll)
                poll = link.send(GetStatus())
            link.keep_alive()
            link.pump_until(min(deadline, now + link.reply_timeout_s))
    except StopNotConfirmed:
        raise
    except EAError as err:
        raise _alarm(link, mask, clock.now() - started, f"the link failed ({err})") from err


def _describe(status: Status | None, mask: int) -> str:
    if status is None:
        return "no STATUS answered since the STOP was sent"
    states = ", ".join(
        f"ch{n + 1} {status.channels[n].state.name} {status.channels[n].measured_uA} uA"
        for n in _masked(status, mask)
    )
    return f"the last STATUS shows {states}"
