"""``CoreDevice``: the C core on the simulated hardware, what ``sim://?core=c`` runs.

The twin of ``simulator.hardware.Device``: the firmware (here the C core, ``CoreFirmware``)
wired to one ``SimulatedOutputStage`` per channel (numpy physics, the recorder) and to a seeded
random source, plus what a bench does to the hardware and sees of it (``SimulatedHardware``,
shared with ``Device``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simulator.ccore.firmware import CoreFirmware
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import SeededRandom, SimulatedHardware, simulated_outputs
from simulator.hardware.loads import Load

__all__ = ["CoreDevice"]


class CoreDevice(CoreFirmware, SimulatedHardware):
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
        self.recorder, self.outputs = simulated_outputs(model, loads, now_us)
        super().__init__(
            model, outputs=self.outputs, rng=SeededRandom(rng), now_us=now_us, keys=keys
        )
