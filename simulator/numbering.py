"""Channel numbers for people, channel indices for the wire: the one place that converts.

Channel numbers in URLs, scenario files, the CLI and logs count from 1, as labelled on the
device's front panel (and as eacontrol's profiles, API and reports count them); the Python
``Device`` API, the ``Scenario`` dataclass and the wire protocol count from 0. Text coming in goes
through ``channel_index``; text going out names channels with ``channel_number`` (or the
formatting helpers built on it), never with a bare index.
"""

from __future__ import annotations

__all__ = ["channel_index", "channel_name", "channel_number", "mask_channels"]


def channel_index(number: int, channel_count: int) -> int:
    """The wire index (from 0) of channel ``number`` (from 1, as labelled on the device).

    Args:
        number: the channel number as a person wrote it.
        channel_count: how many channels the device has.

    Raises:
        ValueError: ``number`` is not a channel of the device (the message names ``1..N``).
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= channel_count:
        raise ValueError(
            f"no channel {number!r}: channels are 1..{channel_count} "
            "(numbered from 1, as labelled on the device)"
        )
    return number - 1


def channel_number(index: int) -> int:
    """The channel number (from 1, as labelled on the device) of wire index ``index``."""
    return index + 1


def channel_name(index: int) -> str:
    """``"channel N"`` for wire index ``index`` (``channel_name(0) == "channel 1"``)."""
    return f"channel {channel_number(index)}"


def mask_channels(mask: int) -> str:
    """The channels of a wire channel mask, for a log: ``"channels 1, 3"``, ``"no channel"``."""
    numbers = [channel_number(i) for i in range(mask.bit_length()) if mask >> i & 1]
    if not numbers:
        return "no channel"
    label = "channel" if len(numbers) == 1 else "channels"
    return f"{label} {', '.join(map(str, numbers))}"
