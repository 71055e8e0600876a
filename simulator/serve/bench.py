"""A scenario running: the simulated device on its cable, with the timed events, on a scheduler.

What every way in runs (``sim://`` in virtual time, the pty and TCP servers in real time): the
device (``simulator.hardware.Device``) with its loads, the cable (``Link``) with a fault layer
each way, and the scenario's device events scheduled at their times. Device EVENT frames and
applied events are logged at INFO, channels named from 1.
"""

from __future__ import annotations

import functools
import logging

import numpy as np

from firmware_protocol import (
    NO_CHANNEL,
    Event,
    EventCode,
    FrameDecoder,
    FrameError,
    MsgType,
    RawFrame,
    SessionClosed,
)
from simulator.ccore.device import CoreDevice
from simulator.clock import US_PER_S, Scheduler, seconds_to_us
from simulator.hardware.device import Device
from simulator.hardware.faults import DeviceEvent, Direction, EventKind, FaultInjector, describe
from simulator.hardware.loads import DEFAULT_LOAD, Load, OpenCircuit, parse_load
from simulator.hardware.wire import Link
from simulator.numbering import channel_name, mask_channels
from simulator.serve.scenario import Scenario

__all__ = ["Bench"]

logger = logging.getLogger(__name__)

_MASK_DETAIL = frozenset({EventCode.LEASE_EXPIRED, EventCode.BUTTON_STOP})
"""EVENT codes whose detail is a channel mask (PROTOCOL.md §5.19); logged as channel numbers."""

_REASONS = frozenset(int(reason) for reason in SessionClosed)
"""EVENT SESSION_CLOSED details, logged by name (``reason=LEASE``)."""


class Bench:
    """A scenario running on a scheduler: the device, its cable and the timed events.

    Every random generator is spawned from the scenario's seed in a fixed order (device, fault
    layer to the device, fault layer to the host, then one per channel load), so a seed replays
    a run exactly. Events are scheduled at their ``at_s`` on the scheduler's time axis. Device
    EVENT frames and applied device events are logged (logger ``simulator.serve.bench``) at INFO.

    Args:
        scenario: what to build.
        scheduler: the clock (or real-time scheduler) to run on; the cable is added as an actor.
        now_us: the scheduler's current time.

    Attributes:
        scenario: the scenario.
        device: the simulated device (``CoreDevice``, the C core, for ``core=c``).
        link: the cable between the host's port and the device.
        loads: the load now connected to each channel (an electrode off shows as open).
    """

    def __init__(self, scenario: Scenario, scheduler: Scheduler, now_us: int = 0) -> None:
        channels = scenario.model.channel_count
        seeds = np.random.SeedSequence(scenario.seed).spawn(3 + channels)
        device_rng, down_rng, up_rng, *load_rngs = (np.random.default_rng(s) for s in seeds)
        texts = scenario.loads + ("",) * (channels - len(scenario.loads))
        self.scenario = scenario
        self._load_rngs = load_rngs
        self.loads: list[Load] = [
            parse_load(text, rng) if text else DEFAULT_LOAD
            for text, rng in zip(texts, load_rngs, strict=True)
        ]
        self._before_off: dict[int, Load] = {}
        kind = CoreDevice if scenario.core == "c" else Device
        self.device: Device | CoreDevice = kind(
            scenario.model, rng=device_rng, loads=list(self.loads), now_us=now_us
        )
        if scenario.pairing_window_s:  # the pairing button, pressed at power-on
            self.device.open_pairing_window(now_us, scenario.pairing_window_s)
        self._decoder = FrameDecoder()
        self.link = Link(
            self.device,
            baud=scenario.baud,
            to_device=FaultInjector(scenario.faults, Direction.TO_DEVICE, down_rng),
            to_host=FaultInjector(scenario.faults, Direction.TO_HOST, up_rng),
            tap=self._log_device_output,
            now_us=now_us,
        )
        scheduler.add_actor(self.link)
        for event in scenario.events:
            scheduler.schedule(seconds_to_us(event.at_s), functools.partial(self.apply, event))

    def apply(self, event: DeviceEvent, now_us: int) -> None:
        """Make ``event`` happen now (the scheduler calls this at the event's time)."""
        logger.info("scenario: %s (t=%.6f s)", describe(event), now_us / US_PER_S)
        channel = event.channel if event.channel is not None else 0
        if event.kind is EventKind.UNPLUG:
            self.link.unplug(now_us)
        elif event.kind is EventKind.REBOOT:
            self.device.reboot(now_us)
        elif event.kind is EventKind.STOP_BUTTON:
            self.device.press_stop_button(now_us)
        elif event.kind is EventKind.STUCK_OUTPUT:
            self.device.stick_output(channel, now_us, event.current_uA)
        elif event.kind is EventKind.ELECTRODE_OFF:
            self._before_off.setdefault(channel, self.loads[channel])
            self._set_load(channel, OpenCircuit(), now_us)
        elif event.kind is EventKind.ELECTRODE_ON:
            self._set_load(channel, self._before_off.pop(channel, self.loads[channel]), now_us)
        elif event.load is not None:
            self._before_off.pop(channel, None)
            self._set_load(channel, parse_load(event.load, self._load_rngs[channel]), now_us)

    def _set_load(self, channel: int, load: Load, now_us: int) -> None:
        self.loads[channel] = load
        self.device.set_load(channel, load, now_us)

    def _log_device_output(self, data: bytes, now_us: int) -> None:
        # Decoding everything the device sends (a STATUS per heartbeat) to find its EVENTs costs
        # as much as the host's own decoding: skip it when the log line would be dropped. The
        # device hands over whole frames, so a skipped chunk leaves the decoder between frames.
        if not logger.isEnabledFor(logging.INFO):
            return
        for item in self._decoder.feed(data):
            if not isinstance(item, RawFrame) or item.header.msg_type != MsgType.EVENT:
                continue
            # The device's own frames, read for the log: their tags need not be checked here.
            try:
                event = item.decode().message
            except FrameError:  # pragma: no cover - the device encodes only valid messages
                continue
            if isinstance(event, Event):
                where = "device" if event.channel == NO_CHANNEL else channel_name(event.channel)
                if event.code in _MASK_DETAIL:
                    detail = f"stopped {mask_channels(event.detail)}"
                elif event.code == EventCode.SESSION_CLOSED and event.detail in _REASONS:
                    detail = f"reason={SessionClosed(event.detail).name}"
                else:
                    detail = f"detail={event.detail}"
                logger.info(
                    "device EVENT %s %s %s (t=%.6f s)",
                    event.code.name,
                    where,
                    detail,
                    now_us / US_PER_S,
                )
