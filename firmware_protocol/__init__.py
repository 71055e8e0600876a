"""eacontrol wire protocol: sans-I/O frames, CRC-32C, keys and tags, messages and units.

The normative specification is ``PROTOCOL.md`` beside this file; golden vectors for firmware
authors are in ``vectors/``. This package does no I/O, reads no clock and starts no thread.

Each module's ``__all__`` is the one list of what it exports, imported here with ``*`` (the
layout of httpx's ``__init__``); the package's own ``__all__`` below is the public API, which
leaves out the few helpers other modules of the package use (``CRC_SIZE``, ``KeyedMac``,
``max_encoded_len``). ``tests/test_architecture.py`` checks that it is sorted and that every
name in it is defined.
"""

# The names in __all__ come from the modules' __all__ lists, through the star imports.
# ruff: noqa: F405

from firmware_protocol.auth import *  # noqa: F403
from firmware_protocol.cobs import *  # noqa: F403
from firmware_protocol.codes import *  # noqa: F403
from firmware_protocol.crc import *  # noqa: F403
from firmware_protocol.errors import *  # noqa: F403
from firmware_protocol.frame import *  # noqa: F403
from firmware_protocol.messages import *  # noqa: F403

__all__ = [
    "CHECK_VALUE",
    "HEADER_SIZE",
    "KEY_SIZE",
    "KNOWN_INCOMPAT_FLAGS",
    "MAX_CHANNELS",
    "MAX_ENCODED_FRAME",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "MESSAGE_TYPES",
    "NONCE_SIZE",
    "NO_CHANNEL",
    "NO_FIELD",
    "PROTO_MAJOR",
    "PROTO_MINOR",
    "SCHEMA_HASH",
    "TAG_SIZE",
    "Ack",
    "AuthenticationError",
    "BadTag",
    "ChannelState",
    "ChannelStatus",
    "ClearFault",
    "CobsError",
    "CrcMismatch",
    "DeviceFlag",
    "Dose",
    "EncodeError",
    "Event",
    "EventCode",
    "Fault",
    "Forget",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "GetDose",
    "GetInfo",
    "GetProgram",
    "GetStatus",
    "Header",
    "Heartbeat",
    "Hello",
    "HelloAck",
    "Info",
    "InfoFlag",
    "KeyKind",
    "LengthMismatch",
    "Message",
    "Mode",
    "MsgType",
    "Nak",
    "NakCode",
    "OversizeFrame",
    "Pair",
    "PairAck",
    "PayloadError",
    "Program",
    "ProtocolError",
    "RawFrame",
    "ReplayedFrame",
    "SessionClosed",
    "SessionKeys",
    "SetIntensity",
    "SetProgram",
    "Shape",
    "Start",
    "Status",
    "Stop",
    "StopMode",
    "TruncatedFrame",
    "TrustedFrameError",
    "UnitError",
    "UnknownMessageType",
    "UnsupportedFeature",
    "UntrustedFrameError",
    "VersionMismatch",
    "cobs_decode",
    "cobs_encode",
    "crc32c",
    "decode_frame",
    "descriptor",
    "encode_frame",
    "hello_key",
    "hkdf_sha256",
    "parse_frame",
    "program_crc",
    "session_keys",
    "tag",
    "tag_matches",
]
