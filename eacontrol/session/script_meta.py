"""A recorded script's identity: its needle sites, its record's ``SessionMeta``, its programs.

A script has no profile, so its record's profile fields say what is known (``eacontrol.records.
scripted``): profile name ``script`` (``script: NAME`` when named), the sha256 of the script's
file when given (else of the record's own prescription), and a prescription with the channels'
needle sites, no steps (each program sent is a step record) and ``source: script``.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from eacontrol.anatomy.acupoints import parse_site
from eacontrol.device import Stimulator
from eacontrol.errors import Layer, ParameterError
from eacontrol.records import ClinicalDetails, SessionMeta, Study
from eacontrol.records.scripted import SCRIPT_SOURCE
from eacontrol.safety import LimitStack
from eacontrol.safety.engine import Quantity
from eacontrol.session.preflight import shared_fields
from eacontrol.stimulation import Stimulation

__all__ = [
    "ScriptIdentity",
    "checked_sites",
    "describe_program",
    "program_ceiling_mA",
    "script_meta",
    "source_sha256",
]


@dataclass(frozen=True)
class ScriptIdentity:
    """Who ran the script and what it is, for the record.

    Attributes:
        name: the script's name, or None.
        source_sha256: the sha256 of the script's file, or None when not given.
        patient_id / operator_id: identifiers as given, or None.
        indication: what the stimulation is for ('' when not given).
        clinical: the practitioner's account, as given.
        study: the session's condition, arm and tags, as given.
    """

    name: str | None = None
    source_sha256: str | None = None
    patient_id: str | None = None
    operator_id: str | None = None
    indication: str = ""
    clinical: ClinicalDetails | None = None
    study: Study | None = None


def checked_sites(stim: Stimulator, sites: object) -> dict[int, list[str]]:
    """The needle sites of each channel, checked, by channel number (ascending).

    Raises:
        ParameterError: not a mapping, a channel the device lacks, not two known sites.
    """
    count = stim.limits.channel_count
    if not isinstance(sites, Mapping) or not sites:
        allowed = "{channel: (site, site)} for at least one channel"
        raise ParameterError("sites", sites, allowed, Layer.SCHEMA)
    checked: dict[int, list[str]] = {}
    for channel, pair in sites.items():
        if isinstance(channel, bool) or not isinstance(channel, int) or not 1 <= channel <= count:
            raise ParameterError("sites", channel, f"channel numbers 1..{count}", Layer.DEVICE)
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            allowed = "two needle sites, e.g. ('LI4-L', 'LI11-L')"
            raise ParameterError(f"sites[{channel}]", pair, allowed, Layer.SCHEMA)
        checked[channel] = [str(parse_site(site)) for site in pair]
    return dict(sorted(checked.items()))


def source_sha256(source: str | Path | None) -> str | None:
    """The sha256 of the script's file (None when not given).

    Raises:
        ParameterError: the file cannot be read.
    """
    if source is None:
        return None
    try:
        return hashlib.sha256(Path(source).read_bytes()).hexdigest()
    except OSError as err:
        allowed = f"a readable file ({err.strerror})"
        raise ParameterError("source", str(source), allowed, Layer.SCHEMA) from err


def program_ceiling_mA(stack: LimitStack, stimulation: Stimulation) -> float:
    """The highest intensity a script could set on this program: the intensity limit in force,
    and the phase-charge limit at its widest phase (µC / µs = A, × 1000 for mA)."""
    intensity, charge = stack.upper(Quantity.INTENSITY), stack.upper(Quantity.PHASE_CHARGE)
    widest_us = max(stimulation.phase_width_us, stimulation.phase_width_b_us or 0.0)
    by_charge = math.inf if charge is None else charge.value / widest_us * 1000
    return min(math.inf if intensity is None else intensity.value, by_charge)


def describe_program(p: Stimulation) -> str:
    """A program in a few words for its event (every field is in the step record)."""
    rate = f"{p.frequency_hz:g} Hz, {p.phase_width_us:g} µs"
    if p.frequency_b_hz is not None:
        rate += f" / {p.frequency_b_hz:g} Hz, {p.phase_width_b_us or p.phase_width_us:g} µs"
    return f"{p.mode} {rate}, {p.intensity_mA:g} mA, ramps {p.ramp_up_s:g}/{p.ramp_down_s:g} s"


def script_meta(
    stim: Stimulator,
    sites: Mapping[int, list[str]],
    identity: ScriptIdentity,
    started_at: datetime,
) -> SessionMeta:
    """The record's identity: the script as a profile, the device, the people, the start."""
    prescription: dict[str, Any] = {
        "source": SCRIPT_SOURCE,
        "name": "script" if identity.name is None else f"script: {identity.name}",
        "indication": identity.indication,
        "references": [],
        "channels": [
            {"channel": n, "electrodes": pair, "needle": None} for n, pair in sites.items()
        ],
        "steps": [],  # nothing prescribed ahead: each program sent is a step record
        "patient_flags": [],
        "overrides": [],
        "findings": [],
    }
    canonical = json.dumps(prescription, sort_keys=True, ensure_ascii=False).encode("utf-8")
    digest = identity.source_sha256 or hashlib.sha256(canonical).hexdigest()
    return SessionMeta(
        profile_name=prescription["name"],
        profile_version=digest[:12],
        profile_hash=digest,
        prescription=prescription,
        port=stim.url,
        simulated=stim.simulated,
        **shared_fields(stim, identity, started_at),
    )
