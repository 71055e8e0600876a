"""The child process of the fault matrix's signal rows: ``eactl run --fast`` on the built-in
simulator, in virtual time, sent a signal by itself at one instant of one phase.

``python signal_child.py SIGNAL PHASE PROFILE DB REPORT``

A signal must never be sent to the pytest worker, so each signal cell is this process
(started by ``test_fault_matrix.py`` through ``tests/support/children.spawn``: default signal
dispositions, its own session). It runs the real ``eactl run`` (``eacontrol.cli.main``) with
three hooks, none of which changes what eacontrol does:

- every ``sim://`` port opened gets a ``DeviceWatch`` (``watch.py``), as in-process cells do;
- a listener on the session's events arms the signal at the phase's instant (the same places
  as the other rows: the middle of the ramp, the hold and the last ramp-down; while step 1 is
  programmed; between the steps);
- once armed, the signal is sent (``os.kill`` to this process) when the host's next read of
  the port returns: outside the simulator's clock step, where the host spends its time waiting,
  as a real signal finds it.

When ``eactl`` has returned, one lease plus one check period of device time passes with nobody
keeping the device, and the report is written to REPORT as JSON: the exit code, the device
watch's findings and whether an output was on when ``eactl`` returned. A process the signal
killed writes no report: the test sees the signal as its exit status.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import serial
from watch import DeviceWatch

from eacontrol.cli import main as eactl
from eacontrol.session import EventKind, Session, SessionEvent
from simulator import SimSerial

RAMP_S = 2.0
"""The profile's ramps (test_fault_matrix.PROFILE_TOML)."""

ARM_AT: dict[str, tuple[str, float]] = {
    # phase: (the event it is timed from, seconds of session time after it)
    "pre-flight": (r"session started", 0.0),  # while step 1 is programmed
    "ramp": (r"step 1/2 .* started", RAMP_S / 2),
    "hold": (r"step 1/2 .* started", RAMP_S + 1.5),  # the middle of the 3 s hold
    "transition": (r"step 1 \(.*\) ended", 0.0),  # step 1 stopped, step 2 being programmed
    "ramp-down": (r"step 2: ramping down", RAMP_S / 2),
}


class Trigger:
    """Sends the signal once, at the first port read after its instant."""

    def __init__(self, sig: signal.Signals) -> None:
        self.sig = sig
        self.at_s: float | None = None
        self.sent_at_s: float | None = None
        self.port: SimSerial | None = None

    def due(self) -> bool:
        port = self.port
        return (
            self.sent_at_s is None
            and self.at_s is not None
            and port is not None
            and port.clock.now() >= self.at_s
        )

    def send(self) -> None:
        assert self.port is not None
        self.sent_at_s = self.port.clock.now()
        os.kill(os.getpid(), self.sig)


def install(trigger: Trigger, phase: str, watched: list[tuple[SimSerial, DeviceWatch]]) -> None:
    real_for_url = serial.serial_for_url

    def for_url(url: str, *args: Any, **kwargs: Any) -> Any:
        port = real_for_url(url, *args, **kwargs)
        if isinstance(port, SimSerial):
            watched.append((port, DeviceWatch.install(port)))
            trigger.port = port
        return port

    serial.serial_for_url = for_url

    real_read = SimSerial.read

    def read(self: SimSerial, size: int = 1) -> bytes:
        data = real_read(self, size)
        if trigger.due():
            trigger.send()
        return data

    SimSerial.read = read  # type: ignore[method-assign]

    pattern, after_s = ARM_AT[phase]
    real_run = Session.run

    def run(self: Session, on_tick: Any = None) -> Any:
        def listener(event: SessionEvent) -> None:
            armed = trigger.at_s is not None
            if not armed and event.kind is EventKind.PROGRESS and re.match(pattern, event.message):
                assert trigger.port is not None
                trigger.at_s = trigger.port.clock.now() + after_s

        self.subscribe(listener)
        return real_run(self, on_tick)

    Session.run = run  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    name, phase, profile, db, report = argv
    trigger = Trigger(signal.Signals[name])
    watched: list[tuple[SimSerial, DeviceWatch]] = []
    install(trigger, phase, watched)
    options = ["--sim-option", "channels=2", "--sim-option", "seed=8"]
    try:
        code = eactl(["run", profile, "--fast", "--db", db, *options])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    (port, watch), *_ = watched
    on_at_end = watch.outputs_on()
    port.clock.sleep(watch.bound_us / 1e6)
    watch.observe()
    ttz_us = watch.time_to_zero_us()
    result = {
        "exit_code": code,
        "signal_sent_at_s": trigger.sent_at_s,
        "violations": watch.violations,
        "outputs_off": port.device.outputs_off,
        "ever_on": watch.ever_on,
        "on_at_end": on_at_end,
        "time_to_zero_us": ttz_us,
        "bound_us": watch.bound_us,
    }
    Path(report).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
