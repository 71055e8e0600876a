"""Device events for the application: callbacks and a bounded queue of recent events.

EVENT frames are unsolicited and may be lost on the wire (PROTOCOL.md §3.12: "they inform,
STATUS decides"); they are never duplicated here: the link accepts each device frame once (its
device counter strictly increases; a repeat is a link fault, ``eacontrol.link.auth``).
``EventTracker`` therefore synthesises an event (``source="status"``) when a STATUS shows a
latched fault or a reboot that no EVENT reported, so a lost EVENT frame never hides a fault.
(When the STATUS happens to arrive before the EVENT frame, both are delivered: the EVENT
carries the detail.)

Callbacks run in the thread that drives the Stimulator, inside ``service()``/``wait()``/commands.
Events seen while an emergency stop called from another thread holds the link are kept
(``EventHub.holding``) and delivered in the driving thread at its next call, so a callback (a
display, the session's record) is never called from a watchdog's thread. An exception
from a callback propagates to that caller (it is never logged and swallowed) — except while a
STOP is being confirmed: then it is logged, kept, and raised by ``stop()`` once the device has
confirmed the outputs off (``EventHub.deferring``), so a failing callback can never abort a stop.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TypeVar

from eacontrol.device.commands import CommandCallback, DeviceCommand, StatusCallback
from firmware_protocol import MAX_CHANNELS, NO_CHANNEL, Event, EventCode, Fault, Status, units

__all__ = [
    "DEFAULT_EVENT_QUEUE",
    "DeviceEvent",
    "EventCallback",
    "EventHub",
    "EventTracker",
    "subscribe_to",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_EVENT_QUEUE = 256
"""Events kept for ``Stimulator.events()`` before the oldest are dropped."""

_FAULT_EVENTS: dict[Fault, EventCode] = {
    Fault.ELECTRODE: EventCode.ELECTRODE_FAULT,
    Fault.COMPLIANCE: EventCode.COMPLIANCE,
    Fault.LEASE: EventCode.LEASE_EXPIRED,
    Fault.STUCK_OUTPUT: EventCode.STUCK_OUTPUT,
    Fault.BUTTON_STOP: EventCode.BUTTON_STOP,
}
_EVENT_FAULTS = {code: bit for bit, code in _FAULT_EVENTS.items()}
_MASK_EVENTS = {EventCode.LEASE_EXPIRED, EventCode.BUTTON_STOP}
_STOP_KINDS = {0: "ramp-down", 1: "immediate", 2: "lease", 3: "fault"}


@dataclass(frozen=True)
class DeviceEvent:
    """Something the device did on its own (or reported by STATUS).

    Attributes:
        code: the event code.
        channel: the channel number (from 1), or None for the whole device.
        detail: the wire detail (meaning per code, PROTOCOL.md §5.19); 0 when synthesised.
        device_uptime_s: device uptime when it happened (STATUS time when synthesised).
        time_s: host clock time at which the host learned of it.
        source: ``"event"`` for an EVENT frame, ``"status"`` when derived from STATUS.
    """

    code: EventCode
    channel: int | None
    detail: int
    device_uptime_s: float
    time_s: float
    source: Literal["event", "status"] = "event"

    @property
    def name(self) -> str:
        """The event code's name, e.g. ``"LEASE_EXPIRED"``."""
        return self.code.name

    def describe(self) -> str:
        """Return the event in words, with its detail in API units."""
        where = "device" if self.channel is None else f"channel {self.channel}"
        if self.source == "status":
            return f"{self.name} on {where} (seen in STATUS)"
        d = self.detail
        stopped = [n + 1 for n in range(MAX_CHANNELS) if d >> n & 1]  # wire mask → numbers
        explained = {
            EventCode.LEASE_EXPIRED: f"lease expired; stopped channel(s) {stopped}",
            EventCode.ELECTRODE_FAULT: "electrode open"
            if d == 0xFFFF
            else f"electrode fault at {d} ohm",
            EventCode.COMPLIANCE: f"compliance: only {units.uA_to_mA(d):g} mA could be driven",
            EventCode.REBOOT: f"device rebooted (boot_id 0x{d:08X})",
            EventCode.BUTTON_STOP: f"hardware stop button; stopped channel(s) {stopped}",
            EventCode.STUCK_OUTPUT: f"stuck output measuring {units.uA_to_mA(d):g} mA",
            EventCode.MAX_RUN_TIME: f"device shut-off after {d} s",
            EventCode.RAMP_DONE: f"ramp done at {units.uA_to_mA(d):g} mA",
            EventCode.STOPPED: f"stopped ({_STOP_KINDS.get(d, d)})",
        }.get(self.code, f"detail {d}")
        return f"{self.name} on {where}: {explained}"

    def __str__(self) -> str:
        return self.describe()


EventCallback = Callable[[DeviceEvent], None]


def subscribe_to(callbacks: list[T], callback: T) -> Callable[[], None]:
    """Add ``callback`` to ``callbacks``; return a function that takes it out (safe twice)."""
    callbacks.append(callback)

    def unsubscribe() -> None:
        if callback in callbacks:
            callbacks.remove(callback)

    return unsubscribe


class EventHub:
    """Fan-out of events to callbacks plus a bounded queue drained by the application; also of
    command notes and STATUS arrivals to their observers (``eacontrol.device.commands``)."""

    def __init__(self, maxlen: int = DEFAULT_EVENT_QUEUE) -> None:
        """Args:
        maxlen: events kept in the queue; older ones are dropped and counted.
        """
        self._queue: deque[DeviceEvent] = deque(maxlen=max(1, maxlen))
        self._callbacks: list[EventCallback] = []
        self._deferred: list[Exception] | None = None
        self._holding = False
        self._held: list[DeviceEvent | DeviceCommand] = []
        self._commands: list[CommandCallback] = []
        self._statuses: list[StatusCallback] = []
        self._status_at: float | None = None  # a STATUS not yet told to status observers
        self.dropped = 0

    def subscribe(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback`` with every future event; return a function that unsubscribes."""
        return subscribe_to(self._callbacks, callback)

    def observe(
        self, commands: CommandCallback | None, statuses: StatusCallback | None
    ) -> Callable[[], None]:
        """Call ``commands`` with every command note and ``statuses`` with each STATUS's host
        time (``eacontrol.device.commands``); return a function that stops both."""
        stops: list[Callable[[], None]] = []
        if commands is not None:
            stops.append(subscribe_to(self._commands, commands))
        if statuses is not None:
            stops.append(subscribe_to(self._statuses, statuses))

        def stop() -> None:
            for unsubscribe in stops:
                unsubscribe()

        return stop

    def command(self, note: DeviceCommand) -> None:
        """Tell the command observers: at once before sending (they may refuse by raising);
        once sent, as an event (held while ``holding``)."""
        if note.sent and self._holding:
            self._held.append(note)
            return
        self._call_back(note)

    def status_arrived(self, time_s: float) -> None:
        """Note a STATUS received at host time ``time_s``; ``release_held`` tells observers."""
        self._status_at = time_s

    def publish(self, event: DeviceEvent) -> None:
        """Queue ``event`` and call every subscriber with it."""
        log.info("device event: %s", event)
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(event)
        if self._holding:
            self._held.append(event)
            return
        self._call_back(event)

    def _call_back(self, item: DeviceEvent | DeviceCommand | float) -> None:
        if isinstance(item, DeviceEvent):
            self._call_each(self._callbacks, item)
        elif isinstance(item, DeviceCommand):
            self._call_each(self._commands, item)
        else:
            self._call_each(self._statuses, item)

    def _call_each(self, callbacks: list[Callable[[T], None]], item: T) -> None:
        for callback in list(callbacks):
            if self._deferred is None:
                callback(item)
                continue
            try:
                callback(item)
            except Exception as err:
                log.exception("an event callback failed during a STOP; the stop goes on")
                self._deferred.append(err)

    @contextmanager
    def holding(self) -> Iterator[None]:
        """While inside, events are queued but callbacks are not called: ``release_held`` calls
        them later (from the driving thread)."""
        before, self._holding = self._holding, True
        try:
            yield
        finally:
            self._holding = before

    def release_held(self) -> None:
        """Call the callbacks with the events and notes held by ``holding``, oldest first; then
        tell the status observers of the latest STATUS, if one arrived since."""
        while self._held and not self._holding:
            self._call_back(self._held.pop(0))
        if self._status_at is not None and not self._holding:
            time_s, self._status_at = self._status_at, None
            self._call_back(time_s)

    @property
    def deferring_active(self) -> bool:
        """True inside ``deferring()``."""
        return self._deferred is not None

    @contextmanager
    def deferring(self) -> Iterator[list[Exception]]:
        """While inside, a callback's exception is logged and kept in the list yielded instead
        of propagating (nested uses share the outermost list)."""
        if self._deferred is not None:
            yield self._deferred
            return
        self._deferred = []
        try:
            yield self._deferred
        finally:
            self._deferred = None

    def drain(self) -> list[DeviceEvent]:
        """Return and forget the queued events, oldest first."""
        events = list(self._queue)
        self._queue.clear()
        return events


class EventTracker:
    """Feeds an ``EventHub`` from EVENT frames and STATUS, without repeats or gaps."""

    def __init__(self, hub: EventHub, boot_id: int) -> None:
        """Args:
        hub: where events go.
        boot_id: the device's boot_id at HELLO.
        """
        self._hub = hub
        self._boot_id = boot_id
        self._reported: dict[int, Fault] = {}
        self._reboot_reported = False

    def on_event(self, event: Event, device_counter: int, time_s: float) -> None:
        """Handle an EVENT frame (``device_counter`` from its header, logged)."""
        log.debug("EVENT %s (device counter %d)", event.code.name, device_counter)
        channel = None if event.channel == NO_CHANNEL else event.channel
        if event.code == EventCode.REBOOT:
            if self._reboot_reported:
                return
            self._reboot_reported = True
        bit = _EVENT_FAULTS.get(event.code)
        if bit is not None:
            if event.code in _MASK_EVENTS:
                targets = [n for n in range(MAX_CHANNELS) if event.detail >> n & 1]
            else:
                targets = [] if channel is None else [channel]
            for n in targets:
                self._reported[n] = self._reported.get(n, Fault.NONE) | bit
        self._hub.publish(
            DeviceEvent(
                code=event.code,
                channel=None if channel is None else channel + 1,
                detail=event.detail,
                device_uptime_s=units.ms_to_s(event.uptime_ms),
                time_s=time_s,
            )
        )

    def on_status(self, status: Status, time_s: float) -> None:
        """Synthesise events for faults and reboots that STATUS shows and no EVENT reported."""
        if status.boot_id != self._boot_id and not self._reboot_reported:
            self._reboot_reported = True
            self._publish_synthetic(EventCode.REBOOT, None, status, time_s)
        for channel, report in enumerate(status.channels):
            known = self._reported.get(channel, Fault.NONE)
            if report.faults == known:
                continue  # nothing latched or cleared since (every heartbeat, nearly always)
            bits = Fault(report.faults)
            if bits & ~known:
                for bit, code in _FAULT_EVENTS.items():
                    if bits & bit and not known & bit:
                        self._publish_synthetic(code, channel + 1, status, time_s)
            self._reported[channel] = bits

    def _publish_synthetic(
        self, code: EventCode, channel: int | None, status: Status, time_s: float
    ) -> None:
        self._hub.publish(
            DeviceEvent(
                code=code,
                channel=channel,
                detail=0,
                device_uptime_s=units.ms_to_s(status.uptime_ms),
                time_s=time_s,
                source="status",
            )
        )
