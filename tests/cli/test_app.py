"""eactl's frame: --version, usage errors, logging levels, and the error → exit code map."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import pytest

from eacontrol import __version__
from eacontrol.cli.exitcodes import (
    STOP_ALARM,
    CliError,
    ExitCode,
    UsageError,
    exit_code_for,
    report_error,
)
from eacontrol.errors import (
    DeviceFault,
    DeviceNak,
    Finding,
    IncompatibleDevice,
    InvalidNeedleSite,
    LinkLost,
    LinkTimeout,
    ParameterError,
    PortBusy,
    PortNotFound,
    ProfileError,
    ProfileRefused,
    ProfileSyntaxError,
    RecordError,
    SessionError,
    SessionStopped,
    Severity,
    StopNotConfirmed,
    UnknownAcupoint,
)
from eacontrol.records import UnknownSession

Run = Callable[..., Any]


def test_version(eactl: Run) -> None:
    result = eactl("--version")
    assert result.code == 0
    assert result.out.strip() == f"eactl (eacontrol) {__version__}"


def test_help_lists_every_command(eactl: Run) -> None:
    result = eactl("--help")
    assert result.code == 0
    commands = ("profiles", "validate", "show", "schema", "plan", "run", "simulate", "ports")
    for command in (*commands, "log", "report", "plot"):
        assert command in result.out
    assert "exit codes" in result.out


@pytest.mark.parametrize(
    "argv",
    [(), ("frobnicate",), ("show",), ("log",), ("log", "show", "seven"), ("validate", "--bogus")],
)
def test_usage_errors_exit_2_with_usage_text(eactl: Run, argv: tuple[str, ...]) -> None:
    result = eactl(*argv)
    assert result.code == ExitCode.USAGE == 2
    assert "usage: eactl" in result.err
    assert "Traceback" not in result.err


def test_usage_error_from_a_command_exits_2(eactl: Run) -> None:
    result = eactl("validate", "lbp_2hz", "--patient-flags", "pacemaker,tattoo")
    assert result.code == 2
    assert result.err.strip() == (
        "eactl: --patient-flags: unknown flag(s) tattoo; allowed: pacemaker, icd, pregnant"
    )


ERROR = Finding(Severity.REFUSE, "steps[0].intensity_mA", "too high", value=25)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ProfileError([ERROR]), 1),
        (ProfileSyntaxError([ERROR]), 1),
        (ProfileRefused([ERROR]), 1),
        (ParameterError("intensity_mA", 25, "0-20 mA"), 1),
        (UnknownAcupoint("XX99"), 1),
        (InvalidNeedleSite("GV20-L"), 1),
        (UnknownSession(9, "db"), 1),
        (SessionError("refused to start"), 1),
        (CliError("no such thing"), 1),
        (UsageError("bad option"), 2),
        (PortNotFound("no such port"), 3),
        (PortBusy("busy"), 3),
        (LinkTimeout("no answer"), 3),
        (LinkLost("gone"), 3),
        (DeviceNak("SET_PROGRAM", "OUT_OF_RANGE", "intensity", 20000), 3),
        (IncompatibleDevice("protocol 2 vs 1"), 3),
        (RecordError("locked"), 3),
        (SessionStopped("operator stop"), 4),
        (DeviceFault("lease expired", 0, ["LEASE"]), 4),
        (StopNotConfirmed("no STATUS"), 4),
        (KeyboardInterrupt(), 130),
        (RuntimeError("bug"), 70),
        (ZeroDivisionError("bug"), 70),
    ],
)
def test_exit_code_for_every_error_class(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_user_error_prints_the_message_only() -> None:
    stream = io.StringIO()
    code = report_error(ParameterError("intensity_mA", 25, "0-20 mA"), stream=stream)
    assert code == 1
    assert stream.getvalue() == (
        "eactl: intensity_mA=25 is out of range: allowed 0-20 mA (layer device)\n"
    )


def test_stop_not_confirmed_is_a_loud_alarm() -> None:
    stream = io.StringIO()
    code = report_error(StopNotConfirmed("channel 1 still on after 0.5 s"), stream=stream)
    assert code == 4
    text = stream.getvalue()
    assert text.count(STOP_ALARM) == 2
    assert "hardware STOP button" in text
    assert "channel 1 still on after 0.5 s" in text


def test_internal_error_is_short_without_vv() -> None:
    stream = io.StringIO()
    assert report_error(RuntimeError("boom"), verbosity=1, stream=stream) == 70
    assert stream.getvalue() == (
        "eactl: internal error: RuntimeError: boom (run with -vv for the traceback)\n"
    )


def _explode() -> list[object]:
    raise RuntimeError("boom")


def test_unexpected_exception_exits_70_traceback_only_with_vv(
    eactl: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", _explode)
    quiet = eactl("ports")
    assert quiet.code == 70
    assert "internal error: RuntimeError: boom" in quiet.err
    assert "Traceback" not in quiet.err
    loud = eactl("-vv", "ports")
    assert loud.code == 70
    assert "Traceback (most recent call last)" in loud.err


@pytest.mark.parametrize(
    ("error", "code", "err"),
    [
        pytest.param(KeyboardInterrupt, 130, "eactl: interrupted\n", id="ctrl-c-exits-130"),
        pytest.param(BrokenPipeError, 0, "", id="a-closed-pipe-is-not-an-error"),
    ],
)
def test_ctrl_c_or_a_closed_pipe_outside_a_session(
    eactl: Run, monkeypatch: pytest.MonkeyPatch, error: type[BaseException], code: int, err: str
) -> None:
    def interrupted() -> list[object]:
        raise error

    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", interrupted)
    result = eactl("ports")
    assert result.code == code
    assert result.err == err


def _log_and_list() -> list[object]:
    logging.getLogger("eacontrol.device.ports").info("scanning ports")
    logging.getLogger("eacontrol.device.ports").debug("asking the OS")
    return []


@pytest.mark.parametrize(
    ("flags", "info", "debug"), [((), False, False), (("-v",), True, False), (("-vv",), True, True)]
)
def test_verbosity_levels_log_to_stderr(
    eactl: Run,
    monkeypatch: pytest.MonkeyPatch,
    flags: tuple[str, ...],
    info: bool,
    debug: bool,
) -> None:
    monkeypatch.setattr("eacontrol.cli.ports_cmd.present_ports", _log_and_list)
    result = eactl(*flags, "ports")
    assert result.code == 0
    assert ("INFO eacontrol.device.ports: scanning ports" in result.err) is info
    assert ("DEBUG eacontrol.device.ports: asking the OS" in result.err) is debug
    assert "scanning" not in result.out


def test_logging_handler_is_removed_after_the_command(eactl: Run) -> None:
    before = list(logging.getLogger("eacontrol").handlers)
    eactl("-vv", "schema")
    assert logging.getLogger("eacontrol").handlers == before
