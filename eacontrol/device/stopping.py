"""STOP and its confirmation (PROTOCOL.md §3.7): resent until STATUS shows the outputs off.

The ACK of a STOP only says it was accepted; the device's own STATUS is the confirmation. The
host sends STOP, polls STATUS, resends STOP (with a new counter) while it is unacknowledged or a
newer STATUS still shows a masked channel ramping or running, and returns only when a STATUS
that answers a request sent *after* the first STOP is **complete evidence** (``confirms``):

- it comes from the device boot the STOP was sent to (and, like every STATUS the link accepts,
  from this host's session: the link ignores a STATUS carrying another session id);
- it has a record for every channel of the device (``channel_count`` from HELLO_ACK): a short
  STATUS proves nothing about the channels it leaves out;
- every masked channel is inactive with measured current below the zero threshold (the wire
  resolution is 1 µA, so the threshold is "< 1 µA": exactly 0);
- the device's ``OUTPUT_ACTIVE`` flag agrees: clear, or explained by an active channel outside
  the mask.

When the device reboots during the confirmation, every output of the new boot is off by protocol
(§3.11), yet that is a claim about a device the STOP was not sent to: STOP is sent again to the
new boot and only that boot's STATUS, answering a request sent after it, confirms.

Protocol major 2: a session the device closed for good (its lease expired with an output
active) ends with an authenticated closing STATUS, every output off; that STATUS confirms (no
frame can drive an output in a closed session). When the session is gone without one (a reboot,
a lost closing STATUS, NAK NO_SESSION), the STOP and its confirmation go to a new session the
link opens with the same pairing key (``Link.rejoin``, once): only an authenticated STATUS
confirms, never the unauthenticated REBOOT or NO_SESSION that ended the old session. If no
confirmation comes within one lease period after the outputs should have reached zero, it raises
``StopNotConfirmed``: a hard alarm telling the operator to use the device's hardware stop. It
never returns without confirmation.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from eacontrol.device.events import EventHub
from eacontrol.errors import DeviceFault, EAError, StopNotConfirmed
from eacontrol.link import Link
from firmware_protocol import (
    MAX_CHANNELS,
    Ack,
    ChannelState,
    DeviceFlag,
    GetStatus,
    SetProgram,
    Status,
    Stop,
    StopMode,
    units,
)

__all__ = [
    "ZERO_CURRENT_uA",
    "confirm_stop",
    "confirms",
    "guarded_stop",
    "mask_channels",
    "ramp_down_estimate_s",
    "start_overtaken",
]

log = logging.getLogger(__name__)

_STILL_ON = (ChannelState.RAMPING, ChannelState.RUNNING)

ZERO_CURRENT_uA = 1
"""A measured current below this is zero: the wire's resolution is 1 µA (PROTOCOL.md §5.16), so
anything the device can report above 0 counts as current flowing."""


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


def confirms(status: Status, mask: int, channel_count: int, boot_id: int | None) -> bool:
    """True when ``status`` is complete evidence that the channels in ``mask`` are off.

    Args:
        status: a STATUS from the device.
        mask: the stopped channels (wire indices as bits).
        channel_count: the device's channel count from HELLO_ACK.
        boot_id: the boot the STOP was sent to (None: not known, nothing confirms).
    """
    if boot_id is None or status.boot_id != boot_id or len(status.channels) != channel_count:
        return False
    masked = mask_channels(mask)
    if any(n >= channel_count for n in masked):
        return False  # a channel the device does not have cannot be shown off
    if any(
        status.channels[n].state.output_active or status.channels[n].measured_uA >= ZERO_CURRENT_uA
        for n in masked
    ):
        return False
    if status.flags & DeviceFlag.OUTPUT_ACTIVE:
        # The flag says an output is active: only an active channel outside the mask explains it.
        return any(c.state.output_active for n, c in enumerate(status.channels) if n not in masked)
    return True


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
    channel_count = link.channel_count
    try:
        link.check(session=False)
        boot_id = link.boot_id  # the boot this STOP goes to
        first = stop_counter = link.send(stop)
        acked_after = None  # the counter after which a STATUS reflects an accepted STOP
        poll = link.send(GetStatus())
        rejoined = False
        while True:
            status = link.status_after(first)
            if status is not None and confirms(status, mask, channel_count, boot_id):
                link.forget(stop_counter)
                link.forget(poll)
                return status
            closing = link.closing_status
            if closing is not None and confirms(closing, mask, channel_count, boot_id):
                # The device closed the session for good (its lease expired) and said so in an
                # authenticated STATUS with every output off: nothing can drive them again.
                return closing
            now = clock.now()
            if link.session_ended and not rejoined and link.rejoin is not None:
                # The session is gone (a reboot, a closed session whose last STATUS was lost):
                # only a new session can give authenticated evidence. Ask for one, once.
                rejoined = True
                if _rejoined(link):
                    boot_id = link.boot_id
                    first = stop_counter = link.send(stop)
                    poll = link.send(GetStatus())
                    acked_after = None
                    continue
            if link.boot_id != boot_id:
                # The device rebooted meanwhile: stop the new boot too and wait for its word.
                log.warning("the device rebooted during a STOP: sending STOP to the new boot")
                boot_id = link.boot_id
                link.forget(stop_counter)
                first = stop_counter = link.send(stop)
                acked_after = None
                continue
            if stop.mode is StopMode.RAMP_DOWN and escalate is not None and escalate():
                # An emergency stop during the ramp-down: cut the outputs now (§3.7: an
                # IMMEDIATE cuts a running ramp) and confirm within one lease from here.
                log.warning("emergency stop during a ramp-down: cutting the outputs at once")
                stop = Stop(channel_mask=mask, mode=StopMode.IMMEDIATE)
                link.forget(stop_counter)
                first = stop_counter = link.send(stop)
                acked_after = None
                deadline = min(deadline, now + lease_s)
                continue
            if now >= deadline:
                raise _alarm(
                    link, mask, now - started, _describe(status, mask, channel_count, boot_id)
                )
            reply = link.reply_to(stop_counter)
            if reply is not None and isinstance(reply.message, Ack):
                acked_after = stop_counter
            still_on = (
                acked_after is not None
                and (newer := link.status_after(acked_after)) is not None
                and any(newer.channels[n].state in _STILL_ON for n in _masked(newer, mask))
            )
            if still_on or (
                acked_after is None and now >= link.sent_at(stop_counter) + link.reply_timeout_s
            ):
                link.forget(stop_counter)
                stop_counter = link.send(stop)
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


def _rejoined(link: Link) -> bool:
    """``link.rejoin()``; False (logged) when the device refuses or does not answer."""
    assert link.rejoin is not None
    try:
        link.rejoin()
    except EAError as err:
        log.warning("could not open a new session to confirm the stop: %s", err)
        return False
    log.info("opened a new session (boot 0x%08X) to confirm the stop", link.boot_id or 0)
    return True


def start_overtaken(channels: list[int]) -> DeviceFault:
    """The refusal of a START that an emergency stop from another thread overtook."""
    return DeviceFault(
        f"START of channel(s) {channels} refused: an emergency stop was called from another "
        "thread meanwhile; every output is off",
        None,
        ("EMERGENCY_STOP",),
    )


def guarded_stop(
    link: Link,
    hub: EventHub,
    mask: int,
    mode: StopMode,
    ramp_down_s: float,
    escalate: Callable[[], bool] | None,
    emergency: threading.Event,
) -> tuple[Status, Exception | None]:
    """``confirm_stop`` that nothing the application does can abort (issue 14, item 7).

    An exception raised by an event callback of ``hub`` or by ``escalate`` while the STOP is
    confirmed is logged and kept, and the confirmation goes on; the first one is returned with
    the confirming STATUS for the caller to raise (with a note; a nested stop leaves it to the
    outer one). ``emergency`` set (an emergency stop from another thread is waiting) cuts a
    ramp-down at once.

    Raises:
        StopNotConfirmed: as ``confirm_stop`` (noting any callback failure).
    """
    outermost = not hub.deferring_active
    with hub.deferring() as failures:

        def cut_now() -> bool:
            if emergency.is_set():
                return True
            try:
                return escalate is not None and escalate()
            except Exception as err:
                log.exception("escalate() failed during a STOP; the stop goes on")
                failures.append(err)
                return False

        try:
            status = confirm_stop(link, mask, mode, ramp_down_s, cut_now)
        except StopNotConfirmed as err:
            for failure in failures:
                err.add_note(f"a callback also failed during the stop: {failure!r}")
            raise
        raised = failures[0] if outermost and failures else None
    if raised is not None:
        raised.add_note(
            "raised by a callback while a STOP was being confirmed; the stop was completed "
            "first and every stopped output is confirmed off"
        )
    return status, raised


def _describe(status: Status | None, mask: int, channel_count: int, boot_id: int | None) -> str:
    if status is None:
        return "no STATUS answered since the STOP was sent"
    if len(status.channels) != channel_count:
        return (
            f"the last STATUS has {len(status.channels)} channel record(s) of the device's "
            f"{channel_count}: incomplete, it confirms nothing"
        )
    if status.boot_id != boot_id:
        return f"the last STATUS is from another device boot (0x{status.boot_id:08X})"
    states = ", ".join(
        f"ch{n + 1} {status.channels[n].state.name} {status.channels[n].measured_uA} uA"
        for n in _masked(status, mask)
    )
    flag = " (device flag OUTPUT_ACTIVE set)" if status.flags & DeviceFlag.OUTPUT_ACTIVE else ""
    return f"the last STATUS shows {states}{flag}"
