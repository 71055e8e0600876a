"""The simulated device: the reference firmware running on simulated output stages.

``Device`` is what a test talks to (``port.device`` behind ``sim://``): the firmware
(``simulator.firmware.Firmware``, integers, every protocol rule) wired to one
``SimulatedOutputStage`` per channel and to a seeded random source, plus what a bench can do to
the hardware and see of it: change a load, make an output stick, read the current actually
flowing and the exact pulses delivered (``recorder``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from firmware_protocol import ChannelState
from simulator.firmware.device import Firmware
from simulator.firmware.keys import KeyStore
from simulator.firmware.model import DeviceModel
from simulator.hardware.loads import DEFAULT_LOAD, Load
from simulator.hardware.output import SimulatedOutputStage
from simulator.hardware.recorder import Recorder

__all__ = ["Device", "SeededRandom", "SimulatedHardware", "simulated_outputs"]


class SeededRandom:
    """The firmware's random source (``simulator.firmware.hal.RandomSource``) on a numpy
    generator, so that a seed replays the boot ids, session ids, nonces and pairing keys.

    Args:
        rng: the seeded generator.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def random_u32(self) -> int:
        """A uniformly distributed integer ``0 ≤ n < 2**32``."""
        return int(self._rng.integers(0, 1 << 32))


def simulated_outputs(
    model: DeviceModel, loads: Sequence[Load] | None, now_us: int
) -> tuple[Recorder, tuple[SimulatedOutputStage, ...]]:
    """The recorder and one simulated output stage per channel, on ``loads`` (default: 500 Ω
    on every channel): the hardware a firmware, Python or C, is wired to.

    Raises:
        ValueError: ``loads`` does not have one load per channel.
    """
    if loads is None:
        loads = [DEFAULT_LOAD] * model.channel_count
    if len(loads) != model.channel_count:
        raise ValueError(f"need {model.channel_count} loads, got {len(loads)}")
    recorder = Recorder(model.channel_count)
    outputs = tuple(
        SimulatedOutputStage(model, load, recorder[i], now_us) for i, load in enumerate(loads)
    )
    return recorder, outputs


class _Board(Protocol):
    """What ``SimulatedHardware`` needs of the device it is mixed into."""

    outputs: tuple[SimulatedOutputStage, ...]

    @property
    def now_us(self) -> int: ...

    def advance(self, now_us: int) -> None: ...

    def hardware_changed(self) -> None: ...

    def channel_state(self, channel: int) -> ChannelState: ...


class SimulatedHardware:
    """What a bench does to the simulated hardware and sees of it, whichever firmware runs on
    it: mixed into ``Device`` (the Python firmware) and ``simulator.ccore.CoreDevice`` (the C
    core), which hold ``outputs`` and run the firmware."""

    # --- what a bench does to the hardware ------------------------------------------------

    def set_load(self: _Board, channel: int, load: Load, now_us: int) -> None:
        """Change the load on ``channel`` (``OpenCircuit()`` for an electrode coming off)."""
        self.advance(now_us)
        self.outputs[channel].set_load(load, now_us)
        self.hardware_changed()

    def load(self: _Board, channel: int) -> Load:
        """The load now connected to ``channel`` (to restore it after an electrode-off)."""
        return self.outputs[channel].load

    def stick_output(self: _Board, channel: int, now_us: int, current_uA: int) -> None:
        """Make ``channel``'s output stick at ``current_uA`` of DC (0 repairs the hardware).

        The firmware finds it at its next check, opens the relay and latches STUCK_OUTPUT.

        Raises:
            ValueError: a negative current.
        """
        if current_uA < 0:
            raise ValueError(f"current_uA must be ≥ 0, got {current_uA}")
        self.advance(now_us)
        self.outputs[channel].stick(current_uA, now_us)
        self.hardware_changed()

    # --- what a bench sees of it ----------------------------------------------------------

    def output_uA(self: _Board, channel: int) -> float:
        """Current ``channel`` actually delivers now (pulse amplitude, or a stuck DC)."""
        return self.outputs[channel].output_uA(self.now_us)

    @property
    def outputs_off(self: _Board) -> bool:
        """True when no channel is active and none delivers any current."""
        now_us = self.now_us
        return all(
            not self.channel_state(i).output_active and output.output_uA(now_us) == 0
            for i, output in enumerate(self.outputs)
        )


class Device(Firmware, SimulatedHardware):
    """A stimulator running the reference firmware on simulated hardware, driven by bytes and
    explicit times.

    Args:
        model: the device's identity and its own limits table.
        rng: seeded generator for the device's random source (boot ids, session ids, nonces,
            pairing keys).
        loads: the load on each channel (default: 500 Ω on every channel).
        now_us: the time the device is switched on (it boots then and sends EVENT REBOOT).
        keys: the key store it boots with (its flash), e.g. with a transcript's fixed key
            (``KeyStore.install``); empty if None.

    Raises:
        ValueError: ``loads`` does not have one load per channel.

    Attributes:
        recorder: what each channel delivered since its last SET_PROGRAM, pulse by pulse.
        outputs: the output stage of each channel.
    """

    def __init__(
        self,
        model: DeviceModel = DeviceModel(),  # noqa: B008 - a frozen, immutable default
        *,
        rng: np.random.Generator,
        loads: Sequence[Load] | None = None,
        now_us: int = 0,
        keys: KeyStore | None = None,
    ) -> None:
        self.recorder, self.outputs = simulated_outputs(model, loads, now_us)
        super().__init__(
            model, outputs=self.outputs, rng=SeededRandom(rng), now_us=now_us, keys=keys
        )
