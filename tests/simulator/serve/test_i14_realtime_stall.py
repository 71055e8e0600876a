"""Issue 14, the flaky LEASE fault of the real-time pty test: a stalled simulator must not
fabricate a lease expiry, and a late host must still get one.

``test_virtual_time_records_what_real_time_records`` failed once in CI with a LEASE fault. Its
reproduction: SIGSTOP the pty simulator for 0.8 s while the host keeps heartbeating. On resume
the server fed the heartbeats that had waited in the pty at the time it woke, after the device
had run every lease check up to then, so the device found its lease expired although the host had
never been late. Here ``RealTimeDevice.step`` — one pass of the server's loop — is driven with
explicit real times: no wall time passes, no luck is needed.
"""

from __future__ import annotations

import pytest
from sim_programs import program

import firmware_protocol as fp
from simulator.serve.realtime import RealTimeDevice
from simulator.serve.scenario import Scenario

MS = 1000
LEASE_MS = 500
KEY_ID = 0x4B1D
PAIRING_KEY = bytes(range(32))  # installed on the device as its flash would hold it
HEARTBEAT_US = LEASE_MS * MS // 5  # the host's period, lease/5


class Host:
    """Frames to and from a ``RealTimeDevice`` whose passes run at the times given.

    Attributes:
        device: the real-time device (its server loop's state).
        real_us: the real time of the latest pass.
        events: every EVENT the device sent.
        replies: every other frame it sent.
    """

    def __init__(self) -> None:
        self.device = RealTimeDevice(Scenario(seed=18), real_us=0)
        self.device.bench.device.keys.install(KEY_ID, PAIRING_KEY)
        self.real_us = 0
        self.counter = 1
        self.session_id = 0
        self.keys: fp.SessionKeys | None = None
        self.events: list[fp.Event] = []
        self.replies: list[fp.Frame] = []
        self._decoder = fp.FrameDecoder()
        self._wait_us: int | None = 0

    def hello(self, real_us: int) -> None:
        """Open a session (HELLO under the installed key) at ``real_us``; keep its keys."""
        nonce = bytes(16)
        hello = fp.Hello(
            key_id=KEY_ID, host_nonce=nonce, lease_ms=LEASE_MS, schema_hash=fp.SCHEMA_HASH
        )
        frame = fp.encode_frame(
            hello, key=fp.hello_key(PAIRING_KEY), kind=fp.KeyKind.PAIRING, counter=1
        )
        self.run_until(real_us)
        self.step(real_us, frame)
        self.run_until(real_us + 50 * MS)  # 115200 baud: about 14 ms for both frames
        (ack,) = [f.message for f in self.replies if isinstance(f.message, fp.HelloAck)]
        self.session_id = ack.session_id
        self.keys = fp.session_keys(
            PAIRING_KEY, host_nonce=nonce, device_nonce=ack.device_nonce, session_id=ack.session_id
        )

    def frame(self, message: fp.Message) -> bytes:
        """``message`` tagged in the session, with the next host counter."""
        assert self.keys is not None
        data = fp.encode_frame(
            message,
            key=self.keys.host_to_device,
            kind=fp.KeyKind.SESSION,
            session_id=self.session_id,
            counter=self.counter,
        )
        self.counter += 1
        return data

    def step(self, real_us: int, data: bytes = b"") -> None:
        """One pass at ``real_us`` with the host's ``data`` that waited for it."""
        output, self._wait_us = self.device.step(real_us, data)
        self.real_us = real_us
        for raw in self._decoder.feed(output):
            assert isinstance(raw, fp.RawFrame), raw
            item = raw.decode()
            if isinstance(item.message, fp.Event):
                self.events.append(item.message)
            else:
                self.replies.append(item)

    def run_until(self, real_us: int) -> None:
        """Passes at every time the device is due (a punctual server), then at ``real_us``."""
        while self._wait_us is not None and self.real_us + self._wait_us < real_us:
            self.step(self.real_us + self._wait_us)
        self.step(real_us)

    def send(self, message: fp.Message, real_us: int) -> None:
        """The host sends ``message`` at ``real_us``, read at once by a punctual server."""
        self.run_until(real_us)
        self.step(real_us, self.frame(message))

    @property
    def due_in_us(self) -> int | None:
        """How long after the latest pass the device is next due (as the pass said)."""
        return self._wait_us

    def codes(self) -> list[fp.EventCode]:
        return [fp.EventCode(e.code) for e in self.events]


@pytest.fixture
def running() -> Host:
    """A session with channel 1 (wire 0) running at 2 mA from 1 s, heartbeats up to 2 s."""
    host = Host()
    host.hello(0)
    setting = program(target_uA=2000, ramp_up_ms=500, max_run_s=3600)
    host.send(setting, 60 * MS)
    crcs = (fp.program_crc(setting),) + (0,) * 7
    host.send(fp.Start(channel_mask=1, program_crc=crcs), 80 * MS)
    t_us = 80 * MS
    while t_us + HEARTBEAT_US <= 2_000 * MS:
        t_us += HEARTBEAT_US
        host.send(fp.Heartbeat(), t_us)
    assert fp.EventCode.RAMP_DONE in host.codes()
    assert fp.EventCode.LEASE_EXPIRED not in host.codes()
    return host


def _latest_status(host: Host) -> fp.Status:
    statuses = [f.message for f in host.replies if isinstance(f.message, fp.Status)]
    return statuses[-1]


@pytest.mark.parametrize("stall_ms", [300, 800, 3000])
def test_i14_18_stalled_simulator_does_not_fabricate_lease_expiry(
    running: Host, stall_ms: int
) -> None:
    host = running
    host.run_until(host.real_us + 20 * MS)  # the last STATUS sent: next due, the lease check
    due_in_us = host.due_in_us
    assert due_in_us is not None and due_in_us > 400 * MS
    stalled_from_us = host.real_us
    # The simulator does not run (SIGSTOP, a starved process); the host heartbeats on time and
    # its bytes wait in the pty until the simulator reads them all at once on resume.
    waiting = b""
    t_us = stalled_from_us
    while t_us + HEARTBEAT_US <= stalled_from_us + stall_ms * MS:
        t_us += HEARTBEAT_US
        waiting += host.frame(fp.Heartbeat())
    host.step(stalled_from_us + stall_ms * MS + 5 * MS, waiting)
    for _ in range(10):  # the host goes on heartbeating, the server is punctual again
        t_us = host.real_us + HEARTBEAT_US
        host.send(fp.Heartbeat(), t_us)
    assert fp.EventCode.LEASE_EXPIRED not in host.codes()
    status = _latest_status(host)
    assert fp.ChannelState(status.channels[0].state) == fp.ChannelState.RUNNING
    assert status.channels[0].faults == 0
    # A stall past the lease check is the simulator's: its clock paused (and it was logged).
    assert (host.device.paused_us > 0) == (stall_ms * MS > due_in_us)


@pytest.mark.parametrize("late_ms", [600, 900])
def test_i14_18_late_host_still_has_its_lease_expire(running: Host, late_ms: int) -> None:
    host = running
    last_heartbeat_us = host.real_us
    host.run_until(last_heartbeat_us + late_ms * MS)  # a punctual server, a silent host
    host.send(fp.Heartbeat(), host.real_us)
    expired = [e for e in host.events if e.code == fp.EventCode.LEASE_EXPIRED]
    assert len(expired) == 1
    # At the first 10 ms check at or after the expiry (device time = real time: no stall).
    expiry_ms = last_heartbeat_us // MS + LEASE_MS
    assert expiry_ms <= expired[0].uptime_ms <= expiry_ms + 10 + 1
    assert host.device.paused_us == 0
