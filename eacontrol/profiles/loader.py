"""Load a profile from a file, from text or from the stored library, checked by every layer.

``validate_*`` never raise for a problem in the profile: they return a :class:`Validation` with
every finding (syntax, schema, limits, placement, advisories), each with file, field path and,
for TOML, line. ``load_*`` raise the typed error instead when anything refuses:

- :class:`~eacontrol.errors.ProfileSyntaxError`: the file is not TOML/JSON (or not UTF-8);
- :class:`~eacontrol.errors.ProfileError`: unreadable, or wrong keys, types, units or structure;
- :class:`~eacontrol.errors.ProfileRefused`: well-formed, but a limit layer or placement rule
  refuses it.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from eacontrol.errors import (
    Finding,
    Layer,
    ProfileError,
    ProfileRefused,
    ProfileSyntaxError,
    Severity,
)
from eacontrol.profiles.checker import check_parts, check_profile
from eacontrol.profiles.context import PatientContext, SitePolicy
from eacontrol.profiles.document import Format, Vocabulary, read
from eacontrol.profiles.models import (
    SCHEMA_SOURCE,
    SCHEMA_VERSION,
    Channel,
    Needle,
    Profile,
    SessionLimits,
    structure_findings,
)
from eacontrol.profiles.sourcemap import SourceMap
from eacontrol.profiles.steps import ContinuousStep, DenseDisperseStep, IntermittentStep
from eacontrol.safety.limits import DeviceLimits
from eacontrol.stimulation import StimulationMode

__all__ = [
    "STORED_PACKAGE",
    "Validation",
    "load_profile",
    "loads_profile",
    "stored_profile_names",
    "validate_file",
    "validate_profile",
    "validate_text",
]

STORED_PACKAGE = "eacontrol.stored_profiles"
"""The package the stored library installs as (the repository's ``profiles/`` folder)."""

_WORDS = Vocabulary.of(
    {
        (): ("the top level", Profile),
        ("session",): ("[session]", SessionLimits),
        ("channels",): ("[[channels]]", Channel),
        ("channels", "needle"): ("a channel's needle table", Needle),
        ("steps", "continuous"): ("continuous steps", ContinuousStep),
        ("steps", "dense_disperse"): ("dense_disperse steps", DenseDisperseStep),
        ("steps", "intermittent"): ("intermittent steps", IntermittentStep),
    },
    tags=[m.value for m in StimulationMode],
)
_HINTS = {
    "shape": "every pulse is charge-balanced biphasic (Q+ = Q−); monophasic output does not exist",
    "schema_version": f"this eacontrol reads schema version {SCHEMA_VERSION}",
}


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one profile.

    Attributes:
        profile: the profile, if it parsed and is structurally sound (it may still be refused
            by a limit; see :attr:`refused`).
        findings: every finding, refusals and advisories, with file, path and line.
        origin: the file and its line map.
        syntax_ok: False if the file was not valid TOML/JSON.
    """

    profile: Profile | None
    findings: tuple[Finding, ...]
    origin: SourceMap
    syntax_ok: bool = True

    @property
    def refusals(self) -> tuple[Finding, ...]:
        """The findings that refuse the profile."""
        return tuple(f for f in self.findings if f.severity is Severity.REFUSE)

    @property
    def advisories(self) -> tuple[Finding, ...]:
        """The findings that only advise."""
        return tuple(f for f in self.findings if f.severity is Severity.ADVISORY)

    @property
    def refused(self) -> bool:
        """True if the profile may not run."""
        return self.profile is None or bool(self.refusals)

    def raise_for_refusals(self) -> Profile:
        """Return the profile, or raise the error that fits the refusals.

        Raises:
            ProfileSyntaxError: the file is not valid TOML/JSON.
            ProfileError: schema problems (keys, types, units, structure, wire resolution).
            ProfileRefused: only limit-layer or placement refusals.
        """
        file = self.origin.file
        if not self.syntax_ok:
            raise ProfileSyntaxError(self.findings, file)
        schema = any(f.layer is Layer.SCHEMA for f in self.refusals)
        if self.profile is None or schema:
            raise ProfileError(self.findings, file)
        if self.refusals:
            raise ProfileRefused(self.findings, file)
        return self.profile


def validate_text(
    text: str | bytes,
    *,
    fmt: Format = "toml",
    file: str | None = None,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> Validation:
    """Parse and check a profile given as text.

    Args:
        text: the document (bytes must be UTF-8).
        fmt: ``"toml"`` or ``"json"``.
        file: the file name findings name.
        device / site / patient: the limit layers beyond the standard one.
    """
    parsed = read(
        text,
        fmt,
        file,
        Profile,
        _WORDS,
        SCHEMA_SOURCE,
        version=SCHEMA_VERSION,
        context={"defer_structure": True},
        hints=_HINTS,
    )
    origin = parsed.origin
    if parsed.raw is None:
        return Validation(None, parsed.findings, origin, syntax_ok=False)
    profile = parsed.model
    if profile is None:
        if parsed.findings[0].path == "schema_version":
            return Validation(None, parsed.findings, origin)
        partial = check_parts(parsed.raw, origin=origin, device=device, site=site, patient=patient)
        return Validation(None, parsed.findings + tuple(partial), origin)
    findings = tuple(
        check_profile(profile, origin=origin, device=device, site=site, patient=patient)
    )
    sound = not structure_findings(profile)
    return Validation(profile if sound else None, findings, origin)


def validate_profile(
    profile: Profile,
    *,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> Validation:
    """Check a profile built in Python (``Profile(...)``, ``model_copy(update=...)``) by the
    same limit engine and placement rules as a file; findings name the field path (no file or
    line: there is none). A session checks its profile again at pre-flight, with the connected
    device's layer.

    Raises:
        nothing for a problem in the profile: it is in the findings (``raise_for_refusals``).
    """
    origin = SourceMap(None)
    structure = tuple(structure_findings(profile))
    findings = tuple(
        check_profile(profile, origin=origin, device=device, site=site, patient=patient)
    )
    return Validation(None if structure else profile, structure + findings, origin)


def _not_found(source: str, why: str) -> Validation:
    finding = Finding(Severity.REFUSE, "", why, Layer.SCHEMA, file=source)
    return Validation(None, (finding,), SourceMap(source))


def validate_file(
    source: str | os.PathLike[str],
    *,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> Validation:
    """Parse and check a profile file (``.toml``, or ``.json``) or a stored profile by name.

    A ``source`` without a ``.toml``/``.json`` suffix that is not an existing file is looked up
    in the stored library (:func:`stored_profile_names`).
    """
    name = os.fspath(source)
    path = Path(name)
    suffix = path.suffix.lower()
    if suffix in {".toml", ".json"} or path.is_file():
        try:
            data = path.read_bytes()
        except OSError as err:
            return _not_found(name, f"cannot read the profile: {err.strerror}")
        fmt: Format = "json" if suffix == ".json" else "toml"
        return validate_text(data, fmt=fmt, file=name, device=device, site=site, patient=patient)
    stored = resources.files(STORED_PACKAGE).joinpath(f"{name}.toml")
    if not stored.is_file():
        close = difflib.get_close_matches(name, stored_profile_names(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return _not_found(name, f"no profile file or stored profile named {name!r}{hint}")
    # Findings name the stored profile as the repository does, not the installed copy's path in
    # site-packages (which a practitioner cannot find or edit).
    file = f"profiles/{name}.toml"
    return validate_text(
        stored.read_bytes(), fmt="toml", file=file, device=device, site=site, patient=patient
    )


def load_profile(
    source: str | os.PathLike[str],
    *,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> Profile:
    """Load a profile file or a stored profile, refusing it unless every layer allows it.

    Args:
        source: a path to a ``.toml``/``.json`` file, or a stored profile's name (``"lbp_2hz"``).
        device / site / patient: the limit layers beyond the standard one.

    Raises:
        ProfileSyntaxError: malformed TOML/JSON.
        ProfileError: unreadable, unknown name, or schema problems.
        ProfileRefused: a limit layer or a placement rule refuses it.
    """
    return validate_file(source, device=device, site=site, patient=patient).raise_for_refusals()


def loads_profile(
    text: str | bytes,
    *,
    fmt: Format = "toml",
    file: str | None = None,
    device: DeviceLimits | None = None,
    site: SitePolicy | None = None,
    patient: PatientContext | None = None,
) -> Profile:
    """Load a profile from text, refusing it unless every layer allows it.

    Raises:
        ProfileSyntaxError: malformed TOML/JSON.
        ProfileError: schema problems.
        ProfileRefused: a limit layer or a placement rule refuses it.
    """
    return validate_text(
        text, fmt=fmt, file=file, device=device, site=site, patient=patient
    ).raise_for_refusals()


def stored_profile_names() -> tuple[str, ...]:
    """The names of the stored profiles, sorted."""
    folder = resources.files(STORED_PACKAGE)
    return tuple(
        sorted(
            item.name.removesuffix(".toml")
            for item in folder.iterdir()
            if item.is_file() and item.name.endswith(".toml")
        )
    )
