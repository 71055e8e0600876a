"""How each channel's intensity was set in a step, and the treatment intensity it reached.

A profile sets a step's intensity in one of two ways (issue 16 item 1): ``fixed`` — START ramps
every channel to the prescription — or ``titrate`` — each channel starts at a stated level
(0 mA unless given) and the practitioner raises it to the sensation the profile names, the
profile's target shown only as guidance. Either way the session records, at the step's end,
each channel's **treatment intensity**: the level the practitioner marked, else the highest
level held for 10 s (``eacontrol.session.treatment``). Both live in the step's record
(``StepRecord.parameters["channels"]``); this module reads them for the report, which states
them in the prescribed steps' table and, for a titrated step, in the Methods paragraph.

A ``threshold`` step finds each channel's sensory and motor thresholds (recorded in its
record, shown as its result, no treatment intensity: it is not a treatment), and a
``relative`` step STARTs each channel at a multiple of its threshold, at most the profile's
intensity (the level the limits checked); the record keeps the level set (0 mA when the
threshold was not found or the multiple was above that).

A step that never started has no record: how its intensity would have been set is then not
known, and its target is shown as prescribed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from eacontrol.records import fmt
from eacontrol.records.prescription import PrescribedStep

if TYPE_CHECKING:
    from eacontrol.records.report import StepItem

__all__ = [
    "ChannelIntensity",
    "channel_intensities",
    "describe_setting",
    "describe_treatment",
    "methods_intensity",
    "titrated",
    "titration_aim",
]

SHAM_SETTINGS = frozenset({"sham_zero", "sham_ramp_off"})
"""The settings of a sham condition: no treatment intensity is reported for them."""

_HOW = {"marked": "marked", "held": "the highest level held for 10 s"}
"""The treatment intensity's origin in words (``TreatmentHow``; 10 s is its ``HOLD_s``)."""


class ChannelIntensity(TypedDict):
    """One channel of one step: how its intensity was set and what it reached.

    Attributes:
        channel: the channel number.
        setting: ``fixed``, ``titrate``, ``sham_zero``, ``sham_ramp_off``, or None when the
            step has no record (did not start).
        target_mA: the prescription (for a titrated channel: the guidance).
        start_mA: a titrated or threshold channel's start level, a relative channel's level set
            from its threshold; None when fixed.
        sensation: the sensation a titrated channel is raised to; None when fixed.
        sham_on_s: a ``sham_ramp_off`` step's time from START to its switch-off; else None.
        treatment_mA: the treatment intensity; None when not reached or not known.
        treatment_how: ``marked``, ``held`` or ``not_reached``; ``not_ended`` when the step
            did not end (its end not recorded); None when its record does not say (a record made
            before treatment intensities were recorded).
        sensory_threshold_mA / motor_threshold_mA: a threshold step's result; None when not
            found (or not a threshold step).
        relative_to / threshold_factor: a relative step's threshold and multiple; else None.
    """

    channel: int
    setting: str | None
    target_mA: float
    start_mA: float | None
    sensation: str | None
    sham_on_s: float | None
    treatment_mA: float | None
    treatment_how: str | None
    sensory_threshold_mA: float | None
    motor_threshold_mA: float | None
    relative_to: str | None
    threshold_factor: float | None


def channel_intensities(
    step: PrescribedStep, parameters: Mapping[str, Any] | None, *, ended: bool
) -> list[ChannelIntensity]:
    """Every channel of ``step``, from its record's ``parameters`` (None: no record); ``ended``
    says whether the record has the step's end."""
    recorded = {} if parameters is None else parameters.get("channels", {})
    items = []
    for n in step["channels"]:
        rec = recorded.get(str(n), {})
        setting = rec.get("intensity")
        titrate = setting in ("titrate", "threshold")
        start = rec.get("start_intensity_mA") if titrate else None
        if setting == "relative":
            start = rec.get("intensity_mA")  # the level the threshold set
        items.append(
            ChannelIntensity(
                channel=n,
                setting=rec.get("intensity"),
                target_mA=step["intensity_mA"][str(n)],
                start_mA=start,
                sensation=rec.get("sensation") if setting == "titrate" else None,
                sham_on_s=rec.get("sham_on_s"),
                treatment_mA=rec.get("treatment_intensity_mA"),
                treatment_how=rec.get("treatment_intensity_how") if ended else "not_ended",
                sensory_threshold_mA=rec.get("sensory_threshold_mA"),
                motor_threshold_mA=rec.get("motor_threshold_mA"),
                relative_to=rec.get("relative_to"),
                threshold_factor=rec.get("threshold_factor"),
            )
        )
    return items


def titrated(items: list[ChannelIntensity]) -> bool:
    """True when any channel of the step was titrated."""
    return any(i["setting"] == "titrate" for i in items)


def methods_intensity(items: list[ChannelIntensity]) -> str | None:
    """How the Methods paragraph states a titrated or sham step's intensity (None for a fixed
    step: its target intensity says it all)."""
    if any(i["setting"] in SHAM_SETTINGS for i in items):
        return f"a sham condition: {describe_setting(items)}"
    if any(i["setting"] == "threshold" for i in items):
        return f"the thresholds found by titration: {describe_treatment(items)}"
    if any(i["setting"] == "relative" for i in items):
        return f"intensity {describe_setting(items)}"
    if titrated(items):  # what the practitioner reached, not the guidance alone
        return (
            f"intensity {describe_setting(items)} by the practitioner, reaching a treatment "
            f"intensity of {describe_treatment(items)}"
        )
    return None


def _channels(numbers: list[int]) -> str:
    word = "channel" if len(numbers) == 1 else "channels"
    return f"{word} {fmt.join_words([str(n) for n in numbers])}"


def _grouped(items: list[ChannelIntensity], phrase: Any) -> str:
    """``phrase(item)`` for each channel, channels with the same phrase joined."""
    groups: dict[str, list[int]] = {}
    for item in items:
        groups.setdefault(phrase(item), []).append(item["channel"])
    return fmt.join_words([f"{text} on {_channels(numbers)}" for text, numbers in groups.items()])


def _setting_phrase(item: ChannelIntensity) -> str:
    if item["setting"] == "sham_zero":
        return "sham: 0 mA (the device on, no current)"
    if item["setting"] == "sham_ramp_off":
        on = "?" if item["sham_on_s"] is None else fmt.duration(item["sham_on_s"])
        return f"sham: {fmt.current(item['target_mA'])} for {on}, then 0 mA"
    if item["setting"] == "threshold":
        start = fmt.current(item["start_mA"] or 0.0)
        return f"thresholds found from {start} (guidance {fmt.current(item['target_mA'])})"
    if item["setting"] == "relative":
        level = "?" if item["start_mA"] is None else fmt.current(item["start_mA"])
        return (
            f"{item['threshold_factor']:g} × the {item['relative_to']} threshold (at most "
            f"{fmt.current(item['target_mA'])}): {level}"
        )
    if item["setting"] != "titrate":
        return fmt.current(item["target_mA"])
    start = fmt.current(item["start_mA"] or 0.0)
    return (
        f"titrated from {start} to “{item['sensation']}” (guidance "
        f"{fmt.current(item['target_mA'])})"
    )


def describe_setting(items: list[ChannelIntensity]) -> str:
    """The step's target: ``4 mA on channels 1 and 2``, or for a titrated channel ``titrated
    from 0 mA to “strong but comfortable tingling” (guidance 4 mA) on channel 1``."""
    return _grouped(items, _setting_phrase)


def _thresholds_phrase(item: ChannelIntensity) -> str:
    found = [
        f"{kind} {'not found' if mA is None else fmt.current(mA)}"
        for kind, mA in (
            ("sensory", item["sensory_threshold_mA"]),
            ("motor", item["motor_threshold_mA"]),
        )
    ]
    return f"thresholds: {', '.join(found)}"


def _treatment_phrase(item: ChannelIntensity) -> str:
    if item["setting"] in SHAM_SETTINGS:
        return "none (sham)"
    if item["setting"] == "threshold":
        return _thresholds_phrase(item)
    how = item["treatment_how"]
    if how is None:
        return "not recorded"
    if how == "not_ended":
        return "not known (the step did not end)"
    if how == "not_reached" or item["treatment_mA"] is None:
        return "not reached"
    return f"{fmt.current(item['treatment_mA'])} ({_HOW.get(how, how)})"


def describe_treatment(items: list[ChannelIntensity]) -> str:
    """Each channel's treatment intensity: ``4 mA (marked) on channel 1 and 0.5 mA (the highest
    level held for 10 s) on channel 2``."""
    return _grouped(items, _treatment_phrase)


def titration_aim(steps: Iterable[StepItem]) -> str:
    """The sensations titrated channels were raised to, as the intensity aim (STRICTA 2e) when
    the practitioner gave none: ``“strong but comfortable tingling” (the profile's titration)``;
    "" when nothing was titrated."""
    found: list[str] = []
    for step in steps:
        for item in step["intensity"]:
            sensation = item["sensation"]
            if sensation and f"“{sensation}”" not in found:
                found.append(f"“{sensation}”")
    return f"{fmt.join_words(found)} (the profile's titration)" if found else ""
