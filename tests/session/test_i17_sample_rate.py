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
    held_s = step.ended_s - step.started_s - 2.0  # the 2 s ramp-down is the stop's (no samples)
    assert len(samples) >= held_s / 0.1 - 2  # 10 Hz until the ramp-down
    uptimes = [s.device_uptime_s for s in samples]
    assert all(u is not None for u in uptimes)
    assert all(b > a for a, b in itertools.pairwise(uptimes)), "a STATUS reused"
    steps = [b.t_s - a.t_s for a, b in itertools.pairwise(samples)]
    assert max(steps) < 0.15  # no period skipped
