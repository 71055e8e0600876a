"""Declarative little-endian payload layouts: one description drives encode, decode and the schema.

A message is a frozen dataclass whose fields are annotated with their wire type (``U8``,
``U16``, ``U32``, ``U64`` or ``Annotated[T, Wire(...)]``); the class's ``LAYOUT`` lists those
wire fields in order, derived from the annotations once when the class is defined. That list
gives the struct format, the range checks on encode, the enum checks on decode, the NAK field
indices (PROTOCOL.md §2.6) and the schema hash that HELLO exchanges — so a layout change
cannot be made in one place and forgotten in another. The field kinds themselves (``Scalar``,
``Array``, ``Text``, ``Opaque``, ``Group``) and the integer ranges are in
``firmware_protocol.fields``; they are re-exported here. The encoder and decoder compiled from
a layout (one ``struct.Struct`` per fixed part) are in ``firmware_protocol.codec``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import (
    Annotated,
    Any,
    ClassVar,
    Self,
    get_args,
    get_origin,
    get_type_hints,
)

from firmware_protocol.codec import _Codec
from firmware_protocol.fields import (
    _RANGES,  # noqa: F401 - the integer ranges, re-exported (tests derive strategies from them)
    Array,
    BadField,
    Group,
    Opaque,
    Scalar,
    Text,
    WireField,
    check_int,
)

__all__ = [
    "U8",
    "U16",
    "U32",
    "U64",
    "Array",
    "BadField",
    "Group",
    "Opaque",
    "Scalar",
    "Text",
    "Wire",
    "WireField",
    "WireStruct",
    "check_int",
]


@dataclass(frozen=True)
class Wire:
    """How an annotated dataclass field travels, in ``struct`` notation.

    ``Wire("H")`` is an integer (an IntEnum or IntFlag when the annotated type is one),
    ``Wire("s", 16)`` a 16-byte text, ``Wire("o", 16)`` 16 opaque bytes, ``Wire("I", 8)`` an
    array of eight, and ``Wire(count=8)`` on a ``tuple`` of another WireStruct a group of up to
    eight records.
    """

    code: str = ""
    count: int = 0

    def field(self, name: str, kind: Any) -> WireField:
        """Return the wire field ``name`` of annotated type ``kind`` that this describes."""
        if self.code == "s":
            return Text(name, self.count)
        if self.code == "o":
            return Opaque(name, self.count)
        if get_origin(kind) is tuple:
            elem = get_args(kind)[0]
            if isinstance(elem, type) and issubclass(elem, WireStruct):
                return Group(name, elem, self.count)
            return Array(name, self.code, self.count)
        if isinstance(kind, type) and issubclass(kind, enum.IntEnum | enum.IntFlag):
            return Scalar(name, self.code, kind)
        return Scalar(name, self.code)


U8 = Annotated[int, Wire("B")]
U16 = Annotated[int, Wire("H")]
U32 = Annotated[int, Wire("I")]
U64 = Annotated[int, Wire("Q")]


def _annotated_layout(cls: type) -> tuple[WireField, ...]:
    """The wire fields of ``cls``'s annotations (its bases' first), in declaration order."""
    fields: list[WireField] = []
    for name, hint in get_type_hints(cls, include_extras=True).items():
        if get_origin(hint) is not Annotated:
            continue
        kind, *extras = get_args(hint)
        fields.extend(w.field(name, kind) for w in extras if isinstance(w, Wire))
    return tuple(fields)


class WireStruct:
    """Base of frozen dataclasses with a ``LAYOUT``; provides encode and decode.

    A subclass that does not set ``LAYOUT`` itself gets the one its wire annotations describe.
    """

    LAYOUT: ClassVar[tuple[WireField, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "LAYOUT" not in cls.__dict__:
            cls.LAYOUT = _annotated_layout(cls)

    @classmethod
    def _codec(cls) -> _Codec[Self]:
        # Built on first use and kept on the class itself (not inherited: Program extends
        # SetProgram with another layout). Rebuilt if LAYOUT is reassigned, which only a test
        # that probes the schema hash does.
        codec: _Codec[Self] | None = cls.__dict__.get("_codec_cache")
        if codec is None or codec.layout is not cls.LAYOUT:
            codec = _Codec(cls)
            cls._codec_cache = codec  # type: ignore[attr-defined]
        return codec

    @classmethod
    def field_index(cls, name: str, element: int = 0) -> int:
        """Return the flattened index of field ``name`` (plus ``element`` within an array).

        NAK frames name the offending field by this index (PROTOCOL.md §2.6).
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
        """Text describing the whole layout (feeds the schema hash)."""
        return ",".join(f.descriptor() for f in cls.LAYOUT)

    def encode(self) -> bytes:
        """Return the payload bytes.

        Raises:
            EncodeError: a field value does not fit its wire type.
        """
        return self._codec().encode(self)

    @classmethod
    def encode_values(cls, values: Sequence[Any], records: Sequence[Sequence[Any]] = ()) -> bytes:
        """Return the payload of the instance whose fields are ``values`` (in ``LAYOUT`` order)
        and, for a class with a group, whose records' fields are ``records``, without building
        the instances (the simulated device's STATUS, every heartbeat).

        Raises:
            EncodeError: as ``encode`` on those instances would.
        """
        return cls._codec().encode_values(values, records)

    @classmethod
    def decode(cls, payload: bytes) -> Self:
        """Decode a payload into an instance.

        Raises:
            BadField: wrong payload length or an undefined enum value.
        """
        return cls._codec().decode(payload)

    def replace(self, **changes: Any) -> Self:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]
