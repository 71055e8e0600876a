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

from eacontrol.cli.blinding import BLIND_TITLE
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
    """Set a pseudo-terminal's window size (what a terminal emulator does on a resize); ``fd``
    is either side of the pty."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))


class PtyTerminal:
    """The console script on a pseudo-terminal of ``columns`` × ``lines``, shown by pyte.

    A reader thread feeds everything the child writes both to :attr:`raw` (the whole output, for
    lines that have scrolled away) and to :attr:`screen` (what the terminal shows now). Waits are
    on a condition the reader signals: a wait returns as soon as its check passes and fails,
    showing the screen, when the child's output has ended without it or after ``TIMEOUT_s`` (a
    bound on a hung child, not a pause). Only the child holds the follower side, so the reader
    sees the end of the output (EOF) when the child and everything it started have exited.
    """

    def __init__(self, argv: list[str], columns: int, lines: int) -> None:
        self.controller, follower = os.openpty()
        set_size(follower, columns, lines)
        self.screen = BellScreen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self._changed = threading.Condition()
        self._ended = False
        self.raw = bytearray()
        try:
            self.process = spawn(argv, stdin=follower, stdout=follower, stderr=follower)
        finally:
            os.close(follower)  # the child's copy alone: its exit ends the output
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.controller, 4096)
            except OSError:  # EIO: no process holds the follower side any more
                data = b""
            with self._changed:
                if not data:
                    self._ended = True
                    self._changed.notify_all()
                    return
                self.raw.extend(data)
                self._stream.feed(data)
                self._changed.notify_all()

    def display(self) -> list[str]:
        """The screen's lines, trailing blanks removed."""
        with self._changed:
            return [line.rstrip() for line in self.screen.display]

    def text(self) -> str:
        """The screen as text, one line a row."""
        return "\n".join(self.display())

    def output(self) -> str:
        """Everything the child has written so far, escape codes and all, as text."""
        with self._changed:
            return self.raw.decode("utf-8", errors="replace")

    def _wait(self, passed: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + TIMEOUT_s
        with self._changed:
            while not passed():
                left_s = deadline - time.monotonic()
                if self._ended or left_s <= 0:
                    why = "the output ended" if self._ended else f"{TIMEOUT_s:g} s passed"
                    screen = "\n".join(line.rstrip() for line in self.screen.display)
                    raise AssertionError(f"{why} without {what}; the screen shows:\n{screen}")
                self._changed.wait(left_s)

    def wait_until(self, check: Callable[[list[str]], bool], what: str) -> list[str]:
        """Wait until the screen passes ``check``; return its lines."""
        lines: list[str] = []

        def passed() -> bool:
            nonlocal lines
            lines = [line.rstrip() for line in self.screen.display]
            return check(lines)

        self._wait(passed, f"the screen showing {what}")
        return lines

    def wait_for(self, needle: str) -> list[str]:
        """Wait until a line of the screen holds ``needle``; return the screen's lines."""
        return self.wait_until(lambda lines: any(needle in line for line in lines), repr(needle))

    def wait_in_output(self, needle: str, count: int = 1) -> str:
        """Wait until ``needle`` has been written ``count`` times (scrolled away or not)."""
        self._wait(
            lambda: self.raw.decode("utf-8", errors="replace").count(needle) >= count,
            f"{needle!r} ×{count} in the output",
        )
        return self.output()

    def resize(self, columns: int, lines: int) -> None:
        """Resize the window: the pty's size (the child gets SIGWINCH) and the screen's."""
        with self._changed:
            self.screen.resize(lines, columns)
        set_size(self.controller, columns, lines)

    def press(self, keys: bytes) -> None:
        os.write(self.controller, keys)

    def exit_code(self) -> int:
        """Wait for the child to exit and for the reader to take its last bytes (EOF)."""
        code = self.process.wait(TIMEOUT_s)
        self._reader.join(TIMEOUT_s)
        assert not self._reader.is_alive(), "the child exited, its terminal's output never ended"
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(TIMEOUT_s)
        self._reader.join(TIMEOUT_s)
        os.close(self.controller)


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
    """The operator's keys, pressed at session times (each read returns the keys then due),
    decoded by one ``KeyDecoder`` as a terminal's are: a text mode (the note prompt) holds
    across reads."""

    session: Session | None = None
    keys: list[tuple[float, bytes]] = field(default_factory=list)
    interactive: bool = True
    decoder: KeyDecoder = field(default_factory=KeyDecoder)

    @property
    def text_mode(self) -> bool:
        return self.decoder.text_mode

    @text_mode.setter
    def text_mode(self, on: bool) -> None:
        self.decoder.text_mode = on

    def read(self, timeout_s: float) -> list[Command]:
        assert self.session is not None
        due = [k for t, k in self.keys if t <= self.session.t_s]
        self.keys = [(t, k) for t, k in self.keys if t > self.session.t_s]
        return [c for data in due for c in self.decoder.decode(data)]


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
    blind: bool = False,
) -> Iterator[ConsoleRun]:
    """Run ``profile`` on ``sim://`` in virtual time with the live view drawn into a pyte
    screen of ``size`` (columns, lines), patient P-7 and operator OP-1, the local clock
    standing at 10:30:00; ``keys`` are pressed at their session times. With ``stop_at_s`` an ``s``
    at that session time stops the run (ramp down). ``url`` may add simulator options; an
    error that ends the session is kept in ``error``; ``blind``: the blinded operator's view
    (``eactl run --blind``)."""
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
            title=BLIND_TITLE if blind else profile.name,
            device_line="device EA-SIM-6 SIM-1, firmware 1.0.0, on sim://",
            simulated=True,
            pace=False,
            points=points_text(profile),
            patient="P-7",
            operator="OP-1",
            local_time=lambda: LOCAL,
            size=lambda: (out.screen.columns, out.screen.lines),
            blind=blind,
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
