"""What a session record holds: identity, steps, events, samples and delivered totals.

Times inside a session are session time in seconds (``t_s``, from the session's start); the
session's start and end are UTC datetimes passed in by the caller (the store never reads a
clock). Channels are numbered from 1, as in the profile and on the device's front panel — not
the wire protocol's 0-based index.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from eacontrol.errors import Layer, ParameterError
from eacontrol.records.clinical import ClinicalDetails
from eacontrol.records.owner import ProcessOwner
from eacontrol.records.simulated import is_simulator
from eacontrol.records.study import Study
from firmware_protocol import units

__all__ = [
    "INTERRUPTED",
    "ChannelTotals",
    "DoseReading",
    "EventRecord",
    "Outcome",
    "Sample",
    "SampleGap",
    "SessionMeta",
    "SessionSummary",
    "StepRecord",
    "charge_imbalance_pct",
    "utc",
]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Outcome(enum.StrEnum):
    """How a session ended (``RUNNING`` while it has not)."""

    RUNNING = "running"
    COMPLETED = "completed"  # every step ran to its end
    STOPPED = "stopped"  # operator stop
    EMERGENCY_STOP = "emergency_stop"
    FAULT = "fault"  # a latched device fault ended it
    LINK_LOST = "link_lost"
    STOP_NOT_CONFIRMED = "stop_not_confirmed"  # outputs not confirmed off: hard alarm
    DEVICE_MISMATCH = "device_mismatch"  # STATUS showed what the host did not command
    ERROR = "error"  # the software failed
    RECORDS_UNAVAILABLE = "records_unavailable"  # the record could not be written: stopped
    ABORTED = "aborted"  # found still running, its process gone, when the store was opened


INTERRUPTED = frozenset({Outcome.ABORTED, Outcome.LINK_LOST, Outcome.STOP_NOT_CONFIRMED})
"""Outcomes of sessions that ended without reading their last step's totals (a killed process, a
lost link, a stop not confirmed): the device keeps them until the next SET_PROGRAM or reboot, so
they are read at the next connect (``eacontrol.session.missed``)."""


def _refuse(parameter: str, value: object, allowed: str) -> ParameterError:
    return ParameterError(parameter, value, allowed, layer=Layer.SCHEMA)


def _check_finite(owner: str, **values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise _refuse(f"{owner}.{name}", value, "a finite number")


def _check_channel(owner: str, channel: int | None) -> None:
    if channel is not None and channel < 1:
        raise _refuse(f"{owner}.channel", channel, "channel numbers from 1, as on the device")


def charge_imbalance_pct(pos_uC: float, neg_uC: float, net_uC: float) -> float:
    """|net charge| as a percentage of the larger phase charge (0 when nothing flowed).

    docs/architecture.md asks Q+ = Q- within 1 % for every pulse.
    """
    larger = max(abs(pos_uC), abs(neg_uC))
    return 0.0 if larger == 0 else 100.0 * abs(net_uC) / larger


def utc(moment: datetime, name: str = "datetime") -> datetime:
    """``moment`` in UTC.

    Args:
        moment: a timezone-aware datetime.
        name: the parameter's name, for the error.

    Returns:
        The same instant with ``tzinfo=UTC``.

    Raises:
        ParameterError: ``moment`` is naive (its offset from UTC is unknown).
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _refuse(name, moment.isoformat(), "a timezone-aware datetime (UTC)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class SessionMeta:
    """Who, what and with which device: fixed when the session begins.

    Attributes:
        profile_name: the profile's name.
        profile_version: the profile's version text.
        profile_hash: sha256 of the profile (file or canonical JSON), 64 lower-case hex digits.
        prescription: the profile as run (shape: ``docs/records.md``; checked by
            ``RecordStore.begin_session``).
        device_model / device_serial / firmware_version: the device's identity from HELLO.
        boot_id: the device's boot id when the session began.
        port: the port or URL used (``/dev/ttyUSB0``, ``sim://``).
        simulated: True when the device was the simulator; also set when the port or the
            device's model says so (:func:`~eacontrol.records.simulated.is_simulator`, the one
            rule), whatever the caller passed.
        operator_id / patient_id: identifiers as given (no names needed), or None.
        started_at: when the session began, timezone-aware (stored in UTC).
        software_version: the eacontrol version that ran it.
        compliance_V: the device's output compliance voltage from its HELLO_ACK (None: not
            recorded, as in records made before schema version 3).
        clinical: the practitioner's account (intensity aim, STRICTA items), as given.
        study: the session's condition, arm and tags in a study, as given.

    Raises:
        ParameterError: a malformed hash, a naive ``started_at``, a compliance voltage that is
            not a finite number > 0.
    """

    profile_name: str
    profile_version: str
    profile_hash: str
    prescription: dict[str, Any]
    device_model: str
    device_serial: str
    firmware_version: str
    boot_id: int
    port: str
    simulated: bool
    operator_id: str | None
    patient_id: str | None
    started_at: datetime
    software_version: str
    compliance_V: float | None = None
    clinical: ClinicalDetails = field(default_factory=ClinicalDetails)
    study: Study = field(default_factory=Study)

    def __post_init__(self) -> None:
        if not _SHA256_HEX.fullmatch(self.profile_hash):
            raise _refuse("profile_hash", self.profile_hash, "64 lower-case hex digits (sha256)")
        _check_finite("SessionMeta", compliance_V=self.compliance_V)
        if self.compliance_V is not None and self.compliance_V <= 0:
            raise _refuse("SessionMeta.compliance_V", self.compliance_V, "> 0 V")
        object.__setattr__(self, "started_at", utc(self.started_at, "started_at"))
        simulated = bool(self.simulated) or is_simulator(self.port, self.device_model)
        object.__setattr__(self, "simulated", simulated)


@dataclass(frozen=True)
class StepRecord:
    """One step of the timeline as it ran.

    Attributes:
        index: the step's index in the prescription (from 0).
        name: the step's label.
        mode: ``continuous``, ``dense_disperse`` or ``intermittent``.
        started_s: session time at which it started.
        ended_s: session time at which it ended; None while it runs.
        parameters: what was programmed (JSON-ready), e.g. per-channel programs.
    """

    index: int
    name: str
    mode: str
    started_s: float
    ended_s: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_finite("StepRecord", started_s=self.started_s, ended_s=self.ended_s)
        if self.index < 0:
            raise _refuse("StepRecord.index", self.index, ">= 0")


@dataclass(frozen=True)
class EventRecord:
    """Something that happened in a session.

    Attributes:
        t_s: session time.
        kind: ``progress``, ``intensity``, ``impedance``, ``fault``, ``warning``, ``stop``,
            ``link``, ``device_event``, ``operator``, ... (free text, lower case).
        channel: the channel concerned, or None.
        message: what happened, in words.
        data: details, JSON-ready.
        device_uptime_s: the device's uptime when it happened, where the device told it (its
            EVENT, or the STATUS it was learned from); None for the host's own events and in
            records made before schema version 6.
    """

    t_s: float
    kind: str
    channel: int | None
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    device_uptime_s: float | None = None

    def __post_init__(self) -> None:
        _check_finite("EventRecord", t_s=self.t_s, device_uptime_s=self.device_uptime_s)
        _check_channel("EventRecord", self.channel)
        if not self.kind:
            raise _refuse("EventRecord.kind", self.kind, "a non-empty kind")


@dataclass(frozen=True)
class Sample:
    """One periodic reading of one channel.

    Attributes:
        t_s: session time.
        channel: channel number.
        set_mA: the set intensity (follows ramps).
        measured_mA: the current the device measured.
        impedance_ohm: load impedance; None when open or unknown.
        device_uptime_s: the device's uptime in the STATUS the values come from: when the
            device measured them (None in records made before schema version 2).
    """

    t_s: float
    channel: int
    set_mA: float
    measured_mA: float
    impedance_ohm: float | None
    device_uptime_s: float | None = None

    def __post_init__(self) -> None:
        _check_finite(
            "Sample",
            t_s=self.t_s,
            set_mA=self.set_mA,
            measured_mA=self.measured_mA,
            impedance_ohm=self.impedance_ohm,
            device_uptime_s=self.device_uptime_s,
        )
        _check_channel("Sample", self.channel)


@dataclass(frozen=True)
class SampleGap:
    """A sample that is missing: no STATUS fresh enough was there to take it from.

    Attributes:
        t_s: session time at which the sample was due.
        status_age_s: how old the latest STATUS was then (None: there was none).
        reason: why, in words.
    """

    t_s: float
    status_age_s: float | None
    reason: str

    def __post_init__(self) -> None:
        _check_finite("SampleGap", t_s=self.t_s, status_age_s=self.status_age_s)


class DoseReading(Protocol):
    """What :meth:`ChannelTotals.from_dose` reads (``eacontrol.device.status.ChannelDose``)."""

    @property
    def pulses_a(self) -> int: ...
    @property
    def pulses_b(self) -> int: ...
    @property
    def time_a_s(self) -> float: ...
    @property
    def time_b_s(self) -> float: ...
    @property
    def charge_pos_uC(self) -> float: ...
    @property
    def charge_neg_uC(self) -> float: ...
    @property
    def net_charge_uC(self) -> float: ...
    @property
    def peak_mA(self) -> float: ...
    @property
    def rms_mA(self) -> float: ...
    @property
    def on_time_s(self) -> float: ...


@dataclass(frozen=True)
class ChannelTotals:
    """What one channel delivered, from the device's DOSE report.

    The device resets its totals when a channel is programmed (PROTOCOL.md §3.9), so totals
    belong to one step: record them with ``step_index`` and the report attributes half a and
    half b to that step's frequencies. A later record for the same step and channel replaces
    the earlier one (the runner may record progressively).

    Attributes:
        channel: channel number.
        pulses_a / pulses_b: pulses at frequency a and (dense-disperse) b.
        time_a_s / time_b_s: time delivering each half.
        charge_pos_uC / charge_neg_uC: charge of the positive and the negative phases.
        net_charge_uC: positive minus negative charge as the device reports it.
        peak_mA: largest phase amplitude.
        rms_mA: rms current over the on-time.
        on_time_s: time with the output active.
        step_index: the step these totals belong to, or None when unknown.
        read_after: read from the device at the next connect, after the session was
            interrupted (the device keeps its totals until the next SET_PROGRAM or reboot).
    """

    channel: int
    pulses_a: int
    pulses_b: int
    time_a_s: float
    time_b_s: float
    charge_pos_uC: float
    charge_neg_uC: float
    net_charge_uC: float
    peak_mA: float
    rms_mA: float
    on_time_s: float
    step_index: int | None = None
    read_after: bool = False

    def __post_init__(self) -> None:
        _check_channel("ChannelTotals", self.channel)
        _check_finite(
            "ChannelTotals",
            time_a_s=self.time_a_s,
            time_b_s=self.time_b_s,
            charge_pos_uC=self.charge_pos_uC,
            charge_neg_uC=self.charge_neg_uC,
            net_charge_uC=self.net_charge_uC,
            peak_mA=self.peak_mA,
            rms_mA=self.rms_mA,
            on_time_s=self.on_time_s,
        )

    @property
    def total_charge_uC(self) -> float:
        """Charge of both phases together (the net charge is ``net_charge_uC``), at 1 nC."""
        return units.uC_at_nC(self.charge_pos_uC + self.charge_neg_uC)

    @property
    def imbalance_pct(self) -> float:
        """|net charge| as a percentage of the larger phase charge (0 when nothing flowed)."""
        return charge_imbalance_pct(self.charge_pos_uC, self.charge_neg_uC, self.net_charge_uC)

    @classmethod
    def from_dose(
        cls,
        dose: DoseReading,
        *,
        channel: int,
        step_index: int | None,
        read_after: bool = False,
    ) -> ChannelTotals:
        """Convert the device's DOSE (charges in nC) to totals (µC).

        Args:
            dose: the DOSE reading (``eacontrol.device.status.ChannelDose``).
            channel: the channel number from 1 (the wire's index + 1).
            step_index: the step the totals belong to.
            read_after: read after the session was interrupted.

        Returns:
            The totals.
        """
        return cls(
            channel=channel,
            pulses_a=dose.pulses_a,
            pulses_b=dose.pulses_b,
            time_a_s=dose.time_a_s,
            time_b_s=dose.time_b_s,
            charge_pos_uC=dose.charge_pos_uC,
            charge_neg_uC=dose.charge_neg_uC,
            net_charge_uC=dose.net_charge_uC,
            peak_mA=dose.peak_mA,
            rms_mA=dose.rms_mA,
            on_time_s=dose.on_time_s,
            step_index=step_index,
            read_after=read_after,
        )


@dataclass(frozen=True)
class SessionSummary:
    """One session as stored.

    Attributes:
        id: the session's id.
        meta: what was fixed when it began.
        outcome: how it ended (``RUNNING`` while it runs).
        ended_at: when it ended (UTC), None while it runs.
        detail: why it ended, in words.
        owner: the process that ran it.
    """

    id: int
    meta: SessionMeta
    outcome: Outcome
    ended_at: datetime | None
    detail: str
    owner: ProcessOwner

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, None while it runs."""
        if self.ended_at is None:
            return None
        return (self.ended_at - self.meta.started_at).total_seconds()
