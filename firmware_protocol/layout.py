"""Declarative little-endian payload layouts: one description drives encode, decode and the schema.

A message is a frozen dataclass whose ``LAYOUT`` lists its wire fields in order. The same list
gives the struct format, the range checks on encode, the enum checks on decode, the NAK field
indices (PROTOCOL.md §7) and the schema tag that enters every frame's CRC — so a layout change
cannot be made in one place and forgotten in another.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from firmware_protocol.errors import EncodeError

__all__ = ["Array", "BadField", "Group", "Scalar", "Text", "WireField", "WireStruct", "check_int"]

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
        """Text that identifies the field's name and wire type, for the schema tag."""
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
        """Text that identifies the field's name and wire type, for the schema tag."""
        return f"{self.name}:{self.count}{self.code}"


@dataclass(frozen=True)
class Text:
    """A fixed-size ASCII string, NUL-padded on the wire."""

    name: str
    size: int

    @property
    def width(self) -> int:
        """Number of flattened field indices this field occupies."""
        return 1

    def descriptor(self) -> str:
        """Text that identifies the field's name and wire type, for the schema tag."""
        return f"{self.name}:{self.size}s"


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
        """Text that identifies the field's name and wire type, for the schema tag."""
        inner = ",".join(f.descriptor() for f in self.elem.LAYOUT)
        return f"{self.name}:[{self.max_count}]{{{inner}}}"


WireField = Scalar | Array | Text | Group


class WireStruct:
    """Base of frozen dataclasses with a ``LAYOUT``; provides encode and decode."""

    LAYOUT: ClassVar[tuple[WireField, ...]] = ()

    @classmethod
    def _fixed_struct(cls) -> struct.Struct:
        cached: struct.Struct | None = cls.__dict__.get("_struct_cache")
        if cached is None:
            parts = []
            for f in cls.LAYOUT:
                if isinstance(f, Scalar):
                    parts.append(f.code)
                elif isinstance(f, Array):
                    parts.append(f"{f.count}{f.code}")
                elif isinstance(f, Text):
                    parts.append(f"{f.size}s")
            cached = struct.Struct("<" + "".join(parts))
            cls._struct_cache = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def _group(cls) -> Group | None:
        last = cls.LAYOUT[-1] if cls.LAYOUT else None
        return last if isinstance(last, Group) else None

    @classmethod
    def field_index(cls, name: str, element: int = 0) -> int:
        """Return the flattened index of field ``name`` (plus ``element`` within an array).

        NAK frames name the offending field by this index (PROTOCOL.md §7).
        """
        index = 0
        for f in cls.LAYOUT:
            if f.name == name:
                return index + element
            index += f.width
        raise KeyError(name)

    @classmethod
    def field_name(cls, index: int) -> str:
        """Return the field name (``name[i]`` for array elements) for a flattened index."""
        base = 0
        for f in cls.LAYOUT:
            if base <= index < base + f.width:
                return f"{f.name}[{index - base}]" if isinstance(f, Array) else f.name
            base += f.width
        return f"field #{index}"

    @classmethod
    def descriptor(cls) -> str:
        """Text describing the whole layout (feeds the schema tag)."""
        return ",".join(f.descriptor() for f in cls.LAYOUT)

    def encode(self) -> bytes:
        """Return the payload bytes.

        Raises:
            EncodeError: a field value does not fit its wire type.
        """
        values: list[Any] = []
        for f in self.LAYOUT:
            value = getattr(self, f.name)
            if isinstance(f, Scalar):
                values.append(check_int(f.name, value, f.code))
            elif isinstance(f, Array):
                if len(value) != f.count:
                    raise EncodeError(f.name, value, f"exactly {f.count} elements")
                values.extend(check_int(f"{f.name}[{i}]", v, f.code) for i, v in enumerate(value))
            elif isinstance(f, Text):
                raw = str(value).encode("ascii", errors="strict") if value.isascii() else None
                if raw is None or len(raw) > f.size or b"\x00" in raw:
                    raise EncodeError(f.name, value, f"ASCII without NUL, at most {f.size} bytes")
                values.append(raw)
        out = self._fixed_struct().pack(*values)
        group = self._group()
        if group is not None:
            records: Sequence[WireStruct] = getattr(self, group.name)
            if len(records) > group.max_count:
                raise EncodeError(group.name, len(records), f"at most {group.max_count} records")
            out += bytes([len(records)]) + b"".join(r.encode() for r in records)
        return out

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Decode a payload into an instance.

        Raises:
            BadField: wrong payload length or an undefined enum value.
        """
        fixed = cls._fixed_struct()
        group = cls._group()
        if group is None and len(payload) != fixed.size:
            raise BadField(
                None, f"{cls.__name__} payload must be {fixed.size} bytes, got {len(payload)}"
            )
        if len(payload) < fixed.size:
            raise BadField(None, f"{cls.__name__} payload shorter than {fixed.size} bytes")
        raw = iter(fixed.unpack_from(payload))
        kwargs: dict[str, Any] = {}
        index = 0
        for f in cls.LAYOUT:
            if isinstance(f, Scalar):
                value = next(raw)
                if f.enum is not None:
                    value = _to_enum(f.enum, value, index, f.name)
                kwargs[f.name] = value
            elif isinstance(f, Array):
                kwargs[f.name] = tuple(next(raw) for _ in range(f.count))
            elif isinstance(f, Text):
                text = next(raw).rstrip(b"\x00")
                if b"\x00" in text or not text.isascii():
                    raise BadField(index, f"{f.name} is not NUL-padded ASCII")
                kwargs[f.name] = text.decode("ascii")
            index += f.width
        if group is not None:
            rest = payload[fixed.size :]
            elem_size = group.elem._fixed_struct().size
            count = rest[0] if rest else -1
            if count < 0 or count > group.max_count or len(rest) != 1 + count * elem_size:
                raise BadField(index, f"{cls.__name__}.{group.name} count/length inconsistent")
            kwargs[group.name] = tuple(
                group.elem.decode(rest[1 + i * elem_size : 1 + (i + 1) * elem_size])
                for i in range(count)
            )
        return cls(**kwargs)

    def replace(self, **changes: Any) -> Self:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def check_int(name: str, value: object, code: str) -> int:
    lo, hi = _RANGES[code]
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise EncodeError(name, value, f"integer {lo}..{hi}")
    return int(value)


def _to_enum(
    kind: type[enum.IntEnum] | type[enum.IntFlag], value: int, index: int, name: str
) -> int:
    if issubclass(kind, enum.IntFlag):
        known = 0
        for member in kind:
            known |= int(member)
        if value & ~known:
            raise BadField(index, f"{name}=0x{value:02X} has bits undefined in {kind.__name__}")
        return kind(value)
    try:
        return kind(value)
    except ValueError:
        raise BadField(index, f"{name}={value} is not a valid {kind.__name__}") from None
