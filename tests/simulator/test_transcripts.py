"""The behavioural transcripts (PROTOCOL.md §9.2): the simulator's firmware replays every one
byte for byte, the stored files are current, and each is complete enough to check without
our code's state: every device frame verifies under keys derived from the transcript alone."""

from __future__ import annotations

from typing import Any

import make_transcripts
import pytest
from transcript_bench import FORMAT, STORED, change_a_device_byte, replay, stored

import firmware_protocol as fp

NAMES = sorted(make_transcripts.TRANSCRIPTS)


def _frames(transcript: dict[str, Any]) -> list[tuple[str, fp.RawFrame]]:
    """("host" | "device", frame) in the order they crossed the link."""
    out: list[tuple[str, fp.RawFrame]] = []
    for entry in transcript["timeline"]:
        sent = entry.get("in", {}).get("host_frame")
        if sent is not None:
            out.append(("host", fp.parse_frame(bytes.fromhex(sent)[:-1])))
        out += [("device", fp.parse_frame(bytes.fromhex(f)[:-1])) for f in entry["out"]]
    return out


def test_the_transcripts_cover_every_behaviour_the_spec_lists() -> None:
    names = sorted(p.name[: -len(".json")] for p in STORED.iterdir() if p.name.endswith(".json"))
    assert names == NAMES
    assert set(NAMES) == {
        "pairing",
        "handshake",
        "program_start_ramp",
        "lease_expiry",
        "replay",
        "duplicate_retransmission",
        "reply_cache_overflow",
        "bad_tag",
        "stop",
        "fault_latch_and_clear",
    }


@pytest.mark.parametrize("name", NAMES)
def test_the_simulator_replays_the_transcript_byte_for_byte(name: str) -> None:
    transcript = stored(name)
    assert transcript["format"] == FORMAT
    assert transcript["schema_hash"] == f"0x{fp.SCHEMA_HASH:08X}"
    assert replay(transcript) == transcript["timeline"]


@pytest.mark.parametrize("name", NAMES)
def test_the_stored_transcript_is_what_the_generator_makes(name: str) -> None:
    made = make_transcripts.render(make_transcripts.TRANSCRIPTS[name]())
    assert STORED.joinpath(f"{name}.json").read_text() == made, (
        "run python tests/support/make_transcripts.py and review the diff"
    )


def test_a_changed_device_byte_fails_the_replay() -> None:
    transcript = change_a_device_byte(stored("stop"))
    assert replay(transcript) != transcript["timeline"]


@pytest.mark.parametrize("name", NAMES)
def test_every_frame_checks_out_from_the_transcript_alone(name: str) -> None:
    """An implementer's check: keys from the transcript's own data (the key store, or the
    PAIR_ACK), nonces from HELLO and HELLO_ACK; every device key-2 frame verifies, in its
    session, with a counter above the last; every reply names a host frame sent."""
    transcript = stored(name)
    pairing = {k["key_id"]: bytes.fromhex(k["pairing_key"]) for k in transcript["device"]["keys"]}
    hellos: dict[int, fp.Hello] = {}  # by request id
    sessions: dict[int, fp.SessionKeys] = {}
    last_counter: dict[int, int] = {}
    host_counters: set[int] = set()
    for sender, raw in _frames(transcript):
        header = raw.header
        if sender == "host":
            host_counters.add(header.counter)
            if header.msg_type == fp.MsgType.HELLO:
                hello = raw.decode().message
                assert isinstance(hello, fp.Hello)
                hellos[header.counter] = hello
            continue
        message = raw.decode().message
        if header.ref_counter:
            assert header.ref_counter in host_counters, header
        if isinstance(message, fp.PairAck):
            pairing[message.key_id] = message.pairing_key
        if header.key == fp.KeyKind.NONE:
            continue
        if isinstance(message, fp.HelloAck) and message.session_id not in sessions:
            hello = hellos[header.ref_counter]
            sessions[message.session_id] = fp.session_keys(
                pairing[hello.key_id],
                host_nonce=hello.host_nonce,
                device_nonce=message.device_nonce,
                session_id=message.session_id,
            )
        keys = sessions[header.session_id]
        assert raw.authentic(keys.device_to_host), header
        assert header.counter > last_counter.get(header.session_id, 0), header
        last_counter[header.session_id] = header.counter


def _device_messages(name: str) -> list[fp.Message]:
    return [raw.decode().message for who, raw in _frames(stored(name)) if who == "device"]


def _last_status(name: str) -> fp.Status:
    status = [m for m in _device_messages(name) if isinstance(m, fp.Status)][-1]
    return status


def test_the_transcripts_show_what_they_say() -> None:
    assert _last_status("bad_tag").auth_fail_count == 4
    assert _last_status("replay").replay_count == 1
    assert _last_status("reply_cache_overflow").replay_count == 1
    assert not _last_status("replay").flags & fp.DeviceFlag.OUTPUT_ACTIVE
    closed = [m for m in _device_messages("lease_expiry") if isinstance(m, fp.Event)]
    assert fp.EventCode.LEASE_EXPIRED in [e.code for e in closed]
    naks = {m.code for m in _device_messages("fault_latch_and_clear") if isinstance(m, fp.Nak)}
    assert naks == {fp.NakCode.FAULT_LATCHED, fp.NakCode.SELF_TEST_FAILED}
    assert any(isinstance(m, fp.PairAck) for m in _device_messages("pairing"))
    stopped = _last_status("stop")
    assert [(c.set_uA, c.measured_uA) for c in stopped.channels] == [(0, 0), (0, 0)]
