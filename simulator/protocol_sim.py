"""pyserial's hook for ``sim://``: it imports ``<package>.protocol_<scheme>`` and takes ``Serial``.

The port itself is ``simulator.serve.port.SimSerial``; this module only gives it the name and
the place pyserial looks for.
"""

from simulator.serve.port import SimSerial as Serial

__all__ = ["Serial"]
