"""Fixtures for the device layer: a scripted device over a fake port, and ``sim://`` stimulators.

``ScriptedPort`` is a pyserial-like port in fake virtual time whose far end is ``FakeDevice``: a
few lines answering each host frame with frames built by ``firmware_protocol``, authenticated
as protocol major 2 requires (``tests/support/devicepeer.py``: GET_INFO → INFO, PAIR while its
window is open, HELLO checked under the hello key, every later frame tagged both ways). Tests
override one message type's answer (``device.handlers[MsgType.X] = …``) to script NAKs, garbage,
silence or another protocol. The ``sim`` fixture opens real simulated devices over ``sim://``
(virtual time) and closes them at teardown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import serial

import firmware_protocol as fp
from eacontrol.device import Stimulator, connect
from eacontrol.device.pairing import MemoryKeyStore, PairingKey
from eacontrol.link import Transport
from simulator import SimSerial, register_url_handler
from tests.support.devicepeer import TEST_SESSION, DevicePeer

SESSION = TEST_SESSION

register_url_handler()  # for serial_for_url("sim://…") in these fixtures


class FakeClock:
    """Virtual seconds for scripted tests."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


Answer = Callable[[fp.Frame], list[fp.Message] | None]

LOST: list[fp.Message] = []
"""What a handler returns for a frame lost on the way: not executed, not cached, no answer
(return ``[]``, another list, for a frame executed without an answer)."""


@dataclass
class FakeDevice:
    """Answers host frames like a 2-channel device; ``handlers`` override one type each.

    A handler returns the messages to answer with (``[]`` = no answer) or None for the default.
    ``paired`` says whether the device knows the host's key; ``pairing_window`` whether PAIR is
    accepted (once). ``received`` holds every host frame accepted, decoded.
    """

    clock: FakeClock
    serial: str = "FAKE-0001"
    boot_id: int = 0xB0070001
    channel_count: int = 2
    silent: bool = False
    paired: bool = True
    pairing_window: bool = False
    peer: DevicePeer = field(default_factory=DevicePeer)
    handlers: dict[fp.MsgType, Answer] = field(default_factory=dict)
    received: list[fp.Frame] = field(default_factory=list)
    programs: dict[int, fp.SetProgram] = field(default_factory=dict)
    channel_states: dict[int, fp.ChannelStatus] = field(default_factory=dict)
    cache: dict[int, list[fp.Message]] = field(default_factory=dict)

    @property
    def session(self) -> int:
        """The open session (0 before HELLO)."""
        return self.peer.session_id if self.peer.keys is not None else 0

    def host_key(self) -> PairingKey:
        """The key a host paired with this device holds."""
        return PairingKey(self.serial, self.peer.key_id, self.peer.pairing_key, "test")

    def frame(self, message: fp.Message, ref_counter: int = 0, **header: int) -> bytes:
        """An authenticated frame of the open session (``header`` overrides to forge); the
        refusals a device sends unauthenticated (NAK NO_SESSION, BAD_VERSION; any NAK before a
        session) go as key-0 frames."""
        if isinstance(message, fp.Nak) and (
            self.peer.keys is None
            or message.code in (fp.NakCode.NO_SESSION, fp.NakCode.BAD_VERSION)
        ):
            return self.peer.untagged(message, ref_counter=ref_counter)
        return self.peer.frame(message, ref_counter=ref_counter, **header)  # type: ignore[arg-type]

    def __call__(self, raw: fp.RawFrame) -> list[bytes]:
        if self.silent:
            return []
        header = raw.header
        if header.key == fp.KeyKind.NONE:
            frame = raw.decode()
            self.received.append(frame)
            return [self.peer.untagged(m, ref_counter=header.counter) for m in self.open(frame)]
        if header.key == fp.KeyKind.PAIRING:
            if not self.paired:
                nak = fp.Nak(
                    nak_type=fp.MsgType.HELLO, code=fp.NakCode.NOT_PAIRED, field=0, limit=0
                )
                return [self.peer.untagged(nak, ref_counter=header.counter)]
            frame = raw.decode()
            self.received.append(frame)
            handler = self.handlers.get(fp.MsgType.HELLO)
            messages = handler(frame) if handler else None
            if messages is None:
                messages = self.default(frame)
            out = []
            for m in messages:
                if isinstance(m, fp.HelloAck):  # opens the session: key 2, device counter 1
                    self.peer.accept_hello(raw)
                    ack = dataclasses.replace(m, session_id=self.peer.session_id)
                    out.append(self.peer.hello_ack(ack, header.counter))
                else:  # a refusal of HELLO: unauthenticated
                    out.append(self.peer.untagged(m, ref_counter=header.counter))
            return out
        if header.counter <= self.peer.host_counter:
            # A retransmission is answered from the cache, re-tagged with a new device counter;
            # anything older is dropped (PROTO2 check 8).
            cached = self.cache.get(header.counter, [])
            return [self.frame(m, header.counter) for m in cached]
        frame = raw.decode()
        handler = self.handlers.get(fp.MsgType(header.msg_type))
        messages = handler(frame) if handler else None
        if messages is LOST:
            return []
        self.received.append(self.peer.host_frame(raw))
        if messages is None:
            messages = self.default(frame)
        self.cache[header.counter] = messages
        return [self.frame(m, header.counter) for m in messages]

    def open(self, frame: fp.Frame) -> list[fp.Message]:
        """Answers to key-0 frames: GET_INFO, PAIR."""
        message = frame.message
        handler = self.handlers.get(fp.MsgType(frame.header.msg_type))
        answer = handler(frame) if handler else None
        if answer is not None:
            return answer
        if isinstance(message, fp.GetInfo):
            return [self.hello_ack().as_info()]
        if isinstance(message, fp.Pair):
            if not self.pairing_window:
                code = fp.NakCode.PAIRING_CLOSED
                return [fp.Nak(nak_type=fp.MsgType.PAIR, code=code, field=0xFF, limit=0)]
            self.pairing_window = False
            self.paired = True
            return [fp.PairAck(self.peer.key_id, self.peer.pairing_key, self.serial)]
        code = fp.NakCode.AUTH_REQUIRED
        return [fp.Nak(nak_type=message.MSG_TYPE, code=code, field=0xFF, limit=0)]

    def hello_ack(self, lease_ms: int = 500) -> fp.HelloAck:
        return fp.HelloAck(
            proto_minor=0,
            schema_hash=fp.SCHEMA_HASH,
            fw_major=1,
            fw_minor=2,
            fw_patch=3,
            model="FAKE-2",
            serial=self.serial,
            boot_id=self.boot_id,
            session_id=self.peer.session_id,
            lease_ms=lease_ms,
            device_nonce=self.peer.device_nonce,
            channel_count=self.channel_count,
            max_intensity_uA=20_000,
            min_phase_us=50,
            max_phase_us=1000,
            min_freq_cHz=100,
            max_freq_cHz=20_000,
            max_phase_charge_nC=10_000,
            max_slew_uA_per_s=5_000,
            compliance_mV=60_000,
            min_lease_ms=200,
            max_lease_ms=1000,
            max_run_s=3600,
            max_interphase_us=500,
            max_asym_ratio=8,
            flags=fp.InfoFlag.PAIRING_WINDOW if self.pairing_window else fp.InfoFlag.NONE,
        )

    def status(self, **changes: object) -> fp.Status:
        idle = fp.ChannelStatus(fp.ChannelState.IDLE, fp.Fault.NONE, 0, 0, 0, 0xFFFF, 0)
        channels = tuple(self.channel_states.get(n, idle) for n in range(self.channel_count))
        values: dict[str, object] = {
            "boot_id": self.boot_id,
            "uptime_ms": int(self.clock.now() * 1000),
            "lease_remaining_ms": 500,
            "last_applied_counter": 0,
            "rx_err_count": 0,
            "auth_fail_count": 0,
            "replay_count": 0,
            "flags": fp.DeviceFlag.SESSION_OPEN | fp.DeviceFlag.LEASE_VALID,
            "channels": channels,
        }
        values.update(changes)
        return fp.Status(**values)  # type: ignore[arg-type]

    def default(self, frame: fp.Frame) -> list[fp.Message]:
        message = frame.message
        if isinstance(message, fp.Hello):
            return [self.hello_ack(message.lease_ms)]
        if isinstance(message, fp.Forget):
            self.paired = False
            return [fp.Ack(acked_type=fp.MsgType.FORGET, value=0)]
        if isinstance(message, fp.Heartbeat | fp.GetStatus):
            return [self.status()]
        if isinstance(message, fp.Program):
            return []
        if isinstance(message, fp.SetProgram):
            self.programs[message.channel] = message
            return [fp.Ack(acked_type=fp.MsgType.SET_PROGRAM, value=fp.program_crc(message))]
        if isinstance(message, fp.GetProgram):
            stored = self.programs[message.channel]
            fields = {f.name: getattr(stored, f.name) for f in fp.SetProgram.LAYOUT}
            return [fp.Program(**fields, program_crc=fp.program_crc(stored))]
        return [fp.Ack(acked_type=message.MSG_TYPE, value=0)]


class ScriptedPort:
    """A pyserial-like port in ``FakeClock`` time; bytes written reach ``device`` at once and
    its answers arrive ``latency_s`` later. ``inject`` schedules raw bytes (garbage, events)."""

    def __init__(self, clock: FakeClock, device: FakeDevice, latency_s: float = 0.002) -> None:
        self.clock = clock
        self.device = device
        self.latency_s = latency_s
        self.timeout: float | None = 0.0
        self.written = bytearray()
        self.frames_written: list[fp.Frame] = []
        self.closed = False
        self.cancelled = False
        self.fail: Exception | None = None
        self._decoder = fp.FrameDecoder()
        self._arriving: list[tuple[float, bytes]] = []
        self._ready = bytearray()

    def inject(self, data: bytes, delay_s: float = 0.0) -> None:
        self._arriving.append((self.clock.now() + delay_s, data))

    def write(self, data: bytes, /) -> int:
        self._check()
        self.written += data
        for item in self._decoder.feed(data):
            if isinstance(item, fp.RawFrame):
                self.frames_written.append(item.decode())
                for answer in self.device(item):
                    self.inject(answer, self.latency_s)
        return len(data)

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail
        if self.closed:
            raise serial.PortNotOpenError()

    def _collect(self) -> None:
        now = self.clock.now()
        arrived = sorted(a for a in self._arriving if a[0] <= now)
        self._arriving = [a for a in self._arriving if a[0] > now]
        for _, data in arrived:
            self._ready += data

    @property
    def in_waiting(self) -> int:
        self._check()
        self._collect()
        return len(self._ready)

    def read(self, size: int = 1, /) -> bytes:
        self._check()
        self._collect()
        if not self._ready:
            deadline = self.clock.now() + (self.timeout or 0.0)
            upcoming = min((t for t, _ in self._arriving), default=deadline)
            target = min(upcoming, deadline)
            if target > self.clock.now():
                self.clock.sleep(target - self.clock.now())
            self._collect()
        out = bytes(self._ready[:size])
        del self._ready[:size]
        return out

    def cancel_read(self) -> None:
        self.cancelled = True

    def close(self) -> None:
        self.closed = True

    def sent(self, msg_type: fp.MsgType) -> list[fp.Frame]:
        """Frames of ``msg_type`` the host wrote (each transmission counted)."""
        return [f for f in self.frames_written if f.header.msg_type == msg_type]


@dataclass
class Scripted:
    clock: FakeClock
    device: FakeDevice
    port: ScriptedPort
    transport: Transport

    keys: MemoryKeyStore = field(default_factory=MemoryKeyStore)

    def connect(self, **kwargs: object) -> Stimulator:
        """Connect as a host paired with the fake device (unless ``keys`` is given)."""
        if "keys" not in kwargs and self.keys.get(self.device.serial) is None:
            self.keys.put(self.device.host_key())
        kwargs.setdefault("keys", self.keys)
        return connect(transport=self.transport, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    """A fake device behind a scripted port, not yet connected."""
    clock = FakeClock()
    device = FakeDevice(clock)
    port = ScriptedPort(clock, device)
    yield Scripted(clock, device, port, Transport(port, "scripted://fake"))


@dataclass
class Sim:
    """A Stimulator on ``sim://`` and the simulated port behind it (device, clock, bench)."""

    stim: Stimulator
    port: SimSerial

    @property
    def device(self):  # type: ignore[no-untyped-def]
        return self.port.device


@pytest.fixture
def sim() -> Iterator[Callable[..., Sim]]:
    """Factory: ``sim("drop=0.3&seed=2", lease_ms=500)`` → connected ``Sim``; closed after."""
    opened: list[Sim] = []

    def open_sim(query: str = "", **kwargs: object) -> Sim:
        url = f"sim://?{query}"
        port = serial.serial_for_url(url)
        assert isinstance(port, SimSerial)
        stim = connect(transport=Transport(port, url), **kwargs)  # type: ignore[arg-type]
        opened.append(Sim(stim, port))
        return opened[-1]

    yield open_sim
    for s in opened:
        if not s.stim.closed:
            s.stim.close(immediate=True)
