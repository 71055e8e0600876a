"""Channel numbers (from 1, as labelled on the device) against wire indices (from 0)."""

from __future__ import annotations

import pytest

from simulator.numbering import channel_index, channel_name, channel_number, mask_channels


def test_numbers_from_1_map_to_indices_from_0_and_back() -> None:
    assert channel_index(1, 6) == 0
    assert channel_index(6, 6) == 5
    assert channel_index(8, 8) == 7
    for index in range(8):
        assert channel_index(channel_number(index), 8) == index
    assert channel_name(0) == "channel 1"
    assert channel_name(7) == "channel 8"


@pytest.mark.parametrize(("number", "count"), [(0, 6), (7, 6), (-1, 6), (9, 8), (2, 1)])
def test_numbers_outside_1_to_n_are_refused_naming_the_range(number: int, count: int) -> None:
    with pytest.raises(ValueError, match=rf"no channel {number}: channels are 1\.\.{count} "):
        channel_index(number, count)


@pytest.mark.parametrize("number", [True, 1.0, "1"])
def test_only_whole_numbers_are_channel_numbers(number: object) -> None:
    with pytest.raises(ValueError, match=r"channels are 1\.\.6"):
        channel_index(number, 6)  # type: ignore[arg-type]


def test_masks_are_listed_as_channel_numbers() -> None:
    assert mask_channels(0b1) == "channel 1"
    assert mask_channels(0b101) == "channels 1, 3"
    assert mask_channels(0b1000_0000) == "channel 8"
    assert mask_channels(0) == "no channel"
