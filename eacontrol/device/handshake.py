"""The handshake: GET_INFO, the pairing key, an authenticated HELLO; identity pinned.

1. GET_INFO → INFO (unauthenticated: identity, limits, capabilities; no session, no state).
   Another protocol major, another message schema, an output stage whose compliance exceeds the
   standard's peak, or a serial other than the pinned one ends here, naming both sides.
2. The pairing key for INFO's serial is looked up in the key store. None held (or the device
   answers NAK NOT_PAIRED): ``NotPaired``, whose message names ``eactl pair PORT``. The
   simulator's in-memory store pairs by itself instead (``eacontrol.device.pairing``).
3. HELLO (key_id, a fresh 16-byte nonce from ``secrets``, lease, schema hash), tagged with the
   hello key. Its HELLO_ACK is believed only once its tag verifies under the session key derived
   from the pairing key and both nonces (``eacontrol.link.auth``); from then on every frame in
   both directions is authenticated. HELLO_ACK must name the serial INFO named.
"""

from __future__ import annotations

import secrets
import shlex

from eacontrol.device.identity import DeviceInfo, device_limits
from eacontrol.device.naks import nak_error
from eacontrol.device.pairing import KeyStore, PairingKey, host_label, not_paired, pair
from eacontrol.errors import (
    DeviceError,
    IdentityMismatch,
    IncompatibleDevice,
    Layer,
    LinkFault,
    ParameterError,
)
from eacontrol.link import Link
from eacontrol.safety.engine import LimitStack, Quantity
from firmware_protocol import (
    NONCE_SIZE,
    PROTO_MAJOR,
    SCHEMA_HASH,
    AuthenticationError,
    FrameError,
    GetInfo,
    Hello,
    HelloAck,
    Info,
    Message,
    Nak,
    NakCode,
    PayloadError,
    UnsupportedFeature,
    VersionMismatch,
)

__all__ = ["check_lease_ms", "hello", "read_info"]


def check_lease_ms(lease_ms: object) -> int:
    """Check a requested lease against the standard layer (200-1000 ms).

    Raises:
        ParameterError: not a whole number of ms in range.
    """
    if isinstance(lease_ms, bool) or not isinstance(lease_ms, int):
        raise ParameterError("lease_ms", lease_ms, "a whole number of ms", Layer.SCHEMA)
    LimitStack.build().check("lease_ms", lease_ms, Quantity.LEASE)
    return lease_ms


def _incompatible(err: FrameError, name: str) -> DeviceError:
    if isinstance(err, VersionMismatch):
        return IncompatibleDevice(
            f"the device speaks protocol major {err.proto_major}, this host speaks "
            f"major {PROTO_MAJOR}: update the host library or the device firmware"
        )
    if isinstance(err, UnsupportedFeature):
        return IncompatibleDevice(
            f"the device uses incompatible protocol features (incompat_flags "
            f"0x{err.header.incompat_flags:02X}) this host does not know"
        )
    if isinstance(err, PayloadError):
        return IncompatibleDevice(f"the device's answer to {name} is invalid for this host: {err}")
    return DeviceError(f"the device's answer to {name} was rejected: {err}")


def _refused(hello_msg: Message, nak: Nak) -> DeviceError:
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


def _check_output_stage(info: Info) -> None:
    """Refuse a device whose open-circuit output could exceed the standard's peak voltage.

    A constant-current stage rises to its compliance voltage when the circuit opens (a needle
    pulled out), so the reported compliance is the device's open-circuit peak.
    """
    bound = LimitStack.build().upper(Quantity.PEAK_OUTPUT)
    compliance_V = device_limits(info).compliance_V
    if bound is not None and not bound.allows(compliance_V):
        raise IncompatibleDevice(
            f"{info.model} {info.serial} reports a compliance voltage of {compliance_V:g} V: "
            f"its open-circuit output could exceed the standard layer's {bound.text} "
            f"({bound.source}); it is not used"
        )


def _check_schema(schema_hash: int) -> None:
    if schema_hash != SCHEMA_HASH:
        raise IncompatibleDevice(
            f"message schemas differ: the device has schema hash 0x{schema_hash:08X}, "
            f"this host 0x{SCHEMA_HASH:08X} (protocol major {PROTO_MAJOR}); update one side"
        )


def read_info(link: Link, *, device_serial: str | None = None) -> Info:
    """GET_INFO: the device's identity and limits, checked as this host requires.

    Raises:
        IncompatibleDevice: another protocol major or message schema, or an output stage whose
            compliance exceeds the standard layer's open-circuit peak.
        IdentityMismatch: the device is not ``device_serial``.
        DeviceNak / LinkTimeout: refused, or no valid answer.
    """
    message = GetInfo()
    try:
        reply = link.request(message, Info)
    except FrameError as err:
        raise _incompatible(err, "GET_INFO") from err
    if isinstance(reply, Nak):
        raise _refused(message, reply)
    _check_schema(reply.schema_hash)
    _check_output_stage(reply)
    if device_serial is not None and reply.serial != device_serial:
        raise IdentityMismatch(
            f"the device on {link.url} is {reply.model} serial "
            f"{reply.serial!r}, expected serial {device_serial!r}"
        )
    return reply


def _send_hello(link: Link, key: PairingKey, lease_ms: int) -> tuple[Hello, HelloAck | Nak]:
    message = Hello(
        key_id=key.key_id,
        host_nonce=secrets.token_bytes(NONCE_SIZE),
        lease_ms=lease_ms,
        schema_hash=SCHEMA_HASH,
    )
    try:
        return message, link.hello(message, key.key)
    except AuthenticationError as err:
        raise LinkFault(
            f"{link.url}: the device's HELLO_ACK does not verify under the pairing key held for "
            f"serial {key.serial!r} (key id {key.key_id}): the device no longer holds that key, "
            f"or another party answered ({err}); pair again: eactl pair {shlex.quote(link.url)}"
        ) from err
    except FrameError as err:
        raise _incompatible(err, "HELLO") from err


def hello(
    link: Link,
    *,
    lease_ms: int,
    keys: KeyStore,
    device_serial: str | None = None,
    port: str | None = None,
) -> DeviceInfo:
    """Identify the device behind ``link``, open an authenticated session, keep its lease.

    Args:
        link: a link with no session yet.
        lease_ms: the lease to ask for (checked against the standard layer first).
        keys: where this host's pairing keys are (an auto-pairing store pairs when none is held).
        device_serial: if given, the device's serial number must be exactly this.
        port: the port as the user named it, for the ``eactl pair`` command in ``NotPaired``
            (default the link's URL).

    Returns:
        The device's identity and limits.

    Raises:
        ParameterError: ``lease_ms`` outside 200-1000 ms.
        IncompatibleDevice: another protocol major or message schema (naming both sides), or
            an output stage whose compliance exceeds the standard's 500 V open-circuit peak.
        IdentityMismatch: the device is not ``device_serial``.
        NotPaired: no key held for the device, or the device does not know it.
        KeyStoreError: the key file or directory lets others read or write it.
        LinkFault: HELLO_ACK does not verify under the key held.
        DeviceNak: the device refused HELLO (e.g. another host is stimulating).
        LinkTimeout: no valid answer (the message says if garbage arrived).
    """
    lease_ms = check_lease_ms(lease_ms)
    where = port or link.url
    info = read_info(link, device_serial=device_serial)
    key = keys.get(info.serial)
    if key is None and keys.auto_pair:
        key = pair(link, host_label())
        keys.put(key)
    if key is None:
        raise not_paired(where, info.serial, "this host holds no pairing key for it")
    message, reply = _send_hello(link, key, lease_ms)
    if isinstance(reply, Nak) and reply.code == NakCode.NOT_PAIRED and keys.auto_pair:
        key = pair(link, host_label())  # a simulated device that does not know the key held
        keys.put(key)
        message, reply = _send_hello(link, key, lease_ms)
    if isinstance(reply, Nak):
        if reply.code == NakCode.NOT_PAIRED:
            raise not_paired(
                where, info.serial, f"the device does not know this host's key id {key.key_id}"
            )
        raise _refused(message, reply)
    # HELLO_ACK is authenticated and INFO is not: its identity and limits are what count, and
    # they are checked again (an INFO altered on the wire must gain nothing).
    _check_schema(reply.schema_hash)
    _check_output_stage(reply)
    if reply.serial != info.serial:
        raise IdentityMismatch(
            f"the device on {link.url} said serial {info.serial!r} in INFO and "
            f"{reply.serial!r} in HELLO_ACK"
        )
    device = DeviceInfo.from_hello_ack(reply)
    link.open_session(reply.session_id, device.lease_s, device.boot_id, device.limits.channel_count)
    link.rejoin = lambda: _rejoin(link, key, lease_ms, info.serial)
    return device


def _rejoin(link: Link, key: PairingKey, lease_ms: int, serial: str) -> None:
    """Open a new session with ``key`` on ``link`` after the device ended the old one.

    Raises:
        DeviceError / LinkError: the device refused or did not answer.
    """
    link.machine.reset_session()
    message, reply = _send_hello(link, key, lease_ms)
    if isinstance(reply, Nak):
        raise _refused(message, reply)
    if reply.serial != serial:
        raise IdentityMismatch(f"the device on {link.url} is now serial {reply.serial!r}")
    device = DeviceInfo.from_hello_ack(reply)
    link.open_session(reply.session_id, device.lease_s, device.boot_id, device.limits.channel_count)
