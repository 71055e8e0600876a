"""Pairing keys: PAIR and FORGET on the device, and the host's key store (PROTOCOL.md §3.1).

A device gives out a pairing key only while its pairing window is open (a physical action on
the device; on the simulator ``--pairing-window SECONDS``). The host keeps one key per device
serial number:

- ``FileKeyStore``: one JSON file per serial under ``$XDG_CONFIG_HOME/eacontrol/keys/`` (default
  ``~/.config/eacontrol/keys/``). The directory is made 0700 and each file 0600, written
  atomically (a temporary file in the same directory, fsync, rename). A key file or directory
  that group or others can read or write, or that another user owns, is refused
  (``KeyStoreError`` naming the path and the ``chmod`` that fixes it): such a key may be known
  to someone else, who could then drive the device.
- ``MemoryKeyStore``: keys held by this process only, never written. ``connect`` uses one per
  ``sim://`` device (``sim_key_store``), which pairs itself on first use: the simulator's
  window is open at boot, so the README's command needs no set-up and every test runs the
  authenticated path.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eacontrol.device.naks import nak_error
from eacontrol.errors import KeyStoreError, NotPaired, PairingClosed
from eacontrol.link import Link
from firmware_protocol import KEY_SIZE, Ack, Forget, Nak, NakCode, Pair, PairAck

__all__ = [
    "KEY_FILE_FORMAT",
    "FileKeyStore",
    "KeyStore",
    "MemoryKeyStore",
    "PairingKey",
    "default_key_directory",
    "forget_on_device",
    "host_label",
    "not_paired",
    "pair",
    "sim_key_store",
]

KEY_FILE_FORMAT = "eacontrol-pairing-key/1"
"""The ``format`` field of a key file: its layout's name and version."""

_LABEL_BYTES = 16
"""PAIR's host_label is char[16]."""

_SAFE_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}")


@dataclass(frozen=True)
class PairingKey:
    """The key a device gave this host.

    Attributes:
        serial: the device's serial number (from PAIR_ACK).
        key_id: the device's id for the key (u32, never 0).
        key: the 32-byte pairing key (never printed: ``repr`` hides it).
        host_label: the label this host gave itself in PAIR.
        port: the port it was paired on (how ``eactl pair --forget PORT`` finds the key of a
            device it cannot reach).
    """

    serial: str
    key_id: int
    key: bytes = field(repr=False)
    host_label: str = ""
    port: str = ""


class KeyStore(Protocol):
    """Where the host keeps its pairing keys, one per device serial.

    Attributes:
        auto_pair: True when ``connect`` may pair by itself when no key is held (only the
            simulator's in-memory store).
    """

    auto_pair: bool

    def get(self, serial: str) -> PairingKey | None:
        """The key held for ``serial``, or None."""

    def put(self, key: PairingKey) -> str:
        """Keep ``key`` (replacing any for its serial); return where, in words."""

    def remove(self, serial: str) -> bool:
        """Delete the key of ``serial``; return True if one was held."""


class MemoryKeyStore:
    """Keys held in this process only: never written anywhere."""

    def __init__(self, *, auto_pair: bool = False) -> None:
        """Args:
        auto_pair: let ``connect`` pair by itself when no key is held.
        """
        self.auto_pair = auto_pair
        self._keys: dict[str, PairingKey] = {}

    def get(self, serial: str) -> PairingKey | None:
        """The key held for ``serial``, or None."""
        return self._keys.get(serial)

    def put(self, key: PairingKey) -> str:
        """Keep ``key`` in memory."""
        self._keys[key.serial] = key
        return "memory (this process only)"

    def remove(self, serial: str) -> bool:
        """Forget the key of ``serial``."""
        return self._keys.pop(serial, None) is not None


_SIM_STORES: weakref.WeakKeyDictionary[object, MemoryKeyStore] = weakref.WeakKeyDictionary()


def sim_key_store(device_handle: object) -> MemoryKeyStore:
    """The in-memory, self-pairing key store of one ``sim://`` device (its pyserial port
    object): a reconnect to the same simulated device finds its key again, a new device gets a
    fresh one."""
    store = _SIM_STORES.get(device_handle)
    if store is None:
        store = _SIM_STORES[device_handle] = MemoryKeyStore(auto_pair=True)
    return store


def default_key_directory() -> Path:
    """``$XDG_CONFIG_HOME/eacontrol/keys`` (``~/.config/eacontrol/keys`` when unset or empty,
    as the XDG Base Directory specification says)."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "eacontrol" / "keys"


def _refuse_unsafe(path: Path, *, directory: bool) -> None:
    """Raise ``KeyStoreError`` if ``path`` is readable or writable by group/others, or owned by
    another user."""
    info = path.stat()
    wanted = "700" if directory else "600"
    if info.st_uid != os.getuid():
        raise KeyStoreError(
            f"refusing the key {'directory' if directory else 'file'} {path}: it belongs to "
            f"user id {info.st_uid}, not to you ({os.getuid()}); a key another user controls "
            "is not a secret of yours",
            path=str(path),
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise KeyStoreError(
            f"refusing the key {'directory' if directory else 'file'} {path}: its permissions "
            f"{stat.S_IMODE(info.st_mode):03o} let group or others read or write it (a pairing "
            f"key lets its holder drive the device); fix with: chmod {wanted} {path}",
            path=str(path),
        )


class FileKeyStore:
    """One JSON file per device serial in a directory only its owner can enter."""

    auto_pair = False

    def __init__(self, directory: Path | None = None) -> None:
        """Args:
        directory: where the key files are (default ``default_key_directory()``).
        """
        self.directory = directory if directory is not None else default_key_directory()

    def path_for(self, serial: str) -> Path:
        """The key file of ``serial`` (a serial that is not a plain name is hex-encoded)."""
        if _SAFE_SERIAL.fullmatch(serial):
            return self.directory / f"{serial}.json"
        return self.directory / f"x-{serial.encode().hex()}.json"

    def get(self, serial: str) -> PairingKey | None:
        """The key held for ``serial``, or None.

        Raises:
            KeyStoreError: the directory or file lets others read or write it, or the file is
                not a valid key file.
        """
        path = self.path_for(serial)
        if not path.exists():
            return None
        _refuse_unsafe(self.directory, directory=True)
        _refuse_unsafe(path, directory=False)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            key = PairingKey(
                serial=str(data["serial"]),
                key_id=int(data["key_id"]),
                key=bytes.fromhex(data["pairing_key"]),
                host_label=str(data.get("host_label", "")),
                port=str(data.get("port", "")),
            )
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise KeyStoreError(
                f"the key file {path} is not a valid eacontrol key file ({err}); delete it and "
                "pair again",
                path=str(path),
            ) from err
        if data.get("format") != KEY_FILE_FORMAT or len(key.key) != KEY_SIZE or key.key_id <= 0:
            raise KeyStoreError(
                f"the key file {path} is not a {KEY_FILE_FORMAT} file with a {KEY_SIZE}-byte "
                "key; delete it and pair again",
                path=str(path),
            )
        if key.serial != serial:
            raise KeyStoreError(
                f"the key file {path} holds the key of serial {key.serial!r}, not {serial!r}",
                path=str(path),
            )
        return key

    def prepare(self) -> None:
        """Make the directory (0700) if needed and check it, before a pairing uses the window.

        Raises:
            KeyStoreError: the directory lets group or others in, or is another user's.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _refuse_unsafe(self.directory, directory=True)

    def serials_paired_on(self, port: str) -> list[str]:
        """The serials whose key files say they were paired on ``port``."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and data.get("port") == port and "serial" in data:
                found.append(str(data["serial"]))
        return found

    def put(self, key: PairingKey) -> str:
        """Write the key file atomically (0600 in a 0700 directory); return its path.

        Raises:
            KeyStoreError: the directory exists and lets others in.
        """
        self.prepare()
        path = self.path_for(key.serial)
        document = {
            "format": KEY_FILE_FORMAT,
            "serial": key.serial,
            "key_id": key.key_id,
            "pairing_key": key.key.hex(),
            "host_label": key.host_label,
            "port": key.port,
        }
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=2)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return str(path)

    def remove(self, serial: str) -> bool:
        """Delete the key file of ``serial``; return True if there was one."""
        path = self.path_for(serial)
        if not path.exists():
            return False
        path.unlink()
        return True


def host_label() -> str:
    """This host's label for PAIR: ``user@host``, printable ASCII, at most 16 bytes."""
    try:
        user = os.getlogin()
    except OSError:
        user = os.environ.get("USER", "host")
    name = f"{user}@{os.uname().nodename}" if hasattr(os, "uname") else user
    return "".join(c for c in name if " " <= c <= "~")[:_LABEL_BYTES] or "eacontrol"


def not_paired(port: str, serial: str, why: str) -> NotPaired:
    """The error that tells the user exactly which ``eactl pair`` command to run."""
    return NotPaired(
        f"{serial or 'the device'} on {port} is not paired with this host ({why}): open the "
        f"device's pairing window (a physical action on the device; the simulator opens one "
        f"with --pairing-window SECONDS), then run: eactl pair {shlex.quote(port)}",
        port=port,
        serial=serial,
    )


def pair(link: Link, label: str, port: str = "") -> PairingKey:
    """Ask the device behind ``link`` (no session needed) for a pairing key.

    Args:
        link: an open link.
        label: this host's label (``host_label()``), at most 16 bytes.
        port: the port as the user named it, kept with the key (default the link's URL).

    Returns:
        The key; the caller stores it.

    Raises:
        PairingClosed: the device's pairing window is not open, or its key store is full.
        DeviceNak / LinkTimeout / LinkLost: the device refused otherwise or did not answer.
    """
    message = Pair(host_label=label[:_LABEL_BYTES])
    reply = link.request(message, PairAck)
    if isinstance(reply, Nak):
        if reply.code == NakCode.PAIRING_CLOSED:
            raise PairingClosed(
                f"the device on {link.url} refused to pair: its pairing window is closed. Open "
                "it (a physical action on the device; on the simulator start it with "
                "--pairing-window SECONDS, e.g. python -m simulator --pty --pairing-window 60, "
                "or give sim:// the option pairing_window=SECONDS) and pair again within the "
                "window"
            )
        if reply.code == NakCode.KEY_STORE_FULL:
            raise PairingClosed(
                f"the device on {link.url} refused to pair: its key store is full ({reply.limit} "
                "keys); forget a host it no longer needs (eactl pair --forget PORT from that "
                "host) and pair again"
            )
        raise nak_error(message, reply)
    return PairingKey(
        reply.serial, reply.key_id, reply.pairing_key, message.host_label, port or link.url
    )


def forget_on_device(link: Link, key: PairingKey) -> None:
    """Erase ``key`` on the device, in the open session it authenticates (FORGET); the device
    closes that session after its ACK.

    Raises:
        DeviceNak: the device refused (an output is active: BAD_STATE).
    """
    message = Forget(key_id=key.key_id)
    reply = link.request(message, Ack)
    if isinstance(reply, Nak):
        raise nak_error(message, reply)
