"""Shared fixtures for device-side tests: a raw-frame host built from ``firmware_protocol`` only.

``RawHost`` is ``tests/support/peer.py``'s ``HostPeer`` on an in-process ``Device`` in explicit
virtual time, paired at construction: it keeps the pairing key, the session keys, both counters
and every EVENT it saw, and checks every device frame's tag and counter. No eacontrol code is
involved: these tests check the device against PROTOCOL.md, not against our host.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from peer import FirmwareEnd, HostPeer
from sim_programs import program

import firmware_protocol as fp
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device

MS = 1_000
"""µs per millisecond."""

S = 1_000_000
"""µs per second."""


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


class RawHost(HostPeer):
    """``HostPeer`` (tests/support/peer.py) on an in-process device, paired, with the
    shorthands the device tests use.

    The device's pairing window is opened at construction and the peer pairs at once (PAIR,
    key 0), so a test starts paired and outside a session, the boot EVENT collected; ``hello``
    opens a session as the real host does.
    """

    def __init__(self, device: Device, *, pair: bool = True) -> None:
        nonces = np.random.default_rng(7)
        super().__init__(
            FirmwareEnd(device),
            now_us=device.now_us,
            nonce=lambda size: nonces.bytes(size),
        )
        self.device = device
        if pair:
            device.open_pairing_window(device.now_us, 60)
            self.pair()

    def program(self, program: fp.SetProgram) -> int:
        """Store ``program`` and return its CRC from the ACK."""
        reply = self.ok(program)
        assert isinstance(reply, fp.Ack)
        return reply.value

    crcs = staticmethod(_crcs)

    def run_program(self, program: fp.SetProgram) -> int:
        """Store ``program`` and START its channel (ACKed); return the program's CRC."""
        crc = self.program(program)
        assert isinstance(self.start(**{f"ch{program.channel}": crc}), fp.Ack)
        return crc

    def start_frame(self, program: fp.SetProgram) -> bytes:
        """Store ``program`` (of channel 0); return a START frame of it, made but not sent (the
        test sends it, and may send it again)."""
        crc = self.program(program)
        return self.command(fp.Start(channel_mask=1, program_crc=_crcs(ch0=crc)))

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
    """A raw-frame host connected to ``device`` and paired with it (no session open yet); the
    boot EVENT is already collected."""
    yield RawHost(device)
