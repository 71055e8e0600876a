"""Turn a device's NAK into a typed error that names the command, the code, the field and the
limit in words (PROTOCOL.md §7).

``DeviceNak.field`` is the refused message's field *name* (``target_uA``), found through the
refused message class's layout, never a bare index. Where a limit has an API unit, the hint
(``DeviceNak.hint``) gives it in that unit (``limit 20 mA``) as well. A refusal because of a latched
fault is a ``DeviceFault``: the command cannot proceed until the fault is cleared.
"""

from __future__ import annotations

import functools

from eacontrol.errors import DeviceError, DeviceFault, DeviceNak
from firmware_protocol import (
    NO_FIELD,
    ChannelState,
    Fault,
    Message,
    MsgType,
    Nak,
    NakCode,
    Start,
    units,
)

__all__ = ["fault_names", "nak_error"]


@functools.lru_cache(maxsize=256)
def fault_names(bits: int) -> tuple[str, ...]:
    """Return the names of the ``Fault`` bits set in ``bits`` (unknown bits as hex)."""
    # Cached per bit pattern: every channel of every STATUS is named, nearly always with the
    # same few patterns, and the answer for a pattern never changes.
    names = [f.name or "" for f in Fault if f and bits & f]
    unknown = bits & ~sum(int(f) for f in Fault)
    if unknown:
        names.append(f"0x{unknown:02X}")
    return tuple(names)


_STATE_VALUES = frozenset(int(s) for s in ChannelState)


def _limit_in_api_units(field: str, limit: int) -> str | None:
    if field.endswith("_uA") or field.endswith("_uA_per_s"):
        per_s = "/s" if field.endswith("_per_s") else ""
        return f"{units.uA_to_mA(limit):g} mA{per_s}"
    if field.endswith("_cHz"):
        return f"{units.cHz_to_hz(limit):g} Hz"
    if field.endswith("_ms"):
        return f"{units.ms_to_s(limit):g} s"
    if field.endswith("_us"):
        return f"{limit} µs"
    return None


def _channel_of(command: Message, field_index: int) -> int | None:
    """The channel *number* (from 1) a refused command concerned, if one."""
    if isinstance(command, Start) and 1 <= field_index <= len(command.program_crc):
        return field_index
    channel = getattr(command, "channel", None)
    if isinstance(channel, int):
        return channel + 1
    mask = getattr(command, "channel_mask", None)
    if isinstance(mask, int) and mask and not mask & (mask - 1):
        return mask.bit_length()
    return None


def _code_note(code: NakCode | int, field: str | None, limit: int) -> str | None:
    if code == NakCode.OUT_OF_RANGE and field is not None:
        api = _limit_in_api_units(field, limit)
        return f"device limit for {field}: {limit}" + (f" ({api})" if api else "")
    if code == NakCode.BAD_STATE and limit in _STATE_VALUES:
        return f"the channel is {ChannelState(limit).name}"
    if code == NakCode.PROGRAM_MISMATCH:
        return f"the device holds a program with CRC 0x{limit:08X}"
    if code == NakCode.NONZERO_START:
        return f"the output is still at {units.uA_to_mA(limit):g} mA; every run starts from zero"
    if code == NakCode.NO_SESSION:
        return (
            f"the device's open session is {limit} (0 = none): it rebooted or another host "
            "opened a session; stimulation did not and will not resume by itself"
        )
    if code == NakCode.NO_LEASE:
        return "the heartbeat lease is not valid: service the link (stim.wait/service)"
    if code == NakCode.SELF_TEST_FAILED:
        return (
            f"the output stage conducts {units.uA_to_mA(limit):g} mA with its relay open and its "
            "source at zero: nothing was cleared, and the fault stays latched until the device "
            "is power-cycled; have it serviced if that recurs"
        )
    if code == NakCode.BAD_CHANNEL:
        return f"the device has {limit} channel(s), numbered 1..{limit}"
    return None


def nak_error(command: Message, nak: Nak) -> DeviceError:
    """Build the error for ``nak``, the device's refusal of ``command``.

    Args:
        command: the message that was refused.
        nak: the device's NAK.

    Returns:
        A ``DeviceFault`` when a latched fault (or a channel in FAULT) blocks the command,
        otherwise a ``DeviceNak`` naming the command, code, field and limit.
    """
    command_name = MsgType(command.MSG_TYPE).name
    try:
        code_name = NakCode(nak.code).name
    except ValueError:
        code_name = f"code {nak.code}"
    field = None if nak.field == NO_FIELD else type(command).field_name(nak.field)
    channel = _channel_of(command, nak.field)
    if nak.code == NakCode.FAULT_LATCHED or (
        nak.code == NakCode.BAD_STATE and nak.limit == ChannelState.FAULT
    ):
        bits = nak.limit if nak.code == NakCode.FAULT_LATCHED else 0
        names = fault_names(bits) or ("FAULT",)
        where = f"channel {channel}" if channel is not None else "a channel"
        return DeviceFault(
            f"device refused {command_name}: {where} has a latched fault ({', '.join(names)}); "
            "clear it with clear_fault() once the cause is fixed",
            channel,
            names,
        )
    return DeviceNak(
        command_name, code_name, field, nak.limit, _code_note(nak.code, field, nak.limit) or ""
    )
