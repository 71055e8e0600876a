"""The device's own limits table: what this model of stimulator can and may do.

The firmware re-checks every program and intensity against this record, never against anything
the host says (docs/architecture.md: the device is an independent second safety layer). The same
record is reported to the host in INFO and HELLO_ACK (PROTOCOL.md §5.3), so a host can intersect
it with its own layers; the firmware never reads the host's copy back.

The reference values are those of docs/architecture.md and PROTOCOL.md: 6 channels, 20 mA peak,
50–1000 µs phases, 1–200 Hz, 10 µC per phase (a design value, docs/clinical-sources.md), a lease of
200–1000 ms checked at 100 Hz, and a 60-minute maximum run.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from firmware_protocol import MAX_CHANNELS, PROTO_MINOR, SCHEMA_HASH, HelloAck, Info, InfoFlag
from simulator.firmware.units import U8, U16, U32

__all__ = ["MAX_CHECK_PERIOD_US", "DeviceModel", "MAX_PEAK_OUTPUT_mV"]

MAX_CHECK_PERIOD_US = 10_000
"""The lease and the fault conditions are checked at least at 100 Hz (PROTOCOL.md §3.5)."""

MAX_PEAK_OUTPUT_mV = 500_000
"""IEC 60601-2-10:1987 51.104: at most 500 V peak on an open circuit. A constant-current stage
rises to its compliance voltage when the circuit opens, so a model's compliance may not exceed it.
(The same clause's 300 mJ per pulse into 500 Ω cannot be reached on this wire: its largest pulse,
65.535 mA for two 65.535 ms phases, is 281 mJ; PROTOCOL.md §5.3.)"""

_TEXT_SIZE = 16

# (field, lowest allowed, highest allowed): each bound is what the HELLO_ACK wire field holds,
# or a physical minimum (a zero maximum would make the device unusable).
_RANGES: tuple[tuple[str, int, int], ...] = (
    ("channel_count", 1, MAX_CHANNELS),
    ("max_intensity_uA", 1, U16),
    ("min_phase_us", 1, U16),
    ("max_phase_us", 1, U16),
    ("min_freq_cHz", 1, U16),
    ("max_freq_cHz", 1, U16),
    ("max_phase_charge_nC", 1, U16),
    ("max_slew_uA_per_s", 1, U16),
    ("compliance_mV", 1, U32),
    ("min_lease_ms", 1, U16),
    ("max_lease_ms", 1, U16),
    ("max_run_s", 1, U16),
    ("max_interphase_us", 0, U16),
    ("max_asym_ratio", 1, U8),
    ("check_period_us", 1, MAX_CHECK_PERIOD_US),
    ("reply_cache_size", 1, 1024),
)

_ORDERED: tuple[tuple[str, str], ...] = (
    ("min_phase_us", "max_phase_us"),
    ("min_freq_cHz", "max_freq_cHz"),
    ("min_lease_ms", "max_lease_ms"),
)


@dataclass(frozen=True)
class DeviceModel:
    """A stimulator model: identity and the limits its firmware enforces.

    Attributes:
        model: model name reported in INFO and HELLO_ACK (ASCII, at most 16 characters).
        serial: serial number (ASCII, at most 16 characters, unique per device).
        fw_version: firmware (major, minor, patch), each 0..255.
        channel_count: number of output channels, 1..8.
        max_intensity_uA: largest first-phase current.
        min_phase_us: shortest phase width.
        max_phase_us: longest phase width.
        min_freq_cHz: lowest pulse frequency in 0.01 Hz.
        max_freq_cHz: highest pulse frequency in 0.01 Hz.
        max_phase_charge_nC: largest charge per phase (10 µC, a design value).
        max_slew_uA_per_s: fastest rise of the set value (ramps and intensity changes).
        compliance_mV: the current source's compliance voltage.
        min_lease_ms: shortest lease HELLO may ask for.
        max_lease_ms: longest lease HELLO may ask for.
        max_run_s: longest run a program may ask for (the device's own shut-off).
        max_interphase_us: longest gap between the two phases of a pulse.
        max_asym_ratio: largest asymmetric ratio (1 = symmetric pulses only).
        check_period_us: period of the lease and fault checks, at most 10 ms (≥ 100 Hz).
        reply_cache_size: replies kept for retransmitted commands, by counter (PROTOCOL.md §3.4).

    Raises:
        ValueError: a value outside its wire field or an inconsistent pair (naming the field).
    """

    model: str = "EA-SIM-6"
    serial: str = "SIM-000001"
    fw_version: tuple[int, int, int] = (1, 0, 0)
    channel_count: int = 6
    max_intensity_uA: int = 20_000
    min_phase_us: int = 50
    max_phase_us: int = 1000
    min_freq_cHz: int = 100
    max_freq_cHz: int = 20_000
    max_phase_charge_nC: int = 10_000
    max_slew_uA_per_s: int = 5_000
    compliance_mV: int = 60_000
    min_lease_ms: int = 200
    max_lease_ms: int = 1000
    max_run_s: int = 3600
    max_interphase_us: int = 500
    max_asym_ratio: int = 8
    check_period_us: int = 10_000
    reply_cache_size: int = 16

    def __post_init__(self) -> None:
        for name in ("model", "serial"):
            text = getattr(self, name)
            if (
                not isinstance(text, str)
                or not text.isascii()
                or "\x00" in text
                or not 0 < len(text) <= _TEXT_SIZE
            ):
                raise ValueError(f"{name} must be 1..{_TEXT_SIZE} ASCII characters, got {text!r}")
        version = self.fw_version
        if len(version) != 3 or not all(_is_int(v) and 0 <= v <= U8 for v in version):
            raise ValueError(f"fw_version must be three integers 0..255, got {version!r}")
        for name, low, high in _RANGES:
            value = getattr(self, name)
            if not _is_int(value) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer {low}..{high}, got {value!r}")
        for low_name, high_name in _ORDERED:
            if getattr(self, low_name) > getattr(self, high_name):
                raise ValueError(f"{low_name} exceeds {high_name}")
        if self.compliance_mV > MAX_PEAK_OUTPUT_mV:
            raise ValueError(
                f"compliance_mV {self.compliance_mV} exceeds the {MAX_PEAK_OUTPUT_mV} mV "
                "open-circuit peak of IEC 60601-2-10"
            )

    @property
    def all_channels_mask(self) -> int:
        """Channel mask with a bit for every channel of the device."""
        return (1 << self.channel_count) - 1

    def info(self, flags: InfoFlag = InfoFlag.NONE) -> Info:
        """The INFO message: this model's identity, limits and capabilities, with ``flags``
        (the pairing window); never a session id or any other state."""
        major, minor, patch = self.fw_version
        limits = {f.name: getattr(self, f.name) for f in fields(Info) if hasattr(self, f.name)}
        return Info(
            proto_minor=PROTO_MINOR,
            schema_hash=SCHEMA_HASH,
            fw_major=major,
            fw_minor=minor,
            fw_patch=patch,
            flags=flags,
            **limits,
        )

    def hello_ack(
        self,
        *,
        boot_id: int,
        session_id: int,
        lease_ms: int,
        device_nonce: bytes,
        flags: InfoFlag = InfoFlag.NONE,
    ) -> HelloAck:
        """Build the HELLO_ACK of a session just opened: INFO's fields and the session.

        Args:
            boot_id: the current boot's random id.
            session_id: the session opened.
            lease_ms: the lease granted to it.
            device_nonce: the device's nonce for the session keys.
            flags: INFO's capability flags.

        Returns:
            The message, ready to encode.
        """
        info = self.info(flags)
        values = {f.name: getattr(info, f.name) for f in fields(Info)}
        return HelloAck(
            **values,
            boot_id=boot_id,
            session_id=session_id,
            lease_ms=lease_ms,
            device_nonce=device_nonce,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
