"""The compiled payload codec (issue 18) against the field-by-field reference codec.

On random messages of every type, valid or with one field made hostile (a bool, a float, a
string, None, out of range by one, another enum), and on random and damaged payloads, both
codecs must give the same bytes, the same decoded values of the same types (an IntEnum member,
not an int that equals it) and the same errors (type, field name or NAK index, message).
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from proto_strategies import messages, struct_of
from reference_codec import ReferenceCodec
from tiers import examples

import firmware_protocol as fp
from firmware_protocol.codec import _Codec
from firmware_protocol.layout import _RANGES, Array, Group, Scalar, Text, WireStruct

CLASSES: list[type[WireStruct]] = [*fp.MESSAGE_TYPES.values(), fp.ChannelStatus]
_REFERENCE = {cls: ReferenceCodec(cls) for cls in CLASSES}


def _typed(value: Any) -> Any:
    """``value`` with the type of every part spelled out (IntEnum == int would hide it)."""
    if isinstance(value, WireStruct):
        return (type(value), [(name, _typed(v)) for name, v in vars(value).items()])
    if isinstance(value, tuple):
        return tuple(_typed(v) for v in value)
    return (type(value), value)


def _outcome(run: Any, *args: Any) -> Any:
    """What calling ``run`` gives: its result, typed, or its exception, with every detail."""
    try:
        result = run(*args)
    except Exception as err:
        details = {k: v for k, v in vars(err).items() if isinstance(v, int | str | None)}
        return (type(err).__name__, str(err), details)
    return _typed(result)


def _both_encode(message: WireStruct) -> tuple[Any, Any]:
    cls = type(message)
    return _outcome(cls._codec().encode, message), _outcome(_REFERENCE[cls].encode, message)


def _both_decode(cls: type[WireStruct], payload: bytes) -> tuple[Any, Any]:
    return _outcome(cls._codec().decode, payload), _outcome(_REFERENCE[cls].decode, payload)


def test_every_class_has_its_compiled_codec() -> None:
    for cls in CLASSES:
        assert isinstance(cls._codec(), _Codec)
        assert cls._codec().fixed.size == _REFERENCE[cls].fixed.size


@settings(max_examples=examples(1000))
@given(messages)
def test_valid_messages_encode_and_decode_as_the_reference(message: fp.Message) -> None:
    compiled, reference = _both_encode(message)
    assert compiled == reference
    payload = message.encode()
    assert type(message).decode(payload) == message
    compiled, reference = _both_decode(type(message), payload)
    assert compiled == reference == _typed(message)


_HOSTILE = st.one_of(
    st.sampled_from([True, False, None, 1.0, "1", b"\x01", -1, 2**64, 2**31, -(2**63)]),
    st.sampled_from([*fp.Mode, *fp.Fault, *fp.ChannelState, *fp.StopMode]),
    st.integers(-(2**70), 2**70),
)
"""Values a field may be given by mistake: wrong types, wrong signs, too large, other enums."""


def _edge(f: Scalar | Array) -> st.SearchStrategy[int]:
    lo, hi = _RANGES[f.code]
    return st.sampled_from([lo - 1, lo, hi, hi + 1])


@st.composite
def _spoiled(draw: st.DrawFn) -> WireStruct:
    """A valid message with one field (perhaps inside a STATUS record) given a hostile value."""
    message: WireStruct = draw(messages)
    target: WireStruct = message
    records: tuple[WireStruct, ...] = ()
    if isinstance(message, fp.Status) and message.channels and draw(st.booleans()):
        records = message.channels
        target = records[draw(st.integers(0, len(records) - 1))]
    fields = [f for f in type(target).LAYOUT if not isinstance(f, Group)]
    if not fields:
        return message
    f = draw(st.sampled_from(fields))
    hostile = _HOSTILE
    if isinstance(f, Scalar):
        hostile = st.one_of(_edge(f), _HOSTILE)
    if isinstance(f, Array):
        element = st.one_of(_edge(f), _HOSTILE)
        hostile = st.one_of(
            _HOSTILE, st.lists(element, min_size=f.count - 1, max_size=f.count + 1).map(tuple)
        )
    spoiled = dataclasses.replace(target, **{f.name: draw(hostile)})  # type: ignore[type-var]
    if target is message:
        return spoiled
    assert isinstance(message, fp.Status)
    channels = tuple(spoiled if r is target else r for r in records)
    return dataclasses.replace(message, channels=channels)  # type: ignore[arg-type]


@settings(max_examples=examples(2000))
@given(_spoiled())
def test_hostile_field_values_give_the_reference_bytes_or_error(message: WireStruct) -> None:
    compiled, reference = _both_encode(message)
    assert compiled == reference


@settings(max_examples=examples(2000))
@given(st.sampled_from(CLASSES), st.data())
def test_random_payloads_decode_as_the_reference(
    cls: type[WireStruct], data: st.DataObject
) -> None:
    payload: bytes = data.draw(
        st.one_of(
            st.binary(max_size=160),
            struct_of(cls).map(lambda m: m.encode()),
        ),
        label="payload",
    )
    if payload and data.draw(st.booleans(), label="damage"):
        at = data.draw(st.integers(0, len(payload) - 1), label="at")
        payload = payload[:at] + bytes([data.draw(st.integers(0, 255))]) + payload[at + 1 :]
    if data.draw(st.booleans(), label="resize"):
        payload = payload[: data.draw(st.integers(0, len(payload)))] + data.draw(
            st.binary(max_size=13), label="extra"
        )
    compiled, reference = _both_decode(cls, payload)
    assert compiled == reference


_FLAG_HOLDERS = {fp.Fault: fp.ChannelStatus, fp.DeviceFlag: fp.Status, fp.InfoFlag: fp.Info}


@pytest.mark.parametrize("kind", list(_FLAG_HOLDERS), ids=lambda k: k.__name__)
@given(data=st.data())
def test_every_value_of_a_flag_byte_decodes_as_the_reference(
    kind: type[enum.IntFlag], data: st.DataObject
) -> None:
    cls = _FLAG_HOLDERS[kind]
    (name,) = [f.name for f in cls.LAYOUT if isinstance(f, Scalar) and f.enum is kind]
    payload = data.draw(struct_of(cls), label="message").encode()
    at = _offset_of(cls, name)
    for value in range(256):
        spoiled = payload[:at] + bytes([value]) + payload[at + 1 :]
        compiled, reference = _both_decode(cls, spoiled)
        assert compiled == reference


def _offset_of(cls: type[WireStruct], name: str) -> int:
    """The byte offset of field ``name`` in the payload of ``cls``."""
    offset = 0
    for f in cls.LAYOUT:
        if f.name == name:
            return offset
        if isinstance(f, Scalar | Array):
            offset += struct.calcsize(f"<{f.count if isinstance(f, Array) else 1}{f.code}")
        else:
            assert not isinstance(f, Group)
            offset += f.size
    raise KeyError(name)


def test_a_bad_fixed_field_is_named_before_a_bad_group_or_record() -> None:
    running = fp.ChannelStatus(fp.ChannelState.RUNNING, fp.Fault(0), 3000, 3000, 2990, 512, 200)
    payload = fp.Status(1, 2, 3, 4, 0, 0, 0, fp.DeviceFlag(0), (running,) * 2).encode()
    flags_at = _offset_of(fp.Status, "flags")
    bad_flags = payload[:flags_at] + b"\xf0" + payload[flags_at + 1 :]
    bad_state = payload[:-12] + b"\x63" + payload[-11:]
    for damaged in (bad_flags, bad_flags[:-1], bad_flags[:-12] + b"\x63" + bad_flags[-11:]):
        compiled, reference = _both_decode(fp.Status, damaged)
        assert compiled == reference
        assert compiled[2] == {"index": fp.Status.field_index("flags")}
    compiled, reference = _both_decode(fp.Status, bad_state)
    assert compiled == reference
    assert "state=99 is not a valid ChannelState" in compiled[1]


_FIXED_HOSTILE = (True, False, None, 1.0, "1", b"\x01", -1, 2**8, 2**16, 2**32, 2**64, -(2**63))
"""Every value that some integer field must refuse (bools, other types, past each width)."""


def _plain(cls: type[WireStruct]) -> WireStruct:
    """A valid instance of ``cls`` built without hypothesis: zeros, first members, two records."""
    values: dict[str, Any] = {}
    for f in cls.LAYOUT:
        if isinstance(f, Scalar):
            values[f.name] = next(iter(f.enum)) if f.enum is not None else 0
        elif isinstance(f, Array):
            values[f.name] = (0,) * f.count
        elif isinstance(f, Group):
            values[f.name] = (_plain(f.elem),) * 2
        else:
            values[f.name] = "" if isinstance(f, Text) else bytes(f.size)
    return cls(**values)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_field_given_each_hostile_value_encodes_as_the_reference(
    cls: type[WireStruct],
) -> None:
    base = _plain(cls)
    for f in cls.LAYOUT:
        if isinstance(f, Group):
            continue
        for value in _FIXED_HOSTILE:
            spoiled = [dataclasses.replace(base, **{f.name: value})]  # type: ignore[type-var]
            if isinstance(f, Array):
                spoiled.append(
                    dataclasses.replace(base, **{f.name: (value,) + (0,) * (f.count - 1)})  # type: ignore[type-var]
                )
            for message in spoiled:
                compiled, reference = _both_encode(message)
                assert compiled == reference, (f.name, value)


def test_every_record_field_given_each_hostile_value_encodes_as_the_reference() -> None:
    base = _plain(fp.Status)
    assert isinstance(base, fp.Status)
    record = base.channels[0]
    for f in fp.ChannelStatus.LAYOUT:
        for value in _FIXED_HOSTILE:
            bad = dataclasses.replace(record, **{f.name: value})
            compiled, reference = _both_encode(base.replace(channels=(record, bad)))
            assert compiled == reference, (f.name, value)


# --- encode_values: the payload from field values, without the instances (issue 18) ---


def _values(message: WireStruct) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """``message``'s fixed field values in layout order, and each group record's."""
    fixed = [getattr(message, f.name) for f in message.LAYOUT if not isinstance(f, Group)]
    records: list[tuple[Any, ...]] = []
    for f in message.LAYOUT:
        if isinstance(f, Group):
            records = [
                tuple(getattr(r, g.name) for g in f.elem.LAYOUT) for r in getattr(message, f.name)
            ]
    return fixed, records


def _both(message: WireStruct) -> tuple[Any, Any]:
    cls = type(message)
    fixed, records = _values(message)
    return _outcome(cls.encode_values, fixed, records), _outcome(cls._codec().encode, message)


@settings(max_examples=examples(1000))
@given(messages)
def test_valid_values_give_the_bytes_of_encode(message: fp.Message) -> None:
    from_values, encoded = _both(message)
    assert from_values == encoded
    assert isinstance(from_values, tuple) and from_values[0] is bytes


@settings(max_examples=examples(2000))
@given(_spoiled())
def test_hostile_values_give_the_bytes_or_the_error_of_encode(message: WireStruct) -> None:
    from_values, encoded = _both(message)
    assert from_values == encoded


def _status() -> tuple[list[Any], tuple[Any, ...]]:
    record = (fp.ChannelState.RUNNING, fp.Fault.NONE, 2000, 1500, 1499, 1200, 200)
    fixed = [7, 1000, 500, 3, 0, 0, 0, fp.DeviceFlag.SESSION_OPEN]
    return fixed, record


def test_too_many_records_fail_as_encode_does() -> None:
    fixed, record = _status()
    records = [record] * (fp.MAX_CHANNELS + 1)
    with pytest.raises(fp.EncodeError) as raised:
        fp.Status.encode_values(fixed, records)
    message = fp.Status(*fixed, tuple(fp.ChannelStatus(*r) for r in records))
    with pytest.raises(fp.EncodeError) as expected:
        message.encode()
    assert str(raised.value) == str(expected.value)


def test_a_record_of_the_wrong_length_is_refused_not_packed() -> None:
    fixed, record = _status()
    # 6 + 8 values would fill two records' struct: they must not be packed as two records.
    with pytest.raises(TypeError):
        fp.Status.encode_values(fixed, [record[:6], (*record, 0)])


def test_an_int_flag_packs_as_its_member() -> None:
    fixed, record = _status()
    as_int = [*fixed[:-1], int(fixed[-1])]
    assert fp.Status.encode_values(as_int, [record]) == fp.Status.encode_values(fixed, [record])
