"""``eactl show PROFILE``: a profile's parameters and derived dose, per step and channel.

Steps are numbered as findings name them (``steps[0]`` is step 0). Derived figures are computed
at the target intensity by ``eacontrol.profiles.step_dose``; the effective ceiling is the
profile's, lowered by the site and patient layers when they are given.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from eacontrol.cli.command import Commands, add_command, add_profile_argument
from eacontrol.cli.exitcodes import ExitCode
from eacontrol.cli.layers import add_layer_options, layers_from
from eacontrol.cli.output import printable
from eacontrol.cli.show_notes import contraindication_lines, titration_lines
from eacontrol.cli.table import duration_text, number, render_table

if TYPE_CHECKING:
    from eacontrol.profiles import Profile, Step, StepDose
    from eacontrol.safety import LimitStack

__all__ = ["derived_rows", "parameter_rows", "register"]

PARAMETER_HEADERS = (
    "STEP",
    "LABEL",
    "CH",
    "MODE",
    "FREQ Hz",
    "PHASE µs",
    "CYCLE s",
    "SHAPE",
    "GAP µs",
    "TARGET mA",
    "CEILING mA",
    "RAMP s",
    "DURATION",
)
DERIVED_HEADERS = (
    "STEP",
    "CH",
    "PULSES",
    "Q/PHASE µC",
    "NET µC",
    "Irms mA",
    "MEAN Irms mA",
    "DUTY %",
    "SECONDS PER RATE",
    "SHANNON k",
    "J mA/cm²",
    "P W/cm²",
)


def _joined(values: list[float]) -> str:
    return "/".join(number(v) for v in values)


def _cycle(step: Step) -> str:
    segments = step.cycle()
    if len(segments) == 1:
        return "-"
    return " ".join(f"{s.field.removesuffix('_s')}={number(s.length_s)}" for s in segments)


def _shape(step: Step) -> str:
    if step.asym_ratio == 1:
        return "symmetric"
    return f"asymmetric 1:{step.asym_ratio}"


def parameter_rows(profile: Profile, stack: LimitStack) -> list[tuple[str, ...]]:
    """One row per step and channel: what is programmed, with the effective ceiling."""
    from eacontrol.session import effective_ceiling

    rows: list[tuple[str, ...]] = []
    for i, step in enumerate(profile.steps):
        trains = step.trains()
        for ch in step.channels:
            binding = effective_ceiling(profile, i, ch, stack)
            ceiling = number(binding.value_mA)
            if binding.value_mA < profile.ceiling(i, ch)[0]:
                ceiling += f" ({binding.layer})"
            rows.append(
                (
                    str(i),
                    step.label or "-",
                    str(ch),
                    str(step.MODE),
                    _joined([t.frequency_hz for t in trains]),
                    _joined([t.phase_width_us for t in trains]),
                    _cycle(step),
                    _shape(step),
                    number(step.interphase_gap_us),
                    number(step.target_mA(ch)),
                    ceiling,
                    f"{number(step.ramp_up_s)}/{number(step.ramp_down_s)}",
                    duration_text(step.duration_s),
                )
            )
    return rows


def _derived_row(dose: StepDose) -> tuple[str, ...]:
    per_rate = " ".join(
        f"{number(rate)}Hz:{number(t, 1)}" for rate, t in dose.time_per_frequency_s.items()
    )
    needle = dose.needle
    return (
        str(dose.step),
        str(dose.channel),
        str(dose.pulses),
        number(dose.phase_charge_uC),
        number(dose.net_charge_uC),
        number(dose.rms_mA),
        number(dose.mean_rms_mA),
        number(100 * dose.duty_cycle, 1),
        per_rate,
        number(needle.shannon_k, 2) if needle else "-",
        number(needle.current_density_mA_per_cm2) if needle else "-",
        number(needle.power_density_W_per_cm2, 4) if needle else "-",
    )


def derived_rows(profile: Profile) -> list[tuple[str, ...]]:
    """One row per step and channel: the dose derived at the target intensity."""
    from eacontrol.profiles import step_dose

    return [
        _derived_row(
            step_dose(step, index=i, channel=ch, needle=profile.channel(ch).needle),
        )
        for i, step in enumerate(profile.steps)
        for ch in step.channels
    ]


def _header(profile: Profile) -> list[str]:
    lines = [printable(profile.name)]  # text from the file: a terminal must not obey it
    if profile.indication:
        lines.append(f"  indication: {printable(profile.indication)}")
    if profile.description:
        text = " ".join(profile.description.split())  # one paragraph, however the file wraps it
        lines.append(f"  about:      {printable(text)}")
    total = profile.total_duration_s
    lines.append(
        f"  duration:   {duration_text(total)} ({number(total)} s; the profile allows "
        f"{duration_text(profile.session.max_duration_s)}); default ceiling "
        f"{number(profile.session.ceiling_mA)} mA"
    )
    for channel in profile.channels:
        first, second = channel.electrodes
        needle = channel.needle
        geometry = (
            f", needle {number(needle.diameter_mm)} mm × {number(needle.inserted_length_mm)} mm"
            if needle
            else ""
        )
        lines.append(f"  channel {channel.channel}:  {first} – {second}{geometry}")
    lines.extend(f"  reference:  {printable(ref)}" for ref in profile.references)
    return lines


def _show(args: argparse.Namespace) -> int:
    """Show a profile's parameters and derived dose as tables.

    Show a profile's description, titration note and contraindications (the patient layer's
    rules for its needle pairs: pacemaker or ICD, pregnancy), then its parameters and derived
    quantities (pulses, phase charge, rms current, duty, time per rate, densities) per step and
    channel. A refused profile is not shown: its findings
    are printed and the exit code is 1.
    """
    from eacontrol.profiles import validate_file
    from eacontrol.safety import LimitStack

    layers = layers_from(args)
    result = validate_file(args.profile, site=layers.site, patient=layers.patient)
    profile = result.raise_for_refusals()
    stack = LimitStack.build(site=layers.site, patient=layers.patient)
    print("\n".join(_header(profile)))
    titration = titration_lines(profile.steps)
    if titration:
        print("\nTitration (the practitioner raises each channel from its start level)")
        print("\n".join(titration))
    print("\nContraindications (the patient layer refuses these: eactl run --patient-flags)")
    print("\n".join(contraindication_lines(profile)))
    print("\nParameters (step = its index in steps[], as findings name it)")
    print(render_table(PARAMETER_HEADERS, parameter_rows(profile, stack), right=(9, 10)))
    print("\nDerived at the target intensity (densities need the channel's needle geometry)")
    print(render_table(DERIVED_HEADERS, derived_rows(profile), right=(2, 3, 4, 5, 6, 7)))
    if result.advisories:
        print("\nAdvisories")
        print("\n".join(f"  {f}" for f in result.advisories))
    return int(ExitCode.OK)


def register(commands: Commands) -> None:
    """Add ``show`` to the command parsers."""
    parser = add_command(commands, "show", _show)
    add_profile_argument(parser)
    add_layer_options(parser)
