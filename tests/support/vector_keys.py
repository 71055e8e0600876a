"""The fixed test inputs of the golden vectors, and the keys derived from them (auth.json).

Test values only, chosen to be recognisable in a hex dump; a real pairing key comes from the
device's random source. Shared by ``make_vectors.py``, ``invalid_vectors.py`` and the tests.
"""

from __future__ import annotations

import firmware_protocol as fp

__all__ = [
    "DEVICE_NONCE",
    "DEVICE_TO_HOST",
    "HELLO_KEY",
    "HOST_NONCE",
    "HOST_TO_DEVICE",
    "KEY_ID",
    "PAIRING_KEY",
    "SESSION_ID",
    "SESSION_KEYS",
    "key_name",
    "key_of",
]

PAIRING_KEY = bytes(range(0x40, 0x60))
"""32 bytes 0x40..0x5F."""

KEY_ID = 0x0000_4B1D
HOST_NONCE = bytes.fromhex("00112233445566778899aabbccddeeff")
DEVICE_NONCE = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
SESSION_ID = 0x5E55_1D01

HELLO_KEY = fp.hello_key(PAIRING_KEY)
SESSION_KEYS = fp.session_keys(
    PAIRING_KEY, host_nonce=HOST_NONCE, device_nonce=DEVICE_NONCE, session_id=SESSION_ID
)
HOST_TO_DEVICE = SESSION_KEYS.host_to_device
DEVICE_TO_HOST = SESSION_KEYS.device_to_host

_NAMES = {
    HELLO_KEY: "hello_key",
    HOST_TO_DEVICE: "host_to_device",
    DEVICE_TO_HOST: "device_to_host",
}


def key_name(key: bytes | None) -> str | None:
    """The name auth.json gives ``key`` (None for an untagged frame; 'other' for a key that is
    none of the test session's, e.g. a wrong one)."""
    if key is None:
        return None
    return _NAMES.get(key, "other")


def key_of(name: str | None) -> bytes | None:
    """The key auth.json names ``name``."""
    if name is None:
        return None
    return {v: k for k, v in _NAMES.items()}[name]
