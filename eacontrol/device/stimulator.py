"""The Stimulator: one connected device, its session and its outputs, in API units.

Create it with ``eacontrol.device.connect``. The lease is kept only while the caller's own loop
calls ``wait()``, ``service()`` or a command; nothing runs in the background. If the script
blocks for longer than the lease, the device switches its outputs off by itself, closes the
session, and the next ``wait()`` raises ``DeviceFault`` (``NO_SESSION``, its message naming the
reason, LEASE). ``docs/scripting.md`` explains this for researchers.

One thread drives a Stimulator; ``emergency_stop()`` alone may be called from any thread. Every
use of the link holds one lock, so it waits at most for the driver's current read (one heartbeat
period) or command; a ramp-down being confirmed is cut at once (docs/scripting.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from types import TracebackType
from typing import TypeVar

from eacontrol.device.commands import Observed
from eacontrol.device.events import EventHub, EventTracker
from eacontrol.device.expected import OutputWatch
from eacontrol.device.identity import DeviceInfo
from eacontrol.device.naks import nak_error
from eacontrol.device.program import ProgramChecker, compare_readback
from eacontrol.device.status import ChannelDose, DeviceStatus, latched_fault
from eacontrol.device.stopping import guarded_stop, ramp_down_estimate_s, start_overtaken
from eacontrol.device.wire import channel_mask, channel_number, stimulation_from_wire, wire_index
from eacontrol.errors import (
    DeviceError,
    DeviceFault,
    Layer,
    LinkLost,
    ParameterError,
    ReadbackMismatch,
    StopNotConfirmed,
)
from eacontrol.link import FrameLog, Link, TICK_s
from eacontrol.safety.engine import check_number
from eacontrol.safety.limits import DeviceLimits
from eacontrol.stimulation import Stimulation
from firmware_protocol import (
    MAX_CHANNELS,
    Ack,
    ClearFault,
    Dose,
    GetDose,
    GetProgram,
    GetStatus,
    Message,
    Nak,
    NakCode,
    Program,
    SetIntensity,
    SetProgram,
    Start,
    Status,
    StopMode,
    TrustedFrameError,
    program_crc,
    units,
)

__all__ = ["DEFAULT_SLEW_mA_per_s", "Stimulator"]

log = logging.getLogger(__name__)

DEFAULT_SLEW_mA_per_s = 0.5
"""Default rate of a live intensity change: 0.5 mA per second (the standard layer's
design-value operator steps of at most 0.5 mA, at least 1 s apart)."""

M = TypeVar("M", bound=Message)


class Stimulator(Observed):
    """A connected stimulator with an open session. Create it with ``eacontrol.device.connect``.

    A context manager: leaving the ``with`` block for any reason stops every output and waits
    for the device's STATUS to confirm it (ramp-down on a normal exit, immediate after an
    exception; ``StopNotConfirmed`` if the device does not confirm).
    """

    def __init__(self, link: Link, info: DeviceInfo) -> None:
        """Wrap a link whose session HELLO has opened (``connect`` does this)."""
        self._link = link
        self._info = info
        self._checker = ProgramChecker(info.limits, f"device {info.model} {info.serial}")
        self._hub = EventHub()
        self._tracker = EventTracker(self._hub, info.boot_id)
        self._programs: dict[int, SetProgram] = {}  # by channel number
        self._started: set[int] = set()  # channel numbers
        self._fault: DeviceFault | None = None
        self._last_status: tuple[Status, float] | None = None
        self._closed = False
        self._lock = threading.RLock()  # every use of the link
        self._emergency = threading.Event()  # an emergency stop is waiting for the lock
        self._emergency_stops = 0
        self._driver = threading.get_ident()  # the thread that drives the Stimulator
        self._watch = OutputWatch(info.limits.channel_count, info.boot_id)
        link.on_status = self._on_status
        link.on_event = self._tracker.on_event

    # --- identity and state --------------------------------------------------------------------

    @property
    def info(self) -> DeviceInfo:
        """HELLO's identity in the session the link has now (after ``Link.rejoin``)."""
        link = self._link
        self._info = self._info.in_session(link.boot_id, link.session_id, link.lease_s)
        return self._info

    @property
    def limits(self) -> DeviceLimits:
        """The device's reported limits (API units)."""
        return self.info.limits

    @property
    def url(self) -> str:
        """The port or URL this connection was opened on."""
        return self._link.url

    @property
    def simulated(self) -> bool:
        """True when the device is the built-in simulator (a ``sim://`` URL)."""
        return self.url.startswith("sim://")

    @property
    def lease_s(self) -> float:
        """The heartbeat lease granted by the device."""
        return self.info.lease_s

    @property
    def frame_log(self) -> FrameLog:
        """The last frames in both directions, for error reports."""
        return self._link.frame_log

    @property
    def last_status(self) -> DeviceStatus | None:
        """The most recent STATUS (from heartbeats or ``status()``), or None."""
        return None if self._last_status is None else DeviceStatus.from_wire(*self._last_status)

    @property
    def closed(self) -> bool:
        """True once closed."""
        return self._closed

    # --- commands ------------------------------------------------------------------------------

    def _call(self, message: Message, reply_type: type[M]) -> M:
        try:
            with self._lock:
                self._driving()
                reply = self._link.request(message, reply_type)
        except TrustedFrameError as err:
            raise DeviceError(f"the device's reply could not be accepted: {err}") from err
        if isinstance(reply, Nak):
            error = nak_error(message, reply)
            if reply.code == NakCode.NO_SESSION:
                # Rebooted or forgot the session (§3.11, REBOOT maybe lost): the link's fault.
                try:
                    self._link.check()
                except DeviceFault as ended:
                    raise ended from error
            raise error
        return reply

    def program(self, channel: int, stimulation: Stimulation) -> int:
        """Store ``stimulation`` on ``channel``, read it back and compare it field by field.

        Args:
            channel: channel number, from 1 as labelled on the device.
            stimulation: what to deliver, in API units.

        Returns:
            The program CRC (START names it).

        Raises:
            ParameterError: not a Stimulation, or a value outside the standard ∩ device
                limits; nothing was sent.
            DeviceNak: the device refused it (e.g. the channel is running).
            ReadbackMismatch: the device stored something else.
        """
        wire = self._checker.program(channel, stimulation)
        self._tell("program", [channel], False, stimulation=stimulation)
        ack = self._call(wire, Ack)
        crc = program_crc(wire)
        if ack.value != crc:
            raise ReadbackMismatch(channel, "program_crc", f"0x{crc:08X}", f"0x{ack.value:08X}")
        compare_readback(wire, self._call(GetProgram(channel=wire.channel), Program), crc)
        self._programs[channel] = wire
        self._tell("program", [channel], stimulation=stimulation, program_crc=crc)
        log.info("channel %d programmed: %s (crc 0x%08X)", channel, stimulation, crc)
        return crc

    def read_program(self, channel: int) -> Stimulation:
        """Return the program stored on ``channel``, read from the device, in API units.

        Raises:
            DeviceNak: no program is stored (NO_PROGRAM).
        """
        index = self._checker.channel(channel)
        return stimulation_from_wire(self._call(GetProgram(channel=index), Program))

    def start(self, channels: int | Iterable[int]) -> None:
        """Start the channels, each with the program this session stored and read back.

        Every channel starts from zero and ramps up over its program's ``ramp_up_s``. The START
        names each program's CRC, so the device refuses to start anything else.

        Raises:
            ParameterError: a channel has no program from this session.
            DeviceFault: a channel has a latched fault.
            DeviceNak: the device refused (e.g. NONZERO_START, NO_LEASE).
        """
        chosen = self._checker.channels(channels)
        for n in (n for n in chosen if n not in self._programs):
            allowed = f"channels programmed in this session ({sorted(self._programs) or 'none'})"
            raise ParameterError("channels", n, allowed, Layer.SCHEMA)
        crcs = tuple(
            program_crc(self._programs[n]) if n in chosen else 0
            for n in map(channel_number, range(MAX_CHANNELS))
        )
        self._tell("start", chosen, False)
        stops_before = self._emergency_stops
        with self._lock:
            if self._emergency_stops != stops_before or self._emergency.is_set():
                raise start_overtaken(chosen)
            for n in chosen:
                self._watch.start(wire_index(n), self._programs[n])
            start = Start(channel_mask=channel_mask(chosen), program_crc=crcs)
            indices = [wire_index(n) for n in chosen]
            self._watch.send(
                indices, lambda: self._call(start, Ack), lambda: self._link.last_counter
            )
        self._started.update(chosen)
        self._fault = None
        self._tell("start", chosen)
        log.info("started channel(s) %s", chosen)

    def set_intensity(
        self, channel: int, intensity_mA: float, *, slew_mA_per_s: float = DEFAULT_SLEW_mA_per_s
    ) -> None:
        """Move a running channel's intensity to ``intensity_mA`` at ``slew_mA_per_s``.

        Raises:
            ParameterError: out of range, or above the phase-charge limit of its program.
            DeviceFault: the channel has a latched fault.
            DeviceNak: the device refused (e.g. the channel is not running).
        """
        index = self._checker.channel(channel)
        program = self._programs.get(channel)
        if program is None:
            raise ParameterError(
                "channel", channel, "a channel programmed in this session", Layer.SCHEMA
            )
        target_uA = self._checker.intensity(intensity_mA, program)
        slew_uA_per_s = self._checker.slew(slew_mA_per_s)
        with self._lock:
            self._watch.intensity(index, target_uA, slew_uA_per_s)
            message = SetIntensity(channel=index, target_uA=target_uA, slew_uA_per_s=slew_uA_per_s)
            self._watch.send(
                [index], lambda: self._call(message, Ack), lambda: self._link.last_counter
            )
        self._tell(
            "set_intensity",
            [channel],
            intensity_mA=units.uA_to_mA(target_uA),
            slew_mA_per_s=units.uA_to_mA(slew_uA_per_s),
        )

    def stop(
        self,
        channels: int | Iterable[int] | None = None,
        *,
        immediate: bool = False,
        escalate: Callable[[], bool] | None = None,
    ) -> DeviceStatus:
        """Stop channels (all when None) and return the STATUS that confirms their outputs off.

        Ramp-down follows each program's ``ramp_down_s``; ``immediate`` cuts the output at once.
        While a ramp-down is confirmed, ``escalate`` (if given) is called on every wait — the
        caller's chance to read its stop button: when it returns True the outputs are cut at
        once instead of at the end of the ramp.

        An exception from an event callback (or ``escalate``) never aborts the confirmation: it
        is logged and raised once the outputs are confirmed off (``guarded_stop``).

        Raises:
            StopNotConfirmed: the device did not confirm within one lease after the outputs
                should have reached zero. Use the device's hardware stop.
        """
        chosen = self._checker.channels(channels)
        indices = [wire_index(n) for n in chosen]
        with self._lock:
            ramp_s = 0.0
            if not immediate:
                latest = self._link.latest_status
                ramp_s = max(
                    (
                        ramp_down_estimate_s(self._programs[n], latest)
                        for n in chosen
                        if n in self._programs
                    ),
                    default=0.0,
                )
            mode = StopMode.IMMEDIATE if immediate else StopMode.RAMP_DOWN
            self._watch.stop(indices)
            status, failure = guarded_stop(
                self._link, self._hub, channel_mask(chosen), mode, ramp_s, escalate, self._emergency
            )
            self._watch.stopped(indices, self._link.last_counter)
            self._started.difference_update(chosen)
            log.info("stop confirmed on channel(s) %s", chosen)
            result = self._remember(status, self.clock.now())
            self._tell("stop", chosen, immediate=immediate, status=result)
        if failure is not None:
            raise failure
        return result

    def emergency_stop(self) -> DeviceStatus:
        """Cut every output immediately and confirm it; see ``stop``. Safe from any thread.

        From another thread (see the module's docstring) a ``start()`` waiting meanwhile is
        refused (``DeviceFault`` ``EMERGENCY_STOP``); callbacks run later in the driving thread.

        Raises:
            StopNotConfirmed: the device did not confirm. Use the device's hardware stop.
        """
        self._emergency.set()
        try:
            foreign = threading.get_ident() != self._driver
            # From another thread, callbacks wait for the driving thread.
            with self._lock, self._hub.holding() if foreign else nullcontext():
                self._emergency_stops += 1
                return self.stop(None, immediate=True)
        finally:
            self._emergency.clear()

    def status(self) -> DeviceStatus:
        """Ask the device for its STATUS now."""
        reply = self._call(GetStatus(), Status)
        return self._remember(reply, self.clock.now())

    def dose(self, channel: int) -> ChannelDose:
        """Return what ``channel`` delivered since its last program, as the device measured."""
        index = self._checker.channel(channel)
        return ChannelDose.from_wire(self._call(GetDose(channel=index), Dose))

    def clear_fault(self, channels: int | Iterable[int] | None = None) -> tuple[int, ...]:
        """Clear the latched faults of the channels (all when None), once the cause is fixed.

        The device self-tests each faulted channel's output stage with its relay open first and
        clears nothing unless all pass (PROTOCOL.md §3.10); returns the channels it cleared. A
        stage that conducts raises ``DeviceNak`` code ``SELF_TEST_FAILED`` (``limit``: the µA
        measured): the fault stays latched until the device is power-cycled.
        """
        ack = self._call(
            ClearFault(channel_mask=channel_mask(self._checker.channels(channels))), Ack
        )
        self._fault = None
        cleared = tuple(channel_number(i) for i in range(MAX_CHANNELS) if ack.value >> i & 1)
        self._tell("clear_fault", cleared)
        return cleared

    # --- events and time -----------------------------------------------------------------------

    def service(self) -> None:
        """Keep the lease and process what the device sent; returns at once.

        Call it at least every lease/5 from the loop that controls the session (or use
        ``wait``). Faults arrive as events; a reboot or a lost link raises.

        Raises:
            LinkLost: no STATUS for three lease periods, or the port failed.
            DeviceFault: the device rebooted.
        """
        with self._lock:
            self._driving()
            self._link.service()

    def wait(self, seconds: float) -> None:
        """Let ``seconds`` pass while keeping the lease and processing the device's messages.

        Any positive time lets at least one clock tick pass, so a loop of ``wait(dt)`` always
        moves on, however small ``dt`` is; ``wait(0)`` only services the link.

        Raises:
            DeviceFault: a channel started in this session went into FAULT (its stimulation
                stopped, e.g. the lease expired while the script was blocked).
            LinkLost: as ``service``.
        """
        seconds = check_number("seconds", seconds, "s")
        end = self.clock.now() + (max(seconds, TICK_s) if seconds > 0 else 0.0)
        while True:
            with self._lock:  # released between passes: an emergency stop may come in
                self._driving()
                self._link.service()
                self.check_faults()
                if self.clock.now() >= end:
                    return
                self._link.pump_until(min(end, self._link.wake_at()))

    def _driving(self) -> None:
        """Note the calling thread as the driving one; deliver the events held for it; act on a
        mismatch between STATUS and what the host commanded."""
        self._driver = threading.get_ident()
        self._hub.release_held()
        if (mismatch := self._watch.mismatch) is None:
            return
        log.error("device mismatch: %s; cutting every output", mismatch)
        try:
            self.stop(None, immediate=True)
        except StopNotConfirmed as err:
            err.add_note(f"every output was being cut because {mismatch}")
            raise
        finally:
            self._watch.mismatch = None  # the cut covers whatever else was seen meanwhile
        raise mismatch.error()

    def check_faults(self) -> None:
        """Raise the latched fault that a STATUS showed on a channel started in this session, if
        one did since the last check (``wait`` checks on every pass). Call it after a ``stop``
        that confirmed the outputs off: a fault latched during the ramp-down surfaces here.

        Raises:
            DeviceFault: naming the first faulted channel and its faults.
        """
        if self._fault is not None:
            fault, self._fault = self._fault, None
            raise fault

    def _on_status(self, wire: Status, time_s: float, ref_counter: int) -> None:
        # Every heartbeat brings one: keep the wire STATUS, and convert it to API units only
        # when someone asks (``last_status``); check it against what the host commanded.
        self._keep(wire, time_s)
        self._hub.status_arrived(time_s)
        self._tracker.on_status(wire, time_s)
        self._watch.check(wire, ref_counter)
        faulted, fault = latched_fault(wire, self._started)
        if fault is not None:
            self._started.difference_update(faulted)
            self._fault = fault

    def _keep(self, status: Status, time_s: float) -> None:
        if self._last_status is None or time_s >= self._last_status[1]:
            self._last_status = (status, time_s)

    def _remember(self, status: Status, time_s: float) -> DeviceStatus:
        self._keep(status, time_s)
        return DeviceStatus.from_wire(status, time_s)

    # --- closing -------------------------------------------------------------------------------

    def close(self, *, immediate: bool = False) -> None:
        """Stop and confirm every output, then close the port. Safe to call twice.

        Raises:
            StopNotConfirmed: the outputs could not be confirmed off (the port is closed anyway).
        """
        with self._lock:
            if self._closed:
                return
            try:
                if not self._link.lost:
                    self.stop(None, immediate=immediate)
            finally:
                self._closed = True
                self._link.close()

    def __enter__(self) -> Stimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, LinkLost) or self._link.lost:
            # The link is gone: no STATUS can confirm anything, and no heartbeat will renew the
            # lease, so the device stops within one lease. LinkLost says so; do not mask it.
            self._closed = True
            self._link.close()
            return
        try:
            self.close(immediate=exc is not None)
        except StopNotConfirmed as err:
            if exc is not None:
                err.add_note(f"while handling {type(exc).__name__}: {exc}")
            raise
