"""Totals an interrupted session missed, read from the device when it is next connected.

A session killed mid-step (``kill -9``, a power cut of the host), or one that lost its link or
its stop's confirmation, never read the device's delivered totals of its last step. The device
keeps them from SET_PROGRAM until the next SET_PROGRAM or reboot (PROTOCOL.md §3.9, §3.11), so
when the same device is connected again before anything is programmed on it,
:func:`read_missed_totals` reads them and adds them to the interrupted session's record, marked
as read afterwards (``read_after``).

They are read only when every condition holds, so that they are that session's totals:

* the newest session recorded for this device's serial was interrupted (``aborted``,
  ``link_lost`` or ``stop_not_confirmed``: ``eacontrol.records.INTERRUPTED``) and has no
  totals read afterwards yet;
* the device's ``boot_id`` is the one that session began with (no reboot since);
* every output is off (the counters are final);
* each channel of its last step still holds the program that step recorded (no SET_PROGRAM
  of another program since; the same program programmed again would have reset the counters,
  which cannot be told apart: then the totals are those since that SET_PROGRAM).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime
from typing import Any

from eacontrol.device import Stimulator
from eacontrol.errors import EAError
from eacontrol.records import INTERRUPTED, ChannelTotals, RecordStore, SessionSummary

__all__ = ["read_missed_totals"]

log = logging.getLogger(__name__)

# What a step record adds to each program (plan.py: PlannedStep.parameters, steps.py: close).
_NOT_PROGRAM = (
    "program_crc",
    "ceiling_mA",
    "intensity",
    "start_intensity_mA",
    "guidance_target_mA",
    "sensation",
    "treatment_intensity_mA",
    "treatment_intensity_how",
)


def _normal(value: object) -> Any:
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _interrupted(store: RecordStore, stim: Stimulator) -> SessionSummary | None:
    serial = stim.info.serial
    newest = next((s for s in store.sessions() if s.meta.device_serial == serial), None)
    if newest is None or newest.outcome not in INTERRUPTED:
        return None
    if newest.meta.boot_id != stim.info.boot_id:
        log.info("session %d: the device rebooted since; its totals are gone", newest.id)
        return None
    if any(t.read_after for t in store.totals(newest.id)):
        return None
    return newest


def read_missed_totals(stim: Stimulator, store: RecordStore) -> int | None:
    """Read the totals the newest, interrupted session on this device missed; record them.

    Call it after connecting, before anything is programmed (``Session.run`` does, before its
    pre-flight). It sends only GET_STATUS, GET_PROGRAM and GET_DOSE.

    Args:
        stim: the newly connected device.
        store: the session database (writable).

    Returns:
        The id of the session whose totals were added, or None (nothing to read, or the
        conditions of the module are not met: the totals stay unknown).

    Raises:
        RecordError: the totals could not be written.
        DeviceError / LinkError: the device did not answer.
    """
    if store.read_only:
        return None
    summary = _interrupted(store, stim)
    if summary is None:
        return None
    steps = store.steps(summary.id)
    if not steps or not stim.status().outputs_off():
        return None
    last = max(steps, key=lambda s: s.index)
    programs: dict[str, dict[str, Any]] = last.parameters.get("channels", {})
    totals = []
    for text, program in sorted(programs.items()):
        channel = int(text)
        recorded = {k: v for k, v in program.items() if k not in _NOT_PROGRAM}
        try:
            held = dataclasses.asdict(stim.read_program(channel))
        except EAError as err:  # no program: the device forgot it
            log.info("session %d: channel %d: %s; totals unknown", summary.id, channel, err)
            return None
        if _normal(held) != _normal(recorded):
            log.info("session %d: channel %d holds another program now", summary.id, channel)
            return None
        dose = stim.dose(channel)
        totals.append(
            ChannelTotals.from_dose(dose, channel=channel, step_index=last.index, read_after=True)
        )
    if not totals:
        return None
    moment = datetime.now(UTC).isoformat(timespec="seconds")
    note = (
        f"delivered totals of step {last.index + 1} read from the device (boot id "
        f"{stim.info.boot_id}) when it was next connected, {moment}"
    )
    store.add_totals_read_after(summary.id, totals, note)
    log.warning("session %d: %s", summary.id, note)
    return summary.id
