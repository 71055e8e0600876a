"""Helpers for the profile tests: a small valid profile to vary, as TOML text or as a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from profile_text import BL23_BL25, CONTINUOUS_2_HZ, profile_toml

from eacontrol.profiles import Profile


@pytest.fixture
def minimal_toml() -> str:
    """A valid one-channel, one-step profile as TOML text (``[[steps]]`` at line 8)."""
    return MINIMAL_TOML


MINIMAL_TOML = profile_toml(
    "test profile",
    CONTINUOUS_2_HZ,
    electrodes=BL23_BL25[:1],
    indication=None,
    references=(),
)


def _step_data(**changes: Any) -> dict[str, Any]:
    """A continuous 2 Hz step on channel 1, with changes (a value of None removes the key)."""
    data: dict[str, Any] = {"channels": [1]} | CONTINUOUS_2_HZ | changes
    return {k: v for k, v in data.items() if v is not None}


def _profile_data(
    steps: list[dict[str, Any]] | None = None,
    channels: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A one-channel, one-step profile as a plain table."""
    data: dict[str, Any] = {
        "schema_version": 1,
        "name": "test profile",
        "channels": channels or [{"channel": 1, "electrodes": ["BL23-L", "BL25-L"]}],
        "steps": steps or [_step_data()],
    }
    data.update(changes)
    return data


@pytest.fixture
def step_data() -> Callable[..., dict[str, Any]]:
    """Build a step table: a continuous 2 Hz step on channel 1 with changes (None removes)."""
    return _step_data


@pytest.fixture
def profile_data() -> Callable[..., dict[str, Any]]:
    """Build a profile table: ``(steps=None, channels=None, **top_level_changes)``."""
    return _profile_data


@pytest.fixture
def make_profile() -> Callable[..., Profile]:
    """Build a validated Profile from ``profile_data`` arguments."""

    def make(*args: Any, **kwargs: Any) -> Profile:
        return Profile.model_validate(_profile_data(*args, **kwargs))

    return make
