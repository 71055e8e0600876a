"""Issue 13 ("the attempt recorded"): frames the device refused as not the paired host's show
in the session's record, on its screen and at the top of its report.

A second writer on the port sends a SET_INTENSITY in the host's session under a key of its own,
and later replays a HEARTBEAT the host sent seconds before. The device drops both (bad tag,
replay) and counts them in STATUS; the session records each rise as an ``intrusion`` event and
goes on, the output never changed (``session/intrusion.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import firmware_protocol as fp
from eacontrol.device import DeviceStatus
from eacontrol.profiles import Profile
from eacontrol.records import INTRUSION_KIND, Outcome, build_report
from eacontrol.records.markdown import render_markdown
from eacontrol.session.intrusion import ForeignFrames

from .conftest import Run, Script

Factory = Callable[..., Run]

FOREIGN_KEY = bytes(range(32))
"""What the second writer tags with: not the session's key (it cannot know it)."""


class Tap:
    """Keeps every frame the host writes, by device time (µs), to replay one later."""

    def __init__(self, run: Run) -> None:
        self.frames: list[tuple[int, bytes]] = []
        port, write = run.port, run.port.write

        def kept(data: Any, /) -> int:
            self.frames.append((port.clock.now_us, bytes(data)))
            return write(data)

        port.write = kept  # type: ignore[method-assign]

    def heartbeat_before(self, at_us: int) -> bytes:
        """The last HEARTBEAT frame the host sent before ``at_us``."""
        beats = [
            data
            for t, data in self.frames
            if t < at_us and fp.decode_frame(data[:-1]).header.msg_type == fp.MsgType.HEARTBEAT
        ]
        return beats[-1]


def _forge(run: Run) -> None:
    device = run.device
    frame = fp.encode_frame(
        fp.SetIntensity(0, 4000, device.model.max_slew_uA_per_s),
        key=FOREIGN_KEY,
        kind=fp.KeyKind.SESSION,
        session_id=device.session_id,
        counter=0x7F00,  # far above the host's: only the tag can refuse it
    )
    run.port.bench.link.host_write(frame, run.port.clock.now_us)


def test_i13_a_forged_and_a_replayed_frame_are_recorded_and_change_nothing(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=13")
    tap = Tap(run)
    seen: dict[str, float] = {}

    def replay(_session: object) -> None:
        now_us = run.port.clock.now_us
        run.port.bench.link.host_write(tap.heartbeat_before(now_us - 3_000_000), now_us)

    def look(_session: object) -> None:
        seen["ch1_mA"] = run.device.output_uA(0) / 1000

    script = Script((6.0, lambda s: _forge(run)), (9.0, replay), (12.0, look))
    result = run.run(on_tick=script)

    assert result.outcome is Outcome.COMPLETED  # the device executed neither frame
    assert seen["ch1_mA"] == 2.0  # the prescription, not the forger's 4 mA
    assert (run.device.auth_fail_count, run.device.replay_count) == (1, 1)
    foreign = [e for e in run.store.events(result.session_id) if e.kind == INTRUSION_KIND]
    assert [(e.data["bad_tag"], e.data["replayed"]) for e in foreign] == [(1, 0), (0, 1)]
    assert 6.0 <= foreign[0].t_s < 9.0 <= foreign[1].t_s < 12.0
    assert foreign[1].data["replayed"] == 1 and foreign[1].data["replay_count"] == 1
    assert "not signed by this computer's session" in foreign[0].message
    assert "replayed" in foreign[1].message and "stimulation is unchanged" in foreign[1].message
    published = [(e.t_s, e.message) for e in run.events if e.kind == INTRUSION_KIND]
    assert published == [(e.t_s, e.message) for e in foreign]  # shown as recorded

    report = render_markdown(build_report(run.store, result.session_id))
    assert "ALARM: the device refused frames during this session" in report
    assert report.index("ALARM") < report.index("## Methods")


@pytest.mark.parametrize("query", ["seed=13&drop=0.05", "seed=2&drop=0.2&corrupt=0.02"])
def test_i13_a_session_nobody_else_writes_to_records_no_intrusion(
    session_on_sim: Factory, short_profile: Profile, query: str
) -> None:
    """Lost and corrupted frames are no forgery, and the host's repeats of commands the device
    never received (counted by the device as replays) are not someone else's."""
    run = session_on_sim(short_profile, query)
    result = run.run()
    assert result.outcome is Outcome.COMPLETED
    assert run.device.replay_count > 0  # the device did count some of the host's repeats
    assert INTRUSION_KIND not in run.kinds()
    assert "refused frames" not in render_markdown(build_report(run.store, result.session_id))


def _status(auth: int, replay: int, boot_id: int = 7) -> DeviceStatus:
    return DeviceStatus(
        time_s=0.0,
        boot_id=boot_id,
        uptime_s=0.0,
        lease_remaining_s=0.0,
        last_applied_counter=0,
        rx_err_count=0,
        session_open=True,
        lease_valid=True,
        fault_latched=False,
        output_active=False,
        channels=(),
        auth_fail_count=auth,
        replay_count=replay,
    )


@pytest.mark.parametrize("baseline", [_status(3, 2), None])
def test_i13_foreign_frames_reports_each_rise_once_from_its_baseline(
    baseline: DeviceStatus | None,
) -> None:
    watch = ForeignFrames(baseline)
    if baseline is None:
        assert watch.check(_status(3, 2), 0) is None  # the first STATUS is the baseline
    assert watch.check(_status(3, 2), 0) is None  # counts from before the session: not ours
    rise = watch.check(_status(5, 2), 0)
    assert rise is not None and (rise.bad_tag, rise.replayed) == (2, 0)
    assert rise.data()["auth_fail_count"] == 5
    assert watch.check(_status(5, 2), 0) is None  # reported once
    assert watch.check(_status(0, 0, boot_id=8), 0) is None  # a reboot starts the counts again
    again = watch.check(_status(0, 1, boot_id=8), 0)
    assert again is not None and (again.bad_tag, again.replayed) == (0, 1)


def test_i13_the_hosts_own_repeats_are_not_foreign_even_when_counted_late() -> None:
    """A repeat below the host's highest counter may be counted as a replay by the device, and
    only after the STATUS that follows its sending: neither is an intrusion."""
    watch = ForeignFrames(_status(0, 0), own_repeats=4)
    assert watch.check(_status(0, 0), 6) is None  # two repeats sent, not yet counted
    assert watch.check(_status(0, 2), 6) is None  # now counted: the host's own
    assert watch.check(_status(0, 2), 7) is None  # one more, lost on the wire: never counted
    foreign = watch.check(_status(0, 4), 7)  # two more replays than the host's repeat
    assert foreign is not None and (foreign.bad_tag, foreign.replayed) == (0, 1)
    assert foreign.data()["own_repeats"] == 3
