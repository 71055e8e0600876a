"""The eacontrol device simulator: firmware model, output stage, pulse engine, clocks, faults.

Imports ``firmware_protocol`` and numpy only, never ``eacontrol``: the device's interlocks are an
independent second safety layer, not a copy of the host's (DESIGN.md §2).
"""

__all__: list[str] = []
