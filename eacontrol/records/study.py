"""Where a session stands in a study: its condition, its arm and its tags (issue 17).

A trial's record must say which condition each session delivered (``verum``, a sham) and in
which arm, so that the analysis groups sessions by what the protocol assigned, not by what a
file name suggests. :class:`Study` holds what the researcher gives (``eactl run --condition
sham --arm B --tag pilot``, or ``Session(..., study=Study(...))``); every field is optional
and a field left out is recorded as not given.

The names are the protocol's own words: eacontrol does not interpret them (a ``sham`` session
is delivered as its profile says: a sham profile prescribes 0 mA, or a ramp up then off). Tags
are short labels without commas (they are joined with commas in CSV exports).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from eacontrol.records.clinical import clean_text, known_keys, schema_refusal

__all__ = ["MAX_TAG", "Study"]

MAX_TAG = 64
"""Longest tag, characters (a design value: a label, not a sentence)."""


@dataclass(frozen=True)
class Study:
    """The session's place in a study (None or empty: not given).

    Attributes:
        condition: the condition delivered, in the protocol's words (``verum``,
            ``sham_0mA``, ``sham_ramp_off``, ``needles_only``).
        arm: the arm or group the participant belongs to (``A``, ``control``).
        tags: short labels (``pilot``, ``visit-3``), each once, without commas.
        blinded: the operator's view hid the condition and every intensity (``eactl run
            --blind``); the record keeps them.

    Raises:
        ParameterError: empty or overlong text, a tag with a comma, a repeated tag, a
            ``blinded`` that is not a bool.
    """

    condition: str | None = None
    arm: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    blinded: bool = False

    def __post_init__(self) -> None:
        owner = "Study"
        for name in ("condition", "arm"):
            object.__setattr__(self, name, clean_text(owner, name, getattr(self, name)))
        if isinstance(self.tags, str) or not isinstance(self.tags, tuple | list):
            raise schema_refusal(f"{owner}.tags", self.tags, "a sequence of tags")
        tags = []
        for tag in self.tags:
            cleaned = clean_text(owner, "tags", tag) if tag is not None else None
            if cleaned is None:
                raise schema_refusal(f"{owner}.tags", tag, "text")
            if "," in cleaned or len(cleaned) > MAX_TAG:
                raise schema_refusal(
                    f"{owner}.tags", tag, f"a label of 1 to {MAX_TAG} characters, no comma"
                )
            if cleaned in tags:
                raise schema_refusal(f"{owner}.tags", tag, "each tag once")
            tags.append(cleaned)
        object.__setattr__(self, "tags", tuple(tags))
        if not isinstance(self.blinded, bool):
            raise schema_refusal(f"{owner}.blinded", self.blinded, "true or false")

    @property
    def given(self) -> bool:
        """True when any field was given."""
        return self != Study()

    def to_json(self) -> dict[str, Any]:
        """The fields given, JSON-ready (tags as a list)."""
        data: dict[str, Any] = {k: v for k, v in dataclasses.asdict(self).items() if v}
        if "tags" in data:
            data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Study:
        """From :meth:`to_json` (unknown keys are refused: a newer writer's record)."""
        data = known_keys("study", cls, data)
        return cls(
            condition=data.get("condition"),
            arm=data.get("arm"),
            tags=tuple(data.get("tags", ())),
            blinded=data.get("blinded", False),
        )
