"""The end of a session as the host's ``SessionWatch`` names it (protocol major 2)."""

from __future__ import annotations

import firmware_protocol as fp
from eacontrol.link.watch import SessionWatch


def _opened() -> SessionWatch:
    watch = SessionWatch()
    watch.open(session_id=0x5E551D01, boot_id=0x1234)
    return watch


def _no_session() -> fp.Nak:
    return fp.Nak(nak_type=fp.MsgType.HEARTBEAT, code=fp.NakCode.NO_SESSION, field=0, limit=0)


def _reboot(boot_id: int) -> fp.Event:
    return fp.Event(code=fp.EventCode.REBOOT, channel=0xFF, detail=boot_id, uptime_ms=0)


def test_i13_a_reboot_seen_after_no_session_is_recorded_as_the_cause() -> None:
    watch = _opened()
    watch.on_nak(_no_session())
    assert watch.ended is not None and watch.ended.faults == ("NO_SESSION",)
    watch.on_event(_reboot(0x9999))
    assert watch.ended is not None and watch.ended.faults == ("REBOOT",)
    assert "rebooted (boot_id 0x00001234 → 0x00009999)" in str(watch.ended)


def test_i13_no_session_alone_stays_the_cause_and_a_closed_session_is_not_replaced() -> None:
    watch = _opened()
    watch.on_nak(_no_session())
    watch.on_event(_reboot(0x1234))  # the boot this session knows: no reboot
    assert watch.ended is not None and "no longer knows session" in str(watch.ended)
    closed = _opened()
    closed.on_event(
        fp.Event(
            code=fp.EventCode.SESSION_CLOSED,
            channel=0xFF,
            detail=int(fp.SessionClosed.LEASE),
            uptime_ms=5,
        )
    )
    closed.on_nak(_no_session())
    assert closed.ended is not None and "(LEASE)" in str(closed.ended)
