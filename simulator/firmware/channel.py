"""One channel's firmware state machine: programs, ramps, stops, the maximum run and faults.

States and transitions are those of PROTOCOL.md §6. The set value is a ``Ramp`` (linear, then
level), so a channel knows its set value at any instant and tells the device exactly when it
next has something to do (a ramp's end, the maximum-run shut-off, a check that will find a
fault) instead of being stepped. Every change of what the output delivers is handed to the
output stage at once (``OutputStage.drive``), whose pulse engine runs it until the next change.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from firmware_protocol import ChannelState, ChannelStatus, EventCode, Fault, SetProgram, StopMode
from simulator.firmware.dose import DoseCounters
from simulator.firmware.hal import OPEN_OHM, Drive, OutputStage
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import Schedule, phase_at_us, schedule
from simulator.firmware.units import U16, US_PER_MS, US_PER_S, tick_at_or_after

__all__ = ["ACTIVE_STATES", "Channel", "EventSink", "StatusRecord", "StopCause"]

EventSink = Callable[[EventCode, int, int], None]
"""Called with (event code, channel, detail) for every EVENT the channel raises."""

StatusRecord = tuple[ChannelState, Fault, int, int, int, int, int]
"""A channel's STATUS record as values: state, faults, target, set and measured µA, impedance Ω
and frequency cHz (``ChannelStatus``'s fields, in order)."""

_RUNNING = (ChannelState.RAMPING, ChannelState.RUNNING)
ACTIVE_STATES = (*_RUNNING, ChannelState.STOPPING)
"""The states ``ChannelState.output_active`` names, as a tuple (a STATUS every heartbeat)."""


class StopCause(enum.IntEnum):
    """``detail`` of EVENT STOPPED (PROTOCOL.md §5.19)."""

    RAMP_DOWN = 0
    IMMEDIATE = 1
    LEASE = 2
    FAULT = 3


class Channel:
    """The firmware's view of one output channel.

    Args:
        index: the channel number (from 0).
        output: the channel's output stage.
        emit: where the channel's EVENTs go.
        now_us: the time the channel is created at.

    Attributes:
        index: the channel number (from 0).
        state: the state of PROTOCOL.md §6.
        faults: the latched faults.
        program: the stored program (None before SET_PROGRAM).
        program_crc: its CRC (0 without a program).
        target_uA: the live target: the program's at START, then SET_INTENSITY's.
        dose: what the output delivered since SET_PROGRAM (GET_DOSE).
    """

    def __init__(self, index: int, output: OutputStage, emit: EventSink, now_us: int) -> None:
        self.index = index
        self._output = output
        self._emit = emit
        self.state = ChannelState.IDLE
        self.faults = Fault.NONE
        self.program: SetProgram | None = None
        self.program_crc = 0
        self.target_uA = 0
        self.dose = DoseCounters()
        self._ramp = Ramp.level(now_us)
        self._run_start_us = now_us
        self._run_end_us = now_us
        self._impedance_ohm = OPEN_OHM
        """The impedance last measured while driving, reported while the channel is not."""
        self._failed_test_uA = 0
        """What a failed self-test measured since boot (0: none failed); until a power cycle
        no fault of this channel can be cleared (PROTOCOL.md §3.10)."""
        self._schedule: tuple[SetProgram, Schedule] | None = None  # _schedule_of's
        self._relay_open = False  # as the firmware last set it (the C core reads its pin)
        self._relay_was_open = False
        """Whether the relay was open before the last self-test opened it."""

    # --- inspection ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while the firmware drives the output (RAMPING, RUNNING or STOPPING)."""
        return self.state.output_active

    def _drive(self) -> Drive | None:
        if not self.active or self.program is None:
            return None
        return Drive(self.program, self._run_start_us, self._ramp)

    def set_uA(self, t_us: int) -> int:
        """The firmware's set value at ``t_us`` (0 when not active)."""
        return self._ramp.at(t_us) if self.active else 0

    def measured_uA(self, t_us: int) -> int:
        """The current the output stage measures at ``t_us`` (pulse amplitude or a stuck DC)."""
        return self._output.measured_uA(t_us)

    def status_record(self, t_us: int) -> StatusRecord:
        """The values of this channel's STATUS record at ``t_us``, in ``ChannelStatus`` field
        order (the device packs them without building the record)."""
        program = self.program
        impedance_ohm = self._impedance_ohm
        freq_cHz = 0
        set_uA = 0
        target_uA = 0 if program is None else program.target_uA
        state = self.state
        if state in ACTIVE_STATES:
            set_uA = self._ramp.at(t_us)
            target_uA = self.target_uA
            if program is not None:
                start_us = self._run_start_us
                phase_us = phase_at_us(program, start_us, t_us)
                impedance_ohm = self._output.impedance_ohm(phase_us, t_us)
                freq_cHz = self._schedule_of(program).freq_at_cHz(t_us, start_us)
        measured_uA = min(U16, self._output.measured_uA(t_us))
        return (state, self.faults, target_uA, set_uA, measured_uA, impedance_ohm, freq_cHz)

    def status(self, t_us: int) -> ChannelStatus:
        """This channel's STATUS record at ``t_us``."""
        return ChannelStatus(*self.status_record(t_us))

    def _schedule_of(self, program: SetProgram) -> Schedule:
        """``schedule(program)``, worked out once per stored program (as the C core does)."""
        cached = self._schedule
        if cached is None or cached[0] is not program:
            cached = self._schedule = (program, schedule(program))
        return cached[1]

    def next_deadline_us(self) -> int | None:
        """When a ramp ends or the maximum run is reached, or None."""
        if self.state in _RUNNING:
            end_us = self._run_end_us
            if self.state == ChannelState.RAMPING:
                end_us = min(end_us, self._ramp.t1_us)
            return end_us
        if self.state == ChannelState.STOPPING:
            return self._ramp.t1_us
        return None

    def check_tick(self, first_tick_us: int, period_us: int) -> int | None:
        """The first check instant (on the grid from ``first_tick_us``) that will find a fault.

        None: no check will find one while the channel and its output stay as they are (a
        load that changes on its own is the output stage's to foresee:
        ``OutputStage.first_open_tick_us``). ``Firmware`` relies on that.
        """
        output = self._output
        if output.dc_uA(first_tick_us) > 0:
            return first_tick_us
        if not self.active or self.program is None:
            return None
        candidates = []
        open_tick_us = output.first_open_tick_us(first_tick_us, period_us)
        if open_tick_us is not None:
            candidates.append(open_tick_us)
        limit_uA = output.compliance_limit_uA()
        crossing_us = None if limit_uA is None else self._ramp.first_above(limit_uA)
        if limit_uA is not None and crossing_us is not None:
            tick_us = tick_at_or_after(crossing_us, first_tick_us, period_us)
            if self._ramp.at(tick_us) <= limit_uA:  # a falling ramp may be back within it
                tick_us += period_us
            candidates.append(tick_us)
        return min(candidates, default=None)

    # --- commands -----------------------------------------------------------------------

    def flush(self, now_us: int) -> None:
        """Add what the output stage delivered up to ``now_us`` to the dose counters."""
        self.dose.add(self._output.read_delivered(now_us))

    def _set_ramp(self, ramp: Ramp, state: ChannelState) -> None:
        drive = self._drive()
        if drive is not None and state not in (*_RUNNING, ChannelState.STOPPING):
            # The output stops being driven: keep its last impedance for STATUS.
            self._impedance_ohm = self._output.impedance_ohm(drive.phase_us(ramp.t0_us), ramp.t0_us)
        self._ramp = ramp
        self.state = state
        self._output.drive(ramp.t0_us, self._drive())

    def store_program(self, program: SetProgram, crc: int, now_us: int) -> None:
        """SET_PROGRAM: store the program, reset the delivered totals, become PROGRAMMED."""
        self._output.clear_delivered(now_us)
        self.dose.clear()
        self.program = program
        self.program_crc = crc
        self.state = ChannelState.PROGRAMMED

    def start(self, now_us: int) -> None:
        """START: ramp from zero to the program's target (checks are the caller's)."""
        program = self.program
        if program is None:  # pragma: no cover - the caller refuses START without a program
            raise RuntimeError("START without a program")
        self._run_start_us = now_us
        self._run_end_us = now_us + program.max_run_s * US_PER_S
        self.target_uA = program.target_uA
        ramp = Ramp.over(now_us, 0, program.target_uA, program.ramp_up_ms * US_PER_MS)
        self._set_ramp(ramp, ChannelState.RAMPING)

    def set_target(self, target_uA: int, slew_uA_per_s: int, now_us: int) -> None:
        """SET_INTENSITY: slew from the present set value to a new live target."""
        self.target_uA = target_uA
        ramp = Ramp.at_slew(now_us, self._ramp.at(now_us), target_uA, slew_uA_per_s)
        self._set_ramp(ramp, ChannelState.RAMPING)

    def stop(self, mode: StopMode, now_us: int) -> None:
        """STOP on this channel: ramp down or cut to zero; inactive channels are unaffected."""
        if not self.active:
            return
        if mode == StopMode.IMMEDIATE:
            self._stopped(now_us, StopCause.IMMEDIATE)
        elif self.state != ChannelState.STOPPING:
            self._ramp_down(now_us)

    def _ramp_down(self, now_us: int) -> None:
        program = self.program
        if program is None:  # pragma: no cover - an active channel always has a program
            raise RuntimeError("active channel without a program")
        set_uA = self._ramp.at(now_us)
        # The program's ramp-down time, scaled by the share of the target still set (rounded
        # down to a whole µs); the whole time from above the target.
        duration_us = program.ramp_down_ms * US_PER_MS
        if set_uA <= self.target_uA:
            duration_us = duration_us * set_uA // max(self.target_uA, 1)
        self.target_uA = 0
        self._set_ramp(Ramp.over(now_us, set_uA, 0, duration_us), ChannelState.STOPPING)

    def _stopped(self, now_us: int, cause: StopCause) -> None:
        self._set_ramp(Ramp.level(now_us), ChannelState.PROGRAMMED)
        self.target_uA = 0
        self._emit(EventCode.STOPPED, self.index, cause)

    def run_due(self, now_us: int) -> None:
        """Complete a ramp or apply the maximum-run shut-off due at or before ``now_us``."""
        if self.state in _RUNNING and now_us >= self._run_end_us:
            program = self.program
            run_s = program.max_run_s if program is not None else 0
            self._emit(EventCode.MAX_RUN_TIME, self.index, run_s)
            self._ramp_down(self._run_end_us)
        if self.state == ChannelState.RAMPING and now_us >= self._ramp.t1_us:
            self._set_ramp(Ramp.level(self._ramp.t1_us, self._ramp.end_uA), ChannelState.RUNNING)
            self._emit(EventCode.RAMP_DONE, self.index, self._ramp.end_uA)
        if self.state == ChannelState.STOPPING and now_us >= self._ramp.t1_us:
            self._stopped(self._ramp.t1_us, StopCause.RAMP_DOWN)

    # --- faults -------------------------------------------------------------------------

    def latch(self, fault: Fault, now_us: int, cause: StopCause = StopCause.FAULT) -> bool:
        """Latch ``fault``: output to zero at once, state FAULT (after the fault's own EVENT).

        Returns:
            True if the channel was active (and EVENT STOPPED with ``cause`` was sent).
        """
        was_active = self.active
        self._set_ramp(Ramp.level(now_us), ChannelState.FAULT)
        self.faults |= fault
        self.target_uA = 0
        if was_active:
            self._emit(EventCode.STOPPED, self.index, cause)
        return was_active

    def check(self, tick_us: int) -> None:
        """The periodic check: stuck output, lost contact, compliance (PROTOCOL.md §3.10)."""
        output = self._output
        stuck_uA = output.dc_uA(tick_us)
        if stuck_uA > 0:
            self._set_relay(tick_us, is_open=True)
            self._emit(EventCode.STUCK_OUTPUT, self.index, stuck_uA)
            self.latch(Fault.STUCK_OUTPUT, tick_us)
            return
        if not self.active:
            return
        limit_uA = output.compliance_limit_uA()
        if output.contact_lost(tick_us):
            self._emit(EventCode.ELECTRODE_FAULT, self.index, OPEN_OHM)
            self.latch(Fault.ELECTRODE, tick_us)
        elif limit_uA is not None and self._ramp.at(tick_us) > limit_uA:
            self._emit(EventCode.COMPLIANCE, self.index, limit_uA)
            self.latch(Fault.COMPLIANCE, tick_us)

    def self_test(self, now_us: int) -> int:
        """The output stage's self-test (PROTOCOL.md §3.10): relay open, source at zero, measure.

        The relay stays open (the caller closes it by clearing after every test passed). A
        failing test latches STUCK_OUTPUT and locks the channel until a power cycle: later tests
        are not run and return what the failing one measured.

        Returns:
            The current measured at the stage's sense point, µA (0: passed).
        """
        if self._failed_test_uA:
            return self._failed_test_uA
        self._relay_was_open = self._relay_open
        self._set_relay(now_us, is_open=True)
        measured_uA = self._output.self_test_uA(now_us)
        if measured_uA > 0:
            self._failed_test_uA = measured_uA
            self.faults |= Fault.STUCK_OUTPUT
        return measured_uA

    def _set_relay(self, now_us: int, *, is_open: bool) -> None:
        self._relay_open = is_open
        if is_open:
            self._output.open_relay(now_us)
        else:
            self._output.close_relay(now_us)

    def end_refused_test(self, now_us: int) -> None:
        """A CLEAR_FAULT refused because another channel failed: a channel that passed gets its
        relay back as it was, so its periodic stuck-output check sees the electrodes again."""
        if not self._failed_test_uA and not self._relay_was_open:
            self._set_relay(now_us, is_open=False)

    def clear_fault(self, now_us: int) -> None:
        """CLEAR_FAULT after a passing :meth:`self_test`: forget the latched faults, close the
        relay, PROGRAMMED or IDLE."""
        if self.state != ChannelState.FAULT or self._failed_test_uA:
            return
        self.faults = Fault.NONE
        self._set_relay(now_us, is_open=False)
        self.state = ChannelState.PROGRAMMED if self.program is not None else ChannelState.IDLE

    def reboot(self, now_us: int) -> None:
        """Power cycle: outputs off, no program, IDLE, no faults, the relay open until
        :meth:`power_on_self_test`; the hardware stays as it is."""
        self.state = ChannelState.IDLE
        self.faults = Fault.NONE
        self.program = None
        self.program_crc = 0
        self.target_uA = 0
        self._failed_test_uA = 0
        self._ramp = Ramp.level(now_us)
        self._impedance_ohm = OPEN_OHM
        self._output.drive(now_us, None)
        self._set_relay(now_us, is_open=True)
        self._output.clear_delivered(now_us)
        self.dose.clear()

    def power_on_self_test(self, now_us: int) -> None:
        """At boot (PROTOCOL.md §3.11): the relay closes only on a passing self-test; a stuck
        stage keeps it open and boots in FAULT with STUCK_OUTPUT (EVENT STUCK_OUTPUT)."""
        measured_uA = self.self_test(now_us)
        if measured_uA == 0:
            self._set_relay(now_us, is_open=False)
            return
        self._emit(EventCode.STUCK_OUTPUT, self.index, measured_uA)
        self.state = ChannelState.FAULT
