"""The soak's parts (``soak.py``): the world's events, the device's own dose counters, the
operator."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from eacontrol.device import Stimulator
from eacontrol.errors import EAError, ParameterError, SessionError
from eacontrol.session import Session
from simulator import SimSerial

from .injections import blackout

__all__ = [
    "LINK_FAULTS",
    "WORLD_KINDS",
    "DoseLedger",
    "Happening",
    "Operator",
    "Run",
    "reopen",
    "scenario_text",
    "world",
]

LINK_FAULTS = """
[[fault]]
kind = "drop"
rate = 0.01
[[fault]]
kind = "corrupt"
rate = 0.005
[[fault]]
kind = "truncate"
rate = 0.005
[[fault]]
kind = "duplicate"
rate = 0.01
[[fault]]
kind = "delay"
rate = 0.005
delay_ms = 50
"""
"""Transient link faults all along, both ways: about 3 % of frames hit. Retransmission absorbs
them (a command fails all 12 transmissions with probability about 0.06^12)."""


# --- the world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Happening:
    """One of the world's events: at device time ``at_s``, ``kind`` for ``hold_s``."""

    at_s: float
    kind: str
    channel: int = 0
    hold_s: float = 0.0


WORLD_KINDS = {
    # kind: (weight, shortest and longest hold, s)
    "electrode off": (3, 1.0, 30.0),
    "compliance": (2, 1.0, 20.0),
    "stuck output": (1, 0.0, 0.0),
    "reboot": (1, 0.0, 0.0),
    "stop button": (1, 0.0, 0.0),
    "blackout": (2, 0.6, 1.2),  # longer than the lease: the device stops by itself
    "long blackout": (1, 3.5, 6.0),  # longer than three leases: the host calls the link lost
    "db lock": (4, 0.2, 3.0),
    "long db lock": (1, 20.0, 40.0),
}


def world(
    rng: np.random.Generator, duration_s: float, mean_s: float, db_locks: bool
) -> list[Happening]:
    """The world's events for ``duration_s`` of device time, ``mean_s`` apart on average
    (database locks only if ``db_locks``), drawn up front (a seed replays them); one at a time
    (each begins after the previous one is over)."""
    kinds = [k for k in WORLD_KINDS if db_locks or "db lock" not in k]
    weights = np.array([WORLD_KINDS[k][0] for k in kinds], dtype=float)
    out, t = [], 30.0
    while True:
        t += float(rng.exponential(mean_s))
        if t >= duration_s:
            return out
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        _, low, high = WORLD_KINDS[kind]
        hold = float(rng.uniform(low, high)) if high else 0.0
        out.append(Happening(round(t, 3), kind, int(rng.integers(0, 2)), round(hold, 3)))
        t += hold


def scenario_text(happenings: list[Happening]) -> str:
    """The scenario: the link faults and each blackout (the cable's part of the world)."""
    text = "schema_version = 1\n" + LINK_FAULTS
    for h in happenings:
        if "blackout" in h.kind:
            text += blackout(h.at_s, h.at_s + h.hold_s)
    return text


# --- the device's own totals ---------------------------------------------------------------


@dataclass
class Run:
    """One run of a channel's counters: from a SET_PROGRAM to the next reset.

    Attributes:
        channel: channel number (from 1).
        session_id: the session that programmed it.
        step_index: the step (known once its START was acknowledged), or None.
        ended_by: "program" (the next SET_PROGRAM), "reboot", or "end" (the soak's end).
        dose: the counters just before they were reset, as the device's DOSE would say.
    """

    channel: int
    session_id: int | None
    step_index: int | None = None
    ended_by: str = ""
    dose: Any = None


class DoseLedger:
    """The simulated firmware's own dose counters, read whenever they are about to be reset."""

    def __init__(self, port: SimSerial) -> None:
        self._port = port
        self.session_id: int | None = None
        self.runs: list[Run] = []
        self._open: dict[int, Run] = {}
        for index, channel in enumerate(port.device.channels):
            self._instrument(index, channel)

    def _close(self, index: int, ended_by: str, now_us: int) -> None:
        channel = self._port.device.channels[index]
        run = self._open.pop(index, None)
        if run is None:
            return
        channel.flush(now_us)
        run.ended_by, run.dose = ended_by, channel.dose.message(index)
        self.runs.append(run)

    def _instrument(self, index: int, channel: Any) -> None:
        store_program, reboot = channel.store_program, channel.reboot

        def programmed(program: Any, crc: int, now_us: int) -> None:
            self._close(index, "program", now_us)
            store_program(program, crc, now_us)
            self._open[index] = Run(index + 1, self.session_id)

        def rebooted(now_us: int) -> None:
            self._close(index, "reboot", now_us)
            reboot(now_us)

        channel.store_program, channel.reboot = programmed, rebooted

    def step_started(self, session_id: int, step_index: int) -> None:
        """The session's step ``step_index`` started: the runs it programmed are its."""
        for run in self._open.values():
            if run.session_id == session_id and run.step_index is None:
                run.step_index = step_index

    def finish(self) -> None:
        """The soak's end: close every run."""
        now_us = self._port.clock.now_us
        for index in list(self._open):
            self._close(index, "end", now_us)


# --- the operator --------------------------------------------------------------------------


class Operator:
    """Random operator actions from ``on_tick``, at exponential intervals."""

    ACTIONS = ("raise", "lower", "to zero", "pause", "annotate", "stop", "emergency")
    WEIGHTS = (40, 30, 5, 10, 5, 1, 1)

    def __init__(self, rng: np.random.Generator, mean_s: float, counts: Counter[str]) -> None:
        self._rng = rng
        self._mean_s = mean_s
        self._counts = counts
        self._next_s = 0.0
        self._resume_at_s: float | None = None
        self.deadline_s = float("inf")
        """The soak's end: the operator stops the session running then."""
        self.annotate: Callable[[Session], None] = lambda _session: None
        """Adds a note to the running session's record (the soak's store)."""
        p = np.array(self.WEIGHTS, dtype=float)
        self._p = p / p.sum()

    def begin(self, now_s: float) -> None:
        self._next_s = now_s + float(self._rng.exponential(self._mean_s))
        self._resume_at_s = None

    def tick(self, session: Session, now_s: float) -> None:
        if now_s >= self.deadline_s:
            self._act(session, "stop at the soak's end", session.stop)
            self.deadline_s = float("inf")
            return
        if self._resume_at_s is not None:
            if now_s >= self._resume_at_s:
                self._act(session, "resume", session.resume)
                self._resume_at_s = None
            return
        if now_s < self._next_s:
            return
        self._next_s = now_s + float(self._rng.exponential(self._mean_s))
        action = self.ACTIONS[int(self._rng.choice(len(self.ACTIONS), p=self._p))]
        channel = int(self._rng.integers(1, 3))
        if action == "raise":
            self._act(session, action, lambda: session.adjust(channel, 0.5))
        elif action == "lower":
            self._act(session, action, lambda: session.adjust(channel, -0.5))
        elif action == "to zero":
            self._act(session, action, lambda: session.set_intensity(channel, 0.0))
        elif action == "pause":
            if self._act(session, action, session.pause):
                self._resume_at_s = now_s + float(self._rng.uniform(2.0, 20.0))
        elif action == "annotate":
            self._act(session, action, lambda: self.annotate(session))
        elif action == "stop":
            self._act(session, action, session.stop)
        else:
            self._act(session, action, session.emergency_stop)

    def _act(self, session: Session, name: str, action: Callable[[], None]) -> bool:
        try:
            action()
        except (ParameterError, SessionError):
            self._counts[f"operator {name} refused"] += 1
            return False
        self._counts[f"operator {name}"] += 1
        return True


def reopen(stim: Stimulator | None, port: SimSerial) -> None:
    """Before a new connect to the same device (after a reboot or a lost link): end the old
    Stimulator, if any (its STOP may fail: the link may be gone), and open the port again."""
    if stim is not None:
        with contextlib.suppress(EAError):
            stim.close(immediate=True)
    if not port.is_open:
        port.open()
