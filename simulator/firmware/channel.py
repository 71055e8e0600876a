"""One channel's firmware state machine: programs, ramps, stops, the maximum run and faults.

States and transitions are those of PROTOCOL.md §6. The set value is a ``Ramp`` (linear, then
level), so a channel knows its set value at any instant and tells the device exactly when it
next has something to do (a ramp's end, the maximum-run shut-off, a check that will find a
fault) instead of being stepped. Every change first flushes the output stage's ledger, so each
stretch handed to the recorder has one program, one run origin and one linear set value.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from firmware_protocol import ChannelState, ChannelStatus, EventCode, Fault, SetProgram, StopMode
from simulator.hardware.loads import Load
from simulator.firmware.model import DeviceModel
from simulator.hardware.output import OPEN_OHM, Drive, OutputStage, first_phase_us
from simulator.hardware.pulses import freq_at_cHz
from simulator.firmware.ramp import US_PER_S, Ramp
from simulator.hardware.recorder import ChannelRecorder

__all__ = ["Channel", "EventSink", "StopCause"]

EventSink = Callable[[EventCode, int, int], None]
"""Called with (event code, channel, detail) for every EVENT the channel raises."""

_US_PER_MS = 1000
_RUNNING = (ChannelState.RAMPING, ChannelState.RUNNING)


class StopCause(enum.IntEnum):
    """``detail`` of EVENT STOPPED (PROTOCOL.md §5.15)."""

    RAMP_DOWN = 0
    IMMEDIATE = 1
    LEASE = 2
    FAULT = 3


class Channel:
    """The firmware's view of one output channel.

    Args:
        index: the channel number (from 0).
        model: the device's limits table.
        load: the load connected to the output.
        recorder: the ledger of what the channel delivered.
        emit: where the channel's EVENTs go.
        now_us: the time the channel is created at.
    """

    def __init__(
        self,
        index: int,
        model: DeviceModel,
        load: Load,
        recorder: ChannelRecorder,
        emit: EventSink,
        now_us: int,
    ) -> None:
        self.index = index
        self._emit = emit
        self.output = OutputStage(model, load, recorder, now_us)
        self.state = ChannelState.IDLE
        self.faults = Fault.NONE
        self.program: SetProgram | None = None
        self.program_crc = 0
        self.target_uA = 0
        """The live target: the program's target at START, then SET_INTENSITY's."""
        self._ramp = Ramp.level(now_us)
        self._run_start_us = now_us
        self._run_end_us = now_us
        self._impedance_ohm = OPEN_OHM

    # --- inspection ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while the firmware drives the output (RAMPING, RUNNING or STOPPING)."""
        return self.state.output_active

    def _drive(self) -> Drive | None:
        if not self.active or self.program is None:
            return None
        return Drive(self.program, self._run_start_us, self._ramp)

    def set_uA(self, t_us: int) -> float:
        """The firmware's set value at ``t_us`` (0 when not active)."""
        return self._ramp.at(t_us) if self.active else 0.0

    def output_uA(self, t_us: int) -> float:
        """Current the output actually drives at ``t_us``: pulse amplitude or a stuck DC."""
        if self.output.stuck:
            return float(self.output.stuck_uA)
        return self.output.amplitude_uA(self.set_uA(t_us), t_us)

    def status(self, t_us: int) -> ChannelStatus:
        """This channel's STATUS record at ``t_us``."""
        # One per channel per heartbeat: what set_uA, output_uA and _drive would each work out
        # again is worked out once here.
        program = self.program
        impedance_ohm = self._impedance_ohm
        freq_cHz = 0
        set_uA = 0.0
        target_uA = 0 if program is None else program.target_uA
        if self.active:
            set_uA = self._ramp.at(t_us)
            target_uA = self.target_uA
            if program is not None:
                phase_us = first_phase_us(program, self._run_start_us, t_us)
                impedance_ohm = self.output.impedance_ohm(phase_us, t_us)
                freq_cHz = freq_at_cHz(program, self._run_start_us, t_us)
        output = self.output
        measured_uA = float(output.stuck_uA) if output.stuck else output.amplitude_uA(set_uA, t_us)
        return ChannelStatus(
            state=self.state,
            faults=self.faults,
            target_uA=target_uA,
            set_uA=round(set_uA),
            measured_uA=min(0xFFFF, round(measured_uA)),
            impedance_ohm=impedance_ohm,
            freq_cHz=freq_cHz,
        )

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

        None: no check will find one while the channel and its output stay as they are.
        """
        ramp = self._ramp if self.active and self.program is not None else None
        return self.output.check_tick(ramp, first_tick_us, period_us)

    # --- commands -----------------------------------------------------------------------

    def flush(self, now_us: int) -> None:
        """Hand the recorder everything delivered up to ``now_us``."""
        self.output.flush(now_us, self._drive())

    def _set_ramp(self, ramp: Ramp, state: ChannelState) -> None:
        self.flush(ramp.t0_us)
        drive = self._drive()
        if drive is not None and state not in (*_RUNNING, ChannelState.STOPPING):
            self._impedance_ohm = self.output.impedance_ohm(drive.phase_us(ramp.t0_us), ramp.t0_us)
        self._ramp = ramp
        self.state = state

    def store_program(self, program: SetProgram, crc: int, now_us: int) -> None:
        """SET_PROGRAM: store the program, reset the delivered totals, become PROGRAMMED."""
        self.flush(now_us)
        self.program = program
        self.program_crc = crc
        self.output.configure(self.output.load, program)
        self.output.recorder.reset()
        self.state = ChannelState.PROGRAMMED

    def start(self, now_us: int) -> None:
        """START: ramp from zero to the program's target (checks are the caller's)."""
        program = self.program
        if program is None:  # pragma: no cover - the caller refuses START without a program
            raise RuntimeError("START without a program")
        self.flush(now_us)
        self._run_start_us = now_us
        self._run_end_us = now_us + program.max_run_s * US_PER_S
        self.target_uA = program.target_uA
        ramp = Ramp.over(now_us, 0.0, program.target_uA, program.ramp_up_ms * _US_PER_MS)
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
        # The program's ramp-down time, scaled by the fraction of the target still active.
        fraction = 1.0 if set_uA > self.target_uA else set_uA / max(self.target_uA, 1)
        duration_us = round(program.ramp_down_ms * _US_PER_MS * fraction)
        self.target_uA = 0
        self._set_ramp(Ramp.over(now_us, set_uA, 0.0, duration_us), ChannelState.STOPPING)

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
            self._emit(EventCode.RAMP_DONE, self.index, round(self._ramp.end_uA))
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
        """The periodic check: stuck output, lost contact, compliance (PROTOCOL.md §3.9)."""
        if self.output.stuck:
            self.flush(tick_us)
            self.output.relay_open = True
            self._emit(EventCode.STUCK_OUTPUT, self.index, self.output.stuck_uA)
            self.latch(Fault.STUCK_OUTPUT, tick_us)
            return
        if not self.active:
            return
        if self.output.is_open(tick_us):
            self._emit(EventCode.ELECTRODE_FAULT, self.index, OPEN_OHM)
            self.latch(Fault.ELECTRODE, tick_us)
        elif self._ramp.at(tick_us) > self.output.limit_uA:
            self._emit(EventCode.COMPLIANCE, self.index, int(self.output.limit_uA))
            self.latch(Fault.COMPLIANCE, tick_us)

    def clear_fault(self, now_us: int) -> None:
        """CLEAR_FAULT: forget the latched faults, close the relay, PROGRAMMED or IDLE."""
        if self.state != ChannelState.FAULT:
            return
        self.flush(now_us)
        self.faults = Fault.NONE
        self.output.relay_open = False
        self.state = ChannelState.PROGRAMMED if self.program is not None else ChannelState.IDLE

    # --- hardware -----------------------------------------------------------------------

    def set_load(self, load: Load, now_us: int) -> None:
        """Connect another load (electrode off/on, a changed impedance)."""
        self.flush(now_us)
        self.output.configure(load, self.program)

    def stick(self, current_uA: int, now_us: int) -> None:
        """Make the output drive ``current_uA`` of DC regardless of the firmware (0 repairs)."""
        self.flush(now_us)
        self.output.stuck_uA = current_uA

    def reboot(self, now_us: int) -> None:
        """Power cycle: outputs off, no program, IDLE, no faults; load and hardware stay."""
        self.flush(now_us)
        self.state = ChannelState.IDLE
        self.faults = Fault.NONE
        self.program = None
        self.program_crc = 0
        self.target_uA = 0
        self.output.relay_open = False
        self.output.configure(self.output.load, None)
        self._ramp = Ramp.level(now_us)
        self._impedance_ohm = OPEN_OHM
        self.output.recorder.reset()
