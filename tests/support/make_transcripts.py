"""Build the behavioural transcripts of PROTOCOL.md §9.2 (run this file to rewrite
firmware_protocol/vectors/transcripts/).

Each transcript is one scripted conversation with a device switched on at virtual time 0: a
``HostPeer`` (raw frames, ``firmware_protocol`` only) plays the host and every device frame it
receives is checked as a host must (tag, session, counter). What the device sent, and when, is
recorded by the bench (``transcript_bench.Bench``); ``tests/simulator/test_transcripts.py``
replays the inputs on a fresh device and requires the same bytes at the same times.

Deterministic: fixed keys, nonces and random values, so the same protocol gives byte-identical
files, and a protocol change shows up as a reviewed diff.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peer import HostPeer, SessionState
from sim_programs import dense_disperse, program
from transcript_bench import FORMAT, Bench, device_spec
from vector_keys import HOST_NONCE, KEY_ID, PAIRING_KEY

import firmware_protocol as fp
from simulator.firmware import DeviceModel

TRANSCRIPT_DIR = Path(__file__).resolve().parents[2] / "firmware_protocol/vectors/transcripts"

MS = 1_000
"""µs per ms."""

MODEL = DeviceModel(model="EA-SIM-2", serial="SIM-TRANSCRIPT", channel_count=2)
"""The transcripts' device: the reference limits on two channels (short STATUS frames)."""

LOAD_OHM = 1000
"""Every channel's bench resistor: a typical needle pair's impedance (design value; the
simulator's tissue model is not used, so the measured values are exact)."""

LEASE_MS = 500
HEARTBEAT_MS = 100
"""The host's lease and heartbeat (a fifth of the lease, as the reference host)."""

_RANDOM_POOL = 64


def _random_values(name: str) -> list[int]:
    """A fixed pool of u32 values for one transcript (the file keeps those drawn)."""
    return [
        int.from_bytes(hashlib.sha256(f"{name}/{i}".encode()).digest()[:4], "little")
        for i in range(_RANDOM_POOL)
    ]


def _nonces() -> Callable[[int], bytes]:
    """Host nonces: the vectors' HOST_NONCE, then each next one with every byte plus one."""
    count = 0

    def nonce(size: int) -> bytes:
        nonlocal count
        out = bytes((b + count) % 256 for b in HOST_NONCE[:size])
        count += 1
        return out

    return nonce


@dataclass
class Script:
    """One transcript being made: its bench, the host and the comments of its steps."""

    name: str
    bench: Bench
    host: HostPeer

    @classmethod
    def start(cls, name: str, *, paired: bool = True) -> Script:
        keys = {KEY_ID: PAIRING_KEY} if paired else {}
        spec = device_spec(MODEL, load_ohm=LOAD_OHM, keys=keys, random_u32=_random_values(name))
        bench = Bench(spec)
        host = HostPeer(
            bench,
            key_id=KEY_ID if paired else 0,
            pairing_key=PAIRING_KEY if paired else b"",
            nonce=_nonces(),
        )
        return cls(name, bench, host)

    @classmethod
    def in_session(cls, name: str) -> Script:
        """A transcript whose host opens its session (HELLO) at 10 ms."""
        script = cls.start(name)
        script.at(10).hello(LEASE_MS)
        return script

    def at(self, t_ms: int) -> HostPeer:
        """Let the device run until ``t_ms``; the host acts then."""
        self.host.wait_until(t_ms * MS)
        return self.host

    def hardware(self, t_ms: int, **given: Any) -> None:
        """A physical input at ``t_ms`` (``Bench.apply``)."""
        self.at(t_ms)
        self.bench.apply(given, t_ms * MS)
        self.host.collect()

    def new_session(self, t_ms: int) -> SessionState:
        """A new HELLO at ``t_ms``, from a host in a session; returns the session it replaces."""
        old = self.host.session
        assert old is not None
        self.at(t_ms).hello(LEASE_MS)
        return old

    def keep_lease(self, until_ms: int) -> None:
        """HEARTBEAT every ``HEARTBEAT_MS`` from the host's time until ``until_ms``."""
        t_ms = self.host.now_us // MS + HEARTBEAT_MS
        while t_ms <= until_ms:
            self.at(t_ms).ok(fp.Heartbeat())
            t_ms += HEARTBEAT_MS

    def run_program(self, t_ms: int, prog: fp.SetProgram) -> None:
        """SET_PROGRAM then START of ``prog``'s channel at ``t_ms``."""
        host = self.at(t_ms)
        host.ok(prog)
        host.ok(_start(prog))

    def finish(self, description: str, end_ms: int) -> dict[str, Any]:
        self.at(end_ms)
        drawn = self.bench.spec["random_u32"][: self.bench.rng.used]
        spec = self.bench.spec | {"random_u32": drawn}
        return {
            "format": FORMAT,
            "name": self.name,
            "description": description,
            "proto_major": fp.PROTO_MAJOR,
            "schema_hash": f"0x{fp.SCHEMA_HASH:08X}",
            "device": spec,
            "host": {
                "key_id": KEY_ID,
                "pairing_key": PAIRING_KEY.hex(),
                "lease_ms": LEASE_MS,
            },
            "end_us": end_ms * MS,
            "timeline": self.bench.timeline,
        }


def _start(prog: fp.SetProgram) -> fp.Start:
    """START of ``prog``'s channel, naming its program CRC."""
    crcs = [0] * 8
    crcs[prog.channel] = prog.crc
    return fp.Start(channel_mask=1 << prog.channel, program_crc=tuple(crcs))


def _program(channel: int = 0, **fields: Any) -> fp.SetProgram:
    values: dict[str, Any] = dict(target_uA=2000, ramp_up_ms=1000, ramp_down_ms=500)
    return program(channel=channel, **values | fields)


# --- the transcripts ------------------------------------------------------------------------


def pairing() -> dict[str, Any]:
    s = Script.start("pairing", paired=False)
    host = s.at(10)
    assert not host.get_info().flags & fp.InfoFlag.PAIRING_WINDOW
    refused = host.plain_call(fp.Pair(host_label="clinic pc")).message
    assert isinstance(refused, fp.Nak) and refused.code == fp.NakCode.PAIRING_CLOSED
    s.hardware(20, pairing_window_s=60)
    host = s.at(30)
    assert host.get_info().flags & fp.InfoFlag.PAIRING_WINDOW
    host.pair("clinic pc")
    host = s.at(40)
    refused = host.plain_call(fp.Pair(host_label="another pc")).message
    assert isinstance(refused, fp.Nak) and refused.code == fp.NakCode.PAIRING_CLOSED
    host.hello(LEASE_MS)
    s.at(50).ok(fp.GetStatus())
    return s.finish(
        "Pairing: GET_INFO with the window closed, PAIR refused (PAIRING_CLOSED), the pairing "
        "button (a 60 s window), GET_INFO showing it open, PAIR answered PAIR_ACK with a key "
        "from the random source, a second PAIR refused (the window closed with the first), "
        "HELLO under the new key, GET_STATUS in the new session.",
        60,
    )


def handshake() -> dict[str, Any]:
    s = Script.start("handshake")
    host = s.at(10)
    host.get_info()
    host.hello_replies(LEASE_MS, schema_hash=fp.SCHEMA_HASH ^ 1)  # NAK SCHEMA_MISMATCH
    hello, frame = host.hello_frame(LEASE_MS)
    host.request_id += 1
    s.at(20)
    host.send_hello(hello, frame)
    s.at(30)
    host.send_hello(hello, frame)  # the same HELLO again: its HELLO_ACK again, no new session
    s.at(40).ok(fp.GetStatus())
    old = s.new_session(50)  # a new HELLO: the idle session is REPLACED
    s.at(60).send(host.frame(fp.GetStatus(), session=old, counter=2))  # NAK NO_SESSION
    return s.finish(
        "Handshake: GET_INFO, a HELLO with the wrong schema hash (NAK SCHEMA_MISMATCH), HELLO "
        "answered HELLO_ACK, the identical HELLO again (the same HELLO_ACK, no new session), "
        "GET_STATUS, a new HELLO replacing the idle session (EVENT SESSION_CLOSED REPLACED "
        "in the old one, then HELLO_ACK), and a frame of the replaced session refused "
        "NO_SESSION.",
        70,
    )


def program_start_ramp() -> dict[str, Any]:
    s = Script.in_session("program_start_ramp")
    prog = _program(0)
    host = s.at(20)
    host.ok(prog)
    host.ok(fp.GetProgram(channel=0))
    wrong = fp.Start(channel_mask=1, program_crc=(prog.crc ^ 1,) + (0,) * 7)
    host.nak(wrong, fp.NakCode.PROGRAM_MISMATCH)
    host.ok(_start(prog))
    s.keep_lease(500)
    s.at(520).ok(fp.GetStatus())  # half way up the 1 s ramp
    s.keep_lease(1200)  # RAMP_DONE at 1.02 s
    s.at(1210).ok(fp.SetIntensity(channel=0, target_uA=2500, slew_uA_per_s=1000))
    s.keep_lease(1800)
    s.at(1810).ok(fp.GetStatus())
    s.at(1820).ok(fp.Stop(channel_mask=1, mode=fp.StopMode.RAMP_DOWN))
    s.keep_lease(2500)
    s.at(2510).ok(fp.GetStatus())
    return s.finish(
        "Program, start, ramp: SET_PROGRAM (continuous 2 Hz, 2 mA, 1 s up, 0.5 s down), "
        "GET_PROGRAM, START with a wrong program CRC (NAK PROGRAM_MISMATCH), START, heartbeats "
        "every 100 ms, STATUS half way up the ramp, EVENT RAMP_DONE, SET_INTENSITY to 2.5 mA "
        "at 1 mA/s, STOP with a ramp down, EVENT STOPPED, STATUS at rest.",
        2600,
    )


def lease_expiry() -> dict[str, Any]:
    s = Script.in_session("lease_expiry")
    s.run_program(20, _program(0, ramp_up_ms=400))
    s.keep_lease(400)  # the last heartbeat at 320 ms: the 500 ms lease runs out at 820 ms
    old = s.host.session
    assert old is not None
    s.at(1500).send(s.host.frame(fp.Heartbeat(), session=old))  # NAK NO_SESSION
    host = s.at(1510)
    host.hello(LEASE_MS)
    host.ok(fp.GetStatus())  # the LEASE fault is latched in the new session
    host.ok(fp.ClearFault(channel_mask=1))
    host.ok(fp.GetStatus())
    return s.finish(
        "Lease expiry: a running channel, heartbeats until 320 ms, then none: at the first "
        "check at or after 820 ms the lease has expired, the output stops (EVENT LEASE_EXPIRED, "
        "STOPPED), the session closes for good (EVENT SESSION_CLOSED LEASE, closing STATUS); "
        "a HEARTBEAT of that session later is refused NO_SESSION; a new HELLO opens a new "
        "session, whose STATUS shows the LEASE fault latched until CLEAR_FAULT.",
        1600,
    )


def replay() -> dict[str, Any]:
    s = Script.start("replay")
    host = s.at(10)
    host.hello(LEASE_MS)
    prog = _program(0)
    s.at(20).ok(prog)
    start = host.command(_start(prog))
    s.at(30).send(start)
    s.at(40).ok(fp.Stop(channel_mask=1, mode=fp.StopMode.IMMEDIATE))
    s.at(50).send(start)  # the captured START again: its cached ACK, nothing executed
    s.at(60).ok(fp.GetStatus())  # the output is still off
    used = host.frame(fp.SetIntensity(channel=0, target_uA=4000, slew_uA_per_s=5000), counter=2)
    assert not s.at(70).send(used)  # a used counter on other content: dropped, counted
    s.new_session(80)
    s.at(90).send(start)  # the first session's START: NO_SESSION
    s.at(100).ok(fp.GetStatus())
    return s.finish(
        "Replay: in a session, SET_PROGRAM (counter 1), START (2) and STOP (3); the captured "
        "START frame sent again is answered from the reply cache (the same ACK, a new device "
        "counter) and not executed: STATUS shows the output still off; a SET_INTENSITY with "
        "the used counter 2 is dropped unanswered and counted (replay_count); after a new "
        "HELLO, the first session's START frame, byte for byte, is refused NO_SESSION; STATUS "
        "in the new session shows replay_count 1 and no output active.",
        110,
    )


def duplicate_retransmission() -> dict[str, Any]:
    s = Script.in_session("duplicate_retransmission")
    s.run_program(20, _program(0, ramp_up_ms=400))
    s.keep_lease(300)
    host = s.host
    frame = host.command(fp.SetIntensity(channel=0, target_uA=2500, slew_uA_per_s=5000))
    s.at(310).send(frame)
    s.at(320).send(frame)  # the reply was lost: the same frame again, answered from the cache
    s.at(330).ok(fp.GetStatus())
    s.at(340).ok(fp.Stop(channel_mask=1, mode=fp.StopMode.IMMEDIATE))
    return s.finish(
        "Duplicate retransmission: SET_INTENSITY (2.5 mA) sent, then the identical frame again "
        "as a host does when the reply is lost: the cached ACK is sent again with a new device "
        "counter and the same ref_counter, and nothing is executed twice (STATUS: "
        "last_applied_counter is the first one's, replay_count 0).",
        350,
    )


def reply_cache_overflow() -> dict[str, Any]:
    s = Script.in_session("reply_cache_overflow")
    host = s.host
    first = host.command(fp.GetStatus())
    s.at(20).send(first)
    for k in range(MODEL.reply_cache_size):
        s.at(30 + 10 * k).ok(fp.Heartbeat())
    t_ms = 30 + 10 * MODEL.reply_cache_size
    s.at(t_ms).send(first)  # its reply has left the cache: a replay, dropped unanswered
    s.at(t_ms + 10).ok(fp.GetStatus())
    return s.finish(
        f"Reply-cache overflow: GET_STATUS (counter 1), then {MODEL.reply_cache_size} "
        "heartbeats, so counter 1 has left the 16-entry reply cache; the identical GET_STATUS "
        "frame again is now a replay: dropped, never answered, counted (STATUS replay_count 1).",
        t_ms + 20,
    )


def bad_tag() -> dict[str, Any]:
    from peer_ends import tamper

    s = Script.start("bad_tag")
    host = s.at(10)
    hello, frame = host.hello_frame(LEASE_MS)
    s.at(20).send(tamper(frame, 8 * 40))  # a bit of HELLO's payload: dropped
    host.request_id += 1
    s.at(30)
    host.send_hello(hello, frame)
    command = host.command(fp.SetIntensity(channel=0, target_uA=1000, slew_uA_per_s=1000))
    payload_bit = 8 * fp.HEADER_SIZE + 9  # target_uA's second bit
    tag_bit = 8 * (fp.HEADER_SIZE + len(fp.SetIntensity(0, 0, 0).encode())) + 7
    counter_bit = 8 * 9  # the header's counter, lowest bit
    for t_ms, bit in ((40, payload_bit), (50, tag_bit), (60, counter_bit)):
        assert not s.at(t_ms).send(tamper(command, bit))
    s.at(70).ok(fp.GetStatus())
    return s.finish(
        "Bad tag: a HELLO with one payload bit flipped (CRC made good) is dropped unanswered; "
        "the genuine HELLO opens the session; SET_INTENSITY frames with one bit flipped in "
        "the payload, in the tag and in the header are each dropped unanswered and counted; "
        "STATUS shows auth_fail_count and that nothing was applied.",
        80,
    )


def stop() -> dict[str, Any]:
    s = Script.in_session("stop")
    s.run_program(20, _program(0, ramp_up_ms=400))
    s.run_program(30, _program(1, ramp_up_ms=400))
    s.keep_lease(400)
    host = s.at(410)
    host.ok(fp.Stop(channel_mask=0b11, mode=fp.StopMode.IMMEDIATE))
    host.ok(fp.GetStatus())
    s.keep_lease(600)
    return s.finish(
        "STOP: two channels running at 2 mA; STOP IMMEDIATE on both: outputs at zero at once, "
        "ACK, EVENT STOPPED per channel; STATUS shows both IDLE with set and measured 0 µA; "
        "the session stays open (heartbeats go on).",
        700,
    )


def fault_latch_and_clear() -> dict[str, Any]:
    s = Script.in_session("fault_latch_and_clear")
    dense = dense_disperse(channel=0, target_uA=2000, ramp_up_ms=400, ramp_down_ms=400)
    s.run_program(20, dense)
    s.run_program(30, _program(1, ramp_up_ms=400))
    s.keep_lease(300)
    s.hardware(305, channel=0, contact_lost=True)  # the lead of channel 1 comes off
    s.keep_lease(400)
    host = s.at(410)
    host.ok(fp.GetStatus())
    host.nak(_start(dense), fp.NakCode.FAULT_LATCHED)
    s.hardware(415, channel=0, contact_lost=False)  # re-clipped
    host = s.at(420)
    host.ok(fp.ClearFault(channel_mask=1))
    host.ok(_start(dense))
    s.keep_lease(600)
    s.hardware(605, channel=1, stuck_output_uA=800)  # channel 2's output stage fails
    s.keep_lease(700)
    host = s.at(710)
    host.ok(fp.GetStatus())
    host.nak(fp.ClearFault(channel_mask=0b10), fp.NakCode.SELF_TEST_FAILED)
    host.ok(fp.Stop(channel_mask=0b11, mode=fp.StopMode.IMMEDIATE))
    return s.finish(
        "Fault latch and clear: channel 0 (2/100 Hz dense-disperse) and channel 1 running; "
        "channel 0's contact is lost: at the next check EVENT ELECTRODE_FAULT, its output "
        "stops and the fault latches while channel 1 runs on; START on it is refused "
        "FAULT_LATCHED; after re-clipping, CLEAR_FAULT (its self-test passes) and START run "
        "it again from zero; then channel 1's output stage sticks at 800 µA DC: EVENT "
        "STUCK_OUTPUT, relay opened, and CLEAR_FAULT is refused SELF_TEST_FAILED (a stuck "
        "stage is never re-enabled by clearing); STOP ends the rest.",
        720,
    )


TRANSCRIPTS: dict[str, Callable[[], dict[str, Any]]] = {
    f.__name__: f
    for f in (
        pairing,
        handshake,
        program_start_ramp,
        lease_expiry,
        replay,
        duplicate_retransmission,
        reply_cache_overflow,
        bad_tag,
        stop,
        fault_latch_and_clear,
    )
}
"""Every transcript, by file stem."""


def render(transcript: dict[str, Any]) -> str:
    """One transcript file's exact text."""
    return json.dumps(transcript, indent=1, ensure_ascii=False) + "\n"


def build() -> dict[str, str]:
    """Every transcript file's exact text, by file name."""
    return {f"{name}.json": render(make()) for name, make in TRANSCRIPTS.items()}


if __name__ == "__main__":
    TRANSCRIPT_DIR.mkdir(exist_ok=True)
    for name, text in build().items():
        (TRANSCRIPT_DIR / name).write_text(text)
        print(f"wrote {TRANSCRIPT_DIR / name}", file=sys.stderr)
