"""The stored profiles the panel offers, as the page shows them before a start.

Only stored (reviewed) profiles can be chosen from the page, by name: the page never names a
file. Each entry has what the practitioner checks before starting: indication, duration, the
needles of each channel, every step of the plan, the derived dose per step and channel (as
``eactl show`` derives it, at the target intensity), and every advisory and refusal of the
standard layer (``validate_file``; the session's own pre-flight checks every layer again).
"""

from __future__ import annotations

from typing import Any

from eacontrol.cli.plainwords import mode_text
from eacontrol.cli.run_cmd import points_text

__all__ = ["catalog", "profile_entry"]


def profile_entry(name: str) -> dict[str, Any]:
    """One stored profile for the page (JSON-ready)."""
    from eacontrol.profiles import profile_dose, validate_file

    result = validate_file(name)
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
        "dose": [
            {
                "step": d.step,
                "channel": d.channel,
                "intensity_mA": d.intensity_mA,
                "pulses": d.pulses,
                "phase_charge_uC": d.phase_charge_uC,
                "net_charge_uC": d.net_charge_uC,
                "rms_mA": d.rms_mA,
            }
            for d in profile_dose(profile).steps
        ],
    }


def catalog() -> list[dict[str, Any]]:
    """Every stored profile, by name."""
    from eacontrol.profiles import stored_profile_names

    return [profile_entry(name) for name in stored_profile_names()]
