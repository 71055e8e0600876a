"""Single-key input for ``eactl run``'s live view: the terminal in cbreak mode, keys to commands.

============== =================================================================
key            command
============== =================================================================
↑ or + (=)     raise the selected channel by one step
↓ or -         lower the selected channel by one step (held down: every repeat is applied)
0              the selected channel to zero at once
z              every channel to zero at once (the session goes on; raise again to resume)
1 … 8          select that channel
t              mark the selected channel's level as its treatment intensity (titration), or
               in a threshold step as its next threshold (sensory, then motor)
r              resume the selected channel after a fault of its lead (re-clipped)
n              a note or the patient's response: a one-line prompt (Enter records it)
p              pause / resume
s or q         stop (ramp down to zero)
Esc or space   emergency stop (outputs off at once)
?              list every key
Ctrl-C         stop, confirmed (SIGINT still works in cbreak mode)
============== =================================================================

Any other key is decoded as ``UNKNOWN`` (the view says so and points to ``?``).

While the note prompt is open (:attr:`KeyDecoder.text_mode`) keys are text (``TEXT``), Enter
ends it (``TEXT_DONE``) and Backspace deletes (``TEXT_BACK``); Esc is still the emergency stop
(space is text there: a note has words), and Ctrl-C still stops.

An arrow key arrives as an escape sequence (``ESC [ A``). A lone ESC, or an ESC at the end of
what was read that does not complete a known sequence, is taken as Esc: when in doubt, the
emergency stop wins.
"""

from __future__ import annotations

import contextlib
import enum
import os
import select
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Self, TextIO

__all__ = ["Action", "Command", "KeyDecoder", "Terminal"]

_ESC = 0x1B
_ARROWS = {b"\x1b[A": "up", b"\x1bOA": "up", b"\x1b[B": "down", b"\x1bOB": "down"}


class Action(enum.StrEnum):
    """What a key asks the session to do."""

    RAISE = "raise"
    LOWER = "lower"
    SELECT = "select"
    PAUSE = "pause"
    STOP = "stop"
    EMERGENCY = "emergency"
    ZERO = "zero"
    ZERO_ALL = "zero_all"
    HELP = "help"
    MARK = "mark"
    RESUME_CHANNEL = "resume_channel"
    NOTE = "note"
    TEXT = "text"
    TEXT_DONE = "text_done"
    TEXT_BACK = "text_back"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Command:
    """One decoded key.

    Attributes:
        action: what to do.
        channel: the channel number for ``SELECT`` (1-based), else None.
        key: what was pressed, printable, for ``UNKNOWN``; the character for ``TEXT``.
    """

    action: Action
    channel: int | None = None
    key: str = ""


_SINGLE: dict[int, Action] = {
    ord("+"): Action.RAISE,
    ord("="): Action.RAISE,
    ord("-"): Action.LOWER,
    ord("_"): Action.LOWER,
    ord("p"): Action.PAUSE,
    ord("P"): Action.PAUSE,
    ord("s"): Action.STOP,
    ord("S"): Action.STOP,
    ord("q"): Action.STOP,
    ord("Q"): Action.STOP,
    ord(" "): Action.EMERGENCY,
    ord("0"): Action.ZERO,
    ord("z"): Action.ZERO_ALL,
    ord("Z"): Action.ZERO_ALL,
    ord("?"): Action.HELP,
    ord("t"): Action.MARK,
    ord("T"): Action.MARK,
    ord("r"): Action.RESUME_CHANNEL,
    ord("R"): Action.RESUME_CHANNEL,
    ord("n"): Action.NOTE,
    ord("N"): Action.NOTE,
}
_NAMED = {0x0D: "Enter", 0x0A: "Enter", 0x09: "Tab", 0x7F: "Backspace", 0x08: "Backspace"}


def _key_name(data: bytes) -> str:
    """A printable name for an unknown key or escape sequence."""
    if len(data) == 1:
        byte = data[0]
        if byte in _NAMED:
            return _NAMED[byte]
        if 0x20 < byte < 0x7F:
            return chr(byte)
        if byte < 0x20:
            return f"Ctrl-{chr(byte + 0x40)}"
    if data[:1] == b"\x1b":
        return "that key"  # a function or arrow key without a command (→, F5, …)
    return data.decode("utf-8", errors="replace") if data.isascii() else "that key"


def _utf8_end(data: bytes, start: int) -> int:
    """The index after the UTF-8 character whose lead byte is at ``start`` (its continuation
    bytes, 0x80..0xBF, belong to it)."""
    end = start + 1
    while end < len(data) and 0x80 <= data[end] < 0xC0:
        end += 1
    return end


def _sequence_end(data: bytes, i: int) -> int | None:
    """The index after the escape sequence starting at ``data[i]`` (ESC), or None if the bytes
    do not hold a complete CSI (``ESC [ params final``) or SS3 (``ESC O x``) sequence."""
    kind = data[i + 1 : i + 2]
    if kind == b"O":
        return i + 3 if i + 2 < len(data) else None
    if kind != b"[":
        return None
    for j in range(i + 2, len(data)):
        if 0x40 <= data[j] <= 0x7E:  # the final byte of a CSI sequence (ECMA-48)
            return j + 1
    return None


_LONE_ESC = bytes([_ESC])
"""A token of ``_tokens``: an ESC that starts no complete sequence."""


def _tokens(data: bytes) -> Iterator[bytes]:
    """Split one read into keys: a complete escape sequence, a lone (or broken) ESC, a UTF-8
    character with its continuation bytes, or any other single byte."""
    i = 0
    while i < len(data):
        if data[i] == _ESC:
            end = _sequence_end(data, i) or i + 1  # a broken sequence: the ESC alone
        elif data[i] >= 0x80:
            end = _utf8_end(data, i)
        else:
            end = i + 1
        yield bytes(data[i:end])
        i = end


class KeyDecoder:
    """Turns the bytes read from the terminal into commands; other keys become ``UNKNOWN``.

    Attributes:
        text_mode: a one-line prompt is open: keys are text (see the module's docstring).
    """

    def __init__(self) -> None:
        self.text_mode = False

    def _text(self, data: bytes) -> list[Command]:
        commands: list[Command] = []
        for token in _tokens(data):
            lead = token[0]
            if token == _LONE_ESC:  # the emergency stop, prompt or not
                commands.append(Command(Action.EMERGENCY))
            elif lead == _ESC:  # an arrow or function key: not text
                continue
            elif lead in (0x0D, 0x0A):
                commands.append(Command(Action.TEXT_DONE))
            elif lead in (0x7F, 0x08):
                commands.append(Command(Action.TEXT_BACK))
            elif lead >= 0x80:
                commands.append(Command(Action.TEXT, key=token.decode("utf-8", errors="replace")))
            elif lead >= 0x20:
                commands.append(Command(Action.TEXT, key=chr(lead)))
            # other control characters are not text
        return commands

    def decode(self, data: bytes) -> list[Command]:
        """Decode one read's bytes.

        Args:
            data: what one read returned (a terminal writes a whole escape sequence at once).

        Returns:
            The commands, in order.
        """
        if self.text_mode:
            return self._text(data)
        commands: list[Command] = []
        for token in _tokens(data):
            lead = token[0]
            if token == _LONE_ESC:  # a lone or broken ESC: the emergency stop wins
                commands.append(Command(Action.EMERGENCY))
            elif lead == _ESC:
                arrow = _ARROWS.get(token)
                if arrow is not None:
                    commands.append(Command(Action.RAISE if arrow == "up" else Action.LOWER))
                else:  # another key's sequence (→, F5, …): one unknown key, its digits unread
                    commands.append(Command(Action.UNKNOWN, key=_key_name(token)))
            elif ord("1") <= lead <= ord("8"):
                commands.append(Command(Action.SELECT, lead - ord("0")))
            elif lead in _SINGLE:
                commands.append(Command(_SINGLE[lead]))
            elif lead >= 0x80:  # a UTF-8 character: one unknown key, all its bytes
                name = token.decode("utf-8", errors="replace")
                commands.append(Command(Action.UNKNOWN, key=name))
            else:
                commands.append(Command(Action.UNKNOWN, key=_key_name(token)))
        return commands


def _is_terminal(source: int | TextIO) -> bool:
    """Whether a file descriptor or stream is a terminal."""
    try:
        fd = source if isinstance(source, int) else source.fileno()
    except (AttributeError, OSError, ValueError):  # replaced streams (pytest, IDEs) have none
        return False
    return os.isatty(fd)


class Terminal:
    """The operator's terminal: cbreak mode while the view runs, restored on exit.

    Without a TTY (a pipe, a CI log) it reads no keys and changes nothing.

    Attributes:
        interactive: True when stdin and stdout are terminals and keys are read.
    """

    def __init__(self, fd: int | None = None, interactive: bool | None = None) -> None:
        """Use the terminal on ``fd`` (default stdin).

        Args:
            fd: the input file descriptor.
            interactive: force key reading on or off (default: whether both are TTYs).
        """
        if interactive is None:
            interactive = _is_terminal(sys.stdin if fd is None else fd) and _is_terminal(sys.stdout)
        self._fd = (sys.stdin.fileno() if fd is None else fd) if interactive else -1
        self.interactive = interactive
        self._saved: list[Any] | None = None
        self._decoder = KeyDecoder()

    @property
    def text_mode(self) -> bool:
        """Whether keys are read as the text of a one-line prompt."""
        return self._decoder.text_mode

    @text_mode.setter
    def text_mode(self, on: bool) -> None:
        self._decoder.text_mode = on

    def __enter__(self) -> Self:
        if self.interactive and os.name == "posix":
            import termios
            import tty

            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()

    def restore(self) -> None:
        """Put the terminal back as it was (safe twice)."""
        if self._saved is not None:
            import termios

            saved, self._saved = self._saved, None
            # A terminal that hung up (SIGHUP) has nothing left to restore.
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self._fd, termios.TCSADRAIN, saved)

    def read(self, timeout_s: float) -> list[Command]:
        """Wait up to ``timeout_s`` for keys and return their commands ([] without a TTY)."""
        if not self.interactive:
            return []
        ready, _, _ = select.select([self._fd], [], [], max(timeout_s, 0.0))
        if not ready:
            return []
        return self._decoder.decode(os.read(self._fd, 64))
