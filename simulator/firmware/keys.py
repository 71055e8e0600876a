"""The device's key store and pairing window (PROTOCOL.md major 2, pairing).

A device holds one 32-byte pairing key per paired host, each under a device-chosen ``key_id``
(u32, never 0), at most ``MAX_KEYS``. A real unit keeps them in protected flash, so they
survive a power cycle; the simulated one keeps them for the life of the ``Firmware`` object.
Keys and key ids come from the device's random source (``hal.RandomSource``), never from the
host.

PAIR is accepted only while the **pairing window** is open: a physical action on the device (a
button; on the simulator ``--pairing-window SECONDS``, the ``sim://`` option ``pairing_window``
or ``Firmware.open_pairing_window``) opens it for a number of seconds of device time. One
pairing per window: the window closes when a key is handed out. The window lives in RAM, so a
power cycle closes it.

PAIR_ACK is sent once and never cached: a PAIR whose PAIR_ACK was lost is repeated by opening
the window again (PROTOCOL.md §3.1), so a captured PAIR frame can never fetch a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_protocol import KEY_SIZE, NO_FIELD, NakCode, hello_key
from simulator.firmware.checks import Refused
from simulator.firmware.hal import RandomSource, random_bytes
from simulator.firmware.units import US_PER_S

__all__ = ["MAX_KEYS", "MAX_WINDOW_S", "KeyStore", "Paired"]

MAX_KEYS = 8
"""Pairing keys a device holds (design value: one per host a clinic plausibly uses with one
unit — a treatment-room PC, a laptop, a CI rig — with room to spare; 8 × 36 bytes of flash)."""

MAX_WINDOW_S = 3600
"""Longest pairing window (design value: an hour; a window is a deliberate, short act)."""


@dataclass(frozen=True)
class Paired:
    """One pairing handed out.

    Attributes:
        key_id: the device-chosen id of the key.
        pairing_key: the key.
    """

    key_id: int
    pairing_key: bytes


class KeyStore:
    """Pairing keys by key id, and the pairing window.

    Args:
        rng: the device's random source (keys, key ids).
        capacity: the most keys held.
    """

    def __init__(self, rng: RandomSource, capacity: int = MAX_KEYS) -> None:
        self._rng = rng
        self._capacity = capacity
        self._keys: dict[int, bytes] = {}
        self._hello_keys: dict[int, bytes] = {}
        self._window_until_us: int | None = None
        self._window_start_us = 0

    def __len__(self) -> int:
        """Keys held."""
        return len(self._keys)

    def __contains__(self, key_id: object) -> bool:
        """True when a key with ``key_id`` is held."""
        return key_id in self._keys

    def pairing_key(self, key_id: int) -> bytes | None:
        """The pairing key of ``key_id``, or None if it is not held."""
        return self._keys.get(key_id)

    def hello_key(self, key_id: int) -> bytes | None:
        """The hello key derived from ``key_id``'s pairing key (None if not held)."""
        return self._hello_keys.get(key_id)

    # --- the window -----------------------------------------------------------------------

    def open_window(self, now_us: int, seconds: int) -> None:
        """The physical action: accept one PAIR for ``seconds`` from ``now_us`` (0 closes it).

        Raises:
            ValueError: ``seconds`` is not a whole number 0..MAX_WINDOW_S.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise ValueError(f"pairing window must be whole seconds, got {seconds!r}")
        if not 0 <= seconds <= MAX_WINDOW_S:
            raise ValueError(f"pairing window {seconds} s is outside 0..{MAX_WINDOW_S} s")
        self._window_start_us = now_us
        self._window_until_us = now_us + seconds * US_PER_S if seconds else None

    def close_window(self) -> None:
        """Close the pairing window (a pairing was made, or the device rebooted)."""
        self._window_until_us = None

    def window_open(self, now_us: int) -> bool:
        """True while PAIR is accepted."""
        until_us = self._window_until_us
        return until_us is not None and self._window_start_us <= now_us < until_us

    # --- pairing and forgetting -----------------------------------------------------------

    def pair(self, now_us: int) -> Paired:
        """Hand out a new key (PAIR) and close the window: one pairing per window.

        Raises:
            Refused: PAIRING_CLOSED outside the window; KEY_STORE_FULL with no free slot.
        """
        if not self.window_open(now_us):
            raise Refused(NakCode.PAIRING_CLOSED, NO_FIELD, 0)
        if len(self._keys) >= self._capacity:
            raise Refused(NakCode.KEY_STORE_FULL, NO_FIELD, self._capacity)
        key_id = 0
        while key_id == 0 or key_id in self._keys:
            key_id = self._rng.random_u32()
        key = random_bytes(self._rng, KEY_SIZE)
        self._keys[key_id] = key
        self._hello_keys[key_id] = hello_key(key)
        self.close_window()
        return Paired(key_id, key)

    def install(self, key_id: int, pairing_key: bytes) -> None:
        """Put a known key in the store, as flash holds it (a transcript's or a test's fixed
        key, a unit provisioned in the factory); no window is needed.

        Raises:
            ValueError: ``key_id`` is 0 or not a u32, the key is not ``KEY_SIZE`` bytes, or
                the store is full.
        """
        if not 0 < key_id <= 0xFFFF_FFFF:
            raise ValueError(f"key_id must be 1..0xFFFFFFFF, got {key_id}")
        if len(pairing_key) != KEY_SIZE:
            raise ValueError(f"a pairing key is {KEY_SIZE} bytes, got {len(pairing_key)}")
        if key_id not in self._keys and len(self._keys) >= self._capacity:
            raise ValueError(f"the key store holds {self._capacity} keys already")
        self._keys[key_id] = bytes(pairing_key)
        self._hello_keys[key_id] = hello_key(pairing_key)

    def forget(self, key_id: int) -> bool:
        """Erase ``key_id``'s key; True if it was held."""
        self._hello_keys.pop(key_id, None)
        return self._keys.pop(key_id, None) is not None
