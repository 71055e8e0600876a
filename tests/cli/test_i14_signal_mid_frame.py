"""Issue 14 item 5, the flaky half: a signal that arrives while the link decodes a frame.

``test_i14_05_…[SIGTERM]`` failed once in CI with the record missing the device's STOPPED event
for channel 1 (``{2} != {1, 2}``). The signal's exception had been raised inside the host's frame
decoder; the decoder kept the frame it was decoding in its buffer, glued the next frame to it,
and that next frame, the device's EVENT STOPPED for channel 1 (the first frame after the STOP),
failed its CRC and was dropped. Here the signal is raised at that very point, in-process, on
``sim://`` in virtual time: no real-time wait, no luck needed. Since the fix (``cli/signals.py``)
the exception waits until the link's call returns.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

import firmware_protocol.frame
from eacontrol.cli.signals import Terminated, signals_end_like_ctrl_c
from eacontrol.device import connect
from eacontrol.profiles import loads_profile
from eacontrol.records import Outcome, RecordStore
from eacontrol.session import Session, SessionEvent
from firmware_protocol import FrameError, MsgType, decode_frame

pytestmark = [pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="POSIX signals")]


def _from_device(encoded: bytes) -> bool:
    try:
        frame = decode_frame(encoded)
    except FrameError:
        return False
    return MsgType(frame.header.msg_type).from_device


def test_i14_05_signal_in_mid_frame_loses_no_device_event(
    two_channel_profile: Callable[..., str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    armed = [False]
    decode = firmware_protocol.frame.FrameDecoder._decode

    def decode_with_signal(self: firmware_protocol.frame.FrameDecoder, encoded: bytes) -> object:
        if armed[0] and _from_device(encoded):  # the host's decoder, not the simulated device's
            armed[0] = False
            signal.raise_signal(signal.SIGTERM)  # its handler runs here, mid-frame
        return decode(self, encoded)

    monkeypatch.setattr(firmware_protocol.frame.FrameDecoder, "_decode", decode_with_signal)
    profile = loads_profile(two_channel_profile("signal test", {"duration_s": 60}))
    ramped: list[int | None] = []

    def on_event(event: SessionEvent) -> None:
        if "RAMP_DONE" in event.message:
            ramped.append(event.channel)
            armed[0] = len(ramped) == 2  # both channels stimulating: the next frame decoded

    with (
        RecordStore.open(tmp_path / "s.sqlite3") as store,
        connect("sim://?seed=5") as stim,
        signals_end_like_ctrl_c(),
    ):
        session = Session(stim, profile, store=store)
        session.subscribe(on_event)
        with pytest.raises(Terminated):
            session.run()
        assert not armed[0] and sorted(ramped, key=str) == [1, 2]
        (summary,) = store.sessions()
        events = store.events(summary.id)
        rejected = [r for r in stim.frame_log.records() if r.error is not None]
    assert summary.outcome is Outcome.STOPPED
    assert summary.detail == "ended by SIGTERM: every output cut at once"
    device_stops = {e.channel for e in events if e.kind == "stop" and "(immediate)" in e.message}
    assert device_stops == {1, 2}
    assert rejected == []
