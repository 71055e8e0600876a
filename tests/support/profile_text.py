"""The TOML text of the small profiles the tests run: one builder for all of them.

Channel N is the Nth pair of needles (by default two: channel 1 a pair on the left, channel 2
the same pair on the right); every step runs on every channel. What a test's steps deliver is
the test's own data (a mapping of step keys to values, written in order); this module only
writes the profile around them, so that a change to the profile format is made here once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "BL23_BL25",
    "CONTINUOUS_2_HZ",
    "DENSE_DISPERSE_2_100_HZ",
    "HAN_2003",
    "ST36_ST40",
    "profile_toml",
    "toml_value",
]

ST36_ST40 = (("ST36-L", "ST40-L"), ("ST36-R", "ST40-R"))
"""Ipsilateral pairs on each leg (channel 1 left, channel 2 right)."""
BL23_BL25 = (("BL23-L", "BL25-L"), ("BL23-R", "BL25-R"))
"""Ipsilateral pairs on each side of the lower back (channel 1 left, channel 2 right)."""
HAN_2003 = "Han JS. Trends Neurosci 2003;26(1):17-22."
"""The frequency-specific effects of 2, 100 and 2/100 Hz that the tests' steps are drawn from."""
DENSE_DISPERSE_2_100_HZ: dict[str, object] = {
    "mode": "dense_disperse",
    "frequency_a_hz": 2,
    "phase_width_a_us": 600,
    "frequency_b_hz": 100,
    "phase_width_b_us": 200,
    "dwell_a_s": 3,
    "dwell_b_s": 3,
}
"""Han's 2/100 Hz dense-disperse pattern (:data:`HAN_2003`): 2 Hz at 600 µs and 100 Hz at
200 µs, 3 s each; a step adds its intensity, ramps and duration."""


def toml_value(value: object) -> str:
    """``value`` as a TOML value: strings quoted, lists and tuples as arrays, mappings as inline
    tables, booleans lower case, numbers as Python writes them."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table: { 2 = 2.5 }
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)


CONTINUOUS_2_HZ: dict[str, object] = {
    "mode": "continuous",
    "frequency_hz": 2,
    "phase_width_us": 600,
    "intensity_mA": 3,
    "ramp_up_s": 3,
    "ramp_down_s": 2,
    "duration_s": 600,
}
"""The one-channel profiles' step: 2 Hz continuous (:data:`HAN_2003`), 600 µs, 3 mA, ramps of
3 s up and 2 s down, 10 minutes."""


def profile_toml(
    name: str,
    *steps: Mapping[str, object],
    electrodes: Sequence[Sequence[str]] = ST36_ST40,
    indication: str | None = "tests",
    references: Sequence[str] = (HAN_2003,),
) -> str:
    """A profile named ``name`` with channel N on the Nth pair of ``electrodes`` and ``steps``
    in order.

    Each step is written as ``[[steps]]`` with its ``label`` (if it has one) first, then
    ``channels = [1, …]`` (every channel), then its other keys. ``indication=None`` and
    ``references=()`` leave those keys out (the loader takes a profile without them)."""
    text = ["schema_version = 1", f"name = {toml_value(name)}"]
    if indication is not None:
        text.append(f"indication = {toml_value(indication)}")
    if references:
        text.append(f"references = {toml_value(list(references))}")
    for channel, pair in enumerate(electrodes, start=1):
        text += ["", "[[channels]]", f"channel = {channel}", f"electrodes = {toml_value(pair)}"]
    every = list(range(1, len(electrodes) + 1))
    for step in steps:
        keys = {k: v for k, v in step.items() if k == "label"} | {"channels": every} | step
        text += ["", "[[steps]]"] + [f"{k} = {toml_value(v)}" for k, v in keys.items()]
    return "\n".join(text) + "\n"
