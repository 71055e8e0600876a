"""Safety: the limit layers and their sources, the one limit engine, and placement rules.

- ``limits``: the standard layer's figures, each with its source, and the device layer's shape.
- ``engine``: :class:`LimitStack`, the intersection of every layer in force, and its checks.
- ``placement``: electrode-pair rules (laterality, regions, the pregnancy points).
- ``timing``: pulse timing on the wire's integers: the dense-disperse boundaries (no pulse of
  one half overlaps the next half's first).
"""

from eacontrol.safety.engine import (
    DEVICE_SOURCE,
    PROTOCOL_SOURCE,
    Bound,
    LimitStack,
    PatientLimits,
    Quantity,
    SiteLimits,
)
from eacontrol.safety.limits import STANDARD, DeviceLimits, StandardLimits

__all__ = [
    "DEVICE_SOURCE",
    "PROTOCOL_SOURCE",
    "STANDARD",
    "Bound",
    "DeviceLimits",
    "LimitStack",
    "PatientLimits",
    "Quantity",
    "SiteLimits",
    "StandardLimits",
]
