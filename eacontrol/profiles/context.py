"""The site and patient limit layers: a clinic's policy file, and a patient's flags.

A site policy is a TOML (or JSON) file a clinic keeps; each figure it sets narrows the standard
layer (the effective limit is the intersection, so a looser figure changes nothing)::

    schema_version = 1
    name = "Riverside physiotherapy EA policy"
    source = "Policy EA-03 rev 2, 2024"     # cited by every finding of this layer
    max_intensity_mA = 12
    max_session_s = 1800
    refused_points = ["GB21"]

Patient flags come from the application (:class:`PatientContext`): a pacemaker or ICD refuses
electrical stimulation, unless a clearance is recorded (:class:`ImplantClearance`: who, when, the
reference), which permits distal pairs on one lower limb and nothing else; pregnancy refuses the
abdomen, the lumbosacral region and the listed points unless an explicit override is recorded for
the point; a calibrated per-channel maximum caps that channel.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    PlainValidator,
    StrictBool,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from eacontrol.anatomy.acupoints import lookup
from eacontrol.errors import (
    Finding,
    Layer,
    ProfileError,
    ProfileSyntaxError,
    Severity,
    UnknownAcupoint,
)
from eacontrol.profiles.document import Vocabulary, read
from eacontrol.profiles.fields import MODEL_CONFIG, ChannelNumber, Milliamps, Positive, Text

__all__ = [
    "SITE_POLICY_SOURCE",
    "ImplantClearance",
    "PatientContext",
    "PointCode",
    "PointOverride",
    "SitePolicy",
    "load_site_policy",
]

SITE_POLICY_SOURCE = "eacontrol site policy schema v1 (eacontrol.profiles.context)"
"""The authority named by findings about a policy file's structure."""


def _code(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("point_type", "expected an acupoint code as text, such as 'LI4'")
    try:
        return lookup(value).code
    except UnknownAcupoint as err:
        raise PydanticCustomError("unknown_acupoint", "{detail}", {"detail": str(err)}) from err


PointCode = Annotated[
    str, PlainValidator(_code), WithJsonSchema({"type": "string", "description": "WHO code"})
]
"""An acupoint code (any spelling :func:`eacontrol.anatomy.acupoints.lookup` takes), stored as
WHO writes it (``ub23`` becomes ``BL23``)."""


class SitePolicy(BaseModel):
    """A clinic's policy: limits that narrow the standard layer, and points it refuses.

    Attributes:
        name: the policy's name.
        source: the citation findings of this layer name (the policy document and revision);
            :func:`load_site_policy` fills in the file name when it is empty.
    """

    model_config = MODEL_CONFIG

    schema_version: Literal[1]
    name: Text = Field(min_length=1)
    source: Text = ""
    max_intensity_mA: Positive | None = None
    max_phase_charge_uC: Positive | None = None
    max_session_s: Positive | None = None
    min_frequency_hz: Positive | None = None
    max_frequency_hz: Positive | None = None
    min_phase_width_us: Positive | None = None
    max_phase_width_us: Positive | None = None
    refused_points: tuple[PointCode, ...] = ()

    @property
    def authority(self) -> str:
        """What a finding of this layer cites: the source, else the name."""
        return self.source or self.name


_SITE_WORDS = Vocabulary.of({(): ("the site policy", SitePolicy)})


def load_site_policy(path: str | os.PathLike[str]) -> SitePolicy:
    """Read a site policy file (TOML, or JSON by its ``.json`` suffix).

    Raises:
        ProfileSyntaxError: the file is not valid TOML/JSON.
        ProfileError: unreadable, or wrong keys, types or values; ``.findings`` lists them all.
    """
    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        finding = Finding(
            Severity.REFUSE,
            "",
            f"cannot read the site policy: {err.strerror}",
            Layer.SITE,
            file=name,
        )
        raise ProfileError([finding], name) from err
    fmt: Literal["toml", "json"] = "json" if name.endswith(".json") else "toml"
    parsed = read(data, fmt, name, SitePolicy, _SITE_WORDS, SITE_POLICY_SOURCE, version=1)
    if parsed.model is None:
        error = ProfileSyntaxError if parsed.raw is None else ProfileError
        raise error(parsed.findings, name)
    if not parsed.model.source:
        return parsed.model.model_copy(update={"source": f"site policy {name}"})
    return parsed.model


class PointOverride(BaseModel):
    """An explicit, recorded decision to needle a point the patient layer would refuse.

    Attributes:
        point: the acupoint code.
        reason: why (clinical justification), as recorded.
        authorised_by: who decided.
        recorded_at: when the decision was recorded.
    """

    model_config = MODEL_CONFIG

    point: PointCode
    reason: Text = Field(min_length=1)
    authorised_by: Text = Field(min_length=1)
    recorded_at: datetime


class ImplantClearance(BaseModel):
    """A recorded clearance for electroacupuncture despite a pacemaker or ICD (a cardiologist's).

    It permits distal pairs on one lower limb only
    (``eacontrol.safety.placement.implant_permits``); every other pair stays refused.

    Attributes:
        cleared_by: who gave the clearance.
        cleared_on: the date of the clearance.
        reference: where it is filed (letter, record number).
    """

    model_config = MODEL_CONFIG

    cleared_by: Text = Field(min_length=1)
    cleared_on: date
    reference: Text = Field(min_length=1)

    def __str__(self) -> str:
        return (
            f"cleared by {self.cleared_by} on {self.cleared_on.isoformat()} "
            f"(reference {self.reference}) for distal same-limb pairs on a lower limb only"
        )


class PatientContext(BaseModel):
    """The patient layer.

    Attributes:
        pacemaker: an implanted pacemaker: electrical stimulation is refused (without a
            clearance).
        icd: an implanted cardioverter-defibrillator: as a pacemaker.
        implant_clearance: a recorded clearance for the pacemaker/ICD, if any; only with one.
        pregnant: the abdomen, the lumbosacral region and the pregnancy points
            (``eacontrol.safety.placement.pregnancy_reason``) are refused.
        pregnancy_overrides: recorded overrides, one per point allowed despite pregnancy (a
            point of the abdomen or the lumbosacral region too).
        calibrated_max_mA: the patient's calibrated maximum by channel number (1-based).

    Raises:
        ValidationError: a clearance without a pacemaker or an ICD.
    """

    model_config = MODEL_CONFIG

    pacemaker: StrictBool = False
    icd: StrictBool = False
    implant_clearance: ImplantClearance | None = None
    pregnant: StrictBool = False
    pregnancy_overrides: tuple[PointOverride, ...] = ()
    calibrated_max_mA: Mapping[ChannelNumber, Milliamps] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _clearance_needs_an_implant(self) -> PatientContext:
        if self.implant_clearance is not None and not (self.pacemaker or self.icd):
            raise ValueError("an implant clearance is recorded but no pacemaker or ICD is flagged")
        return self

    def override_for(self, code: str) -> PointOverride | None:
        """The recorded pregnancy override for a point code, if any."""
        return next((o for o in self.pregnancy_overrides if o.point == code), None)
