"""What an operator's terminal shows: ``eactl run``'s live view fed into a VT100 emulator (pyte).

Two ways in:

- :class:`PtyTerminal`: the installed console script on a real pseudo-terminal of a given size
  (``TIOCSWINSZ``), its output fed to a ``pyte.Screen`` of the same size as it comes (real
  time; resizable with :meth:`PtyTerminal.resize`).
- :func:`console_run`: a real :class:`~eacontrol.session.Session` on the built-in simulator in
  virtual time, its :class:`~eacontrol.cli.console.LiveConsole` writing into a ``pyte.Screen``
  through :class:`ScreenOut`, keys scripted by session time.

Either way a test asserts the lines on the screen (``display``), not escape bytes.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyte
from children import spawn

from eacontrol.cli.console import LiveConsole
from eacontrol.cli.keys import Command, KeyDecoder
from eacontrol.cli.run_cmd import points_text
from eacontrol.device import connect
from eacontrol.errors import EAError
from eacontrol.profiles import Profile
from eacontrol.records import RecordStore
from eacontrol.session import Session

__all__ = ["BellScreen", "PtyTerminal", "ScreenOut", "console_run", "set_size"]

TIMEOUT_s = 30.0
LOCAL = datetime(2026, 3, 4, 10, 30, 0).astimezone()


class BellScreen(pyte.Screen):  # type: ignore[misc]
    """A pyte screen that counts the terminal bells it is sent."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.bells = 0

    def bell(self, *args: Any) -> None:
        self.bells += 1


def set_size(fd: int, columns: int, lines: int) -> None:
    """Set a pseudo-terminal's window size (what a terminal emulator does on a resize)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


class PtyTerminal:
    """The console script on a pseudo-terminal of ``columns`` × ``lines``, shown by pyte."""

    def __init__(self, argv: list[str], columns: int, lines: int) -> None:
        self.controller, self.follower = os.openpty()
        set_size(self.follower, columns, lines)
        self.screen = BellScreen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        self.raw = bytearray()
        self.process = spawn(argv, stdin=self.follower, stdout=self.follower, stderr=self.follower)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.controller, 4096)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw.extend(data)
                self._stream.feed(data)

    def display(self) -> list[str]:
        """The screen's lines, trailing blanks removed."""
        with self._lock:
            return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        return "\n".join(self.display())

    def wait_until(self, check: Callable[[list[str]], bool], what: str) -> list[str]:
        """Wait until the screen passes ``check``; return its lines."""
        deadline = time.monotonic() + TIMEOUT_s
        while time.monotonic() < deadline:
            lines = self.display()
            if check(lines):
                return lines
            if self.process.poll() is not None and not check(lines := self.display()):
                time.sleep(0.2)
                if check(lines := self.display()):
                    return lines
                break
            time.sleep(0.05)
        raise AssertionError(f"the screen never showed {what}; it shows:\n{self.text()}")

    def wait_for(self, needle: str) -> list[str]:
        return self.wait_until(lambda lines: any(needle in line for line in lines), repr(needle))

    def resize(self, columns: int, lines: int) -> None:
        with self._lock:
            self.screen.resize(lines, columns)
        set_size(self.follower, columns, lines)

    def press(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    def exit_code(self) -> int:
        code = self.process.wait(TIMEOUT_s)
        time.sleep(0.2)  # let the reader take the last bytes
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT_s)
        os.close(self.controller)
        os.close(self.follower)


class ScreenOut:
    """A text stream into a pyte screen, as a terminal in cooked output mode shows it (ONLCR:
    a newline also returns the carriage); every flushed frame is kept."""

    def __init__(self, columns: int, lines: int) -> None:
        self.screen = BellScreen(columns, lines)
        self._stream = pyte.Stream(self.screen)
        self.frames: list[list[str]] = []
        self.raw: list[str] = []

    def write(self, text: str) -> int:
        self.raw.append(text)
        self._stream.feed(text.replace("\n", "\r\n"))
        return len(text)

    def flush(self) -> None:
        self.frames.append(self.display())

    def display(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]


@dataclass
class ScriptedKeys:
    """The operator's keys, pressed at session times (each read returns the keys then due)."""

    session: Session | None = None
    keys: list[tuple[float, bytes]] = field(default_factory=list)
    interactive: bool = True

    def read(self, timeout_s: float) -> list[Command]:
        assert self.session is not None
        due = [k for t, k in self.keys if t <= self.session.t_s]
        self.keys = [(t, k) for t, k in self.keys if t > self.session.t_s]
        return [c for data in due for c in KeyDecoder().decode(data)]


@dataclass
class ConsoleRun:
    """What :func:`console_run` leaves: the screen, the session and its record."""

    out: ScreenOut
    session: Session
    store: RecordStore
    error: EAError | None = None


@contextmanager
def console_run(
    profile: Profile,
    db: Path,
    size: tuple[int, int],
    keys: Sequence[tuple[float, bytes]] = (),
    *,
    stop_at_s: float | None = None,
    url: str = "sim://",
) -> Iterator[ConsoleRun]:
    """Run ``profile`` on ``sim://`` in virtual time with the live view drawn into a pyte
    screen of ``size`` (columns, lines), patient P-7 and operator OP-1, the local clock
    standing at 10:30:00; ``keys`` are pressed at their session times. With ``stop_at_s`` an ``s``
    at that session time stops the run (ramp down). ``url`` may add simulator options; an
    error that ends the session is kept in ``error``."""
    out = ScreenOut(*size)
    script = list(keys) + ([(stop_at_s, b"s")] if stop_at_s is not None else [])
    terminal = ScriptedKeys(keys=sorted(script))
    with RecordStore.open(db) as store, connect(url) as stim:
        session = Session(stim, profile, store=store, operator_id="OP-1", patient_id="P-7")
        terminal.session = session
        console = LiveConsole(
            session,
            terminal,  # type: ignore[arg-type]
            out,  # type: ignore[arg-type]
            stim.clock,
            lambda: stim.last_status,
            title=profile.name,
            device_line="device EA-SIM-6 SIM-1, firmware 1.0.0, on sim://",
            simulated=True,
            pace=False,
            points=points_text(profile),
            patient="P-7",
            operator="OP-1",
            local_time=lambda: LOCAL,
            size=lambda: (out.screen.columns, out.screen.lines),
        )
        session.subscribe(console.event)
        console.open()
        error: EAError | None = None
        try:
            session.run(on_tick=console.tick)
        except EAError as err:
            error = err
        finally:
            console.close()
        yield ConsoleRun(out, session, store, error)
