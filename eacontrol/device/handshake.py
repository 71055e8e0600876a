"""HELLO: open a session, check the protocol and schema, learn and pin the device's identity.

HELLO, HELLO_ACK and NAK keep their layouts in every protocol version (PROTOCOL.md §3.5), so a
mismatch is always reported clearly and naming both sides: another protocol major (the device's
NAK arrives in its own major, or it NAKs ``BAD_VERSION``), another message schema (NAK
``SCHEMA_MISMATCH`` carrying the device's hash), or a device that is not the serial number the
caller pinned. A device that answers with garbage ends in ``LinkTimeout`` that says so.
"""

from __future__ import annotations

import random

from eacontrol.device.identity import DeviceInfo
from eacontrol.device.naks import nak_error
from eacontrol.errors import (
    DeviceError,
    IdentityMismatch,
    IncompatibleDevice,
    Layer,
    ParameterError,
)
from eacontrol.link import Link
from eacontrol.safety.engine import LimitStack, Quantity
from firmware_protocol import (
    PROTO_MAJOR,
    SCHEMA_HASH,
    Hello,
    HelloAck,
    Nak,
    NakCode,
    PayloadError,
    TrustedFrameError,
    UnsupportedFeature,
    VersionMismatch,
)

__all__ = ["check_lease_ms", "hello"]


def check_lease_ms(lease_ms: object) -> int:
    """Check a requested lease against the standard layer (200-1000 ms).

    Raises:
        ParameterError: not a whole number of ms in range.
    """
    if isinstance(lease_ms, bool) or not isinstance(lease_ms, int):
        raise ParameterError("lease_ms", lease_ms, "a whole number of ms", Layer.SCHEMA)
    LimitStack.build().check("lease_ms", lease_ms, Quantity.LEASE)
    return lease_ms


def _incompatible(err: TrustedFrameError) -> DeviceError:
    if isinstance(err, VersionMismatch):
        return IncompatibleDevice(
            f"the device speaks protocol major {err.header.proto_major}, this host speaks "
            f"major {PROTO_MAJOR}: update the host library or the device firmware"
        )
    if isinstance(err, UnsupportedFeature):
        return IncompatibleDevice(
            f"the device uses incompatible protocol features (incompat_flags "
            f"0x{err.header.incompat_flags:02X}) this host does not know"
        )
    if isinstance(err, PayloadError):
        return IncompatibleDevice(f"the device's answer to HELLO is invalid for this host: {err}")
    return DeviceError(f"the device's answer to HELLO was rejected: {err}")


def _refused(hello_msg: Hello, nak: Nak) -> DeviceError:
    if nak.code == NakCode.BAD_VERSION:
        return IncompatibleDevice(
            f"the device speaks protocol major {nak.limit}, this host speaks major {PROTO_MAJOR}"
        )
    if nak.code == NakCode.SCHEMA_MISMATCH:
        return IncompatibleDevice(
            f"message schemas differ: the device has schema hash 0x{nak.limit:08X}, this host "
            f"0x{SCHEMA_HASH:08X} (protocol major {PROTO_MAJOR}); update one side"
        )
    err = nak_error(hello_msg, nak)
    if nak.code == NakCode.BAD_STATE:
        err.add_note(
            "another host's stimulation is still running on this device; its lease expires "
            "within one lease period if that host has gone"
        )
    return err


def _check_output_stage(info: DeviceInfo) -> None:
    """Refuse a device whose open-circuit output could exceed the standard's peak voltage.

    A constant-current stage rises to its compliance voltage when the circuit opens (a needle
    pulled out), so the reported compliance is the device's open-circuit peak.
    """
    bound = LimitStack.build().upper(Quantity.PEAK_OUTPUT)
    compliance_V = info.limits.compliance_V
    if bound is not None and not bound.allows(compliance_V):
        raise IncompatibleDevice(
            f"{info.model} {info.serial} reports a compliance voltage of {compliance_V:g} V: "
            f"its open-circuit output could exceed the standard layer's {bound.text} "
            f"({bound.source}); it is not used"
        )


def hello(
    link: Link,
    *,
    lease_ms: int,
    session_id: int | None = None,
    device_serial: str | None = None,
) -> DeviceInfo:
    """Open a session on the device behind ``link`` and start keeping its lease.

    Args:
        link: a link with no session yet.
        lease_ms: the lease to ask for (checked against the standard layer first).
        session_id: the session to open, 1..65535; random when None (a restarted host must not
            reuse its predecessor's).
        device_serial: if given, the device's serial number must be exactly this.

    Returns:
        The device's identity and limits.

    Raises:
        ParameterError: ``lease_ms`` outside 200-1000 ms.
        IncompatibleDevice: another protocol major or message schema (naming both sides), or
            an output stage whose compliance exceeds the standard's 500 V open-circuit peak.
        IdentityMismatch: the device is not ``device_serial``.
        DeviceNak: the device refused HELLO (e.g. another host is stimulating).
        LinkTimeout: no valid answer (the message says if garbage arrived).
    """
    lease_ms = check_lease_ms(lease_ms)
    if session_id is None:
        session_id = random.SystemRandom().randint(1, 0xFFFF)
    message = Hello(new_session_id=session_id, lease_ms=lease_ms, schema_hash=SCHEMA_HASH)
    try:
        reply = link.request(message, HelloAck)
    except TrustedFrameError as err:
        raise _incompatible(err) from err
    if isinstance(reply, Nak):
        raise _refused(message, reply)
    if reply.schema_hash != SCHEMA_HASH:
        raise IncompatibleDevice(
            f"message schemas differ: the device has schema hash 0x{reply.schema_hash:08X}, "
            f"this host 0x{SCHEMA_HASH:08X}"
        )
    if reply.session_id != session_id:
        raise DeviceError(f"asked for session {session_id}, the device opened {reply.session_id}")
    info = DeviceInfo.from_hello_ack(reply)
    _check_output_stage(info)
    if device_serial is not None and info.serial != device_serial:
        raise IdentityMismatch(
            f"the device on {link.url} is {info.model} serial "
            f"{info.serial!r}, expected serial {device_serial!r}"
        )
    link.open_session(session_id, info.lease_s, info.boot_id, info.limits.channel_count)
    return info
