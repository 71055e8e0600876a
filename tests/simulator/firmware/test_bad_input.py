"""Bad input never crashes the device and never moves an output except toward safe.

Garbage, truncated and oversize frames are counted and ignored; well-formed commands with
arbitrary field values are answered exactly once, and a refused one changes nothing. The
device is running a program on two channels while it is fed, so "nothing changed" is a
statement about live outputs, not about an idle device.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_strategies import struct_of
from tiers import examples

from firmware_protocol import (
    MESSAGE_TYPES,
    Ack,
    ChannelStatus,
    KeyKind,
    Message,
    MsgType,
    Nak,
    NakCode,
    cobs_encode,
)
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000


def running_host(raw_host_type: type[RawHost], make_program: ProgramFactory) -> RawHost:
    """A device 1.5 s into a run on channels 0 and 3, with its raw host."""
    host = raw_host_type(Device(DeviceModel(), rng=np.random.default_rng(11)))
    host.hello()
    crc0 = host.program(make_program(channel=0))
    crc3 = host.program(make_program(channel=3, freq_a_cHz=10_000, phase_a_us=200))
    assert isinstance(host.start(ch0=crc0, ch3=crc3), Ack)
    host.run_with_heartbeats(1500 * MS)
    host.take_events()
    return host


def outputs(host: RawHost) -> tuple[ChannelStatus, ...]:
    return host.device.status().channels


garbage = st.lists(
    st.one_of(
        st.binary(max_size=400),
        st.binary(min_size=1, max_size=40).map(lambda b: cobs_encode(b) + b"\x00"),
    ),
    max_size=12,
)


@settings(max_examples=examples(150), deadline=None, derandomize=True)
@given(chunks=garbage)
def test_garbage_is_counted_and_changes_no_output(
    raw_host_type: type[RawHost], make_program: ProgramFactory, chunks: list[bytes]
) -> None:
    host = running_host(raw_host_type, make_program)
    before = outputs(host)
    replies = []
    for chunk in chunks:
        replies += host.send(chunk)
    host.send(b"\x00")  # end whatever partial frame the garbage left
    assert outputs(host) == before
    # anything answered is a NAK of a frame whose CRC happened to verify (checks 7-9)
    assert all(isinstance(reply.message, Nak) for reply in replies)
    host.heartbeat()
    assert host.device.channel_state(0) == before[0].state


host_to_device = st.sampled_from([t for t in MESSAGE_TYPES if not t.from_device]).flatmap(
    lambda t: struct_of(MESSAGE_TYPES[t])
)


@settings(max_examples=examples(300), deadline=None, derandomize=True)
@given(
    message=host_to_device,
    session=st.sampled_from(["open", "none", "other"]),
    step=st.integers(0, 1 << 20),
)
def test_arbitrary_commands_are_answered_once_and_refusals_change_nothing(
    raw_host_type: type[RawHost],
    make_program: ProgramFactory,
    message: Message,
    session: str,
    step: int,
) -> None:
    host = running_host(raw_host_type, make_program)
    before = outputs(host)
    session_id = {"open": host.session_id, "none": 0, "other": host.session_id ^ 0x1234}[session]
    counter = host.counter + step  # any new counter (a used one is a replay: test_i13_*)
    replies = host.send(host.frame(message, session_id=session_id, counter=counter))
    assert len(replies) == 1
    assert replies[0].header.ref_counter == counter
    reply = replies[0].message
    after = outputs(host)
    if session != "open":  # refused before its tag is even looked at, in no session's key
        assert isinstance(reply, Nak) and reply.code == NakCode.NO_SESSION
        assert replies[0].header.key == KeyKind.NONE
        assert replies[0].header.session_id == session_id  # the id refused, nothing more
    if isinstance(reply, Nak):
        assert after == before
    elif not isinstance(reply, Ack) or reply.acked_type not in (
        MsgType.START,
        MsgType.SET_INTENSITY,
    ):
        # anything else accepted may stop or clear, never raise an output
        for old, new in zip(before, after, strict=True):
            assert new.set_uA <= old.set_uA
            assert new.measured_uA <= old.measured_uA
    for channel in after:
        assert channel.measured_uA <= host.device.model.max_intensity_uA
    assert host.device.rx_err_count == 0
