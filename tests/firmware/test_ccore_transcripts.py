"""Every behavioural transcript (PROTOCOL.md §9.2) replayed byte for byte against the C core
in-process (``simulator.ccore.CoreFirmware``), as ``tests/simulator/test_transcripts.py`` replays
them against the Python firmware: the same bench (``transcript_bench``: scripted random
source, ideal bench stages, the transcript's keys in flash), the same inputs at the same times,
the same timeline expected.

A divergence is reported entry by entry: the time, the input, and which device frame differs
(decoded on both sides, so the message and field that differ are named).
"""

from __future__ import annotations

from typing import Any

import make_transcripts
import pytest
from transcript_bench import (
    Bench,
    BenchStage,
    ScriptedRandom,
    change_a_device_byte,
    replay,
    stored,
)

import firmware_protocol as fp
from simulator.ccore import CoreFirmware, unavailable
from simulator.firmware import DeviceModel

pytestmark = [
    pytest.mark.firmware,
    pytest.mark.skipif(unavailable() is not None, reason=f"C core: {unavailable()}"),
]

NAMES = sorted(make_transcripts.TRANSCRIPTS)


class CoreBench(Bench):
    """``transcript_bench.Bench`` with the C core as its device."""

    def __post_init__(self) -> None:
        fields = self.spec["model"]
        model = DeviceModel(**fields | {"fw_version": tuple(fields["fw_version"])})
        self.rng = ScriptedRandom([int(v, 16) for v in self.spec["random_u32"]])
        keys = {k["key_id"]: bytes.fromhex(k["pairing_key"]) for k in self.spec["keys"]}
        self.stages = [
            BenchStage(self.spec["load_ohm"], model.compliance_mV, model.max_intensity_uA)
            for _ in range(model.channel_count)
        ]
        self.firmware = CoreFirmware(  # type: ignore[assignment]
            model, outputs=self.stages, rng=self.rng, now_us=0, keys=keys
        )
        self._unread = bytearray()
        self._record(0, None)


def core_replay(transcript: dict[str, Any]) -> list[dict[str, Any]]:
    """``transcript_bench.replay`` on the C core."""
    return replay(transcript, CoreBench)


def _message(frame_hex: str) -> str:
    raw = fp.parse_frame(bytes.fromhex(frame_hex)[:-1])
    try:
        return f"{raw.header} {raw.decode().message}"
    except fp.FrameError as err:  # pragma: no cover - a frame the core should not send
        return f"{raw.header} undecodable: {err}"


def divergences(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> list[str]:
    """Each timeline entry that differs, with the frames decoded on both sides."""
    found: list[str] = []
    for i in range(max(len(expected), len(got))):
        want = expected[i] if i < len(expected) else None
        have = got[i] if i < len(got) else None
        if want == have:
            continue
        where = f"entry {i}"
        if want is None or have is None or want["t_us"] != have["t_us"]:
            found.append(f"{where}: expected {want}, got {have}")
            break  # the timelines are out of step from here
        for j in range(max(len(want["out"]), len(have["out"]))):
            a = want["out"][j] if j < len(want["out"]) else None
            b = have["out"][j] if j < len(have["out"]) else None
            if a != b:
                found.append(
                    f"{where} t_us={want['t_us']} in={want.get('in')} frame {j}: "
                    f"expected {a and _message(a)}; got {b and _message(b)}"
                )
    return found


def test_the_python_replay_is_the_reference() -> None:
    """The bench this module subclasses still replays the stored files (the baseline)."""
    transcript = stored("handshake")
    assert replay(transcript) == transcript["timeline"]


@pytest.mark.parametrize("name", NAMES)
def test_the_c_core_replays_the_transcript_byte_for_byte(name: str) -> None:
    transcript = stored(name)
    got = core_replay(transcript)
    assert not divergences(transcript["timeline"], got), "\n".join(
        divergences(transcript["timeline"], got)
    )
    assert got == transcript["timeline"]


def test_a_changed_device_byte_fails_the_c_replay() -> None:
    transcript = change_a_device_byte(stored("stop"))
    assert core_replay(transcript) != transcript["timeline"]
