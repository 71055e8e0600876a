"""A whole clinical session in virtual time: 30 minutes of 2/100 Hz dense-disperse on 6 channels.

Han's dense-disperse program (2 Hz and 100 Hz alternating with 3 s dwells, docs/architecture.md)
runs
on every channel of the reference device with a heartbeat every 100 ms (~18,000 exchanges), and
the device shuts it off itself at the program's 30-minute maximum run. The recorder must then
show each dwell's pulses at its own frequency, charge balance, and the target as the peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pytest

from firmware_protocol import Ack, ChannelState, EventCode, Mode, Status
from simulator.firmware.model import DeviceModel
from simulator.hardware.device import Device

if TYPE_CHECKING:
    from conftest import ProgramFactory, RawHost

MS = 1_000
S = 1_000_000
CHANNELS = 6
DWELL_US = 3 * S
TARGET_UA = 8000
RUN_S = 30 * 60
RAMP_UP_MS = 2000
RAMP_DOWN_MS = 1000
START_US = 7 * MS  # off the check grid, so nothing lines up by accident
HEARTBEAT_US = 100 * MS


@dataclass
class Session:
    """The finished session and what the host saw during it."""

    host: RawHost
    statuses: list[Status]


@pytest.fixture(scope="module")
def session(raw_host_type: type[RawHost], make_program: ProgramFactory) -> Session:
    """Run the 30-minute session once for every check below."""
    device = Device(DeviceModel(), rng=np.random.default_rng(2005))
    host = raw_host_type(device)
    host.hello()
    crcs = {}
    for channel in range(CHANNELS):
        program = make_program(
            Mode.DENSE_DISPERSE,
            channel=channel,
            freq_a_cHz=200,
            phase_a_us=600,
            freq_b_cHz=10_000,
            phase_b_us=200,
            dwell_a_ms=3000,
            dwell_b_ms=3000,
            target_uA=TARGET_UA,
            ramp_up_ms=RAMP_UP_MS,
            ramp_down_ms=RAMP_DOWN_MS,
            max_run_s=RUN_S,
        )
        crcs[f"ch{channel}"] = host.program(program)
    host.wait_until(START_US)
    assert isinstance(host.start(**crcs), Ack)
    statuses = []
    end_us = START_US + RUN_S * S + RAMP_DOWN_MS * MS + HEARTBEAT_US
    while host.now_us + HEARTBEAT_US <= end_us:
        host.wait(HEARTBEAT_US)
        statuses.append(host.heartbeat())
    return Session(host, statuses)


def test_the_session_ran_to_the_device_s_own_shut_off(session: Session) -> None:
    host = session.host
    assert len(session.statuses) == (RUN_S * S + RAMP_DOWN_MS * MS) // HEARTBEAT_US + 1
    events = [(e.code, e.channel, e.detail) for e in host.take_events()]
    for channel in range(CHANNELS):
        mine = [(code, detail) for code, ch, detail in events if ch == channel]
        assert mine == [
            (EventCode.RAMP_DONE, TARGET_UA),
            (EventCode.MAX_RUN_TIME, RUN_S),
            (EventCode.STOPPED, 0),
        ]
    assert host.device.outputs_off
    assert all(host.device.channel_state(ch) == ChannelState.PROGRAMMED for ch in range(6))


def test_status_showed_every_channel_at_target_for_the_whole_hold(session: Session) -> None:
    hold_start_us = START_US + RAMP_UP_MS * MS
    hold_end_us = START_US + RUN_S * S
    for index, report in enumerate(session.statuses):
        t_us = (index + 1) * HEARTBEAT_US + START_US
        if hold_start_us <= t_us < hold_end_us:
            assert report.lease_remaining_ms == 500
            for channel in report.channels:
                assert (channel.state, channel.measured_uA) == (ChannelState.RUNNING, TARGET_UA)
                in_b = (t_us - START_US) // DWELL_US % 2
                assert channel.freq_cHz == (10_000 if in_b else 200)


@pytest.mark.parametrize("channel", range(CHANNELS))
def test_each_dwell_has_its_frequency_s_pulses(session: Session, channel: int) -> None:
    recorder = session.host.device.recorder[channel]
    dwells = RUN_S * S // DWELL_US
    for k in range(dwells):
        t0_us = START_US + k * DWELL_US
        table = recorder.pulse_table(t0_us, t0_us + DWELL_US)
        in_b = k % 2
        expected = 300 if in_b else 6  # 3 s at 100 Hz, 3 s at 2 Hz
        assert abs(table.size - expected) <= 1, k
        assert (table["half"] == in_b).all()
        intervals_us = np.diff(table["t_us"])
        assert (intervals_us == (10 * MS if in_b else 500 * MS)).all()
        assert (table["width_pos_us"] == (200 if in_b else 600)).all()
        if t0_us >= START_US + RAMP_UP_MS * MS:
            assert (table["amp_pos_uA"] == TARGET_UA).all()
    # the ramp-down after the maximum run falls in a half-a dwell: 2 falling pulses
    tail = recorder.pulse_table(START_US + RUN_S * S, START_US + RUN_S * S + 2 * S)
    assert list(tail["amp_pos_uA"]) == [TARGET_UA, TARGET_UA / 2]


@pytest.mark.parametrize("channel", range(CHANNELS))
def test_totals_charge_balance_and_peak(session: Session, channel: int) -> None:
    recorder = session.host.device.recorder[channel]
    dwells = RUN_S * S // DWELL_US
    assert abs(recorder.pulses_a - (dwells // 2) * 6) <= dwells // 2 + 2
    assert abs(recorder.pulses_b - (dwells // 2) * 300) <= dwells // 2
    assert recorder.peak_uA == TARGET_UA
    assert recorder.charge_pos_nC > 0
    assert abs(recorder.net_charge_nC) <= 1e-9 * recorder.charge_pos_nC
    dose = session.host.dose(channel)
    assert (dose.pulses_a, dose.pulses_b) == (recorder.pulses_a, recorder.pulses_b)
    assert dose.peak_uA == TARGET_UA
    assert dose.charge_pos_nC == dose.charge_neg_nC
    assert dose.time_a_ms + dose.time_b_ms == dose.on_time_ms
    assert dose.on_time_ms == RUN_S * 1000 + RAMP_DOWN_MS
