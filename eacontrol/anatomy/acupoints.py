"""The acupoint registry: WHO standard codes, names, body regions and needle sites.

The registry is package data (``eacontrol/data/acupoints.csv``), read once, on first use,
through :mod:`importlib.resources`, so it works from a wheel or a zip as well as from a checkout.

Sources:

- the 361 meridian points, their codes, order and pinyin names: *WHO Standard Acupuncture Point
  Locations in the Western Pacific Region*, WHO Regional Office for the Western Pacific, Manila,
  2008 (ISBN 978 92 9061 248 7). Counts per meridian: LU11 LI20 ST45 SP21 HT9 SI19 BL67 KI27 PC9
  TE23 GB44 LR14 GV28 CV24. Yintang is the extra point EX-HN3 there; the Chinese national standard
  GB/T 12346-2021 renumbered it GV29 (Governor Vessel), so :data:`CODE_ALIASES` reads ``GV29``
  (``Du29``) as EX-HN3.
- the extra points (EX-HN, EX-CA, EX-B, EX-UE, EX-LE): *A Proposed Standard International
  Acupuncture Nomenclature: Report of a WHO Scientific Group*, WHO, Geneva, 1991
  (ISBN 92 4 154417 1), the nomenclature the 2008 book takes its names from; the 2008 book locates
  only the 361 meridian points. All 48 are present except EX-HN12 Jinjin and EX-HN13 Yuye, the left
  and the right sublingual vein: each has one fixed side, which a needle site (a code plus an
  optional side) cannot express, and both are bleeding points inside the mouth.

Codes are written the WHO way (``BL23``, ``EX-HN3``). :func:`lookup` also takes lower case,
spaces, dots, dashes or underscores anywhere (``bl 23``, ``BL-23``, ``G.B.20``, ``EXHN3``),
leading zeros (``LU01``), the older meridian abbreviations in :data:`ALIASES` (``UB23``,
``SJ5``, ``Ren17``, ``Du20``) and the whole-code aliases in :data:`CODE_ALIASES` (``GV29``).

A needle site is a point and a side. Midline points (GV, CV and the midline extra points EX-HN1,
EX-HN3, EX-HN10, EX-HN11, EX-B5, EX-B8, EX-B9) take no side; every other point exists on both sides
and a site must name one. Extra points that are groups take the group's side: EX-B2 Jiaji (a
column beside the spine, T1 to L5), EX-UE9 Baxie, EX-LE10 Bafeng and the like. EX-HN1 Sishencong
(four points around GV20, centred on the midline) is a midline site.

Body regions. Placement rules (``eacontrol.safety.placement``) refuse electrode pairs that touch
the front of the neck, run through the head, touch the chest or cross the thorax, or cross the
spine horizontally above L2, so regions are assigned from the WHO 2008
location text (its body regions follow the FCAT 1998 International Anatomical Terminology) and,
where a point sits on a border, to the more protective side:

- ``head``: WHO "on the head" and "on the face", the scalp, face, ear and mouth.
- ``front_of_neck``: WHO "anterior region of the neck" (ST9-ST12, LI17, LI18, SI16, SI17, TE16,
  TE17, GB12, CV22, CV23) and the extra point EX-HN14 Yiming between TE17 and GB12: points over
  or beside the carotid sheath, larynx, trachea and supraclavicular fossa (lung apex). WHO's
  anterior neck reaches back to the anterior border of trapezius, so the lateral points (SI16,
  TE16, TE17, GB12) stay here. The exception is GB20.
- ``back_of_neck``: WHO "posterior region of the neck" (BL10, GB21, GV14-GV16), EX-HN15 Bailao,
  and GB20 Fengchi. WHO places GB20 in the anterior region of the neck by that trapezius border,
  but it lies under the occipital bone at the level of GV16, between the origins of
  sternocleidomastoid and trapezius, behind the structures the front-of-neck rule protects.
  GB21 Jianjing (midway between C7 and the acromion) is WHO's posterior neck and stays here.
- ``chest``: WHO anterior and lateral thoracic regions, down to the xiphisternal junction and the
  costal margin (CV16-CV21, KI22-KI27, ST13-ST18, SP17-SP21, LU1, LU2, PC1, GB22-GB24, LR14).
- ``upper_back``: WHO upper back region, from below C7 to T12 (the posterior costodiaphragmatic
  recess of the pleura reaches T12), and the points on the scapula (WHO "scapular region" and
  "shoulder girdle" points over the thorax: SI10-SI15, TE15, LI16). EX-B2 Jiaji spans T1 to L5 in
  one code and counts as upper back, the protective choice.
- ``lower_back``: WHO lumbar and sacral regions, from L1 down, and the buttock points beside the
  sacrum and coccyx (BL35, BL53, BL54); GV1 Changqiang (WHO perineal region, below the coccyx)
  joins the sacrococcygeal points.
- ``abdomen``: WHO upper, lower and lateral abdomen, from below the xiphisternal junction
  (CV15, KI21, ST19 down), the groin points (ST30, SP12, LR12) and CV1 Huiyin (WHO perineal
  region, in front of the anus).
- ``upper_limb``: arm, forearm and hand, the shoulder joint (LI15, TE14, SI9 in WHO's shoulder
  girdle at the acromion, greater tubercle and axillary fold) and the axilla (HT1).
- ``lower_limb``: thigh, knee, leg and foot, and the hip points WHO puts in the buttock region
  by the greater trochanter and the gluteal fold (GB29, GB30, BL36).

Trunk points above the diaphragm are exactly the chest and upper back points; with the head, the
two neck regions and the upper limbs they make :attr:`Acupoint.above_diaphragm`.
"""

from __future__ import annotations

import csv
import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import NamedTuple

from eacontrol.errors import InvalidNeedleSite, UnknownAcupoint

__all__ = [
    "ALIASES",
    "CODE_ALIASES",
    "MERIDIAN_COUNTS",
    "Acupoint",
    "NeedleSite",
    "Region",
    "Side",
    "all_points",
    "lookup",
    "parse_site",
]


class Region(enum.StrEnum):
    """The body region of a point, as used by the placement rules (conventions: module doc)."""

    HEAD = "head"
    FRONT_OF_NECK = "front_of_neck"
    BACK_OF_NECK = "back_of_neck"
    CHEST = "chest"
    UPPER_BACK = "upper_back"
    LOWER_BACK = "lower_back"
    ABDOMEN = "abdomen"
    UPPER_LIMB = "upper_limb"
    LOWER_LIMB = "lower_limb"


_ABOVE_DIAPHRAGM = frozenset(
    {
        Region.HEAD,
        Region.FRONT_OF_NECK,
        Region.BACK_OF_NECK,
        Region.CHEST,
        Region.UPPER_BACK,
        Region.UPPER_LIMB,
    }
)


class Side(enum.StrEnum):
    """The patient's left or right."""

    L = "L"
    R = "R"


@dataclass(frozen=True)
class Acupoint:
    """One point of the registry. Get points from :func:`lookup` or :func:`all_points`.

    Attributes:
        code: the WHO code, e.g. ``BL23`` or ``EX-HN3``.
        meridian: the meridian's WHO code (``BL``), or the extra-point group (``EX-HN``).
        number: the point's number on its meridian or in its group. The type admits None for a
            point without a number in its source; every bundled point has one.
        name: the pinyin name without tone marks, as WHO spells it (``Shenshu``).
        region: the body region (conventions: module docstring).
        midline: True if the site takes no side (GV, CV, midline extra points).
    """

    code: str
    meridian: str
    number: int | None
    name: str
    region: Region
    midline: bool

    @property
    def above_diaphragm(self) -> bool:
        """True for the head, both neck regions, chest, upper back and upper limbs."""
        return self.region in _ABOVE_DIAPHRAGM


@dataclass(frozen=True)
class NeedleSite:
    """A point on one side of the body, or a midline point.

    Attributes:
        point: the acupoint.
        side: L or R for a bilateral point, None for a midline point.

    Raises:
        InvalidNeedleSite: a side on a midline point, or none on a bilateral point.
    """

    point: Acupoint
    side: Side | None

    def __post_init__(self) -> None:
        code = self.point.code
        if self.point.midline and self.side is not None:
            raise InvalidNeedleSite(f"{code} lies on the midline and takes no side: write {code}")
        if not self.point.midline and self.side is None:
            raise InvalidNeedleSite(f"{code} exists on both sides: name one, {code}-L or {code}-R")

    def __str__(self) -> str:
        return self.point.code if self.side is None else f"{self.point.code}-{self.side}"


# WHO 2008 meridian codes in the book's order, with the number of points on each.
MERIDIAN_COUNTS: Mapping[str, int] = MappingProxyType(
    {
        "LU": 11,
        "LI": 20,
        "ST": 45,
        "SP": 21,
        "HT": 9,
        "SI": 19,
        "BL": 67,
        "KI": 27,
        "PC": 9,
        "TE": 23,
        "GB": 44,
        "LR": 14,
        "GV": 28,
        "CV": 24,
    }
)

# Meridian abbreviations found in textbooks, trials and older charts, mapped to the WHO code.
# Only unambiguous ones: L, S, H, G and B could each mean two meridians or an extra-point group.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "UB": "BL",  # urinary bladder
        "KD": "KI",
        "KID": "KI",  # Deadman, A Manual of Acupuncture
        "HE": "HT",  # Maciocia
        "P": "PC",  # "P6" in the nausea and vomiting literature
        "PE": "PC",
        "SJ": "TE",  # San Jiao
        "TB": "TE",  # triple burner
        "TH": "TE",  # triple heater
        "TW": "TE",  # triple warmer
        "LV": "LR",
        "LIV": "LR",
        "DU": "GV",  # Du Mai
        "DM": "GV",
        "REN": "CV",  # Ren Mai
        "RN": "CV",
    }
)

# Whole codes numbered differently by another standard, mapped to the WHO code. GV29 Yintang:
# GB/T 12346-2021 moved Yintang from the extra points to the Governor Vessel as its 29th point;
# WHO 2008 keeps GV at 28 points and Yintang as EX-HN3.
CODE_ALIASES: Mapping[str, str] = MappingProxyType({"GV29": "EX-HN3"})

_EXTRA_GROUPS = ("EX-HN", "EX-CA", "EX-B", "EX-UE", "EX-LE")

# Every accepted prefix with its separators removed, mapped to the WHO meridian or group code.
_PREFIXES: Mapping[str, str] = MappingProxyType(
    {m: m for m in MERIDIAN_COUNTS} | dict(ALIASES) | {g.replace("-", ""): g for g in _EXTRA_GROUPS}
)

_DATA_PACKAGE = "eacontrol.anatomy.data"
_DATA_FILE = "acupoints.csv"
_COLUMNS = ["code", "meridian", "number", "name", "region", "midline"]
_MIDLINE = {"yes": True, "no": False}
_REGIONS = frozenset(r.value for r in Region)
_SEPARATORS = re.compile(r"[\s._-]+")
_CODE = re.compile(r"([A-Z]+)(\d+)")
_SITE = re.compile(r"(?P<code>.*?\d)(?:[\s._-]*(?P<side>[A-Za-z]+))?")
_SIDE_WORDS = {"L": Side.L, "LEFT": Side.L, "R": Side.R, "RIGHT": Side.R}
# Longer texts are refused unread: the longest site, "EX-HN15 - right", has 15 characters.
_MAX_SITE_TEXT = 40


class _Registry(NamedTuple):
    points: tuple[Acupoint, ...]
    by_code: Mapping[str, Acupoint]
    # Per meridian or group: (number, code) in registry order, for numeric suggestions.
    numbered: Mapping[str, tuple[tuple[int, str], ...]]


def _parse(text: str, source: str = _DATA_FILE) -> _Registry:
    """Parse and check the registry file.

    Args:
        text: the file's text.
        source: the file's name, for messages.

    Returns:
        The registry.

    Raises:
        RuntimeError: the bundled data is malformed (a broken installation, not a user error).
    """

    def fail(line: int, message: str) -> RuntimeError:
        return RuntimeError(f"{source}:{line}: {message}")

    lines = [(n, s) for n, s in enumerate(text.splitlines(), 1) if s and not s.startswith("#")]
    if not lines or lines[0][1] != ",".join(_COLUMNS):
        raise fail(lines[0][0] if lines else 1, f"expected the header {','.join(_COLUMNS)}")
    known_groups = set(MERIDIAN_COUNTS) | set(_EXTRA_GROUPS)
    points: list[Acupoint] = []
    by_code: dict[str, Acupoint] = {}
    numbered: dict[str, list[tuple[int, str]]] = {}
    for line, content in lines[1:]:
        row = next(csv.reader([content]))
        if len(row) != len(_COLUMNS):
            raise fail(line, f"expected {len(_COLUMNS)} fields, found {len(row)}")
        code, meridian, number, name, region, midline = row
        if meridian not in known_groups:
            raise fail(line, f"unknown meridian or group {meridian!r}")
        if not number.isdigit() or code != f"{meridian}{int(number)}":
            raise fail(line, f"code {code!r} is not meridian {meridian!r} + number {number!r}")
        if code in by_code:
            raise fail(line, f"duplicate code {code}")
        if region not in _REGIONS or midline not in _MIDLINE:
            raise fail(line, f"bad region {region!r} or midline {midline!r}")
        if meridian in MERIDIAN_COUNTS and _MIDLINE[midline] != (meridian in ("GV", "CV")):
            raise fail(line, f"{code}: only GV and CV meridian points lie on the midline")
        point = Acupoint(code, meridian, int(number), name, Region(region), _MIDLINE[midline])
        points.append(point)
        by_code[code] = point
        numbered.setdefault(meridian, []).append((int(number), code))
    for meridian, count in MERIDIAN_COUNTS.items():
        if [n for n, _ in numbered.get(meridian, [])] != list(range(1, count + 1)):
            raise fail(lines[-1][0], f"{meridian} must hold points 1..{count} in order")
    return _Registry(
        tuple(points),
        MappingProxyType(by_code),
        MappingProxyType({k: tuple(v) for k, v in numbered.items()}),
    )


@functools.cache
def _registry() -> _Registry:
    """Load the bundled registry once, through importlib.resources (works from wheels and zips)."""
    data = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE)
    return _parse(data.read_text(encoding="utf-8"))


def _squash(text: str) -> str:
    """Upper case, with spaces, dots, dashes and underscores removed: ``ex-hn 3`` → ``EXHN3``."""
    return _SEPARATORS.sub("", text).upper()


def _split(text: str) -> tuple[str, int] | None:
    """The WHO meridian or group code and the number in a code, or None if it is not one.

    ``ub 023`` → ``("BL", 23)``, ``ex-hn3`` → ``("EX-HN", 3)``; the number may be out of range.
    """
    match = _CODE.fullmatch(_squash(text))
    if match is None or match[1] not in _PREFIXES:
        return None
    return _PREFIXES[match[1]], int(match[2])


# QWERTY rows; each row sits half a key to the right of the one above it.
_KEY_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")


def _keyboard_neighbours() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for r, row in enumerate(_KEY_ROWS):
        below = _KEY_ROWS[r + 1] if r + 1 < len(_KEY_ROWS) else ""
        for i, key in enumerate(row):
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            near += [below[j] for j in (i - 1, i) if 0 <= j < len(below)]
            for other in near:
                pairs |= {(key, other), (other, key)}
    return frozenset(pairs)


_NEIGHBOURS = _keyboard_neighbours()


def _typo_distance(a: str, b: str) -> float:
    """Edit distance tuned to typing slips.

    Optimal string alignment (Damerau-Levenshtein without repeated edits of one substring):
    inserting or deleting a character costs 1, a substitution 1 (0.5 between neighbouring
    QWERTY keys, so ``BL2e`` is nearest ``BL23``), swapping two adjacent characters 0.5.
    """
    d = [
        [float(i + j) if i == 0 or j == 0 else 0.0 for j in range(len(b) + 1)]
        for i in range(len(a) + 1)
    ]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                substitution = 0.0
            else:
                substitution = 0.5 if (a[i - 1], b[j - 1]) in _NEIGHBOURS else 1.0
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + substitution)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 0.5)
    return d[len(a)][len(b)]


def _suggestions(text: str, registry: _Registry, most: int = 3) -> tuple[str, ...]:
    """The valid codes nearest to an unknown one, best first.

    A known meridian with a number out of range (``LU12``, ``BL68``) gives that meridian's points
    nearest in number; anything else gives the codes nearest by :func:`_typo_distance`, within
    one edit or a third of the text's length, ties in registry order.
    """
    split = _split(text)
    if split is not None:
        group, number = split
        members = registry.numbered.get(group, ())
        ranked = sorted(members, key=lambda p: abs(p[0] - number))
        return tuple(code for _, code in ranked[:most])
    key = _squash(text)
    limit = max(1.0, len(key) / 3)
    squashed = [_squash(p.code) for p in registry.points]
    if len(key) - max(map(len, squashed)) > limit:
        return ()  # more deletions than the limit away from every code
    scored = sorted(
        (_typo_distance(key, s), i, p.code)
        for i, (s, p) in enumerate(zip(squashed, registry.points, strict=True))
    )
    return tuple(code for distance, _, code in scored[:most] if distance <= limit)


def lookup(code: str) -> Acupoint:
    """Find a point by its code.

    Args:
        code: a WHO code such as ``BL23`` or ``EX-HN3``, in any case, with spaces, dots or
            dashes between its parts, or with a meridian alias from :data:`ALIASES` (``UB23``,
            ``Du20``, ``Ren17``), or a code of :data:`CODE_ALIASES` (``GV29``, ``Du29``).

    Returns:
        The point, whose ``code`` is the WHO spelling.

    Raises:
        UnknownAcupoint: no such point; ``.suggestions`` holds up to three nearest valid codes.
    """
    registry = _registry()
    split = _split(code)
    key = f"{split[0]}{split[1]}" if split else ""
    point = registry.by_code.get(CODE_ALIASES.get(key, key)) if split else None
    if point is None:
        raise UnknownAcupoint(code, _suggestions(code, registry))
    return point


def parse_site(text: str) -> NeedleSite:
    """Parse a needle site: a code, then a side for bilateral points.

    Accepted forms: ``BL23-L``, ``bl23-r``, ``BL23 L``, ``BL23L``, ``BL-23-left``, ``GV20``.
    The code part is read by :func:`lookup`.

    Args:
        text: the site as written.

    Returns:
        The needle site.

    Raises:
        InvalidNeedleSite: the text is not ``CODE[-L|-R]``, names a side on a midline point, or
            names none on a bilateral point.
        UnknownAcupoint: the code part is not a known point.
    """
    stripped = text.strip()
    if len(stripped) > _MAX_SITE_TEXT:
        raise InvalidNeedleSite(f"{stripped[:_MAX_SITE_TEXT]!r}... is too long for a needle site")
    match = _SITE.fullmatch(stripped)
    if match is None:
        raise InvalidNeedleSite(f"{text!r} is not a needle site: write CODE-L, CODE-R or CODE")
    side: Side | None = None
    if match["side"] is not None:
        side = _SIDE_WORDS.get(match["side"].upper())
        if side is None:
            raise InvalidNeedleSite(f"{text!r}: the side must be L or R, not {match['side']!r}")
    point = lookup(match["code"])
    try:
        return NeedleSite(point, side)
    except InvalidNeedleSite as err:
        raise InvalidNeedleSite(f"{text!r}: {err}") from err


def all_points() -> tuple[Acupoint, ...]:
    """Every point in registry order: LU1..CV24 in WHO order, then the extra points.

    Returns:
        The points.
    """
    return _registry().points
