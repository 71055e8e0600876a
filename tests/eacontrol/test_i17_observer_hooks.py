"""Issue 17: the Stimulator's observer hooks, which a script's recorder subscribes to.

``on_command``: a note before a program/start is sent (raising refuses it: nothing is sent) and
after every acknowledged command; ``on_status``: each STATUS's host time, in the driving thread.
Notes seen during an emergency stop from another thread reach the observers in the driving
thread, as events do.
"""

from __future__ import annotations

import threading

import pytest

from eacontrol.device import connect
from eacontrol.device.commands import DeviceCommand
from eacontrol.errors import DeviceNak
from eacontrol.stimulation import Stimulation

TWO_HZ = Stimulation(frequency_hz=2, phase_width_us=300, intensity_mA=2.0, ramp_up_s=2)


def test_i17_every_command_is_noted_before_sending_and_once_acknowledged() -> None:
    notes: list[DeviceCommand] = []
    with connect("sim://?seed=31") as stim:
        stim.on_command(notes.append)
        crc = stim.program(1, TWO_HZ)
        stim.start(1)
        stim.wait(3)
        stim.set_intensity(1, 2.5, slew_mA_per_s=1.0)
        stim.stop(1, immediate=True)
        stim.clear_fault(1)
    seen = [(n.kind, n.channels, n.sent) for n in notes]
    assert seen[:7] == [
        ("program", (1,), False),
        ("program", (1,), True),
        ("start", (1,), False),
        ("start", (1,), True),
        ("set_intensity", (1,), True),
        ("stop", (1,), True),
        ("clear_fault", (), True),  # nothing was latched: nothing cleared
    ]
    assert notes[1].program_crc == crc and notes[1].stimulation == TWO_HZ
    assert (notes[4].intensity_mA, notes[4].slew_mA_per_s) == (2.5, 1.0)
    assert notes[5].immediate and notes[5].status is not None and notes[5].status.outputs_off()
    assert [n.time_s for n in notes] == sorted(n.time_s for n in notes)


def test_i17_an_observer_refusing_before_sending_keeps_the_command_off_the_wire() -> None:
    def refuse(note: DeviceCommand) -> None:
        if not note.sent and note.kind == "program":
            raise RuntimeError("not on record")

    with connect("sim://?seed=32") as stim:
        unsubscribe = stim.on_command(refuse)
        with pytest.raises(RuntimeError, match="not on record"):
            stim.program(1, TWO_HZ)
        with pytest.raises(DeviceNak) as nak:
            stim.read_program(1)  # nothing was stored
        assert nak.value.code == "NO_PROGRAM"
        unsubscribe()
        stim.program(1, TWO_HZ)  # no observer now


def test_i17_status_observers_and_held_notes_run_in_the_driving_thread() -> None:
    times: list[float] = []
    threads: set[int] = set()
    stops: list[DeviceCommand] = []

    def on_command(note: DeviceCommand) -> None:
        threads.add(threading.get_ident())
        if note.kind == "stop":
            stops.append(note)

    with connect("sim://?seed=33") as stim:
        stim.on_status(lambda t: (times.append(t), threads.add(threading.get_ident())))
        stim.on_command(on_command)
        stim.program(1, TWO_HZ)
        stim.start(1)
        stim.wait(2)
        heartbeat_s = stim.lease_s / 5  # PROTOCOL.md §3.5: a heartbeat every lease/5
        assert len(times) >= 2 / heartbeat_s - 2 and times == sorted(times)
        watchdog = threading.Thread(target=stim.emergency_stop)
        watchdog.start()
        watchdog.join()
        assert stops == []  # held for the driving thread
        stim.wait(0.1)
        assert len(stops) == 1 and stops[0].immediate
    assert threads == {threading.get_ident()}
