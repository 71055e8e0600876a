"""Issue 14 item 14: channels on the same pair of needles get an advisory, shown with the other
placement advisories (before the fix, eight channels on one pair validated without a word)."""

from __future__ import annotations

import pytest

from eacontrol.anatomy.acupoints import parse_site
from eacontrol.errors import Layer, Severity
from eacontrol.profiles import validate_text
from eacontrol.safety.placement import RULE_SOURCES, PlacementRule, shared_pairs


def _profile(*pairs: tuple[str, str]) -> str:
    text = ["schema_version = 1", 'name = "shared pair test"']
    for n, (a, b) in enumerate(pairs, start=1):
        text += ["[[channels]]", f"channel = {n}", f'electrodes = ["{a}", "{b}"]']
    numbers = ", ".join(str(n) for n in range(1, len(pairs) + 1))
    text += [
        "[[steps]]",
        f"channels = [{numbers}]",
        'mode = "continuous"',
        "frequency_hz = 2",
        "phase_width_us = 300",
        "intensity_mA = 2",
        "ramp_up_s = 2",
        "ramp_down_s = 2",
        "duration_s = 60",
    ]
    return "\n".join(text) + "\n"


def _shared(text: str) -> list[tuple[str, str]]:
    result = validate_text(text, file="p.toml")
    assert not result.refused, result.findings
    return [
        (f.path, f.message)
        for f in result.advisories
        if f.quantity == f"placement: {PlacementRule.SHARED_PAIR}"
    ]


def test_i14_14_eight_channels_on_one_pair_of_needles_get_an_advisory() -> None:
    result = validate_text(_profile(*[("BL23-L", "BL25-L")] * 8), file="p.toml")
    assert not result.refused
    (finding,) = [f for f in result.advisories if "all use the needles" in f.message]
    assert finding.severity is Severity.ADVISORY
    assert finding.layer is Layer.STANDARD
    assert finding.path == "channels[1].electrodes"
    assert finding.line == 8  # the second channel's electrodes
    assert finding.message.startswith("channels 1, 2, 3, 4, 5, 6, 7, 8 all use the needles")
    assert "up to 8 × one channel's" in finding.message
    assert finding.source == RULE_SOURCES[PlacementRule.SHARED_PAIR]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("ST36-L", "ST40-L"), ("ST40-L", "ST36-L")], [("channels[1].electrodes", "1, 2")]),
        (
            [
                ("ST36-L", "ST40-L"),
                ("ST36-R", "ST40-R"),
                ("ST36-L", "ST40-L"),
                ("ST36-R", "ST40-R"),
            ],
            [("channels[2].electrodes", "1, 3"), ("channels[3].electrodes", "2, 4")],
        ),
        ([("ST36-L", "ST40-L"), ("ST36-L", "ST37-L")], []),  # one needle shared, not the pair
        ([("ST36-L", "ST40-L"), ("ST36-R", "ST40-R")], []),
    ],
    ids=["reversed order", "two shared pairs", "one needle in common", "distinct pairs"],
)
def test_i14_14_any_two_channels_on_the_same_pair_get_an_advisory(
    pairs: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    found = _shared(_profile(*pairs))
    assert [(path, f"channels {numbers} all use") for path, numbers in expected] == [
        (path, message.split(" the needles")[0]) for path, message in found
    ]


def test_i14_14_shared_pairs_rule() -> None:
    a, b, c = parse_site("LI4-L"), parse_site("LI11-L"), parse_site("LI10-L")
    issues = shared_pairs([(1, (a, b)), (2, (a, c)), (3, (b, a))])
    assert [(position, issue.rule, issue.severity) for position, issue in issues] == [
        (2, PlacementRule.SHARED_PAIR, Severity.ADVISORY)
    ]
