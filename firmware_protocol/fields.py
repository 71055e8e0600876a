"""The wire field kinds of a payload layout: what each field is on the wire, and the integer
ranges of its types.

A ``WireStruct``'s ``LAYOUT`` (firmware_protocol.layout) is a tuple of these. Each kind knows
how many NAK field indices it occupies (PROTOCOL.md §2.6) and the text that identifies it in the
schema hash; ``firmware_protocol.codec`` compiles them into struct formats and checks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from firmware_protocol.errors import EncodeError

if TYPE_CHECKING:
    from firmware_protocol.layout import WireStruct

__all__ = [
    "Array",
    "BadField",
    "Group",
    "Opaque",
    "Scalar",
    "Text",
    "WireField",
    "check_int",
]

_RANGES = {
    "B": (0, 0xFF),
    "H": (0, 0xFFFF),
    "I": (0, 0xFFFF_FFFF),
    "i": (-(2**31), 2**31 - 1),
    "Q": (0, 2**64 - 1),
    "q": (-(2**63), 2**63 - 1),
}


class BadField(Exception):
    """Internal: a decoded field is invalid (turned into PayloadError by the frame layer)."""

    def __init__(self, index: int | None, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class Scalar:
    """One integer field; ``enum`` restricts it to the members of an IntEnum or IntFlag."""

    name: str
    code: str
    enum: type[enum.IntEnum] | type[enum.IntFlag] | None = None

    @property
    def width(self) -> int:
        """Number of flattened field indices this field occupies."""
        return 1

    def descriptor(self) -> str:
        """Text that identifies the field's name and wire type, for the schema hash."""
        suffix = f"/{self.enum.__name__}" if self.enum else ""
        return f"{self.name}:{self.code}{suffix}"


@dataclass(frozen=True)
class Array:
    """A fixed-length array of integers of one type."""

    name: str
    code: str
    count: int

    @property
    def width(self) -> int:
        """Number of flattened field indices this field occupies."""
        return self.count

    def descriptor(self) -> str:
        """Text that identifies the field's name and wire type, for the schema hash."""
        return f"{self.name}:{self.count}{self.code}"


@dataclass(frozen=True)
class _Sized:
    """A fixed-size byte field; its descriptor's type letter is the subclass's ``CODE``."""

    CODE: ClassVar[str]
    name: str
    size: int

    @property
    def width(self) -> int:
        """Number of flattened field indices this field occupies."""
        return 1

    def descriptor(self) -> str:
        """Text that identifies the field's name and wire type, for the schema hash."""
        return f"{self.name}:{self.size}{self.CODE}"


@dataclass(frozen=True)
class Text(_Sized):
    """A fixed-size ASCII string, NUL-padded on the wire."""

    CODE: ClassVar[str] = "s"


@dataclass(frozen=True)
class Opaque(_Sized):
    """A fixed-size byte string taken as it is (a nonce, a key)."""

    CODE: ClassVar[str] = "o"


@dataclass(frozen=True)
class Group:
    """A u8 count, then up to ``max_count`` records of another WireStruct (last field only)."""

    name: str
    elem: type[WireStruct]
    max_count: int

    @property
    def width(self) -> int:
        """Number of flattened field indices this field occupies (the count byte)."""
        return 1

    def descriptor(self) -> str:
        """Text that identifies the field's name and wire type, for the schema hash."""
        inner = ",".join(f.descriptor() for f in self.elem.LAYOUT)
        return f"{self.name}:[{self.max_count}]{{{inner}}}"


WireField = Scalar | Array | Text | Opaque | Group


def check_int(name: str, value: object, code: str) -> int:
    """Return ``value`` as an int if it fits wire type ``code``.

    Raises:
        EncodeError: it is not an integer (``bool`` included) or out of range.
    """
    lo, hi = _RANGES[code]
    return _checked_int(name, value, lo, hi)


def _checked_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(name, value, f"integer {lo}..{hi}")
    return int(value)
