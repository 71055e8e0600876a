"""Profiles: pydantic models, loaders, derived dose and the profile checker.

The profile format and the checks are documented in ``profiles/README.md`` (installed with the
stored library as ``eacontrol.stored_profiles``). Typical use::

    from eacontrol.profiles import load_profile, check_profile

    profile = load_profile("lbp_2_100hz_han")          # refuses unsafe or malformed profiles
    stim = profile.stimulation(step=0, channel=1)      # a Stimulation, in mA, µs, Hz, s
    findings = check_profile(profile, device=limits)   # again, with the connected device's layer
"""

from eacontrol.profiles.checker import check_profile
from eacontrol.profiles.context import (
    PatientContext,
    PointOverride,
    SitePolicy,
    load_site_policy,
)
from eacontrol.profiles.derived import (
    NeedleDose,
    SessionDose,
    StepDose,
    TrainDose,
    profile_dose,
    step_dose,
)
from eacontrol.profiles.loader import (
    STORED_PACKAGE,
    Validation,
    load_profile,
    loads_profile,
    stored_profile_names,
    validate_file,
    validate_profile,
    validate_text,
)
from eacontrol.profiles.models import (
    SCHEMA_VERSION,
    Channel,
    Needle,
    Profile,
    SessionLimits,
)
from eacontrol.profiles.sourcemap import SourceMap
from eacontrol.profiles.steps import (
    ContinuousStep,
    DenseDisperseStep,
    IntermittentStep,
    Step,
)
from eacontrol.profiles.writer import dumps_json, dumps_toml, profile_json_schema, save_profile

__all__ = [
    "SCHEMA_VERSION",
    "STORED_PACKAGE",
    "Channel",
    "ContinuousStep",
    "DenseDisperseStep",
    "IntermittentStep",
    "Needle",
    "NeedleDose",
    "PatientContext",
    "PointOverride",
    "Profile",
    "SessionDose",
    "SessionLimits",
    "SitePolicy",
    "SourceMap",
    "Step",
    "StepDose",
    "TrainDose",
    "Validation",
    "check_profile",
    "dumps_json",
    "dumps_toml",
    "load_profile",
    "load_site_policy",
    "loads_profile",
    "profile_dose",
    "profile_json_schema",
    "save_profile",
    "step_dose",
    "stored_profile_names",
    "validate_file",
    "validate_profile",
    "validate_text",
]
