"""The hardware-abstraction layer: what the firmware asks of the hardware and reads back.

The firmware (``simulator.firmware``) drives these interfaces and nothing else; the simulated
hardware (``simulator.hardware``) implements them with its numpy physics, and the C core will
implement them with its board's drivers. Every value crossing this boundary is an integer in
the firmware's units (µA, µs, Ω, nC). Time is not read here: every call says what time it is, in
integer µs, as the firmware's own calls do.

- :class:`OutputStage`, one per channel: the current source with its pulse engine, the output
  relay and the measurements (current, impedance, DC, contact, compliance, delivered dose, and
  the self-test reading at the stage's own sense point).
- :class:`RandomSource`: the device's random numbers (boot ids, session ids, nonces, pairing
  keys and key ids; ``random_bytes`` builds byte strings from it).

The pairing keys are held by ``simulator.firmware.keys.KeyStore`` (protected flash on a real
unit: the C core's board keeps them in a flash page of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from firmware_protocol import SetProgram
from simulator.firmware.ramp import Ramp
from simulator.firmware.schedule import phase_at_us

__all__ = ["OPEN_OHM", "Delivered", "Drive", "OutputStage", "RandomSource", "random_bytes"]

OPEN_OHM = 0xFFFF
"""STATUS impedance_ohm and EVENT detail for an open or unknown load (PROTOCOL.md §5.16, §5.19)."""


@dataclass(frozen=True)
class Drive:
    """What the firmware asks of an active channel's output: program, run origin, set value.

    The pulse engine times the pulses by ``program`` from ``run_start_us`` (PROTOCOL.md §8) and
    gives each the first-phase current ``ramp.at(onset)``.
    """

    program: SetProgram
    run_start_us: int
    ramp: Ramp

    def phase_us(self, t_us: int) -> int:
        """Width of the first phase of the pulses delivered at ``t_us``."""
        return phase_at_us(self.program, self.run_start_us, t_us)


@dataclass(frozen=True)
class Delivered:
    """What an output stage measured it delivered between two readings (all whole numbers).

    Attributes:
        pulses_a: pulses delivered in half a (a pulse of 0 µA is not one).
        pulses_b: pulses delivered in dense-disperse half b.
        time_a_us: delivering time in half a (continuous and intermittent time is all half a).
        time_b_us: delivering time in half b.
        on_time_us: time the output delivered anything, pulses or DC.
        charge_pos_nC: charge of the positive phases (and positive DC).
        charge_neg_nC: charge of the negative phases (and negative DC), as a magnitude.
        peak_uA: the largest phase amplitude or DC magnitude since the last reading.
        square_uA2_us: the integral of the current squared over time (µA²·µs), for the rms.
    """

    pulses_a: int = 0
    pulses_b: int = 0
    time_a_us: int = 0
    time_b_us: int = 0
    on_time_us: int = 0
    charge_pos_nC: int = 0
    charge_neg_nC: int = 0
    peak_uA: int = 0
    square_uA2_us: int = 0


class OutputStage(Protocol):
    """One channel's output hardware as the firmware sees it.

    The firmware tells the stage what to deliver whenever that changes (:meth:`drive`); the
    stage's pulse engine delivers it on its own in between. The readings are what the stage
    measures at ``t_us``; the firmware asks only about instants it has reached, except in
    :meth:`first_open_tick_us`.
    """

    def drive(self, t_us: int, drive: Drive | None) -> None:
        """Deliver ``drive`` from ``t_us`` on (None: no pulses, the source at zero)."""
        ...

    def open_relay(self, t_us: int) -> None:
        """Disconnect the output from the electrodes at ``t_us`` (a stuck output, a self-test,
        power-up)."""
        ...

    def close_relay(self, t_us: int) -> None:
        """Connect the output to the electrodes again at ``t_us`` (after a passing self-test:
        CLEAR_FAULT, power-up)."""
        ...

    def self_test_uA(self, t_us: int) -> int:
        """The self-test reading (PROTOCOL.md §3.10): the current at the stage's own sense point,
        inside the relay, at ``t_us``, rounded to µA. The firmware asks only with the relay open
        and the source at zero (no drive), so a sound stage reads 0 and anything else is a
        stuck stage or a DC leak; the electrodes are not in the circuit."""
        ...

    def measured_uA(self, t_us: int) -> int:
        """The current flowing at ``t_us``: the pulses' first-phase amplitude or a DC."""
        ...

    def dc_uA(self, t_us: int) -> int:
        """DC current reaching the load at ``t_us`` whatever the firmware drives (a stuck
        output stage); 0 when there is none or the relay is open."""
        ...

    def contact_lost(self, t_us: int) -> bool:
        """True when the electrodes have no contact at ``t_us`` (open circuit)."""
        ...

    def compliance_limit_uA(self) -> int | None:
        """The largest first-phase current the source can drive into the present load for the
        phases of the present drive, rounded down; None when it is not limited or not driving."""
        ...

    def impedance_ohm(self, phase_us: int, t_us: int) -> int:
        """The load's impedance at the end of a phase of ``phase_us`` (``OPEN_OHM`` if open)."""
        ...

    def read_delivered(self, t_us: int) -> Delivered:
        """What was delivered since the previous reading, up to ``t_us`` (read and clear)."""
        ...

    def clear_delivered(self, t_us: int) -> None:
        """Discard what was delivered and not read, up to ``t_us`` (SET_PROGRAM, power-up)."""
        ...

    def first_open_tick_us(self, first_tick_us: int, period_us: int) -> int | None:
        """The first check instant ``first_tick_us + k·period_us`` at which :meth:`contact_lost`
        will hold, or None if none will while the load stays as it is.

        Virtual time only: it lets the device sleep until the check that finds a lost contact.
        The C core checks at every instant of the grid and needs no such query.
        """
        ...


class RandomSource(Protocol):
    """The device's random number generator."""

    def random_u32(self) -> int:
        """A uniformly distributed integer ``0 ≤ n < 2**32``."""
        ...


def random_bytes(source: RandomSource, size: int) -> bytes:
    """``size`` random bytes from ``source``: each ``random_u32`` gives four, little-endian, the
    last one's surplus discarded (nonces, pairing keys)."""
    out = bytearray()
    while len(out) < size:
        out += source.random_u32().to_bytes(4, "little")
    return bytes(out[:size])
