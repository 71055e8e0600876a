"""What the Stimulator tells its observers: each command it sends, and each STATUS it receives.

A recorder (``eacontrol.session.script.recorded``) writes a script's session record from these
without the device layer importing records. Two notes per command that could stimulate:

* **sending** (``DeviceCommand.sent`` False): ``program`` and ``start`` only, after the host's
  checks and before anything is sent, in the calling thread. An observer may refuse the command
  by raising (nothing is sent), or read the device first (``dose`` before a SET_PROGRAM resets
  its totals). ``stop`` is never announced, so nothing can refuse a stop.
* **sent** (True): every ``program``, ``start``, ``set_intensity``, ``stop`` and
  ``clear_fault`` the device acknowledged (a stop: once its STATUS confirmed the outputs off).

A STATUS only marks the hub (no conversion per heartbeat); status observers are called with its
host time at the next ``wait``/``service``/command, in the driving thread, and read
``Stimulator.last_status``. Notes seen while an emergency stop from another thread holds the
link are delivered later in the driving thread, as events are (``EventHub.holding``); an
observer's exception propagates to that caller, as an event callback's does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from eacontrol.device.status import DeviceStatus
from eacontrol.stimulation import Stimulation

if TYPE_CHECKING:
    from eacontrol.device.events import DeviceEvent, EventCallback, EventHub
    from eacontrol.link import Clock, Link

__all__ = ["CommandCallback", "CommandKind", "DeviceCommand", "Observed", "StatusCallback"]

CommandKind = Literal["program", "start", "set_intensity", "stop", "clear_fault"]


@dataclass(frozen=True)
class DeviceCommand:
    """A command of the Stimulator's caller, about to be sent or acknowledged.

    Attributes:
        kind: which command.
        channels: the channel numbers concerned (from 1), ascending; for ``clear_fault`` sent,
            the channels the device cleared.
        time_s: host clock time of the note.
        sent: False before sending (``program``, ``start``), True once acknowledged.
        stimulation: ``program``: what was programmed.
        program_crc: ``program`` sent: the CRC the device acknowledged.
        intensity_mA / slew_mA_per_s: ``set_intensity``: the target and the rate, as sent.
        immediate: ``stop``: the output was cut at once (no ramp-down).
        status: ``stop`` sent: the STATUS that confirmed the outputs off.
    """

    kind: CommandKind
    channels: tuple[int, ...]
    time_s: float
    sent: bool
    stimulation: Stimulation | None = None
    program_crc: int | None = None
    intensity_mA: float | None = None
    slew_mA_per_s: float | None = None
    immediate: bool = False
    status: DeviceStatus | None = None


CommandCallback = Callable[[DeviceCommand], None]
"""Called with each command note (``Stimulator.on_command``)."""

StatusCallback = Callable[[float], None]
"""Called with the host time of the latest STATUS received (``Stimulator.on_status``)."""


class Observed:
    """The Stimulator's observers: device events, command notes and STATUS arrivals (a mixin
    holding the hub and the link)."""

    _hub: EventHub
    _link: Link

    @property
    def clock(self) -> Clock:
        """The clock this connection runs on (a ``sim://`` port's virtual clock)."""
        return self._link.clock

    def on_event(self, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for every device event; returns a function to unsubscribe.

        Callbacks run in this thread, inside ``wait()``/``service()``/commands.
        """
        return self._hub.subscribe(callback)

    def events(self) -> list[DeviceEvent]:
        """Return and forget the events received since the last call (oldest first)."""
        return self._hub.drain()

    def on_command(self, callback: CommandCallback) -> Callable[[], None]:
        """Call ``callback(note)`` before a ``program``/``start`` is sent and after every
        command is acknowledged (:class:`DeviceCommand`); returns a function to unsubscribe.

        Raising in a note before sending refuses that command (nothing is sent).
        """
        return self._hub.observe(callback, None)

    def on_status(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(time_s)`` after a STATUS arrives (read it as ``last_status``), at
        the next ``wait``/``service``/command; returns a function to unsubscribe."""
        return self._hub.observe(None, callback)

    def _tell(
        self, kind: CommandKind, channels: Iterable[int], sent: bool = True, **fields: Any
    ) -> None:
        self._hub.command(DeviceCommand(kind, tuple(channels), self.clock.now(), sent, **fields))
