"""Issue 17: the sample rate is configurable up to one sample per heartbeat (control period),
and every sample comes from its own STATUS: none is a STATUS recorded twice."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from eacontrol.profiles import Profile

from .conftest import Run


def test_i17_one_sample_per_heartbeat_each_from_a_new_status(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    run = session_on_sim(short_profile, "seed=5", lease_ms=500, sample_period_s=0.1)
    result = run.run()
    samples = [s for s in run.store.samples(result.session_id) if s.channel == 1]
    (step,) = run.store.steps(result.session_id)
    assert step.ended_s is not None
    ran_s = step.ended_s - step.started_s  # the 2 s ramp-down sampled too
    assert len(samples) >= ran_s / 0.1 - 2  # 10 Hz to the end
    uptimes = [s.device_uptime_s for s in samples]
    assert all(u is not None for u in uptimes)
    assert all(b > a for a, b in itertools.pairwise(uptimes)), "a STATUS reused"
    steps = [b.t_s - a.t_s for a, b in itertools.pairwise(samples)]
    assert max(steps) < 0.15  # no period skipped


def test_i17_the_ramp_down_is_sampled_as_it_is_delivered(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    """While the step's ramp-down is confirmed, samples go on from the STATUS it is confirmed
    by: the record shows the intensity going down, not a gap at every step's end."""
    run = session_on_sim(short_profile, "seed=6", sample_period_s=0.5)
    result = run.run()
    (step,) = run.store.steps(result.session_id)
    assert step.ended_s is not None
    ramp = [
        s
        for s in run.store.samples(result.session_id)
        if s.channel == 1 and s.t_s > step.ended_s - 2.0
    ]
    assert len(ramp) >= 3  # every 0.5 s of the 2 s ramp-down
    levels = [s.set_mA for s in ramp]
    assert levels == sorted(levels, reverse=True) and levels[0] > levels[-1]
    assert all(b.t_s - a.t_s < 0.6 for a, b in itertools.pairwise(ramp))
