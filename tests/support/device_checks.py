"""Checks the two hypothesis state machines make of a simulated device.

Shared by ``tests/simulator/test_stateful.py`` (raw frames against the device) and
``tests/reliability/test_stateful_host.py`` (the host against the device): a frame damaged on the
wire, what such a frame must leave unchanged, and the limits and charge balance of every pulse
(each pulse checked once: ``check_new_pulses``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import assume
from hypothesis import strategies as st

from firmware_protocol import UntrustedFrameError, decode_frame
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device
from simulator.hardware.faults import EventKind

__all__ = ["check_new_pulses", "check_pulses", "damaged", "draw_event_fields", "snapshot"]


def draw_event_fields(
    data: st.DataObject,
    kind: EventKind,
    *,
    channels: int,
    loads: Sequence[str],
    current_uA: st.SearchStrategy[int],
) -> dict[str, Any]:
    """The fields a device event of ``kind`` takes, drawn (in this order): a channel of
    ``channels`` if it names one, a load of ``loads`` for LOAD, a ``current_uA`` for
    STUCK_OUTPUT."""
    fields: dict[str, Any] = {}
    if kind.needs_channel:
        fields["channel"] = data.draw(st.integers(0, channels - 1))
    if kind is EventKind.LOAD:
        fields["load"] = data.draw(st.sampled_from(loads))
    if kind is EventKind.STUCK_OUTPUT:
        fields["current_uA"] = data.draw(current_uA)
    return fields


def damaged(frame: bytes, flips: list[int]) -> bytes:
    """``frame`` (encoded, with its 0x00 delimiter) with the bits ``flips`` name flipped (each
    modulo the frame's length in bits), delimited again. Hypothesis discards (``assume``) an
    example whose damage leaves nothing to send, or a piece that still decodes."""
    body = bytearray(frame[:-1])
    for flip in flips:
        bit = flip % (len(body) * 8)
        body[bit // 8] ^= 1 << (bit % 8)
    pieces = [piece for piece in bytes(body).split(b"\x00") if piece]
    assume(pieces)
    for piece in pieces:  # a flip can make a zero byte and so split the frame in two
        try:
            decode_frame(piece)
        except UntrustedFrameError:
            continue
        assume(False)  # still decodes (a CRC-32C collision): not a corrupted frame
    return bytes(body) + b"\x00"


def snapshot(device: Device) -> tuple[Any, ...]:
    """What a command could change on ``device``: its status (but the counts of refused frames:
    ``rx_err_count``, ``auth_fail_count``, ``replay_count``), boot id, session, lease and every
    channel's program."""
    status = device.status().replace(rx_err_count=0, auth_fail_count=0, replay_count=0)
    programs = tuple(channel.program for channel in device.channels)
    return (status, device.boot_id, device.session_id, device.lease_ms, programs)


def check_pulses(model: DeviceModel, pulses: npt.NDArray[np.void]) -> None:
    """Every pulse of ``pulses`` (a pulse table) has equal charge in its two phases and keeps its
    amplitude, phase charge, phase width and interphase gap within ``model``'s limits."""
    pos_nC = pulses["amp_pos_uA"] * pulses["width_pos_us"] / 1000
    neg_nC = pulses["amp_neg_uA"] * pulses["width_neg_us"] / 1000
    np.testing.assert_allclose(pos_nC, neg_nC, rtol=1e-9, atol=1e-9)
    assert (pulses["amp_pos_uA"] <= model.max_intensity_uA).all()
    assert (pos_nC <= model.max_phase_charge_nC * (1 + 1e-12)).all()
    widths = pulses["width_pos_us"]
    assert ((widths >= model.min_phase_us) & (widths <= model.max_phase_us)).all()
    assert (pulses["interphase_us"] <= model.max_interphase_us).all()


def check_new_pulses(model: DeviceModel, device: Device, checked_until_us: list[int]) -> int:
    """``check_pulses`` on what each channel of ``device`` delivered since its mark in
    ``checked_until_us`` (one a channel, from channel index 0), each channel flushed to now
    first; the marks move to now. Returns how many pulses were checked."""
    now_us = device.now_us
    checked = 0
    for index in range(len(checked_until_us)):
        device.channels[index].flush(now_us)
        pulses = device.recorder[index].pulse_table(checked_until_us[index], now_us)
        checked_until_us[index] = now_us
        if len(pulses):
            check_pulses(model, pulses)
            checked += len(pulses)
    return checked
