"""The payload codec as it was before issue 18's compiled one: a Python loop over the fields.

Kept here, unchanged but for its name and its records' codec, as the reference that
``tests/firmware_protocol/test_compiled_codec.py`` compares ``firmware_protocol.codec`` with
on random messages: the same bytes, the same values of the same types, the same errors.
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import struct
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from firmware_protocol.errors import EncodeError
from firmware_protocol.fields import (
    _RANGES,
    Array,
    BadField,
    Group,
    Opaque,
    Scalar,
    Text,
    _checked_int,
)
from firmware_protocol.layout import WireStruct

W = TypeVar("W", bound=WireStruct)
_Put = Callable[[Any, list[Any]], None]
"""Checks one field's value and appends what ``struct.pack`` takes for it."""
_Read = Callable[[tuple[Any, ...]], Any]
"""Takes one field's value out of the unpacked fixed part, converted and checked."""


class ReferenceCodec(Generic[W]):
    """Encoder and decoder of one ``WireStruct`` class, field by field (the codec before
    issue 18).

    The layout is walked here, once per class, instead of once per message: each field becomes
    a small function that checks (encode) or converts and checks (decode) its value, and each
    enum field gets a lookup table. The checks and their error messages are those of the
    layout, field by field in layout order.
    """

    def __init__(self, cls: type[W]) -> None:
        self.cls = cls
        self.layout = cls.LAYOUT
        names = [f.name for f in self.layout if not isinstance(f, Group)]
        codes: list[str] = []
        self._puts: list[_Put] = []
        self._reads: list[_Read] = []
        index = 0  # flattened field index (NAK numbering)
        position = 0  # position in the unpacked fixed part
        group: Group | None = None
        for f in self.layout:
            if isinstance(f, Group):
                if f is not self.layout[-1]:
                    raise TypeError(f"{cls.__name__}: a Group must be the last field")
                group = f
                break
            if isinstance(f, Scalar):
                codes.append(f.code)
                self._puts.append(_put_int(f.name, f.code))
                self._reads.append(_read_scalar(f, position, index))
                position += 1
            elif isinstance(f, Array):
                codes.append(f"{f.count}{f.code}")
                self._puts.append(_put_array(f))
                self._reads.append(operator.itemgetter(slice(position, position + f.count)))
                position += f.count
            elif isinstance(f, Opaque):
                codes.append(f"{f.size}s")
                self._puts.append(_put_opaque(f))
                self._reads.append(operator.itemgetter(position))
                position += 1
            else:
                codes.append(f"{f.size}s")
                self._puts.append(_put_text(f))
                self._reads.append(_read_text(f, position, index))
                position += 1
            index += f.width
        self.fixed = struct.Struct("<" + "".join(codes))
        self._group = group
        # A group's count/length error has always named the index after the group's own
        # (the sum of every field's width); kept as it is, since NAKs carry it.
        self._group_index = index + (group.width if group is not None else 0)
        self._elem: ReferenceCodec[Any] | None = None
        if group is not None:
            self._elem = ReferenceCodec(group.elem)
            if self._elem._group is not None or not self._elem.fixed.size:
                raise TypeError(
                    f"{cls.__name__}.{group.name}: records need a fixed, non-empty size"
                )
        # Decoded values are passed positionally, so the dataclass must list the wire fields in
        # layout order (every message does; checked here once rather than trusted).
        if dataclasses.is_dataclass(cls):
            declared = [f.name for f in dataclasses.fields(cls)]
            wanted = [*names, *([group.name] if group is not None else [])]
            if declared != wanted:
                raise TypeError(f"{cls.__name__}: dataclass fields {declared} != LAYOUT {wanted}")
        self._names = tuple(names)
        # Most layouts are integers only: their values go to struct.pack as they are, after one
        # loop over the precomputed ranges (an IntEnum packs as its value).
        scalars = [f for f in self.layout if isinstance(f, Scalar)]
        self._int_ranges: tuple[tuple[str, int, int], ...] | None = None
        if len(scalars) == len(names):
            self._int_ranges = tuple((f.name, *_RANGES[f.code]) for f in scalars)
        self._get_fixed = _getter(self._names)

    def encode(self, message: W) -> bytes:
        ranges = self._int_ranges
        if ranges is not None:
            values = self._get_fixed(message)
            for value, (name, lo, hi) in zip(values, ranges, strict=True):
                if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                    raise EncodeError(name, value, f"integer {lo}..{hi}")
        else:
            values = []
            for put, value in zip(self._puts, self._get_fixed(message), strict=True):
                put(value, values)
        out = self.fixed.pack(*values)
        group = self._group
        if group is not None:
            records: Sequence[WireStruct] = getattr(message, group.name)
            if len(records) > group.max_count:
                raise EncodeError(group.name, len(records), f"at most {group.max_count} records")
            out += bytes([len(records)]) + b"".join(self._record(r) for r in records)
        return out

    def decode(self, payload: bytes) -> W:
        fixed = self.fixed
        name = self.cls.__name__
        if self._group is None and len(payload) != fixed.size:
            raise BadField(None, f"{name} payload must be {fixed.size} bytes, got {len(payload)}")
        if len(payload) < fixed.size:
            raise BadField(None, f"{name} payload shorter than {fixed.size} bytes")
        raw = fixed.unpack_from(payload)
        values = [read(raw) for read in self._reads]
        group, elem = self._group, self._elem
        if group is not None and elem is not None:
            rest = payload[fixed.size :]
            count = rest[0] if rest else -1
            if count < 0 or count > group.max_count or len(rest) != 1 + count * elem.fixed.size:
                raise BadField(self._group_index, f"{name}.{group.name} count/length inconsistent")
            values.append(tuple(elem.from_raw(r) for r in elem.fixed.iter_unpack(rest[1:])))
        return self.cls(*values)

    def _record(self, record: WireStruct) -> bytes:
        elem = self._elem
        assert elem is not None
        return elem.encode(record) if type(record) is elem.cls else record.encode()

    def from_raw(self, raw: tuple[Any, ...]) -> W:
        """Build an instance from its unpacked fixed part (a group's record)."""
        return self.cls(*[read(raw) for read in self._reads])


def _getter(names: Sequence[str]) -> Callable[[Any], Sequence[Any]]:
    """A function returning the values of the attributes ``names`` of an object, in order."""
    if len(names) > 1:
        return operator.attrgetter(*names)  # a tuple of the values
    return lambda obj: tuple(getattr(obj, name) for name in names)


def _put_int(name: str, code: str) -> _Put:
    lo, hi = _RANGES[code]

    def put(value: Any, out: list[Any]) -> None:
        out.append(_checked_int(name, value, lo, hi))

    return put


def _put_array(f: Array) -> _Put:
    lo, hi = _RANGES[f.code]

    def put(value: Any, out: list[Any]) -> None:
        if len(value) != f.count:
            raise EncodeError(f.name, value, f"exactly {f.count} elements")
        out.extend(_checked_int(f"{f.name}[{i}]", v, lo, hi) for i, v in enumerate(value))

    return put


def _put_text(f: Text) -> _Put:
    def put(value: Any, out: list[Any]) -> None:
        raw = str(value).encode("ascii", errors="strict") if value.isascii() else None
        if raw is None or len(raw) > f.size or b"\x00" in raw:
            raise EncodeError(f.name, value, f"ASCII without NUL, at most {f.size} bytes")
        out.append(raw)

    return put


def _put_opaque(f: Opaque) -> _Put:
    def put(value: Any, out: list[Any]) -> None:
        if not isinstance(value, bytes) or len(value) != f.size:
            raise EncodeError(f.name, value, f"exactly {f.size} bytes")
        out.append(value)

    return put


def _read_scalar(f: Scalar, position: int, index: int) -> _Read:
    kind = f.enum
    if kind is None:
        return operator.itemgetter(position)
    if issubclass(kind, enum.IntFlag):
        return _read_flags(kind, f.name, position, index)
    # Every defined value to its member: what kind(value) returns, without Enum.__call__.
    members: dict[int, enum.IntEnum] = {int(m): m for m in kind}
    kind_name = kind.__name__

    def read(raw: tuple[Any, ...]) -> Any:
        value = raw[position]
        member = members.get(value)
        if member is None:
            raise BadField(index, f"{f.name}={value} is not a valid {kind_name}")
        return member

    return read


def _read_flags(kind: type[enum.IntFlag], name: str, position: int, index: int) -> _Read:
    known = 0
    for member in kind:
        known |= int(member)
    # kind(value) for each value seen, filled as values are seen: at most one entry per
    # combination of defined bits, and an IntFlag never changes, so nothing invalidates it.
    seen: dict[int, enum.IntFlag] = {}

    def read(raw: tuple[Any, ...]) -> Any:
        value = raw[position]
        flags = seen.get(value)
        if flags is None:
            if value & ~known:
                raise BadField(index, f"{name}=0x{value:02X} has bits undefined in {kind.__name__}")
            flags = seen[value] = kind(value)
        return flags

    return read


def _read_text(f: Text, position: int, index: int) -> _Read:
    def read(raw: tuple[Any, ...]) -> Any:
        text = raw[position].rstrip(b"\x00")
        if b"\x00" in text or not text.isascii():
            raise BadField(index, f"{f.name} is not NUL-padded ASCII")
        return text.decode("ascii")

    return read
