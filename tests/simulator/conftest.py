"""Shared fixtures for device-side tests: a raw-frame host built from ``firmware_protocol`` only.

``RawHost`` encodes commands with ``encode_frame``, feeds them to ``Device.receive`` at an explicit
virtual time and decodes what the device sent with a ``FrameDecoder``; it keeps its own seq, the
session it opened and every EVENT it saw. No eacontrol code is involved: these tests check the
device against PROTOCOL.md, not against our host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from sim_programs import program

import firmware_protocol as fp
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device

MS = 1_000
"""µs per millisecond."""

S = 1_000_000
"""µs per second."""

SESSION = 0x5EA1


def _make_program(mode: fp.Mode = fp.Mode.CONTINUOUS, **fields: Any) -> fp.SetProgram:
    """A program the reference device accepts; mode-only fields stay 0 unless given.

    Defaults: channel 0, symmetric, 2 Hz, 300 µs, 5 mA, 1 s ramp up and down, 1 h maximum run.
    Dense-disperse adds 100 Hz / 200 µs in half b and 3 s dwells; intermittent 1.5 s on / off.
    """
    values: dict[str, Any] = dict(target_uA=5000, ramp_up_ms=1000, max_run_s=3600)
    if mode == fp.Mode.DENSE_DISPERSE:
        values.update(freq_b_cHz=10_000, phase_b_us=200, dwell_a_ms=3000, dwell_b_ms=3000)
    if mode == fp.Mode.INTERMITTENT:
        values.update(on_ms=1500, off_ms=1500)
    values.update(fields)
    return program(mode, **values)


def _crcs(**by_channel: int) -> tuple[int, ...]:
    """A START ``program_crc`` tuple: ``crcs(ch0=..., ch3=...)``, zero elsewhere."""
    entries = [0] * 8
    for name, crc in by_channel.items():
        entries[int(name.removeprefix("ch"))] = crc
    return tuple(entries)


class RawHost:
    """A minimal host speaking raw frames to a ``Device`` in virtual time.

    Attributes:
        device: the device under test.
        now_us: the host's idea of the time; every send happens at it.
        seq: the seq the next new command gets.
        session_id: the session frames are sent in (0 until ``hello``).
        events: every EVENT frame received so far, in order.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.now_us = device.now_us
        self.seq = 1
        self.session_id = 0
        self.events: list[fp.Frame] = []
        self._decoder = fp.FrameDecoder()
        self.collect()

    # --- bytes --------------------------------------------------------------------------

    def collect(self) -> list[fp.Frame]:
        """Decode what the device sent; keep the EVENTs, return the other frames."""
        replies: list[fp.Frame] = []
        for item in self._decoder.feed(self.device.take_output()):
            assert isinstance(item, fp.Frame), f"device sent a bad frame: {item!r}"
            if item.header.msg_type == fp.MsgType.EVENT:
                self.events.append(item)
            else:
                replies.append(item)
        return replies

    def send(self, data: bytes) -> list[fp.Frame]:
        """Deliver raw bytes at ``now_us``; return the non-EVENT frames the device answered."""
        self.device.receive(data, self.now_us)
        return self.collect()

    def frame(self, message: fp.Message, *, seq: int | None = None, **header: Any) -> bytes:
        """Encode ``message`` in the host's session (header fields can be overridden)."""
        header.setdefault("session_id", self.session_id)
        return fp.encode_frame(message, seq=self.seq if seq is None else seq, **header)

    def exchange(self, message: fp.Message, **header: Any) -> fp.Frame:
        """Send ``message`` as a new command and return the one reply (ref_seq checked)."""
        data = self.frame(message, **header)
        seq = self.seq
        self.seq = (self.seq + 1) & 0xFFFF
        replies = self.send(data)
        assert len(replies) == 1, f"expected one reply to {message!r}, got {replies!r}"
        assert replies[0].header.ref_seq == header.get("seq", seq)
        return replies[0]

    def call(self, message: fp.Message, **header: Any) -> fp.Message:
        """``exchange`` and return the reply's message."""
        return self.exchange(message, **header).message

    def ok(self, message: fp.Message, **header: Any) -> fp.Message:
        """``call`` and assert the reply is not a NAK."""
        reply = self.call(message, **header)
        assert not isinstance(reply, fp.Nak), f"{message!r} refused: {reply!r}"
        return reply

    def nak(self, message: fp.Message, code: fp.NakCode, **header: Any) -> fp.Nak:
        """``call`` and assert the reply is a NAK with ``code`` for this message type."""
        reply = self.call(message, **header)
        assert isinstance(reply, fp.Nak), f"{message!r} accepted: {reply!r}"
        assert reply.code == code, f"{message!r}: expected {code.name}, got {reply!r}"
        assert reply.nak_type == message.MSG_TYPE
        return reply

    # --- time ---------------------------------------------------------------------------

    def wait_until(self, t_us: int) -> None:
        """Let the device run alone until ``t_us`` and collect its EVENTs."""
        self.now_us = t_us
        self.device.advance(t_us)
        assert not self.collect(), "the device answered nothing it was asked"

    def wait(self, duration_us: int) -> None:
        """Let ``duration_us`` pass."""
        self.wait_until(self.now_us + duration_us)

    def event_codes(self) -> list[fp.EventCode]:
        """Codes of the EVENTs seen so far."""
        return [self.event(frame).code for frame in self.events]

    @staticmethod
    def event(frame: fp.Frame) -> fp.Event:
        """The EVENT message of ``frame``."""
        assert isinstance(frame.message, fp.Event)
        return frame.message

    def take_events(self) -> list[fp.Event]:
        """The EVENTs seen since the last call (and forget them)."""
        events = [self.event(frame) for frame in self.events]
        self.events.clear()
        return events

    # --- commands -----------------------------------------------------------------------

    def hello(self, lease_ms: int = 500, session_id: int = SESSION) -> fp.HelloAck:
        """Open a session; the host then sends in it."""
        hello = fp.Hello(new_session_id=session_id, lease_ms=lease_ms, schema_hash=fp.SCHEMA_HASH)
        reply = self.ok(hello)
        assert isinstance(reply, fp.HelloAck)
        self.session_id = session_id
        return reply

    def program(self, program: fp.SetProgram) -> int:
        """Store ``program`` and return its CRC from the ACK."""
        reply = self.ok(program)
        assert isinstance(reply, fp.Ack)
        return reply.value

    crcs = staticmethod(_crcs)

    def start(self, **by_channel: int) -> fp.Message:
        """START the named channels (``ch0=crc``); returns the reply."""
        mask = sum(1 << int(name.removeprefix("ch")) for name in by_channel)
        return self.call(fp.Start(channel_mask=mask, program_crc=_crcs(**by_channel)))

    def heartbeat(self) -> fp.Status:
        """Renew the lease; return the STATUS."""
        reply = self.ok(fp.Heartbeat())
        assert isinstance(reply, fp.Status)
        return reply

    def dose(self, channel: int = 0) -> fp.Dose:
        """Read a channel's DOSE."""
        reply = self.ok(fp.GetDose(channel=channel))
        assert isinstance(reply, fp.Dose)
        return reply

    def run_with_heartbeats(self, until_us: int, period_us: int = 100 * MS) -> None:
        """Heartbeat every ``period_us`` until ``until_us`` (the device runs in between)."""
        while self.now_us + period_us <= until_us:
            self.wait(period_us)
            self.heartbeat()
        self.wait_until(until_us)


ProgramFactory = Callable[..., fp.SetProgram]


@pytest.fixture(scope="session")
def make_program() -> ProgramFactory:
    """The ``make_program`` factory (a valid program, fields overridable)."""
    return _make_program


@pytest.fixture(scope="session")
def raw_host_type() -> type[RawHost]:
    """The ``RawHost`` class, for fixtures of a wider scope that build their own device."""
    return RawHost


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator (tests are deterministic)."""
    return np.random.default_rng(20240611)


@pytest.fixture
def device(rng: np.random.Generator) -> Device:
    """A reference device (DeviceModel defaults) booted at t = 0."""
    return Device(DeviceModel(), rng=rng)


@pytest.fixture
def host(device: Device) -> Iterator[RawHost]:
    """A raw-frame host connected to ``device``; the boot EVENT is already collected."""
    yield RawHost(device)
