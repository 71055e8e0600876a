"""One session as a Neurodata Without Borders (NWB) file, for pynwb, MATLAB and the DANDI tools.

pynwb is the optional extra ``nwb`` (``pip install "eacontrol[nwb]"``), imported only when a
file is written, never by ``import eacontrol.records``. Only core NWB types are used (no
extension), so any NWB reader opens the file. Times are seconds from the session's start: the
file's ``session_start_time`` is the record's ``started_at`` (UTC), and every timestamp below is
the record's session time ``t_s``.

============================== ============================================================
where in the file               what
============================== ============================================================
``stimulus/``                  per channel ``channel_<n>_set_current`` and
                               ``channel_<n>_measured_current`` (``TimeSeries``, the
                               samples' ``set_mA`` and ``measured_mA``: data in mA as recorded,
                               ``unit`` ``amperes`` with ``conversion`` 0.001), and
                               ``channel_<n>_impedance`` (ohms; NaN: open or unknown) and
                               ``channel_<n>_device_uptime`` (the device's clock, seconds; NaN:
                               not recorded); the timestamps are the samples' ``t_s``. A
                               missing sample (a ``sample_gaps`` row) is absent, never filled.
``intervals/steps``            one row per step as it ran: ``start_time``, ``stop_time``,
                               ``step_index``, ``step_name``, ``mode`` and ``ended``. A step
                               whose end was not recorded has ``ended`` False and
                               ``stop_time`` the session's end (or, for a session without an
                               end, the last time recorded in it): a bound, not its end.
``intervals/events``           every recorded event, an instant (``start_time`` =
                               ``stop_time`` = its ``t_s``): ``kind`` (``progress``,
                               ``intensity``, ``stop``, ``fault``, ``marker``, ...),
                               ``channel`` (0: the whole session or device), ``message`` and
                               ``data_json`` (its details as JSON).
``intervals/annotations``      every annotation (adverse event, note, response): ``kind``,
                               ``event``, ``severity``, ``response``, ``note`` (``""``: none),
                               ``time_given`` (False: the annotation gave no session time; its
                               ``start_time`` is then when it was added).
``processing/stimulation/``    ``delivered_totals``: the device's totals per channel and step
                               (pulses, times, charges in µC, peak and rms mA, on-time;
                               ``step_index`` -1: not known), as the record holds them.
``general``                    ``session_id``, ``experimenter`` (the operator), ``subject``
                               (the patient's id; nothing else is known), ``protocol`` (the
                               profile's name, version and sha256), ``experiment_description``
                               (the study's condition and arm), ``keywords`` (its tags),
                               ``devices/stimulator`` (model, serial, firmware), ``notes``
                               (outcome, simulated or not, port, software version).
============================== ============================================================

A field the record does not have is left out (no experimenter without an operator id, no
subject without a patient id, no description of a study without one), never filled with a guess;
so is a table without rows (a session that recorded no step has no ``intervals/steps``).
"""

from __future__ import annotations

import importlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from eacontrol.errors import MissingExtra
from eacontrol.records.model import SessionSummary
from eacontrol.records.store import RecordStore

__all__ = ["NWB_CURRENT_CONVERSION", "nwb_identifier", "session_end_s", "write_nwb"]

NWB_CURRENT_CONVERSION = 1e-3
"""``TimeSeries.conversion`` of the currents: data in mA (as recorded), × 0.001 = amperes, the
unit NWB states (the NWB format: ``data * conversion`` is in ``unit``)."""

NO_CHANNEL = 0
"""``channel`` of an event of the whole session or device (channels are numbered from 1)."""


def _pynwb(module: str = "pynwb") -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtra("pynwb", "nwb", "an NWB export") from err


def nwb_identifier(summary: SessionSummary) -> str:
    """The file's ``identifier``: the same for the same record (device serial, boot, start,
    session id), so exporting a session twice names one dataset."""
    meta = summary.meta
    start = meta.started_at.strftime("%Y%m%dT%H%M%S.%fZ")
    return f"eacontrol-{meta.device_serial}-{meta.boot_id:08x}-{start}-session-{summary.id}"


def session_end_s(store: RecordStore, session_id: int) -> float:
    """The session's end in session time: its recorded end, else (a running or aborted
    session) the last time recorded in it (a step, an event or a sample), else 0."""
    summary = store.session(session_id)
    if summary.duration_s is not None:
        return summary.duration_s
    times = [0.0]
    for step in store.steps(session_id):
        times += [step.started_s] + ([] if step.ended_s is None else [step.ended_s])
    times += [e.t_s for e in store.events(session_id)]
    times += [s.t_s for s in store.samples(session_id)]
    return max(times)


def _notes(summary: SessionSummary) -> str:
    meta = summary.meta
    where = "a device simulator (no patient stimulated)" if meta.simulated else "a real device"
    words = [
        f"outcome: {summary.outcome.value}" + (f" ({summary.detail})" if summary.detail else ""),
        f"recorded on {where} on {meta.port}",
        f"eacontrol {meta.software_version}",
    ]
    return "; ".join(words)


def _nwbfile(summary: SessionSummary) -> Any:
    pynwb = _pynwb()
    meta = summary.meta
    study = meta.study
    fields: dict[str, Any] = {
        "session_description": f"electroacupuncture session: {meta.profile_name}",
        "identifier": nwb_identifier(summary),
        "session_start_time": meta.started_at,
        "session_id": str(summary.id),
        "protocol": f"{meta.profile_name} (version {meta.profile_version}, sha256 "
        f"{meta.profile_hash})",
        "notes": _notes(summary),
        "source_script": f"eacontrol {meta.software_version}",
        "source_script_file_name": "eactl",
    }
    if meta.operator_id:
        fields["experimenter"] = [meta.operator_id]
    described = [f"{k}: {v}" for k, v in (("condition", study.condition), ("arm", study.arm)) if v]
    if described:
        fields["experiment_description"] = "; ".join(described)
    if study.tags:
        fields["keywords"] = list(study.tags)
    if meta.patient_id:
        fields["subject"] = pynwb.file.Subject(subject_id=meta.patient_id)
    nwbfile = pynwb.NWBFile(**fields)
    nwbfile.create_device(
        name="stimulator",
        description=f"{meta.device_model} stimulator, firmware {meta.firmware_version}",
        serial_number=meta.device_serial,
    )
    return nwbfile


def _add_stimulation(nwbfile: Any, store: RecordStore, session_id: int) -> None:
    pynwb = _pynwb()
    by_channel: dict[int, list[Any]] = {}
    for sample in store.samples(session_id):
        by_channel.setdefault(sample.channel, []).append(sample)
    for channel, samples in sorted(by_channel.items()):
        # numpy arrays, float64 as stored: hdmf converts a list element by element (10x slower)
        times = np.array([s.t_s for s in samples], dtype=np.float64)
        for name, values, what in (
            ("set_current", [s.set_mA for s in samples], "set intensity (follows the ramps)"),
            ("measured_current", [s.measured_mA for s in samples], "current the device measured"),
        ):
            nwbfile.add_stimulus(
                pynwb.TimeSeries(
                    name=f"channel_{channel}_{name}",
                    data=np.array(values, dtype=np.float64),
                    unit="amperes",
                    conversion=NWB_CURRENT_CONVERSION,
                    timestamps=times,
                    description=f"channel {channel}: {what}, peak current of the pulses; data "
                    "in mA (conversion 0.001 to amperes), seconds from the session's start",
                    continuity="step",
                )
            )
        for name, unit, values, what in (
            (
                "impedance",
                "ohms",
                [s.impedance_ohm for s in samples],
                "load impedance; NaN: open or unknown",
            ),
            (
                "device_uptime",
                "seconds",
                [s.device_uptime_s for s in samples],
                "the device's uptime in the STATUS the sample comes from (when the device "
                "measured it); NaN: not recorded",
            ),
        ):
            nwbfile.add_stimulus(
                pynwb.TimeSeries(
                    name=f"channel_{channel}_{name}",
                    data=np.array([math.nan if v is None else v for v in values], np.float64),
                    unit=unit,
                    timestamps=times,
                    description=f"channel {channel}: {what}",
                    continuity="step" if name == "impedance" else "continuous",
                )
            )


def _intervals(nwbfile: Any, name: str, description: str, columns: dict[str, str]) -> Any:
    table = nwbfile.create_time_intervals(name=name, description=description)
    for column, text in columns.items():
        table.add_column(name=column, description=text)
    return table


def _add_steps(nwbfile: Any, store: RecordStore, session_id: int) -> None:
    steps = store.steps(session_id)
    if not steps:
        return
    end_s = session_end_s(store, session_id)
    table = _intervals(
        nwbfile,
        "steps",
        "the session's steps as they ran (seconds from the session's start)",
        {
            "step_index": "the step's index in the prescription, from 0",
            "step_name": "the step's label",
            "mode": "continuous, dense_disperse or intermittent",
            "ended": "False: the step's end was not recorded; stop_time is then the session's "
            "end, a bound rather than the step's end",
        },
    )
    for step in steps:
        table.add_interval(
            start_time=step.started_s,
            stop_time=end_s if step.ended_s is None else step.ended_s,
            step_index=step.index,
            step_name=step.name,
            mode=step.mode,
            ended=step.ended_s is not None,
        )


def _add_events(nwbfile: Any, store: RecordStore, session_id: int) -> None:
    events = store.events(session_id)
    if not events:
        return
    table = _intervals(
        nwbfile,
        "events",
        "every recorded session event, each an instant (start_time = stop_time = its session "
        "time): step starts and ends, intensity changes, stops, faults, markers, ...",
        {
            "kind": "progress, intensity, impedance, fault, alarm, warning, stop, link, "
            "operator, treatment, device_event, intrusion or marker",
            "channel": "the channel, numbered from 1; 0: the whole session or device",
            "message": "what happened, in words",
            "data_json": "the event's details, as JSON",
        },
    )
    for event in events:
        table.add_interval(
            start_time=event.t_s,
            stop_time=event.t_s,
            kind=event.kind,
            channel=NO_CHANNEL if event.channel is None else event.channel,
            message=event.message,
            data_json=json.dumps(event.data, sort_keys=True, ensure_ascii=False),
        )


def _add_annotations(nwbfile: Any, store: RecordStore, session_id: int) -> None:
    started = store.session(session_id).meta.started_at
    annotations = store.annotations(session_id)
    if not annotations:
        return
    table = _intervals(
        nwbfile,
        "annotations",
        "adverse events, notes and the patient's responses, each an instant",
        {
            "kind": "adverse_event or note",
            "event": "an adverse event's kind in words; '' for a note",
            "severity": "mild, moderate or severe; '' for a note",
            "response": "the patient's response (de_qi, twitch, ...); '': none",
            "note": "free text; '': none",
            "time_given": "False: no session time was given; start_time is when it was added",
        },
    )
    for a in annotations:
        added_s = (a.added_at - started).total_seconds()
        t_s = added_s if a.t_s is None else a.t_s
        table.add_interval(
            start_time=t_s,
            stop_time=t_s,
            kind=a.kind.value,
            event=a.event or "",
            severity="" if a.severity is None else a.severity.value,
            response="" if a.response is None else a.response.value,
            note=a.note,
            time_given=a.t_s is not None,
        )


_TOTALS_COLUMNS = {
    "channel": "the channel, numbered from 1",
    "step_index": "the step the totals belong to, from 0; -1: not known",
    "pulses_a": "pulses at frequency a",
    "pulses_b": "pulses at frequency b (dense-disperse)",
    "time_a_s": "seconds delivering frequency a",
    "time_b_s": "seconds delivering frequency b",
    "charge_pos_uC": "charge of the positive phases, microcoulombs",
    "charge_neg_uC": "charge of the negative phases, microcoulombs",
    "net_charge_uC": "positive minus negative charge as the device reports it, microcoulombs",
    "total_charge_uC": "charge of both phases, microcoulombs",
    "peak_mA": "largest phase amplitude, mA",
    "rms_mA": "rms current over the on-time, mA",
    "on_time_s": "seconds with the output active",
    "read_after": "True: read at the next connect, after the session was interrupted",
}


def _add_totals(nwbfile: Any, store: RecordStore, session_id: int) -> None:
    totals = store.totals(session_id)
    if not totals:
        return
    table = _pynwb("pynwb.core").DynamicTable(
        name="delivered_totals",
        description="what each channel delivered in each step, as the device counted it",
    )
    for column, text in _TOTALS_COLUMNS.items():
        table.add_column(name=column, description=text)
    for t in totals:
        row = {c: getattr(t, c) for c in _TOTALS_COLUMNS}
        table.add_row(**(row | {"step_index": -1 if t.step_index is None else t.step_index}))
    module = nwbfile.create_processing_module(
        name="stimulation", description="the stimulator's own account of what it delivered"
    )
    module.add(table)


def write_nwb(store: RecordStore, session_id: int, path: str | Path) -> Path:
    """Write one session to an NWB file (HDF5), replacing any file at ``path``.

    Args:
        store: the session records.
        session_id: the session.
        path: the file to write (``.nwb`` by convention); its folder must exist.

    Returns:
        The path written.

    Raises:
        MissingExtra: pynwb is not installed (``pip install "eacontrol[nwb]"``).
        UnknownSession: no such session (nothing is written).
        OSError: the file cannot be written.
    """
    summary = store.session(session_id)
    pynwb = _pynwb()
    nwbfile = _nwbfile(summary)
    _add_stimulation(nwbfile, store, session_id)
    _add_steps(nwbfile, store, session_id)
    _add_events(nwbfile, store, session_id)
    _add_annotations(nwbfile, store, session_id)
    _add_totals(nwbfile, store, session_id)
    target = Path(path)
    with pynwb.NWBHDF5IO(str(target), mode="w") as io:
        io.write(nwbfile)
    return target
