"""Frames the device refused as not the paired host's: counted by the device, recorded here.

The device answers no frame whose tag does not verify and executes no counter twice
(PROTOCOL.md §2.5 steps 7 and 8); it counts both in every STATUS since boot
(``auth_fail_count``, ``replay_count``, §3.12). Only this host holds the session's key, so
every bad tag is someone else's frame. A replay may be the host's own: a byte-for-byte
retransmission of a command the device never received, sent after a later one was executed
(§3.4), which the host counts as its stale repeats (``FrameLog.stale_repeats``). So a
``replay_count`` that rises by more than the host's stale repeats, or any rise of
``auth_fail_count``, means someone else wrote to the port (a forger, a replayer, a second
program on the line). :class:`ForeignFrames` takes pre-flight's STATUS as its baseline and
turns each such rise into an ``intrusion`` event, recorded and shown at once, with the
device's totals and the host's own repeats in its data. (A replay that arrives while the host
also repeats may be discounted as the host's own: the count is then a lower bound.)

Design decision: the session goes on. The device executed none of those frames, so nothing
they carried reached the patient; ending the treatment on a frame anyone can send would give
everyone on the line a stop of their own. The practitioner sees the alarm and decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eacontrol.device import DeviceStatus

__all__ = ["ForeignFrames", "Intrusion"]


@dataclass(frozen=True)
class Intrusion:
    """A rise of the device's refused-frame counts since the last STATUS checked.

    Attributes:
        bad_tag: frames newly refused for a tag that did not verify.
        replayed: frames newly refused as replays, beyond the host's own stale repeats.
        auth_fail_count / replay_count: the device's totals since boot, as STATUS said.
        own_repeats: the host's stale repeats in the session so far (discounted).
    """

    bad_tag: int
    replayed: int
    auth_fail_count: int
    replay_count: int
    own_repeats: int

    def text(self) -> str:
        """The event's message, in words for the practitioner."""
        parts = []
        if self.bad_tag:
            parts.append(f"{self.bad_tag} frame(s) not signed by this computer's session")
        if self.replayed:
            parts.append(f"{self.replayed} replayed copy(ies) of earlier commands")
        return (
            f"the device refused {' and '.join(parts)}: another program or person is writing "
            "to the device's port; the device executed none of them and stimulation is "
            "unchanged; check who else uses this port"
        )

    def data(self) -> dict[str, Any]:
        """The event's data: the new refusals and the device's totals since boot."""
        return {
            "bad_tag": self.bad_tag,
            "replayed": self.replayed,
            "auth_fail_count": self.auth_fail_count,
            "replay_count": self.replay_count,
            "own_repeats": self.own_repeats,
        }


class ForeignFrames:
    """Watches a session's STATUS for frames the device refused as not the host's.

    Counts are taken from the baseline, not between checks: a repeat the host sent just before
    a STATUS may reach the device (and be counted) only after it.
    """

    def __init__(self, baseline: DeviceStatus | None, own_repeats: int = 0) -> None:
        """Args:
        baseline: the device's STATUS before the session (its pre-flight reading); None to
            take the first STATUS checked.
        own_repeats: the host's stale repeats (``FrameLog.stale_repeats``) at that time.
        """
        self._base = None if baseline is None else _Counts.of(baseline, own_repeats)
        self._own_at_start = own_repeats
        self._reported = (0, 0)  # bad tags and foreign replays reported since the baseline

    def check(self, status: DeviceStatus, own_repeats: int) -> Intrusion | None:
        """The frames refused since the baseline that are not the host's and not yet reported.

        A new boot (the counts start again from 0) becomes the new baseline: a rebooted device
        ends the session on its own path (``ending.py``).

        Args:
            status: a STATUS of the session.
            own_repeats: the host's stale repeats (``FrameLog.stale_repeats``) by then.
        """
        now, base = _Counts.of(status, own_repeats), self._base
        if base is None or base.boot_id != now.boot_id:
            self._base, self._reported = now, (0, 0)
            return None
        bad_tag = now.auth_fail - base.auth_fail
        # Each of the host's repeats since the baseline may have been counted as a replay.
        replayed = (now.replay - base.replay) - (now.own - base.own)
        new_bad, new_replayed = bad_tag - self._reported[0], replayed - self._reported[1]
        if new_bad <= 0 and new_replayed <= 0:
            return None
        self._reported = (max(bad_tag, self._reported[0]), max(replayed, self._reported[1]))
        own = own_repeats - self._own_at_start
        return Intrusion(max(0, new_bad), max(0, new_replayed), now.auth_fail, now.replay, own)


@dataclass(frozen=True)
class _Counts:
    boot_id: int
    auth_fail: int
    replay: int
    own: int

    @classmethod
    def of(cls, status: DeviceStatus, own_repeats: int) -> _Counts:
        return cls(status.boot_id, status.auth_fail_count, status.replay_count, own_repeats)
