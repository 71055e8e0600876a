"""The link fault layer and the timed device events."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import FrameDecoder, Heartbeat, encode_frame
from simulator.hardware.faults import (
    DeviceEvent,
    Direction,
    EventKind,
    FaultInjector,
    FaultKind,
    FaultUnit,
    LinkFault,
    describe,
)

FRAME = encode_frame(Heartbeat(), key=bytes(32), session_id=7, counter=1)
TO_DEVICE = Direction.TO_DEVICE


def injector(*rules: LinkFault, seed: int = 1) -> FaultInjector:
    return FaultInjector(rules, TO_DEVICE, np.random.default_rng(seed))


def joined(pieces: list[tuple[int, bytes]]) -> bytes:
    return b"".join(chunk for _, chunk in pieces)


def bit_distance(a: bytes, b: bytes) -> int:
    return sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))


def test_without_rules_bytes_pass_straight_through() -> None:
    layer = injector()
    assert layer.process(b"partial", 0) == [(0, b"partial")]


def test_rules_for_the_other_direction_are_ignored() -> None:
    layer = injector(LinkFault(FaultKind.DROP, Direction.TO_HOST, rate=1.0))
    assert joined(layer.process(FRAME, 0)) == FRAME


def test_drop_every_frame() -> None:
    layer = injector(LinkFault(FaultKind.DROP, rate=1.0))
    assert layer.process(FRAME * 3, 0) == []
    assert layer.counts[FaultKind.DROP] == 3


def test_scheduled_drop_hits_the_first_frames_at_or_after_its_time() -> None:
    layer = injector(LinkFault(FaultKind.DROP, at_s=0.5, count=2))
    assert joined(layer.process(FRAME, 499_999)) == FRAME
    assert layer.process(FRAME, 500_000) == []
    assert layer.process(FRAME, 600_000) == []
    assert joined(layer.process(FRAME, 700_000)) == FRAME


def test_rate_window() -> None:
    layer = injector(LinkFault(FaultKind.DROP, rate=1.0, start_s=1.0, stop_s=2.0))
    assert joined(layer.process(FRAME, 999_999)) == FRAME
    assert layer.process(FRAME, 1_000_000) == []
    assert joined(layer.process(FRAME, 2_000_000)) == FRAME


@pytest.mark.parametrize("bits", [1, 3, 17])
def test_corrupt_flips_exactly_the_given_number_of_bits(bits: int) -> None:
    layer = injector(LinkFault(FaultKind.CORRUPT, rate=1.0, bits=bits))
    out = joined(layer.process(FRAME, 0))
    assert len(out) == len(FRAME)
    assert bit_distance(out, FRAME) == bits


def test_a_corrupted_frame_is_rejected_by_the_decoder() -> None:
    layer = injector(LinkFault(FaultKind.CORRUPT, rate=1.0, bits=2), seed=5)
    decoder = FrameDecoder()
    for _ in range(200):
        decoder.feed(joined(layer.process(FRAME, 0)))
    decoder.feed(b"\x00")
    assert decoder.error_count > 0


def test_truncate_keeps_a_prefix_and_the_delimiter() -> None:
    layer = injector(LinkFault(FaultKind.TRUNCATE, rate=1.0))
    for _ in range(20):
        out = joined(layer.process(FRAME, 0))
        assert out.endswith(b"\x00")
        assert len(out) < len(FRAME)
        assert FRAME.startswith(out[:-1])


def test_duplicate_sends_the_frame_twice() -> None:
    layer = injector(LinkFault(FaultKind.DUPLICATE, rate=1.0))
    assert joined(layer.process(FRAME, 0)) == FRAME + FRAME


def test_delay_pauses_before_the_frame() -> None:
    layer = injector(LinkFault(FaultKind.DELAY, rate=1.0, delay_ms=12.5))
    assert layer.process(FRAME, 0) == [(12_500, FRAME)]


def test_frame_rules_hold_a_partial_frame_until_its_delimiter() -> None:
    layer = injector(LinkFault(FaultKind.DUPLICATE, rate=1.0))
    assert layer.process(FRAME[:5], 0) == []
    assert joined(layer.process(FRAME[5:], 10)) == FRAME + FRAME


def test_garbage_without_delimiter_is_not_held_forever() -> None:
    layer = injector(LinkFault(FaultKind.DROP, at_s=100.0))
    garbage = b"\x55" * 300
    assert joined(layer.process(garbage, 0)) == garbage


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        (FaultKind.DROP, lambda out, data: out == b""),
        (FaultKind.DUPLICATE, lambda out, data: out == bytes(b for b in data for _ in (0, 1))),
        (FaultKind.CORRUPT, lambda out, data: bit_distance(out, data) == len(data)),
    ],
)
def test_byte_faults(kind: FaultKind, check: object) -> None:
    layer = injector(LinkFault(kind, unit=FaultUnit.BYTE, rate=1.0))
    data = bytes(range(1, 40))
    out = joined(layer.process(data, 0))
    assert callable(check) and check(out, data)


def test_byte_delay_splits_the_stream_at_the_delayed_byte() -> None:
    layer = injector(LinkFault(FaultKind.DELAY, unit=FaultUnit.BYTE, at_s=0.0, delay_ms=1.0))
    assert layer.process(b"abc", 0) == [(1000, b"abc")]
    assert layer.process(b"def", 0) == [(0, b"def")]


def test_scheduled_byte_drop_counts_bytes() -> None:
    layer = injector(LinkFault(FaultKind.DROP, unit=FaultUnit.BYTE, at_s=0.0, count=3))
    assert joined(layer.process(b"abcdef", 0)) == b"def"


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    rule = LinkFault(FaultKind.CORRUPT, rate=0.5)

    def run(seed: int) -> bytes:
        layer = injector(rule, seed=seed)
        return b"".join(joined(layer.process(FRAME, t)) for t in range(50))

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kind": FaultKind.DROP}, "exactly one of rate"),
        ({"kind": FaultKind.DROP, "rate": 0.5, "at_s": 1.0}, "exactly one of rate"),
        ({"kind": FaultKind.DROP, "rate": 1.5}, "probability"),
        ({"kind": FaultKind.DROP, "at_s": -1.0}, "at_s"),
        ({"kind": FaultKind.DROP, "at_s": 1.0, "count": 0}, "count"),
        ({"kind": FaultKind.CORRUPT, "rate": 0.1, "bits": 0}, "bits"),
        ({"kind": FaultKind.CORRUPT, "rate": 0.1, "bits": 9, "unit": FaultUnit.BYTE}, "bits"),
        ({"kind": FaultKind.DELAY, "rate": 0.1}, "delay_ms"),
        ({"kind": FaultKind.TRUNCATE, "rate": 0.1, "unit": FaultUnit.BYTE}, "frames only"),
        ({"kind": FaultKind.DROP, "rate": 0.1, "stop_s": float("nan")}, "stop_s"),
    ],
)
def test_invalid_link_faults_are_refused(args: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LinkFault(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"at_s": 1.0, "kind": EventKind.ELECTRODE_OFF}, "needs channel"),
        ({"at_s": 1.0, "kind": EventKind.REBOOT, "channel": 0}, "takes no channel"),
        ({"at_s": 1.0, "kind": EventKind.LOAD, "channel": 0}, "names a load"),
        ({"at_s": 1.0, "kind": EventKind.REBOOT, "load": "1k"}, "names a load"),
        ({"at_s": -1.0, "kind": EventKind.REBOOT}, "at_s"),
        ({"at_s": 1.0, "kind": EventKind.STUCK_OUTPUT, "channel": -1}, "channel"),
        ({"at_s": 1.0, "kind": EventKind.REBOOT, "current_uA": 5}, "current_uA"),
    ],
)
def test_invalid_device_events_are_refused(args: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceEvent(**args)  # type: ignore[arg-type]


def test_event_description_names_kind_channel_and_time() -> None:
    event = DeviceEvent(2.5, EventKind.STUCK_OUTPUT, channel=1, current_uA=1500)
    # the log names channels from 1, as labelled on the device: wire index 1 is channel 2
    assert describe(event) == "stuck_output channel 2 1500 uA at 2.5 s"
    load = DeviceEvent(3, EventKind.LOAD, channel=0, load="10k")
    assert describe(load) == "load channel 1 10k at 3 s"
    assert describe(DeviceEvent(4, EventKind.REBOOT)) == "reboot at 4 s"
