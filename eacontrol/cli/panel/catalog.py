"""The stored profiles the panel offers, as the page shows them before a start.

Only stored (reviewed) profiles can be chosen from the page, by name: the page never names a
file. Each entry has what the practitioner checks before starting: indication, duration, the
needles of each channel, every step of the plan, the derived dose per step and channel (every
column of ``eactl show``'s derived table, at the target intensity, with the effective ceiling
and the layer that sets it), and every advisory and refusal of the standard layer and of the
site and patient layers given to ``eactl panel`` (``validate_file``; the session's own
pre-flight checks every layer again, the device's included).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eacontrol.cli.plainwords import mode_text
from eacontrol.cli.run_cmd import points_text

if TYPE_CHECKING:
    from eacontrol.profiles import PatientContext, Profile, SitePolicy

__all__ = ["catalog", "profile_entry"]


def _dose(
    profile: Profile, site: SitePolicy | None, patient: PatientContext | None
) -> list[dict[str, Any]]:
    """``eactl show``'s derived table (``profile_dose``: the same figures), per step and
    channel, with the effective ceiling (``effective_ceiling``, as ``eactl show`` caps it)."""
    from eacontrol.profiles import profile_dose
    from eacontrol.safety import LimitStack
    from eacontrol.session import effective_ceiling

    stack = LimitStack.build(site=site, patient=patient)
    rows = []
    for d in profile_dose(profile).steps:
        needle = d.needle
        ceiling = effective_ceiling(profile, d.step, d.channel, stack)
        rows.append(
            {
                "step": d.step,
                "channel": d.channel,
                "intensity_mA": d.intensity_mA,
                "ceiling_mA": ceiling.value_mA,
                "ceiling_layer": str(ceiling.layer),
                "pulses": d.pulses,
                "phase_charge_uC": d.phase_charge_uC,
                "net_charge_uC": d.net_charge_uC,
                "rms_mA": d.rms_mA,
                "mean_rms_mA": d.mean_rms_mA,
                "duty_percent": 100 * d.duty_cycle,
                "seconds_per_rate": [[r, t] for r, t in d.time_per_frequency_s.items()],
                # Densities need the channel's needle geometry (None: the profile gives none).
                "shannon_k": needle.shannon_k if needle else None,
                "current_density_mA_per_cm2": needle.current_density_mA_per_cm2 if needle else None,
                "power_density_W_per_cm2": needle.power_density_W_per_cm2 if needle else None,
            }
        )
    return rows


def profile_entry(
    name: str, site: SitePolicy | None = None, patient: PatientContext | None = None
) -> dict[str, Any]:
    """One stored profile for the page (JSON-ready), checked with the site and patient layers
    given."""
    from eacontrol.profiles import validate_file

    result = validate_file(name, site=site, patient=patient)
    entry: dict[str, Any] = {
        "name": name,
        "advisories": [str(f.message) for f in result.advisories],
        "refusals": [str(f.message) for f in result.refusals],
    }
    profile = result.profile
    if profile is None:
        return {**entry, "title": name, "indication": "", "duration_s": 0, "channels": []}
    points = points_text(profile)
    steps = []
    for index, step in enumerate(profile.steps):
        first = profile.stimulation(index, step.channels[0])
        titration = step.titration(step.channels[0])
        intensity = (
            f"titrate to {titration.sensation} (guidance {titration.target_mA:g} mA)"
            if titration is not None
            else f"{first.intensity_mA:g} mA"
            if step.intensity == "fixed"
            else str(step.intensity)
        )
        steps.append(
            {
                "label": step.label or f"step {index + 1}",
                "mode": mode_text(first),
                "duration_s": step.duration_s,
                "channels": list(step.channels),
                "intensity": intensity,
                "ramp_up_s": step.ramp_up_s,
                "ramp_down_s": step.ramp_down_s,
            }
        )
    return {
        **entry,
        "title": profile.name,
        "indication": profile.indication,
        "duration_s": profile.total_duration_s,
        "channels": [{"channel": n, "points": points[n]} for n in sorted(points)],
        "steps": steps,
        # As `eactl show` derives it: per step and channel, at the target intensity.
        "dose": _dose(profile, site, patient),
    }


def catalog(
    *, site: SitePolicy | None = None, patient: PatientContext | None = None
) -> list[dict[str, Any]]:
    """Every stored profile, by name, checked with the site and patient layers given."""
    from eacontrol.profiles import stored_profile_names

    return [profile_entry(name, site, patient) for name in stored_profile_names()]
