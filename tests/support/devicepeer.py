"""The device's role on an authenticated link (protocol major 2), for host tests, sans-I/O.

``DevicePeer`` holds one pairing key and plays the device's half of the handshake and of every
later frame: it checks a host's HELLO under the hello key, derives the session keys from both
nonces, tags its own frames with the device→host key and a counter of its own, and checks host
frames under the host→device key. Tests of the host build every device frame with it, so the
host's MAC path runs in each of them; ``flip_bit`` makes a frame whose CRC still verifies but
whose authenticated bytes differ in one bit (a forgery, not line noise).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import firmware_protocol as fp

TEST_KEY = bytes(range(32))
"""A fixed pairing key for tests (never a real device's)."""

TEST_KEY_ID = 7
TEST_SESSION = 0x5EA10001
TEST_DEVICE_NONCE = bytes(range(100, 116))


@dataclass
class DevicePeer:
    """One device's keys and counters.

    Attributes:
        pairing_key: the key the device and its paired host share.
        key_id: the device's id for it.
        session_id: the session the next HELLO opens.
        device_nonce: the device's HELLO nonce.
        counter: the device's last counter used.
        host_counter: the highest host counter accepted in the session.
        keys: the session keys, once a HELLO was accepted.
    """

    pairing_key: bytes = TEST_KEY
    key_id: int = TEST_KEY_ID
    session_id: int = TEST_SESSION
    device_nonce: bytes = TEST_DEVICE_NONCE
    counter: int = 0
    host_counter: int = 0
    keys: fp.SessionKeys | None = field(default=None, repr=False)

    # --- the host's frames ------------------------------------------------------------------

    def accept_hello(self, raw: fp.RawFrame) -> fp.Hello:
        """Check a host HELLO (key 1, hello key of ``pairing_key``) and open the session (the
        first one is ``session_id``, each later one the next id)."""
        assert raw.header.key == fp.KeyKind.PAIRING, raw.header
        assert raw.authentic(fp.hello_key(self.pairing_key)), "HELLO tag does not verify"
        hello = raw.decode().message
        assert isinstance(hello, fp.Hello)
        assert hello.key_id == self.key_id
        if self.keys is not None:
            self.session_id += 1  # a new session: device-chosen, never reused within a boot
        self.keys = fp.session_keys(
            self.pairing_key,
            host_nonce=hello.host_nonce,
            device_nonce=self.device_nonce,
            session_id=self.session_id,
        )
        self.counter = 0
        self.host_counter = raw.header.counter
        return hello

    def host_frame(self, raw: fp.RawFrame) -> fp.Frame:
        """Check a host frame of the open session (tag, session, new counter) and decode it."""
        assert self.keys is not None, "no session open"
        header = raw.header
        assert header.key == fp.KeyKind.SESSION, header
        assert header.session_id == self.session_id, header
        assert raw.authentic(self.keys.host_to_device), "host frame tag does not verify"
        assert header.counter > self.host_counter, (header.counter, self.host_counter)
        self.host_counter = header.counter
        return raw.decode()

    # --- the device's frames ----------------------------------------------------------------

    def frame(
        self,
        message: fp.Message,
        *,
        ref_counter: int = 0,
        counter: int | None = None,
        session_id: int | None = None,
        key: bytes | None = None,
    ) -> bytes:
        """A SESSION-key device frame, tagged with the device→host key and the next counter
        (or the given ``counter``, ``session_id`` or ``key``, to forge)."""
        assert self.keys is not None, "no session open"
        if counter is None:
            self.counter += 1
            counter = self.counter
        return fp.encode_frame(
            message,
            key=self.keys.device_to_host if key is None else key,
            kind=fp.KeyKind.SESSION,
            session_id=self.session_id if session_id is None else session_id,
            counter=counter,
            ref_counter=ref_counter,
        )

    def untagged(self, message: fp.Message, *, ref_counter: int = 0) -> bytes:
        """A key-0 device frame (INFO, PAIR_ACK, a refusal, EVENT REBOOT)."""
        return fp.encode_frame(message, counter=0, ref_counter=ref_counter)

    def hello_ack(self, ack: fp.HelloAck, ref_counter: int) -> bytes:
        """HELLO_ACK as the device sends it: key 2 in the new session, device counter 1."""
        self.counter = 0
        return self.frame(ack, ref_counter=ref_counter)


def flip_bit(data: bytes, bit: int) -> bytes:
    """``data`` (one encoded frame) with bit ``bit`` of its header, payload or tag flipped and
    its CRC recomputed: the frame is sound, only its authenticated content differs."""
    body = fp.cobs_decode(data.rstrip(b"\x00"))[: -fp.frame.CRC_SIZE]
    assert 0 <= bit < 8 * len(body), (bit, len(body))
    changed = bytearray(body)
    changed[bit // 8] ^= 1 << (bit % 8)
    crc = fp.crc32c(bytes(changed)).to_bytes(fp.frame.CRC_SIZE, "little")
    return fp.cobs_encode(bytes(changed) + crc) + b"\x00"


def signed_bits(data: bytes) -> int:
    """How many bits of header, payload and tag ``data`` (one encoded frame) has."""
    return 8 * (len(fp.cobs_decode(data.rstrip(b"\x00"))) - fp.frame.CRC_SIZE)
