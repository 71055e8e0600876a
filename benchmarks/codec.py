"""``codec``: frames encoded and decoded per second by ``firmware_protocol`` on one core.

The frames are the traffic of a running 6-channel session, in its proportions: for each
heartbeat the host encodes, the device answers a 6-channel STATUS; now and then a GET_STATUS, a
SET_INTENSITY with its ACK, and an EVENT. As on a major-2 link, every frame is tagged with its
direction's session key: each is encoded (``encode_frame`` with the key) and the whole stream
read by one ``FrameDecoder`` in 64-byte reads, as it arrives from a port, each frame's tag
verified (``RawFrame.authentic``) and its message decoded. The limit is the frame rate a
115200-baud wire carries for the same mix (10 bits per byte): the ratio says how many such wires
one core could keep up with.

The tag's cost is measured in the same run, pass for pass against the same traffic untagged
(``key=None``, no verification): per frame for the whole pipeline, and split into encoding
(encode + tag against encode) and receiving (parse + verify against parse).

``codec_status`` (``measure_status``) is one case on its own: a full 8-channel STATUS, the
largest frame of a running session, encoded as a tagged frame and received (parse, verify,
decode), against the same payload packed and unpacked by bare ``struct`` calls (no checks, no
objects: what any codec in CPython costs at least). Its details split the time into the
payload codec and COBS, and, when the ``cobs`` package is installed, time its C COBS on the
same frame for comparison.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import Any

from benchmarks.figure import Figure, median
from firmware_protocol import (
    Ack,
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Event,
    EventCode,
    Fault,
    FrameDecoder,
    GetStatus,
    Heartbeat,
    Message,
    MsgType,
    RawFrame,
    SetIntensity,
    Status,
    cobs_decode,
    cobs_encode,
    encode_frame,
    parse_frame,
    session_keys,
)

__all__ = ["BAUD", "MIX", "STATUS_8", "measure", "measure_status"]

BAUD = 115200

_RUNNING = ChannelStatus(ChannelState.RUNNING, Fault(0), 3000, 3000, 2990, 512, 200)
_STATUS = Status(0xB0071234, 61_234, 480, 1234, 0, 0, 0, DeviceFlag(0), (_RUNNING,) * 6)

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
_SESSION = 0x5EA1_0001
_KEYS = session_keys(
    bytes(range(32)), host_nonce=bytes(16), device_nonce=bytes(range(16)), session_id=_SESSION
)


def _key(message: Message, tagged: bool) -> bytes | None:
    if not tagged:
        return None
    return _KEYS.device_to_host if message.MSG_TYPE.from_device else _KEYS.host_to_device


def _encode_all(counter: int, tagged: bool) -> list[bytes]:
    return [encode_frame(m, key=_key(m, tagged), session_id=_SESSION, counter=counter) for m in MIX]


def _one_pass(rounds: int, tagged: bool) -> tuple[float, int, int]:
    """Encode and receive ``rounds`` × MIX; return (seconds, frames, wire bytes)."""
    decoder = FrameDecoder()
    frames = 0
    size = 0
    keys = [_key(m, tagged) for m in MIX]
    start = time.perf_counter()
    for counter in range(1, rounds + 1):
        stream = b"".join(_encode_all(counter, tagged))
        size += len(stream)
        for offset in range(0, len(stream), _READ):
            for item in decoder.feed(stream[offset : offset + _READ]):
                if not isinstance(item, RawFrame):
                    raise RuntimeError(f"the codec rejected its own frame: {item}")
                key = keys[frames % len(MIX)]
                if key is not None and not item.authentic(key):
                    raise RuntimeError("the codec's own tag does not verify")
                item.decode()
                frames += 1
    return time.perf_counter() - start, frames, size


def _stage_us(rounds: int) -> dict[str, float]:
    """Microseconds per frame of each stage alone, tagged and untagged, over the same frames."""
    out: dict[str, float] = {}
    for tagged in (False, True):
        name = "tagged" if tagged else "untagged"
        start = time.perf_counter()
        wires = [w for counter in range(1, rounds + 1) for w in _encode_all(counter, tagged)]
        out[f"encode_{name}_us"] = 1e6 * (time.perf_counter() - start) / len(wires)
        keys = [_key(m, tagged) for m in MIX] * rounds
        bodies = [w[:-1] for w in wires]
        start = time.perf_counter()
        for body, key in zip(bodies, keys, strict=True):
            raw = parse_frame(body)
            if key is not None and not raw.authentic(key):
                raise RuntimeError("the codec's own tag does not verify")
        out[f"parse_{name}_us"] = 1e6 * (time.perf_counter() - start) / len(bodies)
    return out


def measure(*, repeats: int = 5, rounds: int = 1000) -> Figure:
    """Median frames per second, tags included, over ``repeats`` passes of ``rounds`` × 21
    frames; each tagged pass is followed by the same pass untagged for the tag's cost."""
    _one_pass(max(1, rounds // 10), True)  # warm-up
    _one_pass(max(1, rounds // 10), False)
    tagged, untagged = [], []
    for _ in range(repeats):
        tagged.append(_one_pass(rounds, True))
        untagged.append(_one_pass(rounds, False))
    if any(frames != rounds * len(MIX) for _, frames, _ in tagged + untagged):
        raise RuntimeError("the decoder lost frames")
    rates = [frames / seconds for seconds, frames, _ in tagged]
    plain = median(frames / seconds for seconds, frames, _ in untagged)
    mean_bytes = tagged[0][2] / tagged[0][1]
    wire_rate = BAUD / 10 / mean_bytes
    value = median(rates)
    stages = _stage_us(rounds)
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
            "mean_untagged_frame_bytes": untagged[0][2] / untagged[0][1],
            "us_per_frame": 1e6 / value,
            "untagged_frames_per_s": plain,
            "untagged_us_per_frame": 1e6 / plain,
            "tag_us_per_frame": 1e6 / value - 1e6 / plain,
            "tag_share_of_frame_time": 1 - value / plain,
            **stages,
            "tag_encode_us": stages["encode_tagged_us"] - stages["encode_untagged_us"],
            "tag_verify_us": stages["parse_tagged_us"] - stages["parse_untagged_us"],
        },
    )


STATUS_8 = Status(0xB0071234, 61_234, 480, 1234, 0, 0, 0, DeviceFlag(0), (_RUNNING,) * 8)
"""A full 8-channel STATUS (MAX_CHANNELS), every channel running: 124 payload bytes."""


def _us(run: Callable[[], object], rounds: int) -> float:
    """Microseconds per call of ``run``, over ``rounds`` calls."""
    start = time.perf_counter()
    for _ in range(rounds):
        run()
    return 1e6 * (time.perf_counter() - start) / rounds


def _status_round() -> None:
    """One STATUS through the codec: encode a tagged frame, then parse, verify and decode it."""
    wire = encode_frame(STATUS_8, key=_KEYS.device_to_host, session_id=_SESSION, counter=7)
    raw = parse_frame(wire[:-1])
    if not raw.authentic(_KEYS.device_to_host):
        raise RuntimeError("the codec's own tag does not verify")
    raw.decode()


def _bare_struct() -> Callable[[], object]:
    """The same payload packed and unpacked by one bare struct call each (no checks, no
    objects, plain ints): the floor of any codec in CPython."""
    channels = STATUS_8.channels
    whole = struct.Struct("<IIHIIIIBB" + "BBHHHHH" * len(channels))
    flat: tuple[int, ...] = (0xB0071234, 61_234, 480, 1234, 0, 0, 0, 0, len(channels))
    for c in channels:
        flat += (int(c.state), int(c.faults), c.target_uA, c.set_uA, c.measured_uA)
        flat += (c.impedance_ohm, c.freq_cHz)
    payload = STATUS_8.encode()
    if whole.pack(*flat) != payload:
        raise RuntimeError("the bare struct does not give the codec's payload")

    def run() -> object:
        return whole.pack(*flat), whole.unpack(payload)

    return run


def _cobs_package() -> Any:
    """The ``cobs`` package's COBS (its C extension where built), or None when not installed."""
    try:
        from cobs import cobs  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return cobs


def measure_status(*, repeats: int = 5, rounds: int = 2000) -> Figure:
    """Median microseconds per 8-channel STATUS encoded and received, over ``repeats`` passes
    of ``rounds``, against bare struct calls on the same payload, timed pass for pass."""
    bare = _bare_struct()
    payload = STATUS_8.encode()
    body = cobs_decode(encode_frame(STATUS_8, key=_KEYS.device_to_host)[:-1])
    encoded = cobs_encode(body)
    package = _cobs_package()
    stages: dict[str, Callable[[], object]] = {
        "payload_encode_us": STATUS_8.encode,
        "payload_decode_us": lambda: Status.decode(payload),
        "cobs_encode_us": lambda: cobs_encode(body),
        "cobs_decode_us": lambda: cobs_decode(encoded),
    }
    if package is not None:
        if package.encode(body) != encoded or package.decode(encoded) != body:
            raise RuntimeError("the cobs package and firmware_protocol disagree on the frame")
        stages["cobs_package_encode_us"] = lambda: package.encode(body)
        stages["cobs_package_decode_us"] = lambda: package.decode(encoded)
    _us(_status_round, max(1, rounds // 10))  # warm-up
    samples, floors = [], []
    timed: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(repeats):
        samples.append(_us(_status_round, rounds))
        floors.append(_us(bare, rounds))
        for name, run in stages.items():
            timed[name].append(_us(run, rounds))
    value = median(samples)
    floor = median(floors)
    details: dict[str, Any] = {name: median(times) for name, times in timed.items()}
    return Figure(
        name="codec_status",
        value=value,
        unit="µs",
        limit=floor,
        limit_is="bare struct pack + unpack of the same payload",
        ratio=value / floor,
        goal="none set",
        met=None,
        samples=samples,
        details={
            "channels": len(STATUS_8.channels),
            "payload_bytes": len(payload),
            "frame_bytes": len(encoded) + 1,
            "zero_bytes_in_frame": body.count(0),
            "bare_struct_samples_us": floors,
            "cobs_package": package is not None,
            **details,
        },
    )
