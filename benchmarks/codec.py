"""``codec``: frames encoded and decoded per second by ``firmware_protocol`` on one core.

The frames are the traffic of a running 6-channel session, in its proportions: for each
heartbeat the host encodes, the device answers a 6-channel STATUS; now and then a GET_STATUS, a
SET_INTENSITY with its ACK, and an EVENT. Each frame is encoded (``encode_frame``) and the whole
stream decoded by one ``FrameDecoder`` in 64-byte reads, as it arrives from a port. The limit is
the frame rate a 115200-baud wire carries for the same mix (10 bits per byte): the ratio says how
many such wires one core could keep up with.
"""

from __future__ import annotations

import time

from benchmarks.figure import Figure, median
from firmware_protocol import (
    Ack,
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Event,
    EventCode,
    Fault,
    Frame,
    FrameDecoder,
    GetStatus,
    Heartbeat,
    Message,
    MsgType,
    SetIntensity,
    Status,
    encode_frame,
)

__all__ = ["BAUD", "MIX", "measure"]

BAUD = 115200

_RUNNING = ChannelStatus(ChannelState.RUNNING, Fault(0), 3000, 3000, 2990, 512, 200)
_STATUS = Status(0xB0071234, 61_234, 480, 1234, 0, DeviceFlag(0), (_RUNNING,) * 6)

MIX: tuple[Message, ...] = (
    *(Heartbeat(), _STATUS) * 8,
    GetStatus(),
    _STATUS,
    SetIntensity(channel=2, target_uA=3500, slew_uA_per_s=500),
    Ack(acked_type=int(MsgType.SET_INTENSITY), value=0),
    Event(EventCode.RAMP_DONE, 2, 0, 61_300),
)
"""One pass of the traffic: 21 frames, mostly heartbeats and 6-channel STATUS replies."""

_READ = 64


def _one_pass(rounds: int) -> tuple[float, int, int]:
    """Encode and decode ``rounds`` × MIX; return (seconds, frames, wire bytes)."""
    decoder = FrameDecoder()
    frames = 0
    size = 0
    start = time.perf_counter()
    for seq in range(rounds):
        stream = b"".join(
            encode_frame(message, session_id=0x5EA1, seq=seq & 0xFFFF) for message in MIX
        )
        size += len(stream)
        for offset in range(0, len(stream), _READ):
            for item in decoder.feed(stream[offset : offset + _READ]):
                if not isinstance(item, Frame):
                    raise RuntimeError(f"the codec rejected its own frame: {item}")
                frames += 1
    return time.perf_counter() - start, frames, size


def measure(*, repeats: int = 5, rounds: int = 1000) -> Figure:
    """Median frames per second over ``repeats`` passes of ``rounds`` × 21 frames."""
    _one_pass(max(1, rounds // 10))  # warm-up
    passes = [_one_pass(rounds) for _ in range(repeats)]
    if any(frames != rounds * len(MIX) for _, frames, _ in passes):
        raise RuntimeError("the decoder lost frames")
    rates = [frames / seconds for seconds, frames, _ in passes]
    mean_bytes = passes[0][2] / passes[0][1]
    wire_rate = BAUD / 10 / mean_bytes
    value = median(rates)
    return Figure(
        name="codec",
        value=value,
        unit="frames/s",
        limit=wire_rate,
        limit_is=f"what a {BAUD}-baud wire carries",
        ratio=value / wire_rate,
        goal="none set (>> 1: not what limits a link)",
        met=None,
        samples=rates,
        details={
            "frames_per_pass": rounds * len(MIX),
            "mean_frame_bytes": mean_bytes,
            "us_per_frame": 1e6 / value,
        },
    )
