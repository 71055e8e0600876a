"""Port discovery by USB VID:PID and serial number, so a re-plugged device is found again.

Device paths renumber (``/dev/ttyUSB0`` becomes ``/dev/ttyUSB1``, ``COM3`` becomes ``COM7``)
when a device is unplugged and plugged back in; its USB serial number does not. ``find_ports``
lists what ``serial.tools.list_ports`` sees, filtered; ``resolve_port`` turns a selection into
the device path of exactly one port, now.
"""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

from eacontrol.errors import PortAmbiguous, PortNotFound

__all__ = ["PortInfo", "find_ports", "resolve_port"]


@dataclass(frozen=True)
class PortInfo:
    """One serial port as the operating system describes it.

    Attributes:
        device: the path to open (``/dev/ttyACM0``, ``COM3``).
        vid: USB vendor id, or None for a non-USB port.
        pid: USB product id, or None.
        serial_number: USB serial number string, or None.
        description: the OS's human-readable description.
        manufacturer: USB manufacturer string, or None.
        location: USB bus location, or None.
    """

    device: str
    vid: int | None
    pid: int | None
    serial_number: str | None
    description: str
    manufacturer: str | None = None
    location: str | None = None

    @property
    def vid_pid(self) -> str | None:
        """``"VVVV:PPPP"`` in hex, or None for a non-USB port."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04X}:{self.pid:04X}"

    def __str__(self) -> str:
        usb = f" [{self.vid_pid}" if self.vid_pid else ""
        if usb and self.serial_number:
            usb += f" SN={self.serial_number}"
        usb += "]" if usb else ""
        return f"{self.device} - {self.description}{usb}"


def _selection(vid: int | None, pid: int | None, serial_number: str | None) -> str:
    parts = []
    if vid is not None:
        parts.append(f"VID {vid:04X}")
    if pid is not None:
        parts.append(f"PID {pid:04X}")
    if serial_number is not None:
        parts.append(f"serial number {serial_number!r}")
    return ", ".join(parts) or "any port"


def find_ports(
    vid: int | None = None, pid: int | None = None, serial_number: str | None = None
) -> list[PortInfo]:
    """List the serial ports present now that match every criterion given.

    Args:
        vid: USB vendor id to match.
        pid: USB product id to match.
        serial_number: USB serial number to match exactly.

    Returns:
        Matching ports, sorted by device path.
    """
    found = []
    for p in sorted(list_ports.comports()):
        if vid is not None and p.vid != vid:
            continue
        if pid is not None and p.pid != pid:
            continue
        if serial_number is not None and p.serial_number != serial_number:
            continue
        found.append(
            PortInfo(
                device=p.device,
                vid=p.vid,
                pid=p.pid,
                serial_number=p.serial_number,
                description=p.description,
                manufacturer=p.manufacturer,
                location=p.location,
            )
        )
    return found


def resolve_port(
    vid: int | None = None, pid: int | None = None, serial_number: str | None = None
) -> str:
    """Return the current device path of the one port matching the selection.

    Args:
        vid: USB vendor id to match.
        pid: USB product id to match.
        serial_number: USB serial number to match exactly.

    Returns:
        The device path to open.

    Raises:
        PortNotFound: nothing matches (the message names what was searched and what exists).
        PortAmbiguous: more than one port matches; pin the serial number.
    """
    matches = find_ports(vid, pid, serial_number)
    what = _selection(vid, pid, serial_number)
    if not matches:
        present = "; ".join(str(p) for p in find_ports()) or "none"
        raise PortNotFound(f"no serial port matches {what} (ports present: {present})")
    if len(matches) > 1:
        listed = "; ".join(str(p) for p in matches)
        raise PortAmbiguous(f"{len(matches)} ports match {what}: {listed}; pin serial_number")
    return matches[0].device
