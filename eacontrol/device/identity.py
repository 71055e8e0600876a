"""Who the connected device is and what it can do, from its HELLO_ACK (PROTOCOL.md §5.4).

``DeviceInfo`` is the identity (model, serial number, firmware, boot) and ``device_limits``
turns the reported capability into the device layer of the limit stack (``DeviceLimits``, in
API units), which the host intersects with the standard layer before anything is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from eacontrol.safety.limits import DeviceLimits
from firmware_protocol import HelloAck, Info, units

__all__ = ["DeviceInfo", "device_limits"]


def device_limits(ack: Info) -> DeviceLimits:
    """Return the device's reported limits in API units.

    Args:
        ack: the device's HELLO_ACK.
    """
    return DeviceLimits(
        channel_count=ack.channel_count,
        max_intensity_mA=units.uA_to_mA(ack.max_intensity_uA),
        min_phase_width_us=float(ack.min_phase_us),
        max_phase_width_us=float(ack.max_phase_us),
        min_frequency_hz=units.cHz_to_hz(ack.min_freq_cHz),
        max_frequency_hz=units.cHz_to_hz(ack.max_freq_cHz),
        max_phase_charge_uC=units.nC_to_uC(ack.max_phase_charge_nC),
        max_slew_mA_per_s=units.uA_to_mA(ack.max_slew_uA_per_s),
        compliance_V=units.mV_to_V(ack.compliance_mV),
        min_lease_ms=ack.min_lease_ms,
        max_lease_ms=ack.max_lease_ms,
        max_run_s=float(ack.max_run_s),
        max_interphase_us=float(ack.max_interphase_us),
        max_asym_ratio=ack.max_asym_ratio,
    )


@dataclass(frozen=True)
class DeviceInfo:
    """The connected device's identity, session and limits.

    Attributes:
        model: model name.
        serial: the device's serial number (as it reports it in HELLO_ACK).
        firmware: firmware version, ``"major.minor.patch"``.
        proto_minor: protocol minor version.
        schema_hash: the device's message schema hash.
        boot_id: random at each boot; a change means the device rebooted.
        session_id: the session this host opened.
        lease_s: the heartbeat lease granted.
        limits: the device's hard limits in API units.
    """

    model: str
    serial: str
    firmware: str
    proto_minor: int
    schema_hash: int
    boot_id: int
    session_id: int
    lease_s: float
    limits: DeviceLimits

    @classmethod
    def from_hello_ack(cls, ack: HelloAck) -> DeviceInfo:
        """Build the identity from the HELLO_ACK that opened the session."""
        return cls(
            model=ack.model,
            serial=ack.serial,
            firmware=f"{ack.fw_major}.{ack.fw_minor}.{ack.fw_patch}",
            proto_minor=ack.proto_minor,
            schema_hash=ack.schema_hash,
            boot_id=ack.boot_id,
            session_id=ack.session_id,
            lease_s=units.ms_to_s(ack.lease_ms),
            limits=device_limits(ack),
        )

    def in_session(self, boot_id: int | None, session_id: int, lease_s: float | None) -> DeviceInfo:
        """This identity in the session the link has now: after ``Link.rejoin`` (a reboot seen,
        or a session the device closed, and a new one opened to confirm a stop) the boot, the
        session id and the lease are the new session's; unchanged where None or 0 (no session).
        """
        if (
            boot_id in (None, self.boot_id)
            and session_id in (0, self.session_id)
            and lease_s in (None, self.lease_s)
        ):
            return self
        return dataclasses.replace(
            self,
            boot_id=self.boot_id if boot_id is None else boot_id,
            session_id=session_id or self.session_id,
            lease_s=self.lease_s if lease_s is None else lease_s,
        )

    def __str__(self) -> str:
        return (
            f"{self.model} serial {self.serial} firmware {self.firmware} "
            f"({self.limits.channel_count} channels, lease {self.lease_s:g} s)"
        )
