"""Signals that end ``eactl run`` (SIGTERM, SIGHUP) take the path Ctrl-C takes: a confirmed stop.

By default SIGTERM (``kill``, a service manager, a shutdown) and SIGHUP (the terminal closed, an
SSH connection dropped) end a Python process at once: nothing stops the outputs (the device
stops only when its lease expires) and the record stays ``running`` until the next open marks it
aborted (issue 14 item 5). While :func:`signals_end_like_ctrl_c` is active, each of them raises
:class:`Terminated` in the main thread instead, a ``KeyboardInterrupt``: every handler of Ctrl-C
(the session runner's immediate confirmed stop, the Stimulator's stop on close, eactl's exit
path) handles it the same way, and its message names the signal, so the record says
``stopped: ended by SIGTERM`` rather than Ctrl-C.

Once one of them or Ctrl-C (SIGINT, still a plain ``KeyboardInterrupt``) has arrived, the stop
is under way: a second SIGTERM, SIGHUP or SIGINT is logged and ignored, so that it cannot
interrupt the confirmation of that stop (the stop is bounded: confirmed, or the hard alarm,
within one lease; SIGKILL still ends the process and the device's lease stops the outputs).
eactl then exits with 128 + the signal's number (143 for SIGTERM, 129 for SIGHUP), the shell's
convention for a process ended by a signal (``exitcodes.py``).

A Python signal handler runs between any two bytecodes of the main thread, so an exception it
raises can cut a step of byte-level code in half. The link's frame decoder cut in mid-frame kept
that frame in its buffer, glued the next frame to it, and the next frame failed its CRC: the
device's EVENT STOPPED for channel 1, the first frame after the STOP, never reached the record
(issue 14 item 5, a flaky ``{2} != {1, 2}``); the in-process simulator cut in mid-step kept its
virtual clock marked as advancing, and every later read failed. So while the main thread is
inside such code (:data:`UNINTERRUPTIBLE`: the link, the wire protocol, the in-process
simulator), the exception waits until the outermost of those calls returns (a profile hook on
that frame), which in a session is at most one pump of the link (a heartbeat period, lease/5).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Literal

__all__ = ["ENDING_SIGNALS", "UNINTERRUPTIBLE", "Terminated", "signals_end_like_ctrl_c"]

log = logging.getLogger(__name__)

ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
"""The signals routed into the Ctrl-C path (SIGINT is Ctrl-C itself; SIGKILL cannot be caught)."""

UNINTERRUPTIBLE = ("eacontrol.link", "firmware_protocol", "simulator")
"""Packages whose steps must not be cut in half by a signal's exception: the link (its frame
decoder, pending replies and session watch), the wire protocol, and the simulator that ``sim://``
runs in the host's thread. A signal arriving inside them takes effect when the outermost such call
on the stack returns."""


class Terminated(KeyboardInterrupt):
    """A signal asked eactl to end; handled exactly as Ctrl-C is.

    Attributes:
        signum: the signal's number.
        name: the signal's name (``"SIGTERM"``).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"ended by {self.name}")

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, the shell's convention."""
        return 128 + self.signum


@contextmanager
def signals_end_like_ctrl_c() -> Iterator[None]:
    """Route SIGTERM and SIGHUP into :class:`Terminated`, SIGINT into ``KeyboardInterrupt``, and
    ignore every later one, for the duration (main thread only: elsewhere Python cannot install
    handlers, and nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A signal ignored when eactl started stays ignored: ``nohup eactl run`` asks to survive a
    # hang-up, and a launcher that ignores SIGINT (a background job) has its reasons.
    previous = {
        sig: handler
        for sig in (*ENDING_SIGNALS, signal.SIGINT)
        if (handler := signal.getsignal(sig)) is not signal.SIG_IGN
    }
    watched = tuple(previous)

    def stopping(signum: int, frame: FrameType | None) -> None:
        log.warning("%s ignored: the stop is already under way", signal.Signals(signum).name)

    def end(signum: int, frame: FrameType | None) -> None:
        for sig in watched:  # from now on nothing may interrupt the stop's confirmation
            signal.signal(sig, stopping)
        exc = KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)
        guarded = _outermost_uninterruptible(frame)
        if guarded is None:
            raise exc
        log.debug("%s arrived in %s: taking effect when it returns", exc, guarded.f_code.co_name)
        _raise_on_return(guarded, exc)

    for sig in watched:
        signal.signal(sig, end)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


_ProfileEvent = Literal["call", "return", "c_call", "c_return", "c_exception"]


def _outermost_uninterruptible(frame: FrameType | None) -> FrameType | None:
    """The outermost frame on ``frame``'s stack that runs code of :data:`UNINTERRUPTIBLE`."""
    outermost = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if isinstance(module, str) and any(
            module == name or module.startswith(name + ".") for name in UNINTERRUPTIBLE
        ):
            outermost = frame
        frame = frame.f_back
    return outermost


def _raise_on_return(guarded: FrameType, exc: BaseException) -> None:
    """Raise ``exc`` in the main thread the moment ``guarded`` returns (or unwinds): from its
    caller's point of view, the call raised it."""
    previous = sys.getprofile()

    def profile(frame: FrameType, event: _ProfileEvent, arg: object) -> None:
        if previous is not None:
            previous(frame, event, arg)
        if frame is guarded and event == "return":
            sys.setprofile(previous)
            raise exc

    sys.setprofile(profile)
