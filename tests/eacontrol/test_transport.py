"""Transport: opening by URL, exclusive ports, pyserial error translation, safe close, discovery."""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import serial
from pytest_mock import MockerFixture
from serial.tools.list_ports_common import ListPortInfo

from eacontrol.device import PortInfo, find_ports, resolve_port
from eacontrol.errors import LinkError, LinkLost, PortAmbiguous, PortBusy, PortNotFound
from eacontrol.link import SIMULATOR_HANDLER_PACKAGE, Transport


class FakeSerial:
    """The part of a pyserial port the transport uses, with scripted failures."""

    def __init__(self, data: bytes = b"") -> None:
        self.buffer = bytearray(data)
        self.timeout: float | None = None
        self.timeouts: list[float | None] = []
        self.calls: list[str] = []
        self.read_error: Exception | None = None
        self.write_error: Exception | None = None
        self.cancel_error: Exception | None = None

    @property
    def in_waiting(self) -> int:
        return len(self.buffer)

    def read(self, size: int = 1, /) -> bytes:
        self.calls.append("read")
        self.timeouts.append(self.timeout)
        if self.read_error:
            raise self.read_error
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def write(self, data: bytes, /) -> int:
        if self.write_error:
            raise self.write_error
        self.calls.append(f"write {data.hex()}")
        return len(data)

    def cancel_read(self) -> None:
        self.calls.append("cancel_read")
        if self.cancel_error:
            raise self.cancel_error

    def close(self) -> None:
        self.calls.append("close")


def _open_failing(mocker: MockerFixture, err: Exception) -> pytest.ExceptionInfo[LinkError]:
    mocker.patch("serial.serial_for_url", side_effect=err)
    with pytest.raises(LinkError) as info:
        Transport.open("/dev/ttyEA0")
    assert info.value.__cause__ is err
    return info


def test_open_passes_exclusive_and_registers_simulator_package(mocker: MockerFixture) -> None:
    opened = mocker.patch("serial.serial_for_url", return_value=FakeSerial())
    transport = Transport.open("/dev/ttyEA0", baudrate=57600)
    kwargs: dict[str, Any] = opened.call_args.kwargs
    assert opened.call_args.args == ("/dev/ttyEA0",)
    assert kwargs["exclusive"] is True
    assert kwargs["baudrate"] == 57600
    assert kwargs["write_timeout"] > 0
    assert SIMULATOR_HANDLER_PACKAGE in serial.protocol_handler_packages
    assert transport.url == "/dev/ttyEA0"
    assert transport.clock is None


def test_missing_port_is_port_not_found(mocker: MockerFixture) -> None:
    err = serial.SerialException(errno.ENOENT, "could not open port /dev/ttyEA0: No such file")
    info = _open_failing(mocker, err)
    assert type(info.value) is PortNotFound
    assert "/dev/ttyEA0" in str(info.value)


def test_locked_port_is_port_busy(mocker: MockerFixture) -> None:
    err = serial.SerialException(errno.EAGAIN, "Could not exclusively lock port /dev/ttyEA0")
    assert type(_open_failing(mocker, err).value) is PortBusy


def test_windows_access_denied_is_port_busy(mocker: MockerFixture) -> None:
    err = serial.SerialException(
        "could not open port 'COM3': PermissionError(13, 'Access is denied.')"
    )
    assert type(_open_failing(mocker, err).value) is PortBusy


def test_permission_denied_explains_dialout(mocker: MockerFixture) -> None:
    err = serial.SerialException(errno.EACCES, "could not open port: Permission denied")
    info = _open_failing(mocker, err)
    assert type(info.value) is LinkError
    assert "dialout" in str(info.value)


def test_unknown_url_scheme_is_port_not_found() -> None:
    with pytest.raises(PortNotFound, match="unknown URL scheme") as info:
        Transport.open("nosuchscheme://x")
    assert isinstance(info.value.__cause__, ValueError)


def test_bad_sim_option_is_a_link_error_naming_it() -> None:
    with pytest.raises(LinkError, match="bogus"):
        Transport.open("sim://?bogus=1")


def test_loop_url_round_trip() -> None:
    with Transport.open("loop://") as transport:
        transport.write(b"\x01\x02\x00")
        assert transport.read(0.5) == b"\x01\x02\x00"


def test_read_waits_for_first_byte_then_takes_what_is_buffered() -> None:
    port = FakeSerial(b"abcdef")
    transport = Transport(port, "fake")
    assert transport.read(0.25) == b"abcdef"
    assert port.timeouts == [0.25, 0.25]
    assert transport.read(0.25) == b""


def test_read_and_write_errors_become_link_lost_with_cause() -> None:
    port = FakeSerial()
    transport = Transport(port, "fake")
    port.read_error = serial.SerialException(
        "device reports readiness to read but returned no data"
    )
    with pytest.raises(LinkLost, match="read failed") as info:
        transport.read(0.1)
    assert info.value.__cause__ is port.read_error
    port.write_error = serial.SerialTimeoutException("Write timeout")
    with pytest.raises(LinkLost, match="write failed") as info:
        transport.write(b"x")
    assert info.value.__cause__ is port.write_error


def test_close_cancels_read_then_closes_once() -> None:
    port = FakeSerial()
    transport = Transport(port, "fake")
    transport.close()
    transport.close()
    assert port.calls == ["cancel_read", "close"]
    assert transport.closed
    with pytest.raises(LinkLost, match="closed"):
        transport.read(0.1)
    with pytest.raises(LinkLost, match="closed"):
        transport.write(b"x")


def test_close_survives_a_failing_cancel() -> None:
    port = FakeSerial()
    port.cancel_error = OSError("bad fd")
    transport = Transport(port, "fake")
    transport.close()
    assert port.calls == ["cancel_read", "close"]


def test_port_clock_is_used_when_the_port_has_one() -> None:
    with Transport.open("sim://?seed=1") as transport:
        assert transport.clock is not None
        before = transport.clock.now()
        transport.clock.sleep(1.5)
        assert transport.clock.now() == pytest.approx(before + 1.5)


# --- discovery ------------------------------------------------------------------------------


def _usb(device: str, vid: int | None, pid: int | None, sn: str | None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.serial_number = vid, pid, sn
    info.description = f"EA stimulator {sn}" if vid else "n/a"
    return info


@pytest.fixture
def ports(mocker: MockerFixture) -> None:
    mocker.patch(
        "serial.tools.list_ports.comports",
        return_value=[
            _usb("/dev/ttyACM1", 0x0483, 0x5740, "EA6-000124"),
            _usb("/dev/ttyACM0", 0x0483, 0x5740, "EA6-000123"),
            _usb("/dev/ttyUSB0", 0x0403, 0x6001, "FT1234"),
            _usb("/dev/ttyS0", None, None, None),
        ],
    )


@pytest.mark.usefixtures("ports")
def test_find_ports_filters_and_sorts() -> None:
    found = find_ports(vid=0x0483, pid=0x5740)
    assert [p.device for p in found] == ["/dev/ttyACM0", "/dev/ttyACM1"]
    assert found[0].vid_pid == "0483:5740"
    assert found[0].serial_number == "EA6-000123"
    assert len(find_ports()) == 4
    assert find_ports(serial_number="FT1234")[0].device == "/dev/ttyUSB0"


@pytest.mark.usefixtures("ports")
def test_resolve_port_by_serial_number_follows_renumbering(mocker: MockerFixture) -> None:
    assert resolve_port(serial_number="EA6-000123") == "/dev/ttyACM0"
    mocker.patch(
        "serial.tools.list_ports.comports",
        return_value=[_usb("/dev/ttyACM3", 0x0483, 0x5740, "EA6-000123")],
    )
    assert resolve_port(vid=0x0483, serial_number="EA6-000123") == "/dev/ttyACM3"


@pytest.mark.usefixtures("ports")
def test_resolve_port_names_what_was_searched() -> None:
    with pytest.raises(PortNotFound, match="VID 0483, PID 5740, serial number 'NOPE'") as info:
        resolve_port(vid=0x0483, pid=0x5740, serial_number="NOPE")
    assert "/dev/ttyACM0" in str(info.value)  # lists what is present


@pytest.mark.usefixtures("ports")
def test_resolve_port_refuses_ambiguity() -> None:
    with pytest.raises(LinkError, match="2 ports match VID 0483") as info:
        resolve_port(vid=0x0483)
    assert type(info.value) is PortAmbiguous


def test_port_info_str() -> None:
    info = PortInfo("/dev/ttyACM0", 0x0483, 0x5740, "EA6-1", "EA stimulator")
    assert str(info) == "/dev/ttyACM0 - EA stimulator [0483:5740 SN=EA6-1]"
    assert str(PortInfo("/dev/ttyS0", None, None, None, "n/a")) == "/dev/ttyS0 - n/a"


def test_close_closes_a_spy_trace_file_but_never_stderr(tmp_path: Path) -> None:
    port = FakeSerial()
    trace = (tmp_path / "trace.txt").open("w")
    port.formatter = SimpleNamespace(output=trace)  # type: ignore[attr-defined]
    Transport(port, "spy://fake?file=trace.txt").close()
    assert trace.closed
    port = FakeSerial()
    port.formatter = SimpleNamespace(output=sys.stderr)  # type: ignore[attr-defined]
    Transport(port, "spy://fake").close()
    assert not sys.stderr.closed
