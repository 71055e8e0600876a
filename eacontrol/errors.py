"""The eacontrol exception tree. Every public error is exported from ``eacontrol``.

::

    EAError                          base of every error eacontrol raises
    ├── ProfileError(ValueError)     a profile cannot be used; .findings says every reason
    │   ├── ProfileSyntaxError       malformed TOML/JSON (.file, .line)
    │   └── ProfileRefused           loads, but breaks a limit layer or a placement rule
    ├── UnknownAcupoint(ValueError)  not a WHO 2008 code or known extra point; .suggestions
    ├── InvalidNeedleSite(ValueError) a side on a midline point, or none on a bilateral one
    ├── ParameterError(ValueError)   an API value out of range, refused before anything is sent
    ├── LinkError                    the serial link; .frames = the last frames, for reports
    │   ├── PortNotFound             no such port, or no device matching VID:PID / serial number
    │   ├── PortAmbiguous            several ports match the VID:PID asked for: pin the serial
    │   ├── PortBusy                 the port is open elsewhere (ports open exclusively; .holders)
    │   ├── LinkTimeout(TimeoutError) no answer after every retransmission
    │   ├── CounterExhausted         the session's 32-bit command counter is nearly used up
    │   └── LinkLost(ConnectionError) the port vanished, or no STATUS for 3 lease periods
    │       └── LinkFault            a device frame failed authentication (tag, counter, session)
    ├── DeviceError                  the device answered, but not as required
    │   ├── DeviceNak                a command was refused (.code, .field, .limit)
    │   ├── IncompatibleDevice       protocol major or schema hash differ (names both sides)
    │   ├── IdentityMismatch         the device is not the pinned serial number
    │   ├── NotPaired                this host holds no key the device accepts: ``eactl pair PORT``
    │   ├── PairingClosed            PAIR refused: the device's pairing window is not open
    │   ├── ReadbackMismatch         a program read back differs from the one sent (.field)
    │   └── DeviceFault              a latched fault stopped channels, or the device rebooted or
    │       │                        lost the session (REBOOT / NO_SESSION): stimulation ended
    │       └── DeviceMismatch       STATUS showed more output than the host commanded (a
    │                                foreign command, a stuck stage): every output was cut
    ├── StopNotConfirmed             outputs not confirmed off within one lease: use the
    │                                device's hardware stop button (.channels, .frames)
    ├── KeyStoreError                the host's pairing-key store cannot be used safely (its
    │                                permissions let others read or write it, or it is corrupt)
    ├── MissingExtra(ImportError)    an optional dependency is not installed: the message names
    │                                the extra to install (``pip install "eacontrol[data]"``)
    ├── SessionError                 the session runner refused or ended abnormally
    │   └── SessionStopped           ended early by the operator or a fault (outputs confirmed 0)
    └── RecordError                  the session database is locked, read-only or corrupt
        └── UnknownSession(KeyError) no session with that id in the database

Lower-level errors (pyserial, sqlite3, tomllib, pydantic, firmware_protocol) are translated once,
at the boundary where they enter eacontrol, with ``raise … from err``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "CounterExhausted",
    "DeviceError",
    "DeviceFault",
    "DeviceMismatch",
    "DeviceNak",
    "EAError",
    "Finding",
    "IdentityMismatch",
    "IncompatibleDevice",
    "InvalidNeedleSite",
    "KeyStoreError",
    "Layer",
    "LinkError",
    "LinkFault",
    "LinkLost",
    "LinkTimeout",
    "MissingExtra",
    "NotPaired",
    "PairingClosed",
    "ParameterError",
    "PortAmbiguous",
    "PortBusy",
    "PortNotFound",
    "ProfileError",
    "ProfileRefused",
    "ProfileSyntaxError",
    "ReadbackMismatch",
    "RecordError",
    "SessionError",
    "SessionStopped",
    "Severity",
    "StopNotConfirmed",
    "UnknownAcupoint",
    "UnknownSession",
]


class Severity(enum.StrEnum):
    """A refusal stops the profile; an advisory is shown and recorded."""

    REFUSE = "refuse"
    ADVISORY = "advisory"


class Layer(enum.StrEnum):
    """Where a rule comes from. The effective limit is the intersection of all layers."""

    SCHEMA = "schema"  # the file's syntax, types, units and structure
    STANDARD = "standard"  # built-in table: IEC 60601-2-10, clinical literature
    DEVICE = "device"  # the connected device's reported capability
    SITE = "site"  # the clinic's policy file
    PATIENT = "patient"  # patient flags and calibrated maxima
    PROFILE = "profile"  # the profile's own ceilings


@dataclass(frozen=True)
class Finding:
    """One problem found in a profile or parameter.

    Attributes:
        severity: refuse or advisory.
        path: field path in the profile, e.g. ``steps[1].intensity_mA`` (``""`` for the file).
        message: what is wrong, in words a practitioner understands.
        layer: the limit layer the rule belongs to.
        quantity: the physical quantity checked (``phase_charge_uC``), if any.
        value: the offending value, if any.
        allowed: the allowed range as text, e.g. ``"≤ 10 µC"``.
        source: the standard or paper behind the limit.
        file: the file the value came from.
        line: the 1-based line in that file, where known.
    """

    severity: Severity
    path: str
    message: str
    layer: Layer = Layer.SCHEMA
    quantity: str | None = None
    value: object = None
    allowed: str | None = None
    source: str | None = None
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or ""
        if self.line is not None:
            where += f":{self.line}"
        head = f"{where}: " if where else ""
        field = f"{self.path}: " if self.path else ""
        parts = [f"{head}{field}{self.message}"]
        details = []
        if self.value is not None:
            details.append(f"value {self.value!r}")
        if self.allowed:
            details.append(f"allowed {self.allowed}")
        details.append(f"layer {self.layer}")
        if self.source:
            details.append(f"source {self.source}")
        parts.append(f" [{self.severity}: {'; '.join(details)}]")
        return "".join(parts)


class EAError(Exception):
    """Base of every error raised by eacontrol."""


class ProfileError(EAError, ValueError):
    """A profile cannot be used.

    Attributes:
        findings: every problem found (all are reported at once, not just the first).
        file: the profile's file, if it came from one.
    """

    def __init__(self, findings: Sequence[Finding], file: str | None = None) -> None:
        self.findings = tuple(findings)
        self.file = file
        lines = "\n".join(f"  {f}" for f in self.findings)
        name = f"profile {file}" if file else "profile"
        super().__init__(f"{name}: {len(self.findings)} problem(s)\n{lines}")


class ProfileSyntaxError(ProfileError):
    """The file is not valid TOML/JSON; the finding carries the line."""


class ProfileRefused(ProfileError):
    """The profile loads but breaks a limit layer or a placement rule."""


class UnknownAcupoint(EAError, ValueError):
    """Not a WHO 2008 standard acupoint code or a known extra point.

    Attributes:
        code: the code as given.
        suggestions: the nearest valid codes.
    """

    def __init__(self, code: str, suggestions: Sequence[str] = ()) -> None:
        self.code = code
        self.suggestions = tuple(suggestions)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"unknown acupoint {code!r} (WHO standard codes){hint}")


class InvalidNeedleSite(EAError, ValueError):
    """A needle site is malformed: a side (L/R) on a midline point, none on a bilateral point,
    or text that is not ``CODE[-L|-R]``."""


class ParameterError(EAError, ValueError):
    """An API value is out of range; nothing was sent.

    Attributes:
        parameter: the parameter's name, with its unit (``intensity_mA``).
        value: the value given.
        allowed: the allowed range, as text with units.
        layer: the limit layer that refused it.
        source: the standard, paper or device report behind the limit.
    """

    def __init__(
        self,
        parameter: str,
        value: object,
        allowed: str,
        layer: Layer = Layer.DEVICE,
        source: str | None = None,
    ) -> None:
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.layer = layer
        self.source = source
        src = f", source {source}" if source else ""
        super().__init__(
            f"{parameter}={value!r} is out of range: allowed {allowed} (layer {layer}{src})"
        )


class LinkError(EAError):
    """The serial link failed.

    Attributes:
        frames: the last frames sent and received, formatted, for an error report ("" if none).
    """

    def __init__(self, message: str, *, frames: str = "") -> None:
        super().__init__(message)
        self.frames = frames
        if frames:
            self.add_note("last frames:\n" + frames)


class PortNotFound(LinkError):
    """No such port, or no connected device matches the VID:PID / serial number asked for."""


class PortAmbiguous(LinkError):
    """Several connected ports match the VID:PID asked for; pin the USB serial number."""


class PortBusy(LinkError):
    """The port is already open in another program (ports are opened exclusively).

    On a POSIX tty eacontrol holds ``TIOCEXCL`` and pyserial's ``flock``: a second opener gets
    this, and the message names the processes holding the port where the system can tell
    (Linux ``/proc``), or says plainly that it cannot (docs/cli.md, "Exclusive access").

    Attributes:
        holders: ``(pid, command line)`` of each process seen holding the port; empty when none
            could be told (no ``/proc``, another user's process, or not a local port).
    """

    def __init__(
        self, message: str, *, holders: tuple[tuple[int, str], ...] = (), frames: str = ""
    ) -> None:
        super().__init__(message, frames=frames)
        self.holders = holders


class LinkTimeout(LinkError, TimeoutError):
    """A command got no answer after every retransmission."""


class CounterExhausted(LinkError):
    """The session's 32-bit host counter is near its end (PROTOCOL.md: it never wraps).

    New commands are refused; the counters kept in reserve let the stop that ends the session
    (STOP, GET_STATUS, HEARTBEAT, GET_DOSE) be sent and confirmed.
    """


class LinkLost(LinkError, ConnectionError):
    """The port vanished, or the device sent no STATUS for three lease periods."""


class LinkFault(LinkLost):
    """A device frame failed authentication: a bad tag, a replayed or old device counter, or
    another session's id in a SESSION-key frame.

    The device's word can no longer be trusted on this link, so it ends as a lost link does:
    one best-effort STOP, the port closed, the device's lease switching its outputs off.
    """


class DeviceError(EAError):
    """The device answered, but not as required."""


class DeviceNak(DeviceError):
    """The device refused a command.

    Attributes:
        command: the refused command's name (``SET_PROGRAM``).
        code: the NAK code's name (``OUT_OF_RANGE``).
        field: the offending field's name, or None.
        limit: the device's limit or related value from the NAK.
        hint: what the code means here, in API units (e.g. "device limit for target_uA:
            20000 (20 mA)"), or "".
    """

    def __init__(
        self, command: str, code: str, field: str | None, limit: int, hint: str = ""
    ) -> None:
        self.command = command
        self.code = code
        self.field = field
        self.limit = limit
        self.hint = hint
        where = f" field {field}" if field else ""
        tail = f": {hint}" if hint else ""
        super().__init__(f"device refused {command}: {code}{where} (device limit {limit}){tail}")


class IncompatibleDevice(DeviceError):
    """The device speaks another protocol major or message schema. Names both sides."""


class IdentityMismatch(DeviceError):
    """The connected device is not the one pinned by serial number."""


class NotPaired(DeviceError):
    """The device does not know this host (NAK NOT_PAIRED), or this host holds no key for the
    device's serial number. The message names the ``eactl pair PORT`` command that fixes it.

    Attributes:
        port: the port the device was reached on.
        serial: the device's serial number, or "" if unknown.
    """

    def __init__(self, message: str, *, port: str, serial: str = "") -> None:
        super().__init__(message)
        self.port = port
        self.serial = serial


class PairingClosed(DeviceError):
    """PAIR was refused because the device's pairing window is closed (NAK PAIRING_CLOSED) or
    its key store is full (NAK KEY_STORE_FULL)."""


class ReadbackMismatch(DeviceError):
    """A program read back from the device differs from the one sent.

    Attributes:
        field: the first differing field.
        sent: the value sent.
        read: the value read back.
    """

    def __init__(self, channel: int, field: str, sent: object, read: object) -> None:
        self.channel = channel
        self.field = field
        self.sent = sent
        self.read = read
        super().__init__(
            f"channel {channel}: program read back has {field}={read!r}, sent {sent!r}"
        )


class DeviceFault(DeviceError):
    """A latched device fault stopped one or more channels.

    Attributes:
        channel: the first faulted channel number (from 1), or None for the whole device.
        faults: the fault names.
    """

    def __init__(self, message: str, channel: int | None, faults: Sequence[str]) -> None:
        self.channel = channel
        self.faults = tuple(faults)
        super().__init__(message)


class DeviceMismatch(DeviceFault):
    """A STATUS showed what the host did not command; every output was cut and confirmed off.

    Attributes:
        field: what differed (``target_uA``, ``state``, ``measured_uA``, ...).
        expected: what the host commanded, in words.
        reported: what the device reported.
    """

    def __init__(
        self, message: str, channel: int | None, field: str, expected: str, reported: str
    ) -> None:
        super().__init__(message, channel, ("MISMATCH",))
        self.field = field
        self.expected = expected
        self.reported = reported


class StopNotConfirmed(EAError):
    """The device did not confirm its outputs off within one lease period.

    This is a hard alarm: the operator must press the device's hardware stop button or
    disconnect the electrodes.

    Attributes:
        channels: the channel numbers whose stop was not confirmed.
        frames: the last frames sent and received, formatted, for an error report.
    """

    def __init__(self, message: str, *, channels: Sequence[int] = (), frames: str = "") -> None:
        super().__init__(message)
        self.channels = tuple(channels)
        self.frames = frames
        if frames:
            self.add_note("last frames:\n" + frames)


class KeyStoreError(EAError):
    """The host's pairing-key store cannot be used: a key file or directory that group or others
    can read or write (the message names the path and the ``chmod`` that fixes it), or a key
    file that is not valid.

    Attributes:
        path: the offending file or directory.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class MissingExtra(EAError, ImportError):
    """An optional dependency is not installed; nothing was written.

    Attributes:
        module: the module that is missing (``pandas``).
        extra: the eacontrol extra that installs it (``data``).
    """

    def __init__(self, module: str, extra: str, needed_for: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{needed_for} needs {module}, the optional extra '{extra}': "
            f'pip install "eacontrol[{extra}]"'
        )


class SessionError(EAError):
    """The session runner refused to start or ended abnormally."""


class SessionStopped(SessionError):
    """The session ended early (operator stop, emergency stop or a device fault); the outputs
    were confirmed at zero."""


class RecordError(EAError):
    """The session database is locked, read-only or corrupt; nothing was stimulated."""


class UnknownSession(RecordError, KeyError):
    """No session with this id in the database.

    Attributes:
        session_id: the id asked for.
        path: the database file.
    """

    def __init__(self, session_id: int, path: str) -> None:
        self.session_id = session_id
        self.path = path
        super().__init__(f"session database {path}: no session {session_id}")

    def __str__(self) -> str:
        # KeyError's own __str__ shows the repr of its argument; show the message plainly.
        return str(self.args[0])
