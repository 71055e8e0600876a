"""``CoreDevice``: the C core on the simulated hardware, what ``sim://?core=c`` runs.

The twin of ``simulator.hardware.Device``: the firmware (here the C core, ``CoreFirmware``)
wired to one ``SimulatedOutputStage`` per channel (numpy physics, the recorder) and to a seeded
random source, plus what a bench does to the hardware and sees of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simulator.ccore.firmware import CoreFirmware
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import SeededRandom
from simulator.hardware.loads import DEFAULT_LOAD, Load
from simulator.hardware.output import SimulatedOutputStage
from simulator.hardware.recorder import Recorder

__all__ = ["CoreDevice"]


class CoreDevice(CoreFirmware):
    """A stimulator running the C firmware core on simulated hardware.

    Args:
        model: the device's identity and its own limits table.
        rng: seeded generator for the device's random source.
        loads: the load on each channel (default: 500 Ω on every channel).
        now_us: the time the device is switched on.
        keys: pairing keys its flash holds at power-on, by key id.

    Raises:
        ValueError: ``loads`` does not have one load per channel.
        simulator.ccore.CoreUnavailable: the C core cannot be built here.

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
        keys: Mapping[int, bytes] | None = None,
    ) -> None:
        if loads is None:
            loads = [DEFAULT_LOAD] * model.channel_count
        if len(loads) != model.channel_count:
            raise ValueError(f"need {model.channel_count} loads, got {len(loads)}")
        self.recorder = Recorder(model.channel_count)
        self.outputs = tuple(
            SimulatedOutputStage(model, load, self.recorder[i], now_us)
            for i, load in enumerate(loads)
        )
        super().__init__(
            model, outputs=self.outputs, rng=SeededRandom(rng), now_us=now_us, keys=keys
        )

    # --- what a bench does to the hardware ------------------------------------------------

    def set_load(self, channel: int, load: Load, now_us: int) -> None:
        """Change the load on ``channel`` (``OpenCircuit()`` for an electrode coming off)."""
        self.advance(now_us)
        self.outputs[channel].set_load(load, now_us)
        self.hardware_changed()

    def load(self, channel: int) -> Load:
        """The load now connected to ``channel``."""
        return self.outputs[channel].load

    def stick_output(self, channel: int, now_us: int, current_uA: int) -> None:
        """Make ``channel``'s output stick at ``current_uA`` of DC (0 repairs the hardware).

        Raises:
            ValueError: a negative current.
        """
        if current_uA < 0:
            raise ValueError(f"current_uA must be ≥ 0, got {current_uA}")
        self.advance(now_us)
        self.outputs[channel].stick(current_uA, now_us)
        self.hardware_changed()

    # --- what a bench sees of it ----------------------------------------------------------

    def output_uA(self, channel: int) -> float:
        """Current ``channel`` actually delivers now (pulse amplitude, or a stuck DC)."""
        return self.outputs[channel].output_uA(self.now_us)

    @property
    def outputs_off(self) -> bool:
        """True when no channel is active and none delivers any current."""
        now_us = self.now_us
        return all(
            not self.channel_active(i) and output.output_uA(now_us) == 0
            for i, output in enumerate(self.outputs)
        )
