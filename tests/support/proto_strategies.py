"""Hypothesis strategies for every message, derived from the layouts themselves."""

from __future__ import annotations

import enum
from typing import Any

from hypothesis import strategies as st

import firmware_protocol as fp
from firmware_protocol.layout import (
    _RANGES,
    Array,
    Group,
    Opaque,
    Scalar,
    Text,
    WireField,
    WireStruct,
)


def _field(f: WireField) -> st.SearchStrategy[Any]:
    if isinstance(f, Scalar):
        if f.enum is not None:
            if issubclass(f.enum, enum.IntFlag):
                return st.lists(st.sampled_from(list(f.enum))).map(
                    lambda xs, e=f.enum: e(sum({int(x) for x in xs}))
                )
            return st.sampled_from(list(f.enum))
        lo, hi = _RANGES[f.code]
        return st.integers(lo, hi)
    if isinstance(f, Array):
        lo, hi = _RANGES[f.code]
        return st.tuples(*[st.integers(lo, hi)] * f.count)
    if isinstance(f, Text):
        return st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=f.size)
    if isinstance(f, Opaque):
        return st.binary(min_size=f.size, max_size=f.size)
    assert isinstance(f, Group)
    return st.lists(struct_of(f.elem), max_size=f.max_count).map(tuple)


def struct_of(cls: type[WireStruct]) -> st.SearchStrategy[Any]:
    """A strategy producing valid instances of ``cls``."""
    return st.builds(cls, **{f.name: _field(f) for f in cls.LAYOUT})


messages: st.SearchStrategy[fp.Message] = st.one_of(
    [struct_of(cls) for cls in fp.MESSAGE_TYPES.values()]
)

u16 = st.integers(0, 0xFFFF)

u32 = st.integers(0, 0xFFFF_FFFF)
