"""Issue 14, item 1: a STOP is confirmed only by complete evidence from the stopped session.

A scripted two-channel device (``conftest.FakeDevice``) answers every STATUS request after the
STOP with a crafted STATUS: a short channel tuple, the OUTPUT_ACTIVE flag set, another boot, or
another session. Each must be refused (``StopNotConfirmed`` after one lease; a frame of another
session is a link fault since protocol major 2, refused at once); a complete STATUS of the
stopped boot and session confirms. Virtual time, no randomness.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eacontrol.errors import LinkFault, StopNotConfirmed
from firmware_protocol import (
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Fault,
    Frame,
    Message,
    MsgType,
    Status,
)

from .conftest import Scripted

IDLE = ChannelStatus(ChannelState.PROGRAMMED, Fault.NONE, 2000, 0, 0, 1000, 0)
RUNNING = ChannelStatus(ChannelState.RUNNING, Fault.NONE, 2000, 2000, 2000, 1000, 200)
OTHER_BOOT = 0xB0070002


def _after_stop(
    scripted: Scripted, crafted: Callable[[], Status], *, session_id: int | None = None
) -> None:
    """Once the device has seen a STOP, answer every STATUS request with a fresh ``crafted()``
    (in the frame header's ``session_id`` when given); before it, channel 2 runs."""
    device, port = scripted.device, scripted.port
    device.channel_states = {1: RUNNING}

    def answer(frame: Frame) -> list[Message] | None:
        if not port.sent(MsgType.STOP):
            return None  # the device's own STATUS: channel 2 running
        if session_id is None:
            return [crafted()]
        port.inject(device.frame(crafted(), frame.header.counter, session_id=session_id), 0.002)
        return []

    device.handlers[MsgType.GET_STATUS] = answer
    device.handlers[MsgType.HEARTBEAT] = answer


def _refused(scripted: Scripted, crafted: Callable[[], Status], **kwargs: int) -> StopNotConfirmed:
    stim = scripted.connect()
    _after_stop(scripted, crafted, **kwargs)
    with pytest.raises(StopNotConfirmed, match="HARDWARE STOP") as info:
        stim.stop(immediate=True)
    # Refused for one lease, not at once: the host kept polling for real evidence.
    assert len(scripted.port.sent(MsgType.GET_STATUS)) > 3
    return info.value


def test_i14_01_short_status_does_not_confirm_the_stop(scripted: Scripted) -> None:
    def short() -> Status:  # one record from a two-channel device
        return scripted.device.status(channels=(IDLE,))

    err = _refused(scripted, short)
    assert "1 channel record(s) of the device's 2" in str(err)


def test_i14_01_output_active_flag_does_not_confirm_the_stop(scripted: Scripted) -> None:
    flags = DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID | DeviceFlag.OUTPUT_ACTIVE
    err = _refused(scripted, lambda: scripted.device.status(channels=(IDLE, IDLE), flags=flags))
    assert "OUTPUT_ACTIVE" in str(err)


def test_i14_01_measured_current_does_not_confirm_the_stop(scripted: Scripted) -> None:
    leaking = ChannelStatus(ChannelState.PROGRAMMED, Fault.NONE, 2000, 0, 1, 1000, 0)
    err = _refused(scripted, lambda: scripted.device.status(channels=(IDLE, leaking)))
    assert "ch2 PROGRAMMED 1 uA" in str(err)


def test_i14_01_status_of_another_boot_does_not_confirm_the_stop(scripted: Scripted) -> None:
    # One STATUS of another boot showing everything off, then the device's own (still running).
    device, port = scripted.device, scripted.port
    stim = scripted.connect()
    device.channel_states = {1: RUNNING}
    sent: list[int] = []

    def answer(frame: Frame) -> list[Message] | None:
        if port.sent(MsgType.STOP) and not sent:
            sent.append(frame.header.counter)
            return [device.status(channels=(IDLE, IDLE), boot_id=OTHER_BOOT)]
        return None

    device.handlers[MsgType.GET_STATUS] = answer
    with pytest.raises(StopNotConfirmed):
        stim.stop(immediate=True)
    assert sent  # the foreign STATUS was delivered and did not confirm


def test_i14_01_status_of_another_session_does_not_confirm_the_stop(scripted: Scripted) -> None:
    stim = scripted.connect()
    _after_stop(scripted, lambda: scripted.device.status(channels=(IDLE, IDLE)), session_id=0x0BAD)
    with pytest.raises(StopNotConfirmed, match="HARDWARE STOP") as info:
        stim.stop(immediate=True)
    assert isinstance(info.value.__cause__, LinkFault)  # major 2: a link fault, at once


def test_i14_01_complete_status_of_the_stopped_session_confirms(scripted: Scripted) -> None:
    stim = scripted.connect()
    _after_stop(scripted, lambda: scripted.device.status(channels=(IDLE, IDLE)))
    status = stim.stop(immediate=True)
    assert status.outputs_off() and not status.output_active
    assert len(status.channels) == 2


def test_i14_01_partial_stop_confirms_while_another_channel_runs(scripted: Scripted) -> None:
    # Stopping channel 1 alone: OUTPUT_ACTIVE stays set, explained by channel 2 still running.
    flags = DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID | DeviceFlag.OUTPUT_ACTIVE
    stim = scripted.connect()
    _after_stop(scripted, lambda: scripted.device.status(channels=(IDLE, RUNNING), flags=flags))
    assert stim.stop(1, immediate=True).outputs_off([1])


def test_i14_01_reboot_during_the_stop_is_confirmed_by_the_new_boot(scripted: Scripted) -> None:
    # A genuine reboot: from the STOP on, every STATUS is the new boot's, all off. The host
    # sends STOP again to the new boot and confirms with a STATUS answering a later request.
    device, port = scripted.device, scripted.port
    stim = scripted.connect()
    device.channel_states = {1: RUNNING}
    stops_before: list[int] = []

    def answer(frame: Frame) -> list[Message] | None:
        if not port.sent(MsgType.STOP):
            return None
        if not stops_before:
            stops_before.append(len(port.sent(MsgType.STOP)))
        return [device.status(channels=(IDLE, IDLE), boot_id=OTHER_BOOT, flags=DeviceFlag.NONE)]

    device.handlers[MsgType.GET_STATUS] = answer
    device.handlers[MsgType.HEARTBEAT] = answer
    status = stim.stop(immediate=True)
    assert status.boot_id == OTHER_BOOT and status.outputs_off()
    assert len(port.sent(MsgType.STOP)) > stops_before[0]  # STOP was sent to the new boot
