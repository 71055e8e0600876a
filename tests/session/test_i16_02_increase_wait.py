"""Issue 16 item 2: the session says how long until a channel may be raised again, so the live
view can say "wait 0.4 s" instead of "out of range"; a decrease never waits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from eacontrol.errors import ParameterError
from eacontrol.profiles import Profile
from eacontrol.session import Session

from .conftest import Run, Script


def test_i16_02_increase_wait_counts_down_from_the_last_raise(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    waits: dict[str, float] = {}

    def raise_then_ask(session: Session) -> None:
        waits["before"] = session.increase_wait_s(1)
        session.adjust(1, 0.5)
        waits["at once"] = session.increase_wait_s(1)
        waits["other channel"] = session.increase_wait_s(2)

    def lower_then_ask(session: Session) -> None:
        session.adjust(1, -2.5)  # a decrease: at once, and it does not reset the wait
        waits["0.6 s later"] = session.increase_wait_s(1)

    def ask(session: Session) -> None:
        waits["1.2 s later"] = session.increase_wait_s(1)

    script = Script((5.0, raise_then_ask), (5.6, lower_then_ask), (6.2, ask), (7.0, Session.stop))
    run = session_on_sim(short_profile)
    run.session.run(on_tick=script)
    assert waits["before"] == 0.0
    assert waits["at once"] == pytest.approx(1.0, abs=0.05)
    assert waits["other channel"] == 0.0
    assert waits["0.6 s later"] == pytest.approx(0.4, abs=0.05)
    assert waits["1.2 s later"] == 0.0


def test_i16_02_increase_wait_names_an_unknown_channel(
    session_on_sim: Callable[..., Run], short_profile: Profile
) -> None:
    results: list[object] = []

    def ask(session: Session) -> None:
        try:
            session.increase_wait_s(5)
        except ParameterError as err:
            results.append(err)

    run = session_on_sim(short_profile)
    run.session.run(on_tick=Script((3.0, ask), (4.0, Session.stop)))
    (err,) = results
    assert isinstance(err, ParameterError) and "channel" in str(err)
