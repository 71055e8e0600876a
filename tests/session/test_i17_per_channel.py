"""Issue 17: a step with per-channel intensity runs on ``sim://`` with each channel at its own
target and ceiling, and the record and report say each channel's own prescription."""

from __future__ import annotations

from collections.abc import Callable

import profile_text

from eacontrol.profiles import loads_profile
from eacontrol.records import Outcome, build_report, render_markdown

from .conftest import Run, Script


def test_i17_each_channel_delivers_and_records_its_own_target(
    session_on_sim: Callable[..., Run],
) -> None:
    step = profile_text.CONTINUOUS_2_HZ | {
        "duration_s": 20,
        "ceiling_mA": 6,
        "channel_intensity_mA": {2: 1.5},
        "channel_ceiling_mA": {2: 2},
    }
    text = profile_text.profile_toml("Per-channel 2 Hz", step)
    run = session_on_sim(loads_profile(text), "seed=17")
    seen: dict[str, float] = {}

    def look(_session: object) -> None:
        seen["1"], seen["2"] = (run.device.output_uA(i) / 1000 for i in (0, 1))

    script = Script((10.0, look), (11.0, lambda s: s.set_intensity(2, 2.5)))
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    assert seen == {"1": 3.0, "2": 1.5}
    refused = script.results[11.0]
    assert isinstance(refused, Exception) and "2 mA" in str(refused)  # channel 2's own ceiling
    (step,) = run.store.session(result.session_id).meta.prescription["steps"]
    assert step["intensity_mA"] == {"1": 3.0, "2": 1.5}
    assert step["ceiling_mA"] == {"1": 6.0, "2": 2.0}
    report = render_markdown(build_report(run.store, result.session_id))
    assert "3 mA on channel 1 and 1.5 mA on channel 2" in report
