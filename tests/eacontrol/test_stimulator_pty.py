"""The one real-time test: the simulator behind a pty (``python -m simulator --pty``), driven by a
real ``serial.Serial`` opened exclusively through ``spy://`` (the field-debugging hex trace), on
the real clock. No wall-clock asserts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pty_simulator import simulator_on_a_pty

from eacontrol.device import connect
from eacontrol.device.pair_port import pair_port
from eacontrol.device.pairing import FileKeyStore
from eacontrol.errors import PortBusy
from eacontrol.link import RealClock, Transport
from eacontrol.stimulation import Stimulation

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pty"),
    pytest.mark.pty,
]


@pytest.fixture
def pty_device() -> Iterator[str]:
    """Start the simulator on a pty; yield the pty's path; stop it with SIGTERM."""
    with simulator_on_a_pty(
        "--seed", "1", "--serial", "PTY-000001", "--pairing-window", "60"
    ) as path:
        yield path


def test_real_serial_over_a_pty(pty_device: str, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    keys = FileKeyStore(tmp_path / "keys")
    pair_port(pty_device, keys=keys)  # the key is kept per serial: spy:// to it finds it
    url = f"spy://{pty_device}?file={trace}"
    with connect(url, device_serial="PTY-000001", keys=keys) as stim:
        assert isinstance(stim.clock, RealClock)
        with pytest.raises(PortBusy):
            Transport.open(pty_device)  # one controller per device
        program = Stimulation(frequency_hz=100, phase_width_us=200, intensity_mA=1.5, ramp_up_s=2)
        stim.program(1, program)
        stim.start(1)
        events = []
        for _ in range(100):  # until the ramp is done, however slow the machine
            stim.wait(0.1)
            events += stim.events()
            if events:
                break
        assert [e.name for e in events] == ["RAMP_DONE"]
        running = stim.status().channels[0]
        assert (running.channel, running.measured_mA, running.frequency_hz) == (1, 1.5, 100)
        status = stim.stop(1, immediate=True)
        assert status.outputs_off()
    assert stim.closed
    assert "TX" in trace.read_text() and "RX" in trace.read_text()  # pyserial's hex dump
