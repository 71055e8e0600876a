"""Which process owns a running session, and whether that process is gone.

A session row records its owner (pid, host name and a start marker) when it begins. When the
store is opened, a session still marked running whose owner has gone — on this host — was
interrupted by a crash, a kill or a power cut, and is marked aborted.

A pid alone is not enough: pids are reused, and after a reboot a new process may hold the same
number. The start marker tells the two apart where the platform allows it:

- Linux: the kernel's boot id plus the process start time in clock ticks since boot
  (``/proc/sys/kernel/random/boot_id``, field 22 of ``/proc/<pid>/stat``; proc(5)).
- Windows: the process creation time (``GetProcessTimes``).
- elsewhere (macOS, BSD): no marker; liveness is ``kill(pid, 0)``.

A session owned by another host is never judged from here (its process table is not ours).
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ProcessOwner"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessOwner:
    """The process that began a session.

    Attributes:
        pid: its process id.
        host: the host name it ran on.
        start_marker: text that differs between two processes with the same pid (boot id and
            start time), or None where the platform gives none.
    """

    pid: int
    host: str
    start_marker: str | None

    @classmethod
    def current(cls) -> ProcessOwner:
        """The calling process."""
        pid = os.getpid()
        return cls(pid=pid, host=socket.gethostname(), start_marker=_start_marker(pid))

    @property
    def on_this_host(self) -> bool:
        """True when the owner ran on this machine (so its process table can be checked)."""
        return self.host == socket.gethostname()

    def is_gone(self) -> bool:
        """True when the owner ran on this host and is no longer running.

        A process whose pid now belongs to another process (a different start marker), or a
        zombie, counts as gone. An owner on another host is never gone from here.
        """
        if not self.on_this_host:
            return False
        if not _pid_alive(self.pid):
            return True
        if self.start_marker is None:
            return False
        return _start_marker(self.pid) != self.start_marker


def _linux_stat_fields(pid: int) -> list[str] | None:
    """Fields 3 onwards of ``/proc/<pid>/stat`` (state first), or None if it cannot be read."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # Field 2 is the command name in parentheses and may itself contain spaces or ")".
    return text[text.rfind(")") + 2 :].split()


def _start_marker(pid: int) -> str | None:
    if sys.platform == "win32":
        created = _windows_creation_time(pid)
        return None if created is None else f"win:{created}"
    if not (_PROC / "self" / "stat").exists():
        return None
    fields = _linux_stat_fields(pid)
    try:
        boot_id = (_PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return None
    if fields is None or len(fields) < 20:
        return None
    # proc(5): field 22, starttime, is the 20th field after the command name.
    return f"linux:{boot_id}:{fields[19]}"


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows_alive(pid)
    if pid <= 0:
        return False
    fields = _linux_stat_fields(pid) if (_PROC / "self" / "stat").exists() else None
    if fields is not None and fields and fields[0] in ("Z", "X"):
        return False  # a zombie (exited, not yet reaped) or dead task
    try:
        os.kill(pid, 0)  # signal 0 checks existence without signalling (POSIX kill(2))
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


if sys.platform == "win32":
    import ctypes
    from ctypes import wintypes

    _KERNEL32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _PROCESS_QUERY_LIMITED_INFORMATION = 0x1000
    _STILL_ACTIVE = 259
    _ERROR_ACCESS_DENIED = 5

    def _windows_open(pid: int) -> int | None:
        handle: int | None = _KERNEL32.OpenProcess(_PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
        return handle or None

    def _windows_alive(pid: int) -> bool:
        handle = _windows_open(pid)
        if handle is None:
            # No such process gives ERROR_INVALID_PARAMETER; a protected one, access denied.
            return ctypes.get_last_error() == _ERROR_ACCESS_DENIED
        try:
            code = wintypes.DWORD()
            if not _KERNEL32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            _KERNEL32.CloseHandle(handle)

    def _windows_creation_time(pid: int) -> int | None:
        handle = _windows_open(pid)
        if handle is None:
            return None
        try:
            # creation, exit, kernel and user time; the first is the marker.
            times = [wintypes.FILETIME() for _ in range(4)]
            if not _KERNEL32.GetProcessTimes(handle, *(ctypes.byref(t) for t in times)):
                return None
            return (times[0].dwHighDateTime << 32) | times[0].dwLowDateTime
        finally:
            _KERNEL32.CloseHandle(handle)
