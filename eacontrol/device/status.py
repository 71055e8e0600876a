"""The device's STATUS and DOSE in API units (mA, Hz, s), as the Stimulator reports them.

STATUS is the authority on the outputs (PROTOCOL.md §3.12): a STOP is confirmed only by a
STATUS showing the channels inactive with zero measured current.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eacontrol.device.naks import fault_names
from eacontrol.errors import DeviceFault, ParameterError
from firmware_protocol import ChannelState, DeviceFlag, Dose, Status, units
from firmware_protocol import ChannelStatus as WireChannelStatus

__all__ = [
    "ChannelDose",
    "ChannelReport",
    "DeviceStatus",
    "IMPEDANCE_UNKNOWN_ohm",
    "latched_fault",
]

IMPEDANCE_UNKNOWN_ohm = 0xFFFF
"""Wire value of ``impedance_ohm`` meaning open or unknown."""


@dataclass(frozen=True)
class ChannelReport:
    """One channel's state as the device reported it.

    Attributes:
        channel: channel number, from 1 as labelled on the device.
        state: the channel's state (PROTOCOL.md §6).
        faults: names of the latched faults (empty when none).
        target_mA: the live target intensity.
        set_mA: the set value now (follows ramps).
        measured_mA: the current actually delivered (0 when off).
        impedance_ohm: load impedance at the end of the last phase; None when open or unknown.
        frequency_hz: the pulse rate being delivered now (0 when off).
    """

    channel: int
    state: ChannelState
    faults: tuple[str, ...]
    target_mA: float
    set_mA: float
    measured_mA: float
    impedance_ohm: int | None
    frequency_hz: float

    @property
    def active(self) -> bool:
        """True while the channel may deliver current (RAMPING, RUNNING or STOPPING)."""
        return self.state.output_active

    @property
    def output_off(self) -> bool:
        """True when the channel is inactive and measures exactly zero current."""
        return not self.active and self.measured_mA == 0

    @classmethod
    def from_wire(cls, channel: int, wire: WireChannelStatus) -> ChannelReport:
        """Convert a STATUS channel record."""
        return cls(
            channel=channel,
            state=wire.state,
            faults=fault_names(wire.faults),
            target_mA=units.uA_to_mA(wire.target_uA),
            set_mA=units.uA_to_mA(wire.set_uA),
            measured_mA=units.uA_to_mA(wire.measured_uA),
            impedance_ohm=None
            if wire.impedance_ohm == IMPEDANCE_UNKNOWN_ohm
            else wire.impedance_ohm,
            frequency_hz=units.cHz_to_hz(wire.freq_cHz),
        )


@dataclass(frozen=True)
class DeviceStatus:
    """The whole device's STATUS.

    Attributes:
        time_s: host clock time at which it was received.
        boot_id: changes at every device boot.
        uptime_s: device uptime.
        lease_remaining_s: time left on the heartbeat lease (0 when no lease is valid).
        last_applied_counter: host counter of the last command the device executed.
        rx_err_count: frames the device rejected since boot.
        session_open / lease_valid / fault_latched / output_active: device flags.
        channels: one report per channel.
        auth_fail_count: frames the device dropped since boot because their tag did not verify
            (a forger, or a host with a wrong key: never answered).
        replay_count: frames the device dropped since boot as replays (a counter already
            executed that is not an exact retransmission of a recent one).
    """

    time_s: float
    boot_id: int
    uptime_s: float
    lease_remaining_s: float
    last_applied_counter: int
    rx_err_count: int
    session_open: bool
    lease_valid: bool
    fault_latched: bool
    output_active: bool
    channels: tuple[ChannelReport, ...]
    auth_fail_count: int = 0
    replay_count: int = 0

    def outputs_off(self, channels: Iterable[int] | None = None) -> bool:
        """True when every listed channel number (all when None) is inactive at zero current.

        Raises:
            ParameterError: a channel number this device does not have (e.g. a 0 from a script
                that counts from 0): an unchecked channel must never read as "off".
        """
        if channels is None:
            return all(c.output_off for c in self.channels)
        by_number = {c.channel: c for c in self.channels}
        wanted = list(channels)
        unknown = [n for n in wanted if n not in by_number]
        if unknown:
            raise ParameterError(
                "channels", unknown, f"1..{len(self.channels)} (as labelled on the device)"
            )
        return all(by_number[n].output_off for n in wanted)

    @classmethod
    def from_wire(cls, status: Status, time_s: float) -> DeviceStatus:
        """Convert a STATUS message received at host time ``time_s``."""
        return cls(
            time_s=time_s,
            boot_id=status.boot_id,
            uptime_s=units.ms_to_s(status.uptime_ms),
            lease_remaining_s=units.ms_to_s(status.lease_remaining_ms),
            last_applied_counter=status.last_applied_counter,
            rx_err_count=status.rx_err_count,
            session_open=bool(status.flags & DeviceFlag.SESSION_OPEN),
            lease_valid=bool(status.flags & DeviceFlag.LEASE_VALID),
            fault_latched=bool(status.flags & DeviceFlag.FAULT_LATCHED),
            output_active=bool(status.flags & DeviceFlag.OUTPUT_ACTIVE),
            auth_fail_count=status.auth_fail_count,
            replay_count=status.replay_count,
            channels=tuple(
                ChannelReport.from_wire(i + 1, c) for i, c in enumerate(status.channels)
            ),
        )


@dataclass(frozen=True)
class ChannelDose:
    """What one channel delivered since its last program, as the device measured it.

    Charges are in microcoulombs, as in the records, the exports and the report (the wire's
    nanocoulombs, divided by 1000: exact to the device's 1 nC resolution).

    Attributes:
        channel: channel number, from 1.
        pulses_a / pulses_b: pulses at frequency a and (dense-disperse) b.
        time_a_s / time_b_s: time delivering in each half.
        charge_pos_uC / charge_neg_uC: charge of the positive and negative phases.
        peak_mA: largest phase amplitude.
        rms_mA: rms current over the on-time.
        on_time_s: time with the output active.
    """

    channel: int
    pulses_a: int
    pulses_b: int
    time_a_s: float
    time_b_s: float
    charge_pos_uC: float
    charge_neg_uC: float
    peak_mA: float
    rms_mA: float
    on_time_s: float

    @property
    def net_charge_uC(self) -> float:
        """Positive minus negative charge; near zero for charge-balanced pulses (at the
        device's 1 nC)."""
        return units.uC_at_nC(self.charge_pos_uC - self.charge_neg_uC)

    @property
    def total_charge_uC(self) -> float:
        """Charge of both phases together: what passed through the tissue either way."""
        return units.uC_at_nC(self.charge_pos_uC + self.charge_neg_uC)

    @classmethod
    def from_wire(cls, dose: Dose) -> ChannelDose:
        """Convert a DOSE message."""
        return cls(
            channel=dose.channel + 1,
            pulses_a=dose.pulses_a,
            pulses_b=dose.pulses_b,
            time_a_s=units.ms_to_s(dose.time_a_ms),
            time_b_s=units.ms_to_s(dose.time_b_ms),
            charge_pos_uC=units.nC_to_uC(dose.charge_pos_nC),
            charge_neg_uC=units.nC_to_uC(dose.charge_neg_nC),
            peak_mA=units.uA_to_mA(dose.peak_uA),
            rms_mA=units.uA_to_mA(dose.rms_uA),
            on_time_s=units.ms_to_s(dose.on_time_ms),
        )


def latched_fault(status: Status, started: Iterable[int]) -> tuple[list[int], DeviceFault | None]:
    """The started channel numbers (from 1) that ``status`` shows with a latched fault, and the
    ``DeviceFault`` naming the first of them (None when there is none)."""
    faulted = [
        n for n in sorted(started) if n - 1 < len(status.channels) and status.channels[n - 1].faults
    ]
    if not faulted:
        return [], None
    first = faulted[0]
    names = fault_names(status.channels[first - 1].faults)
    return faulted, DeviceFault(
        f"channel {first} stopped by a latched fault ({', '.join(names)}); its output is off",
        first,
        names,
    )
