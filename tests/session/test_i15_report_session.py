"""Issue 15, report: a session on ``sim://`` in which the operator changes intensity three times;
its report's Methods paragraph names the three changes (time, channel, values) and the range
delivered, from the record the runner wrote; the practitioner's account and the device's
compliance voltage are recorded with the session."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from eacontrol.profiles import Profile
from eacontrol.records import ClinicalDetails, Outcome, build_report, fmt, render_html
from eacontrol.records.prose import methods_paragraph

from .conftest import Run, Script

Factory = Callable[..., Run]


def test_i15_report_three_operator_changes_on_sim_are_in_the_methods_paragraph(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    clinical = ClinicalDetails(intensity_aim="visible muscle twitch", needle_maker="Hwato")
    run = session_on_sim(short_profile, clinical=clinical)
    script = Script(
        (5.0, lambda s: s.adjust(1, +0.5)),
        (7.0, lambda s: s.adjust(1, +0.5)),
        (9.0, lambda s: s.set_intensity(2, 1.5)),
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert not [r for r in script.results.values() if isinstance(r, Exception)]
    sid = result.session_id
    report = build_report(run.store, sid)
    methods = methods_paragraph(report)
    changes = [
        e for e in run.store.events(sid) if e.kind == "intensity" and e.data.get("by") == "operator"
    ]
    assert [(e.channel, e.data["from_mA"], e.data["to_mA"]) for e in changes] == [
        (1, 2.0, 2.5),
        (1, 2.5, 3.0),
        (2, 2.0, 1.5),
    ]
    assert [round(e.t_s) for e in changes] == [5, 7, 9]
    first, second, third = (fmt.clock(e.t_s) for e in changes)
    assert (
        f"The operator changed the intensity 3 times: at {first} on channel 1 from 2 mA to "
        f"2.5 mA, at {second} on channel 1 from 2.5 mA to 3 mA and at {third} on channel 2 "
        "from 2 mA to 1.5 mA."
    ) in methods
    # The delivered range: the measured current of the samples taken while on.
    for channel in (1, 2):
        on = [
            s.measured_mA for s in run.store.samples(sid) if s.channel == channel and s.set_mA > 0
        ]
        phrase = (
            f"{fmt.sig(min(on))}–{fmt.current(max(on))} on channel {channel} "
            f"(median {fmt.current(statistics.median(on))})"
        )
        assert phrase in methods
    assert 1.5 in on  # channel 2 was turned down to 1.5 mA, and the record shows it
    # The runner recorded the practitioner's account and the device's compliance voltage.
    meta = run.store.session(sid).meta
    assert meta.clinical == clinical
    assert meta.compliance_V == run.stim.limits.compliance_V
    assert f"(compliance voltage {fmt.sig(run.stim.limits.compliance_V)} V)" in methods
    assert "Intensity was adjusted aiming at “visible muscle twitch”." in methods
    assert "made by Hwato" in render_html(report)
