"""The words of the machine-readable schema (``schema.py``): one line for every code and rule.

The numbers come from the code (``codes.py``, ``auth.py``, ``frame.py``); only their meanings
live here, keyed by name. ``protocol_schema`` fails (KeyError) when a code has no meaning, so a
new enum member cannot reach ``vectors/schema.json`` undescribed. The text is PROTOCOL.md's,
shortened to one line; PROTOCOL.md stays the normative prose.
"""

from __future__ import annotations

__all__ = [
    "ANSWERS",
    "CHECK_ORDER",
    "ENUM_MEANINGS",
    "HEADER_MEANINGS",
    "MESSAGE_KEYS",
    "UNITS",
]

HEADER_MEANINGS = {
    "proto_major": "protocol major version, 2; byte 0 in every major, forever (version discovery)",
    "incompat_flags": "features the receiver MUST understand; none defined (any bit set → NAK "
    "UNSUPPORTED_FEATURE)",
    "compat_flags": "optional features a receiver MAY ignore; none defined",
    "msg_type": "MsgType; bit 7 set = device → host",
    "key": "KeyKind: which key tags the frame (0 none, 1 hello key, 2 session key); sets the tag "
    "size",
    "session_id": "the open session (device-chosen, never 0); 0 in key-0 and key-1 frames",
    "counter": "sender's per-direction counter, strictly increasing in a session (key 2); a "
    "request id in key-0/key-1 frames",
    "ref_counter": "in a reply: the counter of the frame answered; otherwise 0",
    "payload_len": "payload bytes (0..255); MUST equal decoded length − 18 − tag size − 4",
}

UNITS = {
    # suffix: (unit symbol, what one wire step is)
    "_uA_per_s": ("µA/s", "1 microampere per second"),
    "_uA": ("µA", "1 microampere"),
    "_us": ("µs", "1 microsecond"),
    "_ms": ("ms", "1 millisecond"),
    "_s": ("s", "1 second"),
    "_cHz": ("cHz", "0.01 hertz"),
    "_nC": ("nC", "1 nanocoulomb"),
    "_mV": ("mV", "1 millivolt"),
    "_ohm": ("Ω", "1 ohm"),
}
"""Field-name suffixes and the wire unit they name, longest suffix first (PROTOCOL.md §1)."""

_HOST_SESSION = (("SESSION",), "tagged with the session's host→device key")
MESSAGE_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "HELLO": (("PAIRING",), "tagged with the hello key of the pairing key named by key_id"),
    "GET_INFO": (("NONE",), "untagged: identity and capabilities only"),
    "PAIR": (("NONE",), "untagged; accepted only inside the pairing window"),
    "SET_PROGRAM": _HOST_SESSION,
    "GET_PROGRAM": _HOST_SESSION,
    "START": _HOST_SESSION,
    "SET_INTENSITY": _HOST_SESSION,
    "STOP": _HOST_SESSION,
    "HEARTBEAT": _HOST_SESSION,
    "GET_STATUS": _HOST_SESSION,
    "CLEAR_FAULT": _HOST_SESSION,
    "GET_DOSE": _HOST_SESSION,
    "FORGET": _HOST_SESSION,
    "ACK": (("SESSION",), "tagged with the session's device→host key"),
    "HELLO_ACK": (
        ("SESSION",),
        "tagged with the device→host key of the session it opened; the device's counter 1",
    ),
    "INFO": (("NONE",), "untagged: never a session id or any state"),
    "PROGRAM": (("SESSION",), "tagged with the session's device→host key"),
    "STATUS": (("SESSION",), "tagged with the session's device→host key"),
    "DOSE": (("SESSION",), "tagged with the session's device→host key"),
    "PAIR_ACK": (("NONE",), "untagged; sent once, inside the pairing window"),
    "NAK": (
        ("SESSION", "NONE"),
        "SESSION for a refusal of an authenticated command in the open session; NONE for a "
        "refusal of a key-0 or key-1 frame, for NO_SESSION and for BAD_VERSION (session_id 0)",
    ),
    "EVENT": (
        ("SESSION", "NONE"),
        "SESSION in the open session; NONE (session_id 0) for REBOOT and any event while no "
        "session is open",
    ),
}
"""msg_type name → (key kinds a frame of it may carry, the rule) (PROTOCOL.md §2.4)."""

ANSWERS = {
    "HELLO": "HELLO_ACK or NAK",
    "GET_INFO": "INFO",
    "SET_PROGRAM": "ACK (value = program CRC) or NAK",
    "GET_PROGRAM": "PROGRAM or NAK",
    "START": "ACK or NAK",
    "SET_INTENSITY": "ACK or NAK",
    "STOP": "ACK",
    "HEARTBEAT": "STATUS (renews the lease)",
    "GET_STATUS": "STATUS (does not renew the lease)",
    "CLEAR_FAULT": "ACK (value = mask self-tested and cleared) or NAK",
    "GET_DOSE": "DOSE or NAK",
    "PAIR": "PAIR_ACK or NAK",
    "FORGET": "ACK or NAK (the session closes after the ACK)",
}
"""Host → device msg_type name → the reply it gets."""

ENUM_MEANINGS: dict[str, dict[str, str]] = {
    "KeyKind": {
        "NONE": "no tag: GET_INFO, PAIR, INFO, PAIR_ACK and the device's refusals outside a "
        "session",
        "PAIRING": "tagged with the hello key of the pairing key named in the payload: HELLO",
        "SESSION": "tagged with the open session's key of the sender's direction",
    },
    "MsgType": {
        "HELLO": "open a session under a pairing key",
        "GET_INFO": "ask for identity, limits and capabilities",
        "SET_PROGRAM": "store a channel's program",
        "GET_PROGRAM": "read a stored program back",
        "START": "start the masked channels (program CRCs must match)",
        "SET_INTENSITY": "set a running channel's live target",
        "STOP": "bring the masked channels to zero",
        "HEARTBEAT": "renew the lease",
        "GET_STATUS": "ask for STATUS without renewing the lease",
        "CLEAR_FAULT": "clear latched faults after a passing self-test",
        "GET_DOSE": "ask for a channel's delivered totals",
        "PAIR": "ask for a pairing key (pairing window only)",
        "FORGET": "erase a pairing key",
        "ACK": "positive answer",
        "HELLO_ACK": "INFO's fields and the session just opened",
        "INFO": "identity, limits and capabilities",
        "PROGRAM": "read-back of a stored program with its CRC",
        "STATUS": "device and per-channel state",
        "DOSE": "a channel's delivered totals since its last SET_PROGRAM",
        "PAIR_ACK": "the new pairing key",
        "NAK": "negative answer: code, field index, limit",
        "EVENT": "unsolicited report of something the device did on its own",
    },
    "Mode": {
        "CONTINUOUS": "one frequency and phase width",
        "DENSE_DISPERSE": "alternating dwells at frequency a and frequency b",
        "INTERMITTENT": "on-time and off-time windows at frequency a",
    },
    "Shape": {
        "SYMMETRIC_BIPHASIC": "second phase mirrors the first",
        "ASYMMETRIC_BIPHASIC": "second phase 1/asym_ratio the amplitude for asym_ratio × the "
        "width (charge-balanced)",
    },
    "StopMode": {
        "RAMP_DOWN": "ramp to zero over the program's ramp_down_ms",
        "IMMEDIATE": "output to zero at once",
    },
    "ChannelState": {
        "IDLE": "no program stored; output off",
        "PROGRAMMED": "program stored; output off",
        "RAMPING": "output on, moving toward the target",
        "RUNNING": "output on at the target",
        "STOPPING": "output on, falling to zero",
        "FAULT": "a fault is latched; output off",
    },
    "Fault": {
        "NONE": "no fault",
        "ELECTRODE": "electrode impedance out of range (open or short)",
        "COMPLIANCE": "the output stage could not drive the set current",
        "LEASE": "the lease expired with the output active",
        "STUCK_OUTPUT": "current measured while the output should be off",
        "BUTTON_STOP": "the device's own stop button was pressed",
    },
    "DeviceFlag": {
        "NONE": "no flag",
        "SESSION_OPEN": "a session is open",
        "LEASE_VALID": "the lease has not expired",
        "FAULT_LATCHED": "some channel has a latched fault",
        "OUTPUT_ACTIVE": "some channel's output is active",
    },
    "InfoFlag": {
        "NONE": "no flag",
        "PAIRING_WINDOW": "the pairing window is open: PAIR is accepted now",
    },
    "NakCode": {
        "BAD_VERSION": "proto_major not supported; limit = the device's major",
        "UNSUPPORTED_FEATURE": "an unknown incompat flag; limit = the flags the device knows",
        "BAD_PAYLOAD": "wrong payload length, undefined enum value or flag bit, bad char[N], or "
        "a START entry for an unmasked channel that is not 0; limit 0",
        "UNEXPECTED_MESSAGE": "a device → host or unknown msg_type was sent to the device; limit 0",
        "NO_SESSION": "the frame's session_id is not the open session; limit never carries a "
        "session id",
        "SCHEMA_MISMATCH": "HELLO's schema hash differs; limit = the device's schema hash",
        "OUT_OF_RANGE": "a value outside the device's own limits; limit = the bound crossed",
        "BAD_STATE": "not allowed in the channel's or device's state; limit = the ChannelState",
        "PROGRAM_MISMATCH": "START's program CRC differs from the stored one; limit = the "
        "stored CRC",
        "NONZERO_START": "START while the output is not zero; limit = the set value, µA",
        "FAULT_LATCHED": "the channel has a latched fault; limit = the Fault bits",
        "NO_PROGRAM": "no program stored on the channel; limit 0",
        "NO_LEASE": "START without a valid lease; limit 0",
        "BAD_CHANNEL": "a channel number or mask bit at or above channel_count; limit = "
        "channel_count",
        "SELF_TEST_FAILED": "CLEAR_FAULT: the output stage failed its self-test; limit = the "
        "current measured, µA",
        "AUTH_REQUIRED": "this msg_type needs a key the frame does not carry",
        "NOT_PAIRED": "HELLO names a key_id the device does not hold",
        "PAIRING_CLOSED": "PAIR outside the pairing window",
        "KEY_STORE_FULL": "PAIR while every key slot is taken (FORGET one first)",
    },
    "EventCode": {
        "LEASE_EXPIRED": "the lease expired with an output active; detail = mask stopped",
        "ELECTRODE_FAULT": "electrode fault; detail = impedance Ω (65535 = open)",
        "COMPLIANCE": "compliance limit reached; detail = current that could be driven, µA",
        "REBOOT": "the device booted; detail = the new boot_id",
        "BUTTON_STOP": "the stop button was pressed; detail = mask stopped",
        "STUCK_OUTPUT": "current while off; detail = measured current, µA",
        "MAX_RUN_TIME": "max_run_s reached; detail = run time, s",
        "RAMP_DONE": "a ramp reached its target; detail = the set value, µA",
        "STOPPED": "a stop completed; detail = 0 ramp-down, 1 immediate, 2 lease, 3 fault",
        "SESSION_CLOSED": "the session is closed for good; detail = a SessionClosed reason",
    },
    "SessionClosed": {
        "LEASE": "the lease expired with an output active",
        "COUNTER_EXHAUSTED": "the host's counter reached 0xFFFFFFFF: the session ends rather "
        "than wrap",
        "REPLACED": "a HELLO opened another session while this one was idle",
        "FORGOTTEN": "FORGET erased the pairing key of this session",
    },
}
"""Enum name → member name → one-line meaning."""

CHECK_ORDER: tuple[dict[str, object], ...] = (
    {
        "check": "at most MAX_ENCODED_FRAME bytes before the 0x00 delimiter",
        "error": "oversize",
        "outcome": "discard up to the next 0x00; rx_err_count + 1; never answered",
    },
    {
        "check": "COBS decodes (no code byte runs past the end)",
        "error": "cobs",
        "outcome": "discard; rx_err_count + 1; never answered",
    },
    {
        "check": "decoded length ≥ header + CRC (22 bytes)",
        "error": "truncated",
        "outcome": "discard; rx_err_count + 1; never answered",
    },
    {
        "check": "CRC-32C over everything before the last 4 bytes equals them",
        "error": "crc",
        "outcome": "discard; rx_err_count + 1; never answered",
    },
    {
        "check": "proto_major (byte 0) = 2",
        "error": "version",
        "outcome": "NAK BAD_VERSION (key 0, session 0, limit 2); not counted",
    },
    {
        "check": "key byte ∈ {0, 1, 2} and payload_len = decoded length − 18 − tag size − 4",
        "error": "length",
        "outcome": "discard; rx_err_count + 1; never answered",
    },
    {
        "check": "key 0: msg_type is GET_INFO or PAIR",
        "error": "auth_required",
        "outcome": "NAK AUTH_REQUIRED (key 0)",
    },
    {
        "check": "key 1: msg_type is HELLO; payload decodes (else NAK BAD_PAYLOAD, key 0); "
        "key_id is held (else NAK NOT_PAIRED, key 0); the tag verifies under its hello key",
        "error": "bad_tag",
        "outcome": "wrong type: NAK AUTH_REQUIRED (key 0); bad tag: drop, auth_fail_count + 1, "
        "no reply",
    },
    {
        "check": "key 2: session_id is the open session (≠ 0), then the tag verifies under the "
        "host→device key",
        "error": "bad_tag",
        "outcome": "wrong session: NAK NO_SESSION (key 0, no tag check); bad tag: drop, "
        "auth_fail_count + 1, no reply",
    },
    {
        "check": "key 2 counter c: c > H (the highest executed) is new; c ≤ H and one of the "
        "last 16 executed with the identical tag is a retransmission; c = 0xFFFFFFFF ends the "
        "session",
        "error": "replayed",
        "outcome": "retransmission: the cached reply again (new device counter, same "
        "ref_counter), nothing executed; otherwise drop, replay_count + 1, no reply; "
        "0xFFFFFFFF: not executed, outputs cut, EVENT SESSION_CLOSED COUNTER_EXHAUSTED and a "
        "closing STATUS",
    },
    {
        "check": "msg_type is defined in this schema",
        "error": "unknown_msg_type",
        "outcome": "NAK UNEXPECTED_MESSAGE, field 0xFF",
    },
    {
        "check": "no incompat flag unknown to the receiver",
        "error": "incompat_flag",
        "outcome": "NAK UNSUPPORTED_FEATURE, limit = the known flags",
    },
    {
        "check": "msg_type travels host → device (bit 7 clear)",
        "error": "unexpected_message",
        "outcome": "NAK UNEXPECTED_MESSAGE, field 0xFF",
    },
    {
        "check": "payload: exact length, every enum value and flag bit defined, char[N] rules",
        "error": "payload",
        "outcome": "NAK BAD_PAYLOAD, field = the offending field's index (0xFF for a wrong length)",
    },
    {
        "check": "the handler's own checks (state, range, channel, program CRC, lease)",
        "error": None,
        "outcome": "NAK with the handler's code and field, or the reply; executed replies and "
        "NAKs alike are cached by counter",
    },
)
"""The device's receive checks in order (PROTOCOL.md §2.5): the first that fails decides.
``error`` is the ``FrameError.code`` of the codec (or the receiver's own name for a check the
codec leaves to it)."""
