"""The device a behavioural transcript runs on (PROTOCOL.md §9.2): the firmware core on a bench.

A transcript's ``device`` object says everything needed to build it: the limits table
(``model``), the keys in its store at power-on (``keys``), what its random source returns, in
order (``random_u32``), and the resistor on every channel's output (``load_ohm``). The output
stage is an ideal bench stage (``BenchStage``, PROTOCOL.md §9.2 says exactly what it does).
Hardware events (a pairing button, a lost contact, a stuck output) are inputs of the
transcript like host frames.

``Bench`` is a ``peer.DeviceEnd``: ``make_transcripts.py`` drives it with a ``HostPeer`` and
stores its ``timeline``; ``replay`` feeds a stored transcript's inputs to a fresh bench at
their times and returns the new timeline, which must equal the stored one byte for byte.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from simulator.firmware import OPEN_OHM, Delivered, DeviceModel, Drive, Firmware, KeyStore

__all__ = [
    "FORMAT",
    "STORED",
    "Bench",
    "BenchStage",
    "ScriptedRandom",
    "change_a_device_byte",
    "replay",
    "stored",
]

FORMAT = "eacontrol-transcript/1"
"""The transcript files' format and version."""

STORED = files("firmware_protocol.vectors").joinpath("transcripts")
"""The folder of the stored transcript files (``<name>.json``), as the package ships it."""


class ScriptedRandom:
    """A random source that returns a fixed list of u32 values, in order (the transcript's
    ``random_u32``); drawing more than the list holds is an error of the transcript."""

    def __init__(self, values: list[int]) -> None:
        self._values = list(values)
        self.used = 0
        """Values drawn so far."""

    def random_u32(self) -> int:
        """The next scripted value."""
        if self.used >= len(self._values):
            raise RuntimeError(f"the transcript's random_u32 list ({len(self._values)}) ran out")
        value = self._values[self.used]
        self.used += 1
        return value


class BenchStage:
    """An ideal output stage into a resistor of ``load_ohm`` (``hal.OutputStage``).

    With its relay closed and its contact made it delivers exactly the set value, limited to
    ``compliance_mV / load_ohm``, and measures it exactly; it reads ``load_ohm`` as the
    impedance (65535 with the contact lost) and reports nothing delivered (no transcript reads
    DOSE). A stuck stage drives ``stuck_uA`` of DC whatever it is told while its relay is
    closed and the contact made, and its own sense point (the self-test) sees it always.
    """

    def __init__(self, load_ohm: int, compliance_mV: int, max_uA: int) -> None:
        self._load_ohm = load_ohm
        self._limit_uA = compliance_mV * 1000 // load_ohm
        self._max_uA = max_uA
        self._drive: Drive | None = None
        self._relay_closed = False
        self.contact_lost_now = False
        self.stuck_uA = 0

    def drive(self, t_us: int, drive: Drive | None) -> None:
        self._drive = drive

    def open_relay(self, t_us: int) -> None:
        self._relay_closed = False

    def close_relay(self, t_us: int) -> None:
        self._relay_closed = True

    def self_test_uA(self, t_us: int) -> int:
        return self.stuck_uA

    def _connected(self) -> bool:
        return self._relay_closed and not self.contact_lost_now

    def measured_uA(self, t_us: int) -> int:
        if not self._connected():
            return 0
        if self.stuck_uA:
            return self.stuck_uA
        return 0 if self._drive is None else min(self._drive.ramp.at(t_us), self._limit_uA)

    def dc_uA(self, t_us: int) -> int:
        return self.stuck_uA if self._connected() else 0

    def contact_lost(self, t_us: int) -> bool:
        return self.contact_lost_now

    def compliance_limit_uA(self) -> int | None:
        return None if self._limit_uA >= self._max_uA else self._limit_uA

    def impedance_ohm(self, phase_us: int, t_us: int) -> int:
        return OPEN_OHM if self.contact_lost_now else self._load_ohm

    def read_delivered(self, t_us: int) -> Delivered:
        return Delivered()

    def clear_delivered(self, t_us: int) -> None:
        return None

    def first_open_tick_us(self, first_tick_us: int, period_us: int) -> int | None:
        return first_tick_us if self.contact_lost_now else None


def device_spec(
    model: DeviceModel, *, load_ohm: int, keys: dict[int, bytes], random_u32: list[int]
) -> dict[str, Any]:
    """A transcript's ``device`` object."""
    return {
        "model": dataclasses.asdict(model) | {"fw_version": list(model.fw_version)},
        "load_ohm": load_ohm,
        "keys": [{"key_id": k, "pairing_key": v.hex()} for k, v in keys.items()],
        "random_u32": [f"0x{v:08X}" for v in random_u32],
    }


@dataclass
class Bench:
    """A transcript's device, switched on at virtual time 0, with the record of what happened.

    Attributes:
        spec: the transcript's ``device`` object.
        timeline: one entry per instant something happened: ``t_us``, the input (``in``, if
            any) and the frames the device sent then (``out``, hex, each with its 0x00).
    """

    spec: dict[str, Any]
    timeline: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        model_fields = self.spec["model"]
        model = DeviceModel(**model_fields | {"fw_version": tuple(model_fields["fw_version"])})
        self.rng = ScriptedRandom([int(v, 16) for v in self.spec["random_u32"]])
        keys = KeyStore(self.rng)
        for entry in self.spec["keys"]:
            keys.install(entry["key_id"], bytes.fromhex(entry["pairing_key"]))
        self.stages = [
            BenchStage(self.spec["load_ohm"], model.compliance_mV, model.max_intensity_uA)
            for _ in range(model.channel_count)
        ]
        self.firmware = Firmware(model, outputs=self.stages, rng=self.rng, now_us=0, keys=keys)
        self._unread = bytearray()
        self._record(0, None)

    def _record(self, t_us: int, given: dict[str, Any] | None) -> None:
        data = self.firmware.take_output()
        if not data and given is None:
            return
        self._unread += data
        entry: dict[str, Any] = {"t_us": t_us}
        if given is not None:
            entry["in"] = given
        entry["out"] = [frame.hex() for frame in split_frames(bytes(data))]
        self.timeline.append(entry)

    # --- peer.DeviceEnd ---------------------------------------------------------------------

    def advance(self, now_us: int) -> None:
        """Run alone until ``now_us``, recording what is sent at each instant it acts."""
        firmware = self.firmware
        while (due_us := firmware.next_deadline_us()) is not None and due_us < now_us:
            firmware.advance(due_us)
            self._record(due_us, None)
        firmware.advance(now_us)
        self._record(now_us, None)

    def deliver(self, data: bytes, now_us: int) -> None:
        """A host frame (or any bytes) arrives whole at ``now_us``."""
        self.apply({"host_frame": data.hex()}, now_us)

    def output(self) -> bytes:
        """What the device sent since the last call."""
        data = bytes(self._unread)
        self._unread.clear()
        return data

    # --- inputs -----------------------------------------------------------------------------

    def apply(self, given: dict[str, Any], now_us: int) -> None:
        """One input at ``now_us``: ``host_frame`` (hex), ``pairing_window_s`` (the button),
        ``contact_lost`` or ``stuck_output_uA`` (``{"channel": wire index, ...}``)."""
        self.advance(now_us)
        firmware = self.firmware
        if "host_frame" in given:
            firmware.receive(bytes.fromhex(given["host_frame"]), now_us)
        elif "pairing_window_s" in given:
            firmware.open_pairing_window(now_us, given["pairing_window_s"])
        elif "contact_lost" in given:
            self.stages[given["channel"]].contact_lost_now = given["contact_lost"]
            firmware.hardware_changed()
        elif "stuck_output_uA" in given:
            self.stages[given["channel"]].stuck_uA = given["stuck_output_uA"]
            firmware.hardware_changed()
        else:
            raise ValueError(f"unknown transcript input {given!r}")
        self._record(now_us, given)


def split_frames(data: bytes) -> list[bytes]:
    """The frames of ``data``, each with its 0x00 delimiter."""
    return [part + b"\x00" for part in data.split(b"\x00")[:-1]]


def replay(transcript: dict[str, Any], bench_type: type[Bench] = Bench) -> list[dict[str, Any]]:
    """A fresh device of the transcript's ``device``, fed its inputs at their times and run to
    ``end_us``: the timeline it produces (compare it with ``transcript["timeline"]``).

    Raises:
        RuntimeError: the device drew a different number of random values than listed.
    """
    bench = bench_type(transcript["device"])
    for entry in transcript["timeline"]:
        if "in" in entry:
            bench.apply(entry["in"], entry["t_us"])
    bench.advance(transcript["end_us"])
    listed = len(transcript["device"]["random_u32"])
    if bench.rng.used != listed:
        raise RuntimeError(f"the device drew {bench.rng.used} of {listed} random values")
    return bench.timeline


def stored(name: str) -> dict[str, Any]:
    """The stored transcript ``name``, parsed."""
    data: dict[str, Any] = json.loads(STORED.joinpath(f"{name}.json").read_text())
    return data


def change_a_device_byte(transcript: dict[str, Any]) -> dict[str, Any]:
    """``transcript``, changed in place and returned: one bit flipped in the first device frame
    that answers an input, so that no correct device replays it."""
    entry = next(e for e in transcript["timeline"] if e["out"] and "in" in e)
    frame = bytearray.fromhex(entry["out"][0])
    frame[3] ^= 0x01
    entry["out"][0] = frame.hex()
    return transcript
