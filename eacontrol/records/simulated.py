"""Whether a session ran on the device simulator: the one place that decides it.

The wire protocol has no flag that says "I am a simulator" (PROTOCOL.md: HELLO_ACK reports a
model, a serial and limits only), so the record derives it from what the device and the port
say, here and nowhere else:

* the port is a ``sim://`` URL (the built-in simulator, in-process; the scheme in any case);
* or the device reports a model of the simulator's family, ``EA-SIM`` followed by anything
  (``EA-SIM-6``, the simulator's default in ``simulator/firmware/model.py``), which is what the
  pty and TCP simulators (``eactl simulate``, ``python -m simulator``) report behind a
  ``/dev/pts/N`` or ``socket://`` port. No real device may report such a model.

A simulator told to report another model (``-o model=...``) on a pty or TCP port is not
recognised: such a session is recorded as on a real device. A simulated session is marked
``simulated`` in the record, left out of the patient's history and of the report's session
count unless asked for (``--include-simulated``), and its report never calls it treatment
delivered to a patient.
"""

from __future__ import annotations

__all__ = ["SIMULATOR_MODEL_PREFIX", "is_simulator"]

SIMULATOR_MODEL_PREFIX = "EA-SIM"
"""The model names the simulator reports begin with (any case)."""


def is_simulator(port: str, device_model: str) -> bool:
    """True when the session's device is the simulator (the module's rule).

    Args:
        port: the port or URL opened (``sim://?seed=1``, ``/dev/pts/3``, ``socket://...``).
        device_model: the model the device reported in its HELLO_ACK.
    """
    return port.strip().lower().startswith("sim://") or device_model.strip().upper().startswith(
        SIMULATOR_MODEL_PREFIX
    )
