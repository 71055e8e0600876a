"""Issue 18: a STATUS record the host's output check passed passes again without re-running the
checks (``OutputWatch._channel``) — only while the record and the expectations are the same.
Every check still catches what it caught before as soon as either changes."""

from __future__ import annotations

from eacontrol.device.expected import OutputWatch
from firmware_protocol import (
    ChannelState,
    ChannelStatus,
    DeviceFlag,
    Fault,
    Mode,
    SetProgram,
    Shape,
    Status,
)

_FLAGS = DeviceFlag.SESSION_OPEN | DeviceFlag.LEASE_VALID | DeviceFlag.OUTPUT_ACTIVE
_PROGRAM = SetProgram(
    channel=0,
    mode=Mode.DENSE_DISPERSE,
    shape=Shape.SYMMETRIC_BIPHASIC,
    freq_a_cHz=200,
    phase_a_us=200,
    freq_b_cHz=10000,
    phase_b_us=200,
    dwell_a_ms=3000,
    dwell_b_ms=3000,
    on_ms=0,
    off_ms=0,
    interphase_us=0,
    asym_ratio=0,
    target_uA=3000,
    ramp_up_ms=3000,
    ramp_down_ms=3000,
    max_run_s=3600,
)


def _running(set_uA: int = 3000, measured_uA: int = 3000) -> ChannelStatus:
    return ChannelStatus(ChannelState.RUNNING, Fault.NONE, 3000, set_uA, measured_uA, 500, 200)


def _status(uptime_ms: int, record: ChannelStatus, flags: DeviceFlag = _FLAGS) -> Status:
    return Status(1, uptime_ms, 500, 0, 0, 0, 0, flags, (record,))


def _started_watch() -> OutputWatch:
    watch = OutputWatch(channel_count=1, boot_id=1)
    watch.start(0, _PROGRAM)
    watch.acknowledged([0], certain_after=1)
    return watch


def test_a_repeated_record_keeps_passing_and_a_rise_after_it_is_caught() -> None:
    watch = _started_watch()
    for k in range(10):
        watch.check(_status(5000 + 100 * k, _running()), ref_counter=2 + k)
        assert watch.mismatch is None
    # 3000 uA over 3 s is 1000 uA/s: 2 mA more within 100 ms is far faster than commanded.
    watch.intensity(0, 5000, 1000)
    watch.acknowledged([0], certain_after=20)
    rising = ChannelStatus(ChannelState.RAMPING, Fault.NONE, 5000, 5000, 5000, 500, 200)
    watch.check(_status(6100, rising), ref_counter=21)
    assert watch.mismatch is not None
    assert (watch.mismatch.channel, watch.mismatch.field) == (1, "set_uA rise")


def test_the_same_record_after_a_confirmed_stop_is_a_mismatch() -> None:
    watch = _started_watch()
    watch.check(_status(5000, _running()), ref_counter=2)
    watch.check(_status(5100, _running()), ref_counter=3)
    assert watch.mismatch is None
    watch.stop([0])
    watch.stopped([0], certain_after=4)
    watch.check(_status(5200, _running()), ref_counter=5)
    assert watch.mismatch is not None
    assert (watch.mismatch.channel, watch.mismatch.field) == (1, "state")


def test_a_current_anomaly_in_a_repeated_record_is_still_confirmed() -> None:
    watch = _started_watch()
    watch.check(_status(5000, _running()), ref_counter=2)
    watch.check(_status(5100, _running()), ref_counter=3)
    leak = _running(measured_uA=9000)
    watch.check(_status(5200, leak), ref_counter=4)
    assert watch.mismatch is None  # one reading: the device's own check gets its turn
    watch.check(_status(5300, leak), ref_counter=5)
    assert watch.mismatch is not None
    assert (watch.mismatch.channel, watch.mismatch.field) == (1, "measured_uA")
