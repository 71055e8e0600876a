"""Issue 16 item 9: the report lists the practitioner's intensity changes (time, channel,
from → to) and sums up refused presses in one line instead of one event row each.

A real session on ``sim://`` in virtual time: its refusals are the session's own warnings, so a
change of the rule's wording that the summary no longer recognises fails here.
"""

from __future__ import annotations

from collections.abc import Callable

from eacontrol.profiles import Profile
from eacontrol.records import Outcome, build_report, render_html, render_markdown

from .conftest import Run, Script

Factory = Callable[..., Run]


def test_i16_09_report_lists_operator_changes_and_sums_up_refused_presses(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    run = session_on_sim(short_profile)
    script = Script(
        (5.0, lambda s: s.adjust(1, +0.5)),  # 2.0 → 2.5 mA on channel 1
        (5.2, lambda s: s.adjust(1, +0.5)),  # too soon: refused
        (5.4, lambda s: s.adjust(1, +0.5)),  # too soon: refused
        (5.6, lambda s: s.adjust(1, +0.5)),  # too soon: refused
        (7.0, lambda s: s.adjust(1, +1.0)),  # more than one step: refused
        (8.0, lambda s: s.set_intensity(2, 0)),  # 2.0 → 0 mA on channel 2
    )
    assert run.run(on_tick=script).outcome is Outcome.COMPLETED
    assert run.session.session_id is not None
    report = build_report(run.store, run.session.session_id)
    md = render_markdown(report)
    changes = md.split("## Operator changes, pauses and stops\n\n", 1)[1].split("\n## ", 1)[0]
    assert "| Time | Channel | From | To |" in changes
    assert "| 0:05.0 | 1 | 2 mA | 2.5 mA |" in changes
    assert "| 0:08.0 | 2 | 2 mA | 0 mA |" in changes
    line = (
        "Refused presses: 3 raises refused (too soon after the previous raise) on channel 1; "
        "1 raise refused (larger than one operator step) on channel 1."
    )
    assert line in changes
    events = md.split("## Events\n\n", 1)[1]
    assert "operator request refused" not in events  # summed up, not one row per press
    assert line in render_html(report)
    kept = [e for e in report["events"] if "operator request refused" in e["message"]]
    assert len(kept) == 4  # the JSON report keeps every one
