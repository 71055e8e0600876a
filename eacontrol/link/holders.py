"""Which processes hold a serial port, for the message of ``PortBusy`` (Linux ``/proc``).

Like ``lsof PATH``, without a new dependency: every ``/proc/PID/fd/N`` that links to the port's
path names a process that has it open, and ``/proc/locks`` names the process holding the
``flock`` that pyserial's ``exclusive=True`` takes (world-readable, so it is named even when
that process belongs to another user). Another user's (or root's) ``/proc/PID/fd`` cannot be
read without privilege; those processes are counted and the message says so. Without
``/proc`` (macOS, the BSDs, Windows) the holder cannot be told, and the message says that too.

The scan is read-only and runs only after an open was refused, never on the session's path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PortHolders", "find_holders"]

PROC = Path("/proc")
"""Where Linux mounts procfs."""

_COMMAND_LINE_MAX = 160
"""Characters of a holder's command line shown: a design value, one terminal line's worth."""


@dataclass(frozen=True)
class PortHolders:
    """What could be learned about the processes holding one port.

    Attributes:
        path: the port's path as the scan resolved it.
        processes: ``(pid, command line)`` of every process seen with the port open, or holding
            its lock, in pid order.
        lock_pids: the pids holding a ``flock`` on the port (from ``/proc/locks``).
        uninspectable: processes whose open files could not be read (another user's, root's).
        supported: False when this system has no ``/proc`` to scan.
    """

    path: str
    processes: tuple[tuple[int, str], ...] = ()
    lock_pids: frozenset[int] = frozenset()
    uninspectable: int = 0
    supported: bool = True

    def describe(self) -> str:
        """One sentence naming the holders, or saying plainly why they cannot be told."""
        if not self.supported:
            return (
                "which process holds it cannot be told on this system (no /proc); "
                f"try `lsof {self.path}`"
            )
        named = [self._one(pid, command) for pid, command in self.processes]
        if named:
            text = "held by " + "; ".join(named)
        else:
            text = "no process this user can see has it open"
        if self.uninspectable:
            text += (
                f" ({self.uninspectable} process(es) of other users could not be inspected: "
                f"`sudo lsof {self.path}` shows every holder)"
            )
        return text

    def _one(self, pid: int, command: str) -> str:
        notes = []
        if pid == os.getpid():
            notes.append("this process")
        if pid in self.lock_pids:
            notes.append("holds its lock")
        suffix = f" [{', '.join(notes)}]" if notes else ""
        return f"pid {pid} ({command}){suffix}"


def _printable(text: str) -> str:
    """``text`` safe to print: a process names itself, so control characters are escaped."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(shown) > _COMMAND_LINE_MAX:
        shown = shown[: _COMMAND_LINE_MAX - 1] + "…"
    return shown


def _command_line(proc: Path, pid: int) -> str:
    """``/proc/PID/cmdline`` as one line, or ``[comm]`` for a process without one."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
        if raw.strip(b"\0"):
            return _printable(raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace"))
        comm = (proc / str(pid) / "comm").read_text(errors="replace").strip()
        return f"[{_printable(comm)}]"
    except OSError:
        return "command line unknown: the process has ended or hides it"


def _lock_pids(proc: Path, path: str) -> set[int]:
    """Pids holding a ``flock`` on ``path``, from ``/proc/locks``.

    A line reads ``1: FLOCK  ADVISORY  WRITE 1234 00:19:5 0 EOF``: the pid, then the file's
    device as ``MAJOR:MINOR`` in hex and its inode (proc(5)); ``->`` marks a blocked waiter.
    """
    try:
        st = os.stat(path)
        text = (proc / "locks").read_text()
    except OSError:
        return set()
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    pids = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        pid, file_id = fields[4], fields[5].split(":")
        try:
            found = (int(file_id[0], 16), int(file_id[1], 16), int(file_id[2]))
            if found == wanted and int(pid) > 0:
                pids.add(int(pid))
        except (IndexError, ValueError):
            continue
    return pids


def find_holders(path: str, *, proc: Path = PROC) -> PortHolders:
    """Scan ``proc`` for the processes that hold ``path`` open or locked.

    Args:
        path: the port's device path (a symlink such as ``/dev/serial/by-id/…`` is resolved).
        proc: the procfs mount; tests pass a directory laid out like it.
    """
    target = os.path.realpath(path)
    if not (proc / "self").exists() and not (proc / "locks").exists():
        return PortHolders(target, supported=False)
    lock_pids = _lock_pids(proc, target)
    holders, uninspectable = set(lock_pids), 0
    try:
        pids = [int(entry) for entry in os.listdir(proc) if entry.isdigit()]
    except OSError:
        pids = []
    for pid in pids:
        fd_dir = proc / str(pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            uninspectable += 1
            continue
        except OSError:
            continue  # the process ended during the scan
        for fd in fds:
            try:
                if os.readlink(fd_dir / fd) == target:
                    holders.add(pid)
                    break
            except OSError:
                continue
    processes = tuple((pid, _command_line(proc, pid)) for pid in sorted(holders))
    return PortHolders(target, processes, frozenset(lock_pids), uninspectable)
