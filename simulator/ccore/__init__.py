"""The C firmware core (``firmware/src``) run in-process through ctypes: ``sim://?core=c``.

- ``build``: finds the core's C sources and builds them (with ``shim.c``) into a shared
  library in the per-user cache, once per source version; ``CoreUnavailable`` names what is
  missing (no sources, no compiler, a failed build).
- ``library``: the library loaded and typed; ``firmware``: ``CoreFirmware``, the core behind the
  interface of ``simulator.firmware.Firmware`` with Python objects as its HAL; ``device``:
  ``CoreDevice``, the core on the simulated hardware (``simulator.hardware``), which
  ``simulator.serve.Bench`` builds for ``core=c``.

Imports ``simulator.firmware`` and ``simulator.hardware``, never ``simulator.serve``.
"""

from simulator.ccore.build import CoreUnavailable, library_path, source_dir, unavailable
from simulator.ccore.device import CoreDevice
from simulator.ccore.firmware import CoreFirmware

__all__ = [
    "CoreDevice",
    "CoreFirmware",
    "CoreUnavailable",
    "library_path",
    "source_dir",
    "unavailable",
]
