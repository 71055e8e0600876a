"""A session's keys are keyed once (``auth.KeyedMac``): every tag under one copies its HMAC
state instead of keying again. The tags must be the one-shot HMAC-SHA-256's, byte for byte, and
the keys still the HKDF output's bytes (RFC 4231 and RFC 5869 vectors: test_vectors.py)."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from firmware_protocol import auth


@given(key=st.binary(min_size=1, max_size=64), data=st.binary(max_size=600))
def test_a_keyed_tag_is_the_one_shot_hmac(key: bytes, data: bytes) -> None:
    keyed = auth.KeyedMac(key)
    expected = hmac.digest(key, data, "sha256")[: auth.TAG_SIZE]
    assert keyed == key and auth.tag(keyed, data) == auth.tag(key, data) == expected
    assert auth.tag(keyed, data) == expected  # its state is copied, never consumed
    assert auth.tag_matches(keyed, data, expected)
    assert not auth.tag_matches(keyed, data + b"\x00", expected)


def test_session_and_hello_keys_are_keyed_once() -> None:
    keys = auth.session_keys(
        bytes(32), host_nonce=bytes(range(16)), device_nonce=bytes(16), session_id=7
    )
    hello = auth.hello_key(bytes(32))
    for key in (keys.host_to_device, keys.device_to_host, hello):
        assert isinstance(key, auth.KeyedMac) and len(key) == auth.KEY_SIZE
    assert keys.host_to_device != keys.device_to_host
