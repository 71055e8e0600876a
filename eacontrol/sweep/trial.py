"""What one point of a sweep runs: a profile built in Python, and the simulated device's options.

A *builder* turns a grid point into a :class:`Setup` (a :class:`~eacontrol.profiles.Profile`
and ``sim://`` options such as ``load1="10k"``). Builders run in the calling process, so any
callable works (a lambda, a closure); only the resulting :class:`Trial` travels to a worker.
A profile the models refuse (a pulse longer than its period, a text where mA belong) makes the
point *refused* here, with the reason (any other error of a builder is a mistake in the sweep
and is raised); the limit layers refuse in the worker, at the session's
pre-flight, exactly as for a profile loaded from TOML (``docs/session.md``).

:func:`continuous_trial` is the builder for the common grid: one continuous step per point,
its frequency, phase width and intensity from the point, the load on every channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pydantic

from eacontrol.errors import Layer, ParameterError, ProfileError
from eacontrol.profiles import Channel, ContinuousStep, Profile
from eacontrol.sweep.grid import Point, Value

__all__ = [
    "CONTINUOUS_AXES",
    "SAME_SIDE_PAIRS",
    "Builder",
    "Setup",
    "Trial",
    "continuous_trial",
    "make_trial",
]


@dataclass(frozen=True)
class Setup:
    """What a builder returns for one point.

    Attributes:
        profile: the profile to run (built through the profile models, checked by the same
            limit engine as any profile when the session starts).
        sim: ``sim://`` URL options (``simulator/README.md``), e.g. ``{"load1": "10k"}``; the
            point's seed is added as ``seed`` and may not be given here.
    """

    profile: Profile
    sim: Mapping[str, str] = field(default_factory=dict)


Builder = Callable[[Point], Setup | Profile]
"""Turns a grid point into what its session runs (a bare ``Profile``: default ``sim://``)."""


@dataclass(frozen=True)
class Trial:
    """One session of a sweep, ready for a worker (picklable: profile and text only).

    Attributes:
        point: the grid point.
        profile: the profile, or None when the builder refused the point.
        sim: the ``sim://`` options, without the seed.
        refused: why the builder refused the point (None: it did not).
    """

    point: Point
    profile: Profile | None
    sim: Mapping[str, str]
    refused: str | None = None

    @property
    def url(self) -> str:
        """The ``sim://`` URL of this trial's device: its options, sorted, then its seed."""
        options = [*sorted(self.sim.items()), ("seed", str(self.point.seed))]
        return "sim://?" + urlencode(options, safe=",:@")


def make_trial(build: Builder, point: Point) -> Trial:
    """Build a point's trial; a point the profile models or the builder refuse is a refused
    trial carrying the reason, never an exception.

    A builder refuses a point by raising ``pydantic.ValidationError`` (a profile model did) or
    a :class:`~eacontrol.errors.ProfileError` (e.g. ``ProfileRefused`` from its own
    ``check_profile``). Anything else it raises is a mistake in the sweep, not in one point, and
    propagates with a note naming the point.

    Raises:
        ParameterError: the builder's ``sim`` options name ``seed`` (the point's own) or are
            not texts; or the builder raised it (``continuous_trial``: an axis it does not
            read).
    """
    try:
        made = build(point)
    except pydantic.ValidationError as err:
        return Trial(point, None, {}, refused=_validation_text(err))
    except ProfileError as err:
        return Trial(point, None, {}, refused=f"{type(err).__name__}: {err}")
    except Exception as err:
        err.add_note(f"eacontrol.sweep: building point {point.index} {dict(point.values)}")
        raise
    setup = made if isinstance(made, Setup) else Setup(made)
    if not isinstance(setup.profile, Profile):
        raise ParameterError(
            "builder result", type(made).__name__, "a Setup or a Profile", Layer.SCHEMA
        )
    sim = dict(setup.sim)
    if "seed" in sim:
        raise ParameterError(
            "sim option seed",
            sim["seed"],
            "no seed: each point's seed is derived from its values (Point.seed)",
            Layer.SCHEMA,
        )
    for key, value in sim.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ParameterError(
                "sim option", f"{key!r}={value!r}", "texts, e.g. {'load1': '10k'}", Layer.SCHEMA
            )
    return Trial(point, setup.profile, sim)


def _validation_text(err: pydantic.ValidationError) -> str:
    """pydantic's errors on one line each: ``field.path: message``."""
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or err.title
        parts.append(f"{where}: {e['msg']}")
    return "profile refused by its model: " + "; ".join(parts)


# --- the builder for a continuous-step grid ------------------------------------------------------

SAME_SIDE_PAIRS = (
    ("BL23-L", "BL25-L"),
    ("BL23-R", "BL25-R"),
    ("BL24-L", "BL26-L"),
    ("BL24-R", "BL26-R"),
    ("BL40-L", "BL57-L"),
    ("BL40-R", "BL57-R"),
)
"""The needle pairs of channels 1-6: paravertebral and leg pairs, each on one side of the body
(the placement rules refuse a pair across the spine), as in ``benchmarks/stack.py``."""

CONTINUOUS_AXES: Mapping[str, Value] = {
    "frequency_hz": 2.0,
    "phase_width_us": 200.0,
    "intensity_mA": 2.0,
    "load": "500",
    "duration_s": 60.0,
    "channels": 1,
    "ramp_up_s": 3.0,
    "ramp_down_s": 2.0,
}
"""The axes :func:`continuous_trial` reads, with the value used when the grid lacks one. Design
values: 2 Hz at 200 µs and 2 mA are inside every standard limit (docs/safety.md), 500 Ω is the
IEC 60601-2-10 test load and the simulator's default, 60 s keeps a 200-point sweep to about a
minute of wall time on one core (BENCHMARKS.md), and the 3 s / 2 s ramps are those of the
stored profiles."""


def continuous_trial(point: Point) -> Setup:
    """One continuous step on ``channels`` channels, every parameter from the point.

    Axes (all optional, defaults in :data:`CONTINUOUS_AXES`): ``frequency_hz``,
    ``phase_width_us``, ``intensity_mA``, ``duration_s``, ``ramp_up_s``, ``ramp_down_s``,
    ``channels`` (1-6, needle pairs :data:`SAME_SIDE_PAIRS`) and ``load`` (a ``sim://`` load
    text, ``"500"``, ``"10k"``, ``"randles:200,1k,100n"``, on every channel).

    Raises:
        ParameterError: the grid has an axis this builder does not read, or ``channels`` is
            not a whole number 1-6 (a mistake in the grid, not a refused point).
        pydantic.ValidationError: the step's values break the profile models (the point is
            refused by :func:`make_trial`).
    """
    unknown = sorted(set(point.values) - set(CONTINUOUS_AXES))
    if unknown:
        raise ParameterError(
            "grid axis",
            unknown[0],
            f"one of {', '.join(CONTINUOUS_AXES)} (continuous_trial; write a builder for more)",
            Layer.SCHEMA,
        )
    v = {name: point.get(name, default) for name, default in CONTINUOUS_AXES.items()}
    count = v["channels"]
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 6:
        raise ParameterError("channels", count, "a whole number 1-6", Layer.SCHEMA)
    numbers = tuple(range(1, count + 1))
    label = ", ".join(f"{k}={v[k]}" for k in point.values)
    profile = Profile.model_validate(
        {
            "schema_version": 1,
            "name": f"sweep point {point.index}" + (f" ({label})" if label else ""),
            "description": "built by eacontrol.sweep.continuous_trial",
            "channels": [Channel(channel=n, electrodes=SAME_SIDE_PAIRS[n - 1]) for n in numbers],
            "steps": [
                ContinuousStep.model_validate(
                    {
                        "mode": "continuous",
                        "label": "sweep",
                        "channels": numbers,
                        "frequency_hz": v["frequency_hz"],
                        "phase_width_us": v["phase_width_us"],
                        "intensity_mA": v["intensity_mA"],
                        "ramp_up_s": v["ramp_up_s"],
                        "ramp_down_s": v["ramp_down_s"],
                        "duration_s": v["duration_s"],
                    }
                )
            ],
        }
    )
    return Setup(profile, {f"load{n}": str(v["load"]) for n in numbers})
