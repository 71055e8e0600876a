"""Pairing a device on a port, and forgetting it: what ``eactl pair`` does.

``pair_port``: GET_INFO (identity and compatibility checked as at every connect), refuse if
this host already holds a key for that serial (forget it first: a second key would take a slot
of the device's key store for nothing), check the key directory *before* PAIR (a refused
directory must not use up the device's pairing window), PAIR, store the key.

``forget_port``: when the device answers, open a session with the key held and send FORGET (the
device erases the key and closes the session), then delete the host's key file. When the device
cannot be reached, or no longer knows the key, only the host's file is deleted, and the result
says so: a key the device still holds is harmless without its copy, but takes a slot there.
"""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass

from eacontrol.device.handshake import hello, read_info
from eacontrol.device.pairing import (
    FileKeyStore,
    MemoryKeyStore,
    PairingKey,
    forget_on_device,
    host_label,
    pair,
)
from eacontrol.errors import EAError, KeyStoreError, Layer, LinkError, NotPaired, ParameterError
from eacontrol.link import DEFAULT_BAUDRATE, Link, RealClock, Transport
from eacontrol.safety.limits import DEFAULT_LEASE_ms
from firmware_protocol import Info

__all__ = ["ForgetResult", "PairResult", "forget_port", "open_link", "pair_port"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairResult:
    """A pairing made.

    Attributes:
        info: the device's identity (INFO).
        key: the key (its ``key`` bytes are never printed).
        stored_at: the key file's path.
    """

    info: Info
    key: PairingKey
    stored_at: str


@dataclass(frozen=True)
class ForgetResult:
    """What ``forget_port`` did.

    Attributes:
        serial: the device's serial number.
        key_id: the key forgotten.
        erased_on_device: True when the device acknowledged FORGET.
        device_note: why the device did not erase it (unreachable, did not know it), or "".
        deleted: the host's key file deleted.
    """

    serial: str
    key_id: int
    erased_on_device: bool
    device_note: str
    deleted: str


def open_link(port: str, *, baudrate: int = DEFAULT_BAUDRATE) -> Link:
    """Open ``port`` exclusively and return a link on it with no session.

    Raises:
        ParameterError: a ``sim://`` URL (it pairs itself in memory, per run: there is nothing
            to keep).
        PortNotFound / PortBusy / LinkError: the port cannot be opened.
    """
    if port.lower().startswith("sim://"):
        raise ParameterError(
            "PORT",
            port,
            "a device port: sim:// pairs itself in memory at every connect, with a fresh key "
            "per run, so there is nothing to pair or forget (the pty and TCP simulators pair: "
            "python -m simulator --pty --pairing-window 60)",
            Layer.SCHEMA,
        )
    transport = Transport.open(port, baudrate=baudrate)
    return Link(transport, transport.clock or RealClock())


def pair_port(
    port: str, *, keys: FileKeyStore | None = None, label: str | None = None
) -> PairResult:
    """Pair this host with the device on ``port`` and store the key.

    Raises:
        ParameterError: a ``sim://`` URL.
        KeyStoreError: a key is already held for the device's serial, or the key directory
            lets others in (checked before PAIR).
        PairingClosed: the device's pairing window is closed, or its key store is full.
        IncompatibleDevice / LinkError / DeviceError: the device cannot be used.
    """
    store = keys or FileKeyStore()
    link = open_link(port)
    try:
        info = read_info(link)
        held = store.get(info.serial)
        if held is not None:
            path = store.path_for(info.serial)
            raise KeyStoreError(
                f"{info.model} serial {info.serial} is already paired with this host (key id "
                f"{held.key_id}, {path}); to pair again, first run: "
                f"eactl pair --forget {shlex.quote(port)}",
                path=str(path),
            )
        store.prepare()
        key = pair(link, label or host_label(), port)
        stored_at = store.put(key)
    finally:
        link.close()
    log.info("paired with %s serial %s, key id %d", info.model, key.serial, key.key_id)
    return PairResult(info, key, stored_at)


def forget_port(port: str, *, keys: FileKeyStore | None = None) -> ForgetResult:
    """Forget the device on ``port``: FORGET on the device when reachable, then the key file.

    Raises:
        ParameterError: a ``sim://`` URL.
        KeyStoreError: no key held for the device (or, when it cannot be reached, no single
            key file for the port), or the key file or directory lets others in.
        DeviceNak: the device refused FORGET (an output is active: stop it first).
    """
    store = keys or FileKeyStore()
    try:
        link = open_link(port)
    except LinkError as err:
        return _forget_unreachable(store, port, f"the device could not be reached: {err}")
    try:
        try:
            info = read_info(link)
        except LinkError as err:
            return _forget_unreachable(store, port, f"the device did not answer: {err}")
        key = store.get(info.serial)
        if key is None:
            path = store.path_for(info.serial)
            raise KeyStoreError(
                f"this host holds no key for {info.model} serial {info.serial} ({path}): "
                "nothing forgotten",
                path=str(path),
            )
        session_keys = MemoryKeyStore()
        session_keys.put(key)
        try:
            hello(link, lease_ms=DEFAULT_LEASE_ms, keys=session_keys, port=port)
        except NotPaired:
            note = f"the device no longer knew key id {key.key_id}"
            return ForgetResult(info.serial, key.key_id, False, note, _delete(store, key))
        forget_on_device(link, key)
    finally:
        link.close()
    return ForgetResult(info.serial, key.key_id, True, "", _delete(store, key))


def _delete(store: FileKeyStore, key: PairingKey) -> str:
    path = str(store.path_for(key.serial))
    store.remove(key.serial)
    return path


def _forget_unreachable(store: FileKeyStore, port: str, why: str) -> ForgetResult:
    serials = store.serials_paired_on(port)
    if len(serials) != 1:
        found = "no key file names" if not serials else f"{len(serials)} key files name"
        raise KeyStoreError(
            f"cannot tell which key to forget: {why}; {found} the port {port} in "
            f"{store.directory}; nothing forgotten",
            path=str(store.directory),
        )
    key = store.get(serials[0])
    if key is None:  # pragma: no cover - the file was listed a moment ago
        raise EAError(f"the key file of {serials[0]} vanished meanwhile")
    return ForgetResult(key.serial, key.key_id, False, why, _delete(store, key))
