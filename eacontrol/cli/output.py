"""What eactl prints that it did not write itself: text made safe for a terminal, and stdout
after its reader or terminal went away.

Text that came from outside (an operator or patient identifier, a profile's name) is printed
through :func:`printable`: a control character in it (ESC, BEL, CR, backspace...) would
otherwise be obeyed by the terminal, recolouring or overwriting what the operator reads (issue 14
item 12). Each is shown as an escape instead (``\\x1b``), as Python's ``repr`` would.
"""

from __future__ import annotations

import contextlib
import os
import sys
import unicodedata

__all__ = ["discard_stdout", "printable"]


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``"P\\x1b[31m"``).

    Control (Unicode category Cc: C0, DEL, C1) and format characters (Cf: bidirectional
    overrides that reorder what is shown) are escaped; everything else, accents and CJK
    included, is kept.
    """
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in ("Cc", "Cf") else c for c in text)


def discard_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's final flush cannot fail again
    (the reader of a pipe went away, or the terminal hung up)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, fd)
    os.close(null)
