"""Issue 16 item 15: ``eactl show`` prints the profile's contraindications (the patient layer's
rules for its needle pairs: pacemaker or ICD, pregnancy) and the titration note of a titrated
step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eacontrol.cli.show_notes import titration_lines

Run = Callable[..., Any]


def _section(out: str, heading: str) -> list[str]:
    part = out.split(f"\n{heading}")[1].split("\n\n")[0]
    return part.splitlines()[1:]


def test_i16_15_show_lists_the_contraindications_for_the_profiles_needle_pairs(
    eactl: Run,
) -> None:
    result = eactl("show", "lbp_2_100hz_han")
    assert result.code == 0, result.err
    lines = _section(result.out, "Contraindications")
    assert lines[0].startswith(
        "  pacemaker or ICD: no electrical stimulation; a recorded clearance "
        "(--implant-clearance) permits none of its channels"
    )
    assert lines[1].startswith("    source: IEC 60601-2-10")
    assert lines[2] == "  pregnancy: refused unless an override is recorded for the point"
    assert lines[3].startswith("    channel 1: BL23-L is on the lumbosacral region")
    assert lines[5].startswith("    source: AACP 2012")
    knee = _section(eactl("show", "knee_oa_2_100hz").out, "Contraindications")
    assert "permits channels 1, 2 (distal pairs on one lower limb only)" in knee[0]
    assert knee[2] == "  pregnancy: none of its points is refused"


@dataclass(frozen=True)
class _Titration:
    start_mA: float
    target_mA: float
    sensation: str


@dataclass(frozen=True)
class _Step:
    settings: _Titration | None

    def titration(self) -> _Titration | None:
        return self.settings


def test_i16_15_a_titrated_step_shows_its_start_sensation_and_target() -> None:
    steps = [_Step(None), _Step(_Titration(0.0, 4.0, "strong but comfortable tingling"))]
    assert titration_lines(steps) == [
        "  step 2: starts at 0 mA; raise each channel to “strong but comfortable tingling” "
        "(target 4 mA is guidance, the ceiling the most that can be set)"
    ]
    assert titration_lines([object()]) == []  # a step without titration: fixed intensity


def test_i16_15_a_fixed_profile_prints_no_titration_section(eactl: Run) -> None:
    out = eactl("show", "research_template").out
    assert "\nTitration" not in out
    assert out.index("Contraindications") < out.index("Parameters")
