"""Issue 16 item 1 in the report: how each channel's intensity was set (fixed or titrated) and
the treatment intensity it reached, read from the step's record (``records/intensity.py``)."""

from __future__ import annotations

from typing import Any

from eacontrol.records.intensity import (
    channel_intensities,
    describe_setting,
    describe_treatment,
    titrated,
    titration_aim,
)
from eacontrol.records.prescription import PrescribedStep


def _step(**intensity_mA: float) -> PrescribedStep:
    step: dict[str, Any] = {"channels": [int(n[2:]) for n in intensity_mA]}
    step["intensity_mA"] = {n[2:]: mA for n, mA in intensity_mA.items()}
    return step  # type: ignore[return-value]  # only the keys this module reads


TITRATE = {"intensity": "titrate", "start_intensity_mA": 0.5, "sensation": "tingling"}


def test_i16_a_fixed_step_shows_its_target_grouped_and_what_each_channel_held() -> None:
    params = {
        "channels": {
            "1": {
                "intensity": "fixed",
                "treatment_intensity_mA": 3.0,
                "treatment_intensity_how": "held",
            },
            "2": {"intensity": "fixed", "treatment_intensity_how": "not_reached"},
        }
    }
    items = channel_intensities(_step(ch1=3.0, ch2=3.0), params, ended=True)
    assert not titrated(items)
    assert describe_setting(items) == "3 mA on channels 1 and 2"
    assert describe_treatment(items) == (
        "3 mA (the highest level held for 10 s) on channel 1 and not reached on channel 2"
    )
    assert titration_aim([{"intensity": items}]) == ""  # type: ignore[list-item]


def test_i16_a_titrated_step_names_its_start_sensation_and_guidance() -> None:
    params = {
        "channels": {
            "1": TITRATE | {"treatment_intensity_mA": 2.0, "treatment_intensity_how": "marked"}
        }
    }
    items = channel_intensities(_step(ch1=4.0), params, ended=True)
    assert titrated(items)
    assert (
        describe_setting(items) == "titrated from 0.5 mA to “tingling” (guidance 4 mA) on channel 1"
    )
    assert describe_treatment(items) == "2 mA (marked) on channel 1"
    aim = titration_aim([{"intensity": items}, {"intensity": items}])  # type: ignore[list-item]
    assert aim == "“tingling” (the profile's titration)"  # named once


def test_i16_what_is_not_known_is_said_so_never_filled_in() -> None:
    unfinished = channel_intensities(_step(ch1=4.0), {"channels": {"1": TITRATE}}, ended=False)
    assert describe_treatment(unfinished) == "not known (the step did not end) on channel 1"
    never_started = channel_intensities(_step(ch1=4.0), None, ended=False)
    assert never_started[0]["setting"] is None
    assert describe_setting(never_started) == "4 mA on channel 1"  # as prescribed
    old_record = channel_intensities(_step(ch1=4.0), {"crc": "0x1"}, ended=True)
    assert describe_treatment(old_record) == "not recorded on channel 1"
