"""The test tiers' hypothesis profiles and example counts (docs/testing.md).

Two profiles, registered and loaded by ``tests/conftest.py`` before any test module is imported:

- ``dev`` (the default): a quick look, :data:`DEV_EXAMPLES` examples a property;
- ``ci`` (``EACONTROL_CI=1``, what ``.ci/run`` sets): :data:`CI_EXAMPLES` examples, derandomized
  (the same examples every run), no deadline (a loaded two-core runner is slow, not wrong), no
  example database.

``HYPOTHESIS_PROFILE=NAME`` picks a profile by name (it wins over ``EACONTROL_CI``), also one a
developer registered, e.g. with more examples for a nightly run.

A test that needs more examples than a profile's default says how many it runs on ``ci`` and
asks :func:`examples` for its count: ``@settings(max_examples=examples(10_000))``. The count
follows the loaded profile (a quarter on ``dev``, all of it on ``ci``, ten times as many on a
profile with ``max_examples=1000``), so a per-test count never silently overrides the profile.
"""

from __future__ import annotations

import math
import os
from datetime import timedelta

from hypothesis import settings

__all__ = ["CI_EXAMPLES", "DEV_EXAMPLES", "examples", "in_ci", "load_profile", "profile_name"]

CI_EXAMPLES = 100
"""Examples a property on ``ci``: hypothesis's own default, what every test without its own count
ran before the profiles existed."""

DEV_EXAMPLES = 25
"""Examples a property on ``dev``."""


def in_ci() -> bool:
    """True when ``EACONTROL_CI=1`` (CI's rules: the ``ci`` profile, no skips but hardware)."""
    return os.environ.get("EACONTROL_CI") == "1"


def profile_name() -> str:
    """The profile to load: ``HYPOTHESIS_PROFILE``, else ``ci`` under ``EACONTROL_CI=1``, else
    ``dev``."""
    return os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if in_ci() else "dev")


def load_profile() -> str:
    """Register ``dev`` and ``ci`` and load the chosen profile; return its name."""
    settings.register_profile(
        "ci",
        max_examples=CI_EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=True,
    )
    # A deadline five times hypothesis's default: a slow example is worth a look, but a busy
    # laptop running two workers is not a failure.
    settings.register_profile(
        "dev", max_examples=DEV_EXAMPLES, deadline=timedelta(milliseconds=1000)
    )
    name = profile_name()
    settings.load_profile(name)
    return name


def examples(ci_count: int) -> int:
    """The number of examples for a test that runs ``ci_count`` on the ``ci`` profile, scaled by
    the loaded profile's ``max_examples`` (never fewer than one)."""
    return max(1, math.ceil(ci_count * settings.default.max_examples / CI_EXAMPLES))
