"""Issue 14 item 6: only increases are rate-limited; a decrease is never throttled.

Over ``sim://`` in virtual time: lowering by more than 0.5 mA, lowering again at once, and
lowering straight to zero in one action all reach the device at its fastest slew; the 0.5 mA /
1 s operator-step rule still refuses increases."""

from __future__ import annotations

from collections.abc import Callable

from eacontrol.errors import ParameterError
from eacontrol.profiles import Profile
from eacontrol.records import Outcome

from .conftest import Run, Script
from .test_live_control import device_mA

Factory = Callable[..., Run]


def test_i14_06_decrease_to_zero_in_one_action_is_immediate(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    """2 mA → 0 mA in one call, 0.1 s after an increase: accepted, and the device is at zero
    well within a second (its fastest slew), not after 4 s at 0.5 mA/s."""
    run = session_on_sim(short_profile)
    seen: dict[str, float] = {}
    script = Script(
        (5.0, lambda s: s.adjust(1, +0.5)),  # 2.0 → 2.5 mA, slewing at 0.5 mA/s
        (5.1, lambda s: s.set_intensity(1, 0)),  # 0.1 s later: 2.5 → 0 in one action
        (5.1, lambda s: s.set_intensity(2, 0)),  # 2 mA → 0 in one action on the other channel
        (5.8, lambda s: seen.update(ch1=device_mA(run, 1), ch2=device_mA(run, 2))),
    )
    result = run.run(on_tick=script)
    assert not [r for r in script.results.values() if isinstance(r, Exception)], script.results
    assert result.outcome is Outcome.COMPLETED
    assert seen == {"ch1": 0.0, "ch2": 0.0}
    changes = [
        (e.channel, e.data["from_mA"], e.data["to_mA"])
        for e in run.events
        if e.kind == "intensity" and e.data.get("by") == "operator"
    ]
    assert changes == [(1, 2.0, 2.5), (1, 2.5, 0.0), (2, 2.0, 0.0)]


def test_i14_06_decreases_are_not_rate_limited_but_increases_are(
    session_on_sim: Factory, short_profile: Profile
) -> None:
    """Decreases 0.1 s apart and right after an increase are all accepted; an increase still
    waits 1 s after the previous increase (a decrease in between does not reset that) and is
    still at most 0.5 mA."""
    run = session_on_sim(short_profile)
    script = Script(
        (5.0, lambda s: s.adjust(1, +0.5)),  # increase: 2.0 → 2.5
        (5.1, lambda s: s.adjust(1, -1.0)),  # decrease of 1 mA, 0.1 s later: 2.5 → 1.5
        (5.2, lambda s: s.adjust(1, -0.5)),  # and again 0.1 s later: 1.5 → 1.0
        (5.3, lambda s: s.adjust(1, +0.5)),  # increase 0.3 s after the last increase: refused
        (6.0, lambda s: s.adjust(1, +0.5)),  # 1 s after the last increase: 1.0 → 1.5
        (7.5, lambda s: s.adjust(1, +1.0)),  # an increase of 1 mA: refused
    )
    result = run.run(on_tick=script)
    assert result.outcome is Outcome.COMPLETED
    refused = {t: r for t, r in script.results.items() if isinstance(r, ParameterError)}
    assert sorted(refused) == [5.3, 7.5], script.results
    assert "at least 1 s after the previous one" in refused[5.3].allowed
    assert "at most 0.5 mA" in refused[7.5].allowed
    changes = [
        (e.data["from_mA"], e.data["to_mA"])
        for e in run.events
        if e.kind == "intensity" and e.data.get("by") == "operator"
    ]
    assert changes == [(2.0, 2.5), (2.5, 1.5), (1.5, 1.0), (1.0, 1.5)]
