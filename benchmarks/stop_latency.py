"""``stop_latency``: from the host's ``stop(immediate=True)`` call to the device's outputs at
zero, in virtual time with the 115200-baud wire model, during a running 6-channel stimulation.

The device's own view decides: an observer on the ``sim://`` port's virtual clock notes the first
instant at which ``port.device.outputs_off`` holds (it runs after the device at every instant
the clock stops at). The limit is what the design allows for: the STOP frame's time on the wire
(10 bits per byte at 115200 baud) plus one device check period (10 ms), read from the same
device. Each repeat calls stop at a different phase of the heartbeat and check grids.
"""

from __future__ import annotations

import serial

import simulator  # noqa: F401  (importing it registers sim:// with pyserial)
from benchmarks.figure import Figure, median
from benchmarks.stack import six_channel_profile
from eacontrol.device import connect
from eacontrol.link import Transport
from firmware_protocol import Heartbeat, KeyKind, Message, Stop, StopMode, encode_frame
from simulator import Device, SimSerial
from simulator.ccore import CoreDevice

__all__ = ["BAUD", "GOAL_RATIO", "OutputsOffObserver", "measure", "one_stop"]

BAUD = 115200
"""The wire model's line rate (the sim:// default, and a UART bridge's)."""

GOAL_RATIO = 1.2
"""Issue 18: the measured latency at most 1.2× the wire time of STOP plus one check period
(issue 8 asked 1.5×)."""

_SETTLE_s = 5.0
"""Running time before the stop: past the profile's 3 s ramp-up, every output at its target."""

_HEARTBEAT_s = 0.1
"""The host's heartbeat period (lease/5 of the default 500 ms lease)."""

_GOLDEN = 0.6180339887498949
"""Repeat n calls stop at phase frac(n × golden ratio) of a heartbeat period: the phases spread
evenly over the period (a low-discrepancy sequence), including just after a heartbeat, when the
STOP has to wait for the heartbeat's bytes on the wire."""


class OutputsOffObserver:
    """A clock actor that notes the first instant ``device.outputs_off`` holds.

    Added to the virtual clock after the device, so at each instant it sees the device's state
    after everything due then has run. It never asks the clock to stop anywhere.
    """

    def __init__(self, device: Device | CoreDevice) -> None:
        """Watch ``device`` from the next instant the clock runs."""
        self._device = device
        self.first_off_us: int | None = None

    def next_deadline_us(self) -> int | None:
        """Nothing of its own to do."""
        return None

    def advance(self, now_us: int) -> None:
        """Note ``now_us`` if the outputs are off for the first time."""
        if self.first_off_us is None and self._device.outputs_off:
            self.first_off_us = now_us


def session_frame_bytes(message: Message) -> int:
    """Wire bytes of ``message`` as the host sends it in a session (delimiter included).

    A session-key frame (protocol major 2: header, payload, 16-byte tag, CRC). COBS adds one byte
    to a body this short whatever its content, so the session id, counter and tag (whatever the
    key) do not change the length.
    """
    return len(encode_frame(message, key=bytes(32), kind=KeyKind.SESSION, session_id=1, counter=1))


def stop_frame_bytes(channel_count: int) -> int:
    """Wire bytes of the STOP the host sends for ``channel_count`` channels."""
    return session_frame_bytes(Stop(channel_mask=(1 << channel_count) - 1, mode=StopMode.IMMEDIATE))


def one_stop(seed: int, settle_s: float) -> tuple[float, float, float]:
    """One immediate stop of 6 running channels.

    Returns:
        (latency to outputs off, latency to the host's confirmation, the limit), all in seconds
        of virtual time.
    """
    profile = six_channel_profile()
    url = f"sim://?channels=6&seed={seed}&baud={BAUD}"
    port = serial.serial_for_url(url, timeout=0)
    assert isinstance(port, SimSerial)
    with connect(transport=Transport(port, url)) as stim:
        for channel in profile.steps[0].channels:
            stim.program(channel, profile.stimulation(0, channel))
        stim.start(profile.steps[0].channels)
        stim.wait(settle_s)
        device, clock = port.device, port.clock
        if device.outputs_off:
            raise RuntimeError("the outputs are not running before the stop")
        observer = OutputsOffObserver(device)
        clock.add_actor(observer)
        called_us = clock.now_us
        stim.stop(immediate=True)
        confirmed_us = clock.now_us
        if observer.first_off_us is None:
            raise RuntimeError("stop() returned but the device's outputs were never off")
        check_s = device.model.check_period_us / 1e6
        limit_s = 10 * stop_frame_bytes(stim.limits.channel_count) / BAUD + check_s
    return (observer.first_off_us - called_us) / 1e6, (confirmed_us - called_us) / 1e6, limit_s


def measure(*, repeats: int = 21, settle_s: float = _SETTLE_s) -> Figure:
    """Median of ``repeats`` stops, each at another phase of the heartbeat and check grids."""
    runs = [
        one_stop(seed, settle_s + (seed * _GOLDEN % 1.0) * _HEARTBEAT_s)
        for seed in range(1, repeats + 1)
    ]
    off_ms = [r[0] * 1e3 for r in runs]
    confirmed_ms = [r[1] * 1e3 for r in runs]
    limit_ms = runs[0][2] * 1e3
    value = median(off_ms)
    ratio = value / limit_ms
    frame_bytes = stop_frame_bytes(6)
    heartbeat_bytes = session_frame_bytes(Heartbeat())
    return Figure(
        name="stop_latency",
        value=value,
        unit="ms (virtual)",
        limit=limit_ms,
        limit_is="STOP frame's wire time + one device check period",
        ratio=ratio,
        goal=f"<= {GOAL_RATIO:g}x the limit",
        met=ratio <= GOAL_RATIO,
        samples=off_ms,
        details={
            "max_ms": max(off_ms),
            "max_ratio": max(off_ms) / limit_ms,
            "stop_frame_bytes": frame_bytes,
            "stop_wire_ms": 10 * frame_bytes / BAUD * 1e3,
            # The worst case on an idle link: STOP written just after a heartbeat, behind it.
            "behind_a_heartbeat_ms": 10 * (frame_bytes + heartbeat_bytes) / BAUD * 1e3,
            "confirmed_median_ms": median(confirmed_ms),
            "confirmed_max_ms": max(confirmed_ms),
            "confirmed_samples_ms": confirmed_ms,
        },
    )
