"""VirtualClock, Scheduler and RealClock."""

from __future__ import annotations

import math

import pytest

from simulator.clock import RealClock, Scheduler, StalledActor, VirtualClock, seconds_to_us


class Ticker:
    """An actor with a deadline every ``period_us``, recording when it was advanced to them."""

    def __init__(self, period_us: int, start_us: int = 0) -> None:
        self.period_us = period_us
        self.next_us = start_us + period_us
        self.ticks: list[int] = []
        self.advanced: list[int] = []

    def next_deadline_us(self) -> int | None:
        return self.next_us

    def advance(self, now_us: int) -> None:
        self.advanced.append(now_us)
        while self.next_us <= now_us:
            self.ticks.append(self.next_us)
            self.next_us += self.period_us


def test_seconds_to_us_rounds_to_whole_microseconds() -> None:
    assert seconds_to_us(0.1) == 100_000
    assert seconds_to_us(1e-6) == 1
    assert seconds_to_us(0) == 0


@pytest.mark.parametrize("bad", [-0.001, math.nan, math.inf])
def test_seconds_to_us_rejects_negative_and_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite and non-negative"):
        seconds_to_us(bad)


def test_virtual_time_does_not_drift() -> None:
    clock = VirtualClock()
    for _ in range(10_000):
        clock.sleep(0.1)
    assert clock.now_us == 1_000 * 1_000_000
    assert clock.now() == 1000.0


def test_callbacks_run_in_time_then_insertion_order_at_their_time() -> None:
    clock = VirtualClock()
    ran: list[tuple[str, int]] = []
    clock.schedule(300, lambda now: ran.append(("c", now)))
    clock.schedule(100, lambda now: ran.append(("a", now)))
    clock.schedule(300, lambda now: ran.append(("d", now)))
    clock.schedule(200, lambda now: ran.append(("b", now)))
    clock.advance_to(250)
    assert ran == [("a", 100), ("b", 200)]
    assert clock.now_us == 250
    clock.sleep(1)
    assert ran[2:] == [("c", 300), ("d", 300)]


def test_cancelled_callback_never_runs() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    handle = clock.schedule(100, ran.append)
    clock.schedule(200, ran.append)
    clock.cancel(handle)
    clock.sleep(1)
    assert ran == [200]
    clock.cancel(handle)  # already gone: no effect


def test_actors_are_run_at_each_deadline_and_time_jumps_between() -> None:
    clock = VirtualClock()
    ticker = Ticker(10_000)
    clock.add_actor(ticker)
    clock.sleep(0.1)
    assert ticker.ticks == [10_000 * k for k in range(1, 11)]
    # one advance per deadline, plus the start and the end: no stepping in between
    assert ticker.advanced == [0, *ticker.ticks]
    assert clock.next_deadline_us() == 110_000


def test_advance_stops_at_the_instant_the_condition_holds() -> None:
    clock = VirtualClock()
    ticker = Ticker(7)
    clock.add_actor(ticker)
    held = clock.advance_to(1_000, until=lambda: len(ticker.ticks) >= 3)
    assert held
    assert clock.now_us == 21
    assert not clock.advance_to(30, until=lambda: len(ticker.ticks) >= 100)
    assert clock.now_us == 30


def test_advance_into_the_past_does_nothing() -> None:
    clock = VirtualClock(start_us=500)
    clock.advance_to(100)
    assert clock.now_us == 500


def test_advancing_from_inside_a_step_is_refused() -> None:
    clock = VirtualClock()
    errors: list[Exception] = []

    def reenter(now_us: int) -> None:
        try:
            clock.sleep(1)
        except RuntimeError as err:
            errors.append(err)

    clock.schedule(10, reenter)
    clock.sleep(1)
    assert len(errors) == 1
    assert clock.now_us == 1_000_000


def test_an_actor_that_never_gets_done_is_reported() -> None:
    class Stuck:
        def next_deadline_us(self) -> int | None:
            return 5

        def advance(self, now_us: int) -> None:
            pass

    clock = VirtualClock()
    clock.add_actor(Stuck())
    with pytest.raises(StalledActor):
        clock.sleep(1)


def test_callback_scheduling_work_at_the_same_instant_runs_it_then() -> None:
    scheduler = Scheduler()
    ran: list[str] = []
    scheduler.schedule(10, lambda now: scheduler.schedule(now, lambda _: ran.append("second")))
    scheduler.run_due(10)
    assert ran == ["second"]
    assert scheduler.next_deadline_us() is None


def test_scheduler_in_real_time_passes_the_actual_time_to_late_callbacks() -> None:
    scheduler = Scheduler()
    ran: list[int] = []
    scheduler.schedule(100, ran.append)
    scheduler.run_due(50)
    assert ran == []
    scheduler.run_due(180)
    assert ran == [180]


def test_sleep_for_zero_or_less_lets_no_time_pass_but_runs_what_is_due() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    clock.schedule(0, ran.append)
    clock.sleep(-1)
    assert (clock.now_us, ran) == (0, [0])
    RealClock().sleep(-1)


def test_sleep_rejects_non_finite_durations() -> None:
    with pytest.raises(ValueError):
        VirtualClock().sleep(math.nan)
    with pytest.raises(ValueError):
        RealClock().sleep(math.inf)


def test_real_clock_counts_up_from_zero() -> None:
    clock = RealClock()
    first = clock.now_us
    clock.sleep(0.001)
    assert 0 <= first <= clock.now_us
    assert clock.now() >= first / 1e6
