"""The payload codec of one ``WireStruct`` class, compiled once from its ``LAYOUT``.

Each fixed-layout part — a message's fields before its group, and a group's record — is one
precompiled ``struct.Struct`` with one item per field (an array travels as its packed bytes).
Encoding takes every field value with one ``attrgetter`` and packs them in one call; decoding
unpacks them in one call and fills the instance from the tuple. Neither walks the fields in
Python: the checks run in bulk, in C.

- **Encode.** Integer fields are checked by type in one pass (``map(type, …)`` against the
  layout's allowed types: ``int`` and the layout's enums, so a bool, a float or a string fails)
  and by range by ``struct`` itself, whose standard sizes (``<``) refuse exactly what does not
  fit ``fields._RANGES``. Text, opaque and array fields have their own small conversions (the
  only per-field work: HELLO, PAIR, START, INFO, HELLO_ACK, PAIR_ACK). A group packs all its
  records in one call.
- **Decode.** Enum fields go through lookup tables of every valid value (a flag field: every
  combination of its defined bits); the instance is made without its ``__init__`` (a frozen
  dataclass sets each field through ``object.__setattr__``) when the class has nothing but the
  fields to set.

When a bulk check fails, the same values take the field-by-field path (``_Field``), in layout
order, which raises the error the first bad field has always raised (``EncodeError`` with its
field name, ``BadField`` with its NAK index, PROTOCOL.md §2.6) — and which also accepts what
the bulk check is too narrow for (an ``int`` subclass that is not one of the layout's enums).
"""

from __future__ import annotations

import dataclasses
import enum
import operator
import struct
from collections.abc import Callable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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

if TYPE_CHECKING:
    from firmware_protocol.layout import WireStruct

__all__: list[str] = []

W = TypeVar("W", bound="WireStruct")
_Fixed = Scalar | Array | Text | Opaque
_Values = Sequence[Any]
_new = object.__new__
_INT = frozenset({int})


class _Codec(Generic[W]):
    """Encoder and decoder of one ``WireStruct`` class (built once, kept on the class)."""

    def __init__(self, cls: type[W]) -> None:
        self.cls = cls
        self.layout = cls.LAYOUT
        fixed: list[_Fixed] = []
        group: Group | None = None
        for f in self.layout:
            if isinstance(f, Group):
                if f is not self.layout[-1]:
                    raise TypeError(f"{cls.__name__}: a Group must be the last field")
                group = f
            else:
                fixed.append(f)
        names = tuple(f.name for f in fixed)
        _check_declared(cls, [*names, *([group.name] if group is not None else [])])
        self.fixed = struct.Struct("<" + "".join(map(_item_code, fixed)))
        self._get = _getter(names)
        self._fields = tuple(
            _Field(f, index) for f, index in zip(fixed, _indices(fixed), strict=True)
        )
        # Encoding: the integer fields' allowed types; the other fields' conversions.
        self._types = frozenset(
            {int, *(f.enum for f in fixed if isinstance(f, Scalar) and f.enum is not None)}
        )
        scalars = [i for i, f in enumerate(fixed) if isinstance(f, Scalar)]
        self._get_ints = None if len(scalars) == len(fixed) else _items(scalars)
        self._puts = tuple((i, c.put) for i, c in enumerate(self._fields) if c.put is not None)
        # Decoding: one builder, from the unpacked tuple to the instance.
        all_names = (*names, *([group.name] if group is not None else []))
        self._build: Callable[[_Values], W] = _builder(cls, all_names, self._fields)
        self._make: Callable[[_Values], W] = _maker(cls, all_names) or (lambda v: cls(*v))
        self._group = group
        # A group's count/length error has always named the index after the group's own
        # (the sum of every field's width); kept as it is, since NAKs carry it.
        self._group_index = sum(f.width for f in self.layout)
        self._elem: _Codec[Any] | None = None
        self._records: tuple[struct.Struct, ...] = ()
        if group is not None:
            elem = self._elem = group.elem._codec()
            if elem._group is not None or not elem.fixed.size:
                raise TypeError(
                    f"{cls.__name__}.{group.name}: records need a fixed, non-empty size"
                )
            # The count byte and n records in one struct, for n = 0 … max_count.
            codes = elem.fixed.format[1:]
            self._records = tuple(
                struct.Struct("<B" + codes * n) for n in range(group.max_count + 1)
            )

    # --- encoding ----------------------------------------------------------------------------

    def encode(self, message: W) -> bytes:
        """The payload of ``message``.

        Raises:
            EncodeError: a field value does not fit its wire type (the first, in layout order).
        """
        out = self._pack(self._get(message))
        group = self._group
        if group is not None:
            out += self._pack_group(group, getattr(message, group.name))
        return out

    def _pack(self, values: _Values) -> bytes:
        try:
            args, ints = values, values
            if self._puts:
                converted = list(values)
                for i, put in self._puts:
                    converted[i] = put(converted[i])
                args = converted
                ints = self._get_ints(values) if self._get_ints is not None else ()
            if self._types.issuperset(map(type, ints)):
                return self.fixed.pack(*args)
        except (EncodeError, struct.error):
            pass
        return self.fixed.pack(*[c.checked(v) for c, v in zip(self._fields, values, strict=True)])

    def _pack_group(self, group: Group, records: Sequence[WireStruct]) -> bytes:
        count = len(records)
        if count > group.max_count:
            raise EncodeError(group.name, count, f"at most {group.max_count} records")
        elem = self._elem
        assert elem is not None  # a group always has its record codec
        if not elem._puts and {elem.cls}.issuperset(map(type, records)):
            flat = list(chain.from_iterable(map(elem._get, records)))
            if elem._types.issuperset(map(type, flat)):
                try:
                    return self._records[count].pack(count, *flat)
                except struct.error:
                    pass
        return bytes([count]) + b"".join(r.encode() for r in records)

    def encode_values(self, values: _Values, records: Sequence[_Values] = ()) -> bytes:
        """The payload of ``cls(*values, tuple(elem(*r) for r in records))`` (the group only if
        the class has one) without building the instances: the same bytes, and through
        ``encode`` on the instances the same error, whenever the bulk checks do not pass.
        """
        elem = self._elem
        if not self._puts and self._types.issuperset(map(type, values)):
            try:
                out = self.fixed.pack(*values)
                if elem is None:
                    if not records:
                        return out
                elif len(records) < len(self._records) and not elem._puts:
                    flat = list(chain.from_iterable(records))
                    if {len(elem._fields)}.issuperset(map(len, records)) and elem._types.issuperset(
                        map(type, flat)
                    ):
                        return out + self._records[len(records)].pack(len(records), *flat)
            except struct.error:
                pass
        make: Any = self.cls
        if elem is None:
            return self.encode(make(*values, *records))
        record: Any = elem.cls
        return self.encode(make(*values, tuple(record(*r) for r in records)))

    # --- decoding ----------------------------------------------------------------------------

    def decode(self, payload: bytes) -> W:
        """The instance ``payload`` encodes.

        Raises:
            BadField: wrong payload length or an invalid field (the first, in layout order).
        """
        fixed = self.fixed
        size = fixed.size
        group, elem = self._group, self._elem
        if group is None or elem is None:
            if len(payload) != size:
                name = self.cls.__name__
                raise BadField(None, f"{name} payload must be {size} bytes, got {len(payload)}")
            return self.from_raw(fixed.unpack(payload))
        if len(payload) < size:
            raise BadField(None, f"{self.cls.__name__} payload shorter than {size} bytes")
        raw = fixed.unpack_from(payload)
        count = payload[size] if len(payload) > size else -1
        if (
            count < 0
            or count > group.max_count
            or len(payload) != size + 1 + count * elem.fixed.size
        ):
            self._checked(raw)  # the fixed part's own error comes first
            name = f"{self.cls.__name__}.{group.name}"
            raise BadField(self._group_index, f"{name} count/length inconsistent")
        records = elem.fixed.iter_unpack(payload[size + 1 :])
        try:
            return self._build((*raw, tuple(map(elem._build, records))))
        except (KeyError, BadField):
            values = self._checked(raw)
            records = elem.fixed.iter_unpack(payload[size + 1 :])
            values.append(tuple(map(elem._build_checked, records)))
            return self._make(values)

    def from_raw(self, raw: tuple[Any, ...]) -> W:
        """Build an instance from its unpacked fixed part (a group's record).

        Raises:
            BadField: a field is invalid (the first, in layout order).
        """
        try:
            return self._build(raw)
        except (KeyError, BadField):
            return self._build_checked(raw)

    def _checked(self, raw: tuple[Any, ...]) -> list[Any]:
        """The fixed part's values, converted and checked field by field in layout order."""
        return [c.read(v) for c, v in zip(self._fields, raw, strict=True)]

    def _build_checked(self, raw: tuple[Any, ...]) -> W:
        return self._make(self._checked(raw))


class _Field:
    """One fixed-layout field, checked on its own: the per-field path of the codec.

    Attributes:
        put: the conversion of a text, opaque or array value to its struct item (None for an
            integer, which ``struct`` takes as it is).
        table: an enum field's every valid wire value to its member (None otherwise).
        special: for decoding, the conversion of a text or array item (None otherwise).
    """

    def __init__(self, f: _Fixed, index: int) -> None:
        self.field = f
        self.index = index
        self.put: Callable[[Any], Any] | None = None
        self.table: dict[int, Any] | None = None
        self.special: Callable[[Any], Any] | None = None
        if isinstance(f, Scalar):
            if f.enum is not None:
                self.table = _table(f.enum)
        elif isinstance(f, Array):
            self.put = _put_array(f)
            self.special = struct.Struct(f"<{f.count}{f.code}").unpack
        elif isinstance(f, Text):
            self.put = _put_text(f)
            self.special = self.read
        else:
            self.put = _put_opaque(f)

    def checked(self, value: Any) -> Any:
        """The struct item for ``value``.

        Raises:
            EncodeError: the value does not fit the field.
        """
        f = self.field
        if self.put is not None:
            return self.put(value)
        assert isinstance(f, Scalar)
        lo, hi = _RANGES[f.code]
        return _checked_int(f.name, value, lo, hi)

    def read(self, item: Any) -> Any:
        """The decoded value of struct item ``item``.

        Raises:
            BadField: an undefined enum value or flag bit, or text that is not NUL-padded ASCII.
        """
        f = self.field
        if self.table is not None:
            assert isinstance(f, Scalar) and f.enum is not None
            member = self.table.get(item)
            if member is None:
                kind = f.enum.__name__
                if issubclass(f.enum, enum.IntFlag):
                    raise BadField(
                        self.index, f"{f.name}=0x{item:02X} has bits undefined in {kind}"
                    )
                raise BadField(self.index, f"{f.name}={item} is not a valid {kind}")
            return member
        if isinstance(f, Text):
            text = item.rstrip(b"\x00")
            if b"\x00" in text or not text.isascii():
                raise BadField(self.index, f"{f.name} is not NUL-padded ASCII")
            return text.decode("ascii")
        if self.special is not None:
            return self.special(item)
        return item


_Build = Callable[[_Values], Any]


def _builder(cls: type, names: Sequence[str], fields: Sequence[_Field]) -> _Build:
    """The function from unpacked values (the fixed part's, then a group's records) to the
    instance: enum lookups and text/array conversions without a pass over every field.

    Raises a ``KeyError`` or ``BadField`` on an invalid value; the caller then takes the
    field-by-field path, which names it.
    """
    make = _maker(cls, names)
    lookups = [(i, c.field.name, c.table) for i, c in enumerate(fields) if c.table is not None]
    specials = [(i, c.special) for i, c in enumerate(fields) if c.special is not None]
    if make is not None and not specials and len(lookups) <= 2:
        return _straight(cls, names, lookups)

    construct = make if make is not None else lambda values: cls(*values)

    def build_general(values: _Values) -> Any:
        converted = list(values)
        for i, _, table in lookups:
            converted[i] = table[converted[i]]
        for i, special in specials:
            converted[i] = special(converted[i])
        return construct(converted)

    return build_general


def _straight(cls: type, names: Sequence[str], lookups: list[tuple[int, str, Any]]) -> _Build:
    """The builder of an integer layout with at most two enum fields (every message's fixed
    part and record but the handshake's), written out for each case: no loop at all."""
    if not names:
        return lambda values: cls()  # a message without fields (HEARTBEAT, GET_STATUS …)
    if not lookups:

        def build0(values: _Values) -> Any:
            obj: Any = _new(cls)
            obj.__dict__.update(zip(names, values))  # noqa: B905 - as many as names, from the struct
            return obj

        return build0
    (i, name, table), *more = lookups
    if not more:

        def build1(values: _Values) -> Any:
            obj: Any = _new(cls)
            state = obj.__dict__
            state.update(zip(names, values))  # noqa: B905 - as many as names, from the struct
            state[name] = table[values[i]]
            return obj

        return build1
    ((j, name_j, table_j),) = more

    def build2(values: _Values) -> Any:
        obj: Any = _new(cls)
        state = obj.__dict__
        state.update(zip(names, values))  # noqa: B905 - as many as names, from the struct
        state[name] = table[values[i]]
        state[name_j] = table_j[values[j]]
        return obj

    return build2


def _maker(cls: type, names: Sequence[str]) -> Callable[[_Values], Any] | None:
    """A function making ``cls(*values)`` without running ``__init__``, or None where that
    would not make the same object: only a dataclass whose ``__init__`` just sets its fields
    (no ``__post_init__``, no slots, every field an ``__init__`` argument) qualifies."""
    if (
        not dataclasses.is_dataclass(cls)
        or hasattr(cls, "__post_init__")
        or "__slots__" in cls.__dict__
        or not all(f.init for f in dataclasses.fields(cls))
    ):
        return None

    def make(values: _Values) -> Any:
        obj: Any = _new(cls)
        obj.__dict__.update(zip(names, values))  # noqa: B905 - as many as names, from the struct
        return obj

    return make


def _table(kind: type[enum.IntEnum] | type[enum.IntFlag]) -> dict[int, Any]:
    """Every valid wire value of ``kind`` to what ``kind(value)`` returns: an IntEnum's
    members; for an IntFlag, every combination of its defined bits."""
    if not issubclass(kind, enum.IntFlag):
        return {int(m): m for m in kind}
    known = 0
    for member in kind:
        known |= int(member)
    table: dict[int, Any] = {}
    subset = known
    while True:  # every subset of the known bits, each once (2**bits of them)
        table[subset] = kind(subset)
        if not subset:
            return table
        subset = (subset - 1) & known


def _put_array(f: Array) -> Callable[[Any], bytes]:
    lo, hi = _RANGES[f.code]
    pack = struct.Struct(f"<{f.count}{f.code}").pack

    def put(value: Any) -> bytes:
        if len(value) != f.count:
            raise EncodeError(f.name, value, f"exactly {f.count} elements")
        if _INT.issuperset(map(type, value)):
            try:
                return pack(*value)
            except struct.error:
                pass
        return pack(*[_checked_int(f"{f.name}[{i}]", v, lo, hi) for i, v in enumerate(value)])

    return put


def _put_text(f: Text) -> Callable[[Any], bytes]:
    def put(value: Any) -> bytes:
        raw = str(value).encode("ascii", errors="strict") if value.isascii() else None
        if raw is None or len(raw) > f.size or b"\x00" in raw:
            raise EncodeError(f.name, value, f"ASCII without NUL, at most {f.size} bytes")
        return raw

    return put


def _put_opaque(f: Opaque) -> Callable[[Any], bytes]:
    def put(value: Any) -> bytes:
        if not isinstance(value, bytes) or len(value) != f.size:
            raise EncodeError(f.name, value, f"exactly {f.size} bytes")
        return value

    return put


def _check_declared(cls: type, wanted: list[str]) -> None:
    """Decoded values are placed by position: the dataclass must list the wire fields in layout
    order (every message does; checked here once rather than trusted)."""
    if dataclasses.is_dataclass(cls):
        declared = [f.name for f in dataclasses.fields(cls)]
        if declared != wanted:
            raise TypeError(f"{cls.__name__}: dataclass fields {declared} != LAYOUT {wanted}")


def _item_code(f: _Fixed) -> str:
    """The field's one item in the fixed part's struct format."""
    if isinstance(f, Scalar):
        return f.code
    if isinstance(f, Array):
        return f"{f.count * struct.calcsize('<' + f.code)}s"
    return f"{f.size}s"


def _indices(fields: Sequence[_Fixed]) -> list[int]:
    """Each field's first flattened index (the NAK numbering of PROTOCOL.md §2.6)."""
    out, index = [], 0
    for f in fields:
        out.append(index)
        index += f.width
    return out


def _getter(names: Sequence[str]) -> Callable[[Any], _Values]:
    """A function returning the attributes ``names`` of an object, as a sequence, in order."""
    if len(names) > 1:
        return operator.attrgetter(*names)  # a tuple of the values
    return lambda obj: tuple(getattr(obj, name) for name in names)


def _items(positions: Sequence[int]) -> Callable[[_Values], _Values]:
    """A function returning the items at ``positions`` of a sequence, as a sequence."""
    if len(positions) > 1:
        return operator.itemgetter(*positions)
    return lambda values: tuple(values[i] for i in positions)


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # still building it: not yet shared
