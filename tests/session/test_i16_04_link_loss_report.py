"""Issue 16 item 4 in the report: a session whose link to the device was lost during the hold
says up to when the device confirmed its outputs (the last STATUS, the last sample's session
time) and that after it the outputs were not confirmed off; nothing later is called delivered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from eacontrol.errors import LinkLost
from eacontrol.profiles import load_profile
from eacontrol.records import Outcome
from eacontrol.records.markdown import render_markdown
from eacontrol.records.prose import methods_paragraph
from eacontrol.records.report import build_report

HAN = load_profile("lbp_2_100hz_han")  # two channels at 3 mA, 30 min


def test_i16_04_a_link_lost_report_says_delivery_was_confirmed_only_up_to_the_last_status(
    session_on_sim: Callable[..., Any],
) -> None:
    run = session_on_sim(HAN, "seed=1&unplug_at=20", patient_id="P-7", operator_id="OP-1")
    with pytest.raises(LinkLost):
        run.run()
    sid = run.session.session_id
    assert run.store.session(sid).outcome is Outcome.LINK_LOST
    last_s = max(s.t_s for s in run.store.samples(sid))
    assert 18.0 <= last_s < 20.0  # the last STATUS sampled in the hold, before the unplug
    report = build_report(run.store, sid)
    assert report["course"]["confirmed_until_s"] == last_s
    report["device"]["simulated"] = False  # as a real device's record reads
    methods = methods_paragraph(report)
    until = "0:19.0"
    assert f"Electroacupuncture was delivered, as confirmed by the device up to {until} of " in (
        methods
    )
    assert (
        f"The device confirmed its outputs up to {until} of session time (its last STATUS); "
        "then the connection to the device was lost, and the outputs were not confirmed off"
    ) in methods
    assert "Stimulation lasted" not in methods  # its length past the last STATUS is unknown
    for sentence in re.split(r"(?<=\.) ", methods):
        if "delivered" in sentence and "delivered totals" not in sentence:
            assert f"up to {until}" in sentence, sentence
    assert "ended when the connection to the device was lost, its outputs not confirmed off" in (
        methods
    )
    md = render_markdown(report)
    outcome_row = next(line for line in md.splitlines() if line.startswith("| Outcome |"))
    assert f"link_lost — The device confirmed its outputs up to {until}" in outcome_row
    assert "not confirmed off" in outcome_row
    ended = next(line for line in md.splitlines() if line.startswith("Ended: link_lost"))
    assert f"up to {until} of session time" in ended and "not confirmed off" in ended


def test_i16_04_a_completed_report_is_unchanged_by_the_link_loss_wording(
    session_on_sim: Callable[..., Any],
) -> None:
    run = session_on_sim(HAN, "seed=1", patient_id="P-7")
    run.session.run(
        on_tick=lambda s: s.stop() if s.t_s >= 10 and s.state.name == "RUNNING" else None
    )
    report = build_report(run.store, run.session.session_id)
    methods = methods_paragraph(report)
    assert "Stimulation lasted" in methods
    assert "confirmed by the device up to" not in methods
    assert "not confirmed off" not in methods
