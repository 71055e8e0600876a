"""Issue 13, exclusive port: eacontrol holds a POSIX tty with ``TIOCEXCL`` as well as pyserial's
advisory ``flock``, and a refused open names the process holding the port where it can tell.

Attack 2 of issue 13 was "a second process opens the same pty and sends SET_INTENSITY": the flock
only stops programs that ask for it. ``TIOCEXCL`` stops every later opener except a process with
``CAP_SYS_ADMIN``; these tests run as root on the project's machine, so the second opener is a
forked child that drops to an ordinary uid (nobody) first; under a non-root user it needs no drop.
The pty is made world-writable first, so that only ``TIOCEXCL`` can refuse the child.

Real time, a real pty (``python -m simulator --pty``); no sleeps: each child is waited for.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from port_holder import HOLDERS, port_held_by_child
from pty_simulator import simulator_on_a_pty

import eacontrol
from eacontrol.device.pair_port import pair_port
from eacontrol.device.pairing import FileKeyStore
from eacontrol.errors import LinkError, PortBusy
from eacontrol.link import Transport
from eacontrol.link.holders import find_holders

fcntl = pytest.importorskip("fcntl", reason="TIOCEXCL is for POSIX ttys")
termios = pytest.importorskip("termios", reason="TIOCEXCL is for POSIX ttys")

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a POSIX pty"),
]

ON_LINUX = sys.platform.startswith("linux")
NOBODY = 65534
"""The unprivileged uid and gid the second opener drops to when the tests run as root (the
``nobody`` account of Linux distributions)."""
TIMEOUT_s = 60


def _open_as_any_program(path: str) -> str:
    """A foreign program: opens the port as any program can (no lock asked for)."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    except OSError as err:
        return errno.errorcode[err.errno or 0]
    return "opened"


def _connect_as_second_controller(path: str) -> str:
    """A second controller: ``eacontrol.connect`` on the port; the error it got, as JSON."""
    try:
        eacontrol.connect(path).close()
    except eacontrol.EAError as err:
        holders = [list(h) for h in getattr(err, "holders", ())]
        return json.dumps([type(err).__name__, str(err), holders])
    return json.dumps(["connected", "", []])


def _run_as_other_process(action: Callable[[str], str], path: str) -> str:
    """``action(path)`` in a forked child, as nobody when we are root; its answer.

    Forked rather than run by a new interpreter: the interpreter and the venv may sit where
    nobody cannot read them (/root); the child only drops privileges, opens, answers and exits.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            # Fork copies every descriptor, the test's own port among them: a foreign program
            # has none of ours, so close them (only the answer's pipe stays open).
            os.closerange(3, write_end)
            os.closerange(write_end + 1, os.sysconf("SC_OPEN_MAX"))
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            os.write(write_end, action(path).encode())
            code = 0
        except BaseException:
            os.write(write_end, traceback.format_exc().encode())
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        ready, _, _ = select.select([answer], [], [], TIMEOUT_s)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        text = answer.read().decode() if ready else "the child did not answer"
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, text
    return text


@pytest.fixture
def pty_port() -> Iterator[str]:
    """The simulator on a pty, its slave made world-read/writable (only TIOCEXCL can refuse)."""
    with simulator_on_a_pty(
        "--seed", "1", "--serial", "PTY-EXCL01", "--pairing-window", "60"
    ) as path:
        os.chmod(path, 0o666)
        yield path


@pytest.fixture(params=sorted(HOLDERS))
def held_by_child(request: pytest.FixtureRequest, pty_port: str) -> Iterator[tuple[str, int]]:
    """The pty held by another process (eacontrol's or plain pyserial's lock): path and pid."""
    with port_held_by_child(pty_port, request.param) as pid:
        yield pty_port, pid


@pytest.mark.pty
def test_i13_exclusive_foreign_opener_refused_while_held_and_admitted_after_close(
    pty_port: str,
) -> None:
    assert _run_as_other_process(_open_as_any_program, pty_port) == "opened"  # nobody holds it yet
    with Transport.open(pty_port):
        # Before: "opened" (the flock is advisory): the foreign program could write frames.
        assert _run_as_other_process(_open_as_any_program, pty_port) == errno.errorcode[errno.EBUSY]
    # TIOCNXCL on close: the pty is free again although the simulator keeps its slave open.
    assert _run_as_other_process(_open_as_any_program, pty_port) == "opened"


@pytest.mark.pty
def test_i13_exclusive_spy_url_holds_the_tty_too(pty_port: str, tmp_path: Path) -> None:
    with Transport.open(f"spy://{pty_port}?file={tmp_path / 'trace.txt'}"):
        assert _run_as_other_process(_open_as_any_program, pty_port) == errno.errorcode[errno.EBUSY]
    assert _run_as_other_process(_open_as_any_program, pty_port) == "opened"


@pytest.mark.pty
@pytest.mark.skipif(not ON_LINUX, reason="the holder is named from Linux /proc")
def test_i13_exclusive_port_busy_names_the_holding_process(
    held_by_child: tuple[str, int],
) -> None:
    path, holder = held_by_child
    with pytest.raises(PortBusy) as busy:
        Transport.open(path)
    message = str(busy.value)
    assert f"pid {holder} (" in message and "holds its lock" in message
    assert holder in dict(busy.value.holders)
    assert "-c" in dict(busy.value.holders)[holder]  # its command line: python -c …


@pytest.mark.pty
@pytest.mark.skipif(not ON_LINUX, reason="the holder is named from Linux /proc")
def test_i13_exclusive_second_connect_from_another_process_is_refused(
    pty_port: str, tmp_path: Path
) -> None:
    keys = FileKeyStore(tmp_path / "keys")
    pair_port(pty_port, keys=keys)  # protocol major 2: this host pairs first
    with eacontrol.connect(pty_port, device_serial="PTY-EXCL01", keys=keys) as stim:
        kind, message, holders = json.loads(
            _run_as_other_process(_connect_as_second_controller, pty_port)
        )
        assert kind == "PortBusy", message
        # Named from the world-readable /proc/locks even when the child cannot read our fds.
        assert f"pid {os.getpid()} (" in message and "holds its lock" in message
        assert os.getpid() in [pid for pid, _ in holders]
        if os.geteuid() == 0:  # the child is nobody: root's open files are hidden from it
            assert "could not be inspected" in message and f"sudo lsof {pty_port}" in message
        assert "this process" not in message  # the child holds none of our descriptors
        assert stim.status().outputs_off()  # the refused controller changed nothing


def test_i13_exclusive_socket_and_sim_ports_are_not_ttys() -> None:
    with Transport.open("sim://") as transport:
        assert not transport.held_exclusively  # nothing to hold: not a tty


def _fake_proc(root: Path, fds: dict[int, list[str]], cmdlines: dict[int, bytes]) -> Path:
    for pid, links in fds.items():
        (root / str(pid) / "fd").mkdir(parents=True)
        for n, target in enumerate(links):
            (root / str(pid) / "fd" / str(n)).symlink_to(target)
        (root / str(pid) / "cmdline").write_bytes(cmdlines.get(pid, b""))
        (root / str(pid) / "comm").write_text("kworker\n")
    (root / "self").mkdir(exist_ok=True)
    (root / "locks").write_text("")
    return root


def test_i13_exclusive_holders_from_proc_fd_links(tmp_path: Path) -> None:
    proc = _fake_proc(
        tmp_path / "proc",
        {101: ["/dev/null", "/dev/ttyFAKE0"], 102: ["/dev/ttyFAKE1"], 103: ["/dev/ttyFAKE0"]},
        {101: b"minicom\0-D\0/dev/ttyFAKE0\0", 103: b"evil\x1b[2J\0"},
    )
    holders = find_holders("/dev/ttyFAKE0", proc=proc)
    assert holders.processes == ((101, "minicom -D /dev/ttyFAKE0"), (103, "evil\\x1b[2J"))
    assert holders.describe().startswith("held by pid 101 (minicom -D /dev/ttyFAKE0); pid 103")
    assert "\x1b" not in holders.describe()  # a process's name never drives our terminal


def test_i13_exclusive_holders_say_plainly_when_they_cannot_tell(
    tmp_path: Path, mocker: Any
) -> None:
    proc = _fake_proc(tmp_path / "proc", {201: ["/dev/ttyFAKE0"], 202: []}, {})
    listdir = os.listdir

    def refuse_202(path: Any) -> list[str]:
        if str(path).endswith("202/fd"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return listdir(path)

    mocker.patch("eacontrol.link.holders.os.listdir", side_effect=refuse_202)
    text = find_holders("/dev/ttyFAKE0", proc=proc).describe()
    assert text == (
        "held by pid 201 ([kworker]) (1 process(es) of other users could not be inspected: "
        "`sudo lsof /dev/ttyFAKE0` shows every holder)"
    )
    assert find_holders("/dev/ttyFAKE0", proc=tmp_path / "none").describe() == (
        "which process holds it cannot be told on this system (no /proc); try `lsof /dev/ttyFAKE0`"
    )


def test_i13_exclusive_busy_url_without_a_local_path_says_it_cannot_tell(mocker: Any) -> None:
    busy = serial.SerialException(errno.EBUSY, "could not open port: Device or resource busy")
    mocker.patch("serial.serial_for_url", side_effect=busy)
    with pytest.raises(PortBusy) as refused:
        Transport.open("rfc2217://10.0.0.9:7000")
    assert "which program holds it cannot be told for this kind of URL" in str(refused.value)
    assert refused.value.holders == ()


@pytest.mark.pty
def test_i13_exclusive_a_tty_that_refuses_tiocexcl_is_closed_and_refused(
    pty_port: str, mocker: Any
) -> None:
    ioctl = fcntl.ioctl

    def no_tiocexcl(fd: int, request: int, *args: Any) -> Any:
        if request == termios.TIOCEXCL:
            raise OSError(errno.ENOTTY, "Inappropriate ioctl for device")
        return ioctl(fd, request, *args)

    mocker.patch("fcntl.ioctl", side_effect=no_tiocexcl)
    with pytest.raises(LinkError, match=r"cannot open .* exclusively: the tty refused TIOCEXCL"):
        Transport.open(pty_port)
    mocker.stopall()
    with Transport.open(pty_port) as transport:  # the refused one closed its port and lock
        assert transport.held_exclusively
