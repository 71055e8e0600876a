"""The output stage's side of the electrodes: electrode-tissue loads and the compliance limit.

A channel is a current source with a compliance voltage driving one load. Every load here is
linear in current: the voltage at the end of a constant-current phase is ``I · Z(phase_us)``,
where ``Z`` is what STATUS reports as the impedance. The source drives the set current while
``I · Z`` stays within compliance, and no more than ``compliance / Z`` beyond it (PROTOCOL.md
§3.10: the COMPLIANCE fault). Units: µA · Ω = µV, so ``mV = µA · Ω / 1000``.

Loads: :class:`Resistive` (500 Ω default, 1/2/10 kΩ), :class:`Randles` (R_s + R_ct ‖ C_dl),
:class:`OpenCircuit`, :class:`ShortCircuit` and :class:`Intermittent` contact over any of them.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import numpy as np

__all__ = [
    "DEFAULT_LOAD",
    "Intermittent",
    "Load",
    "OpenCircuit",
    "Randles",
    "Resistive",
    "ShortCircuit",
    "deliverable_uA",
    "parse_load",
]


class Load(Protocol):
    """An electrode-tissue load as the current source sees it."""

    def peak_voltage_mV(self, current_uA: float, phase_us: float) -> float:
        """Voltage across the load at the end of a constant-current phase (inf when open)."""
        ...

    def impedance_ohm(self, phase_us: float) -> float:
        """V/I at the end of a phase of ``phase_us`` (what STATUS reports; open → ``math.inf``)."""
        ...

    def is_open(self, t_us: int) -> bool:
        """True when the electrode has no contact at time ``t_us``."""
        ...


def _finite(name: str, value: float, *, minimum: float, strict: bool) -> None:
    ok = math.isfinite(value) and (value > minimum if strict else value >= minimum)
    if not ok:
        bound = ">" if strict else "≥"
        raise ValueError(f"{name} must be finite and {bound} {minimum:g}, got {value!r}")


def _ohmic_mV(current_uA: float, impedance_ohm: float) -> float:
    """I·Z in mV; zero current gives 0 V even into an open circuit."""
    if current_uA == 0:
        return 0.0
    return current_uA * impedance_ohm / 1000


class _Linear(ABC):
    """A load linear in current (voltage ``I · Z(phase_us)``), in contact unless it says not."""

    @abstractmethod
    def impedance_ohm(self, phase_us: float) -> float:
        """V/I at the end of a phase of ``phase_us``."""

    def peak_voltage_mV(self, current_uA: float, phase_us: float) -> float:
        """``I · Z(phase_us)``; 0 mV at zero current, even into an open circuit."""
        return _ohmic_mV(current_uA, self.impedance_ohm(phase_us))

    def is_open(self, t_us: int) -> bool:
        """Never open."""
        return False


@dataclass(frozen=True)
class Resistive(_Linear):
    """A pure resistance, e.g. the 500 Ω test load or a 1, 2 or 10 kΩ load."""

    ohm: float

    def __post_init__(self) -> None:
        _finite("ohm", self.ohm, minimum=0, strict=True)

    def impedance_ohm(self, phase_us: float) -> float:
        """``R`` whatever the phase width."""
        return self.ohm


@dataclass(frozen=True)
class Randles(_Linear):
    """Randles electrode model: series resistance R_s, then R_ct in parallel with C_dl.

    Driven by a constant current from a discharged state, the double layer charges with
    τ = R_ct·C_dl and the voltage at time t is ``I·(R_s + R_ct·(1 − e^(−t/τ)))`` (Merrill,
    Bikson & Jefferys 2005, J Neurosci Methods 141:171, electrode–electrolyte interface model).
    """

    r_s_ohm: float
    r_ct_ohm: float
    c_dl_nF: float

    def __post_init__(self) -> None:
        _finite("r_s_ohm", self.r_s_ohm, minimum=0, strict=False)
        _finite("r_ct_ohm", self.r_ct_ohm, minimum=0, strict=True)
        _finite("c_dl_nF", self.c_dl_nF, minimum=0, strict=True)

    @property
    def time_constant_us(self) -> float:
        """τ = R_ct·C_dl in µs (Ω · nF = ns, hence / 1000)."""
        return self.r_ct_ohm * self.c_dl_nF / 1000

    def impedance_ohm(self, phase_us: float) -> float:
        """``R_s + R_ct·(1 − e^(−t/τ))``: R_s at the phase's start, R_s + R_ct once charged."""
        return self.r_s_ohm - self.r_ct_ohm * math.expm1(-phase_us / self.time_constant_us)


@dataclass(frozen=True)
class OpenCircuit(_Linear):
    """No contact at all: infinite impedance, no current can flow."""

    def impedance_ohm(self, phase_us: float) -> float:
        """``math.inf``."""
        return math.inf

    def is_open(self, t_us: int) -> bool:
        """Always open."""
        return True


@dataclass(frozen=True)
class ShortCircuit(_Linear):
    """Electrodes touching: zero impedance, never beyond compliance."""

    def peak_voltage_mV(self, current_uA: float, phase_us: float) -> float:
        """Always 0 mV."""
        return 0.0

    def impedance_ohm(self, phase_us: float) -> float:
        """Always 0 Ω."""
        return 0.0


DEFAULT_MEAN_CONTACT_MS = 5000.0
"""Default mean contact time of an intermittent electrode (simulator choice, not a standard)."""

DEFAULT_MEAN_LOSS_MS = 200.0
"""Default mean loss-of-contact time of an intermittent electrode (simulator choice)."""

_CHUNK = 64  # contact/loss pairs drawn at a time when the schedule must grow


class Intermittent:
    """A load that loses contact now and then: a seeded alternating contact/loss schedule.

    From t = 0 the electrode is in contact, then loses it, and so on; each duration is
    exponential with its mean, rounded to whole µs (at least 1 µs). The schedule is drawn from
    ``rng`` lazily but in a fixed order (contact, loss, contact, …), so it depends only on the
    generator's seed, never on the times queried. While in contact the load behaves as ``base``;
    ``peak_voltage_mV`` and ``impedance_ohm`` always describe ``base`` — ask :meth:`is_open`
    first.
    """

    def __init__(
        self,
        base: Load,
        rng: np.random.Generator,
        mean_contact_ms: float = DEFAULT_MEAN_CONTACT_MS,
        mean_loss_ms: float = DEFAULT_MEAN_LOSS_MS,
    ) -> None:
        """Create the load.

        Args:
            base: the load while in contact.
            rng: a seeded generator; the schedule is a function of its state.
            mean_contact_ms: mean contact time.
            mean_loss_ms: mean loss-of-contact time.

        Raises:
            ValueError: a mean that is not finite and positive.
        """
        _finite("mean_contact_ms", mean_contact_ms, minimum=0, strict=True)
        _finite("mean_loss_ms", mean_loss_ms, minimum=0, strict=True)
        self.base = base
        self.mean_contact_ms = mean_contact_ms
        self.mean_loss_ms = mean_loss_ms
        self._rng = rng
        self._scale_us = np.array([mean_contact_ms, mean_loss_ms]) * 1000
        # Ends of the intervals so far: contact ends at _ends[0], loss at _ends[1], ...
        self._ends = np.empty(0, dtype=np.int64)

    def __repr__(self) -> str:
        return (
            f"Intermittent({self.base!r}, mean_contact_ms={self.mean_contact_ms}, "
            f"mean_loss_ms={self.mean_loss_ms})"
        )

    def _cover(self, t_us: int) -> None:
        """Draw contact/loss pairs until the schedule extends past ``t_us``."""
        while self._ends.size == 0 or self._ends[-1] <= t_us:
            last_us = int(self._ends[-1]) if self._ends.size else 0
            pairs = max(_CHUNK, math.ceil((t_us - last_us) / float(self._scale_us.sum())))
            # standard_exponential fills row-major, so the draws alternate contact, loss, ...
            # whatever ``pairs`` is: the schedule does not depend on the query pattern.
            draws = self._rng.standard_exponential((pairs, 2)) * self._scale_us
            durations_us = np.maximum(1, np.rint(draws)).astype(np.int64).ravel()
            self._ends = np.concatenate([self._ends, last_us + np.cumsum(durations_us)])

    def is_open(self, t_us: int) -> bool:
        """True while contact is lost at ``t_us`` (never before t = 0)."""
        if t_us < 0:
            return False
        self._cover(t_us)
        return bool(int(np.searchsorted(self._ends, t_us, side="right")) % 2 == 1)

    def next_change_us(self, t_us: int) -> int:
        """The first time after ``t_us`` at which contact is lost or regained."""
        if t_us < 0:
            t_us = -1
        self._cover(max(t_us, 0))
        return int(self._ends[np.searchsorted(self._ends, t_us, side="right")])

    def peak_voltage_mV(self, current_uA: float, phase_us: float) -> float:
        """The base load's voltage (the contact state is :meth:`is_open`'s business)."""
        return self.base.peak_voltage_mV(current_uA, phase_us)

    def impedance_ohm(self, phase_us: float) -> float:
        """The base load's impedance."""
        return self.base.impedance_ohm(phase_us)


DEFAULT_LOAD: Load = Resistive(500.0)
"""The 500 Ω test load of IEC 60601-2-10 (nerve and muscle stimulators), 201.12.4.104."""


def deliverable_uA(
    set_uA: float, load: Load, phase_us: float, compliance_mV: int
) -> tuple[float, bool]:
    """Return the current the source can drive into ``load``, and whether compliance limited it.

    The first phase governs: the asymmetric second phase carries a ratio times less current and
    its longer width cannot make up for that on any of these loads. An open load can take no
    current at all (``(0.0, True)``); the firmware tells ELECTRODE from COMPLIANCE with
    :meth:`Load.is_open`, which also covers an :class:`Intermittent` load's losses.

    Args:
        set_uA: the set current (≥ 0).
        load: the load at the channel's output.
        phase_us: the first phase's width.
        compliance_mV: the source's compliance voltage.

    Raises:
        ValueError: a negative or non-finite set current or a negative compliance.
    """
    _finite("set_uA", set_uA, minimum=0, strict=False)
    if compliance_mV < 0:
        raise ValueError(f"compliance_mV must be ≥ 0, got {compliance_mV}")
    if set_uA == 0:
        return 0.0, False
    voltage_mV = abs(load.peak_voltage_mV(set_uA, phase_us))
    if voltage_mV <= compliance_mV:
        return float(set_uA), False
    return set_uA * compliance_mV / voltage_mV, True


_RESISTANCE = re.compile(r"(\d+(?:\.\d+)?)([kKM]?)")
_CAPACITANCE = re.compile(r"(\d+(?:\.\d+)?)([pnuµ])F?")
# Decimal scaling, so "470p" is exactly the float nearest 0.47 nF.
_RESISTANCE_SCALE = {"": Decimal(1), "k": Decimal(1000), "K": Decimal(1000), "M": Decimal(10**6)}
_CAPACITANCE_TO_NF = {
    "p": Decimal("0.001"),
    "n": Decimal(1),
    "u": Decimal(1000),
    "µ": Decimal(1000),
}
_FORMS = (
    "'500', '1k', '2k', '10k' (ohms, suffix k or M), 'open', 'short', "
    "'randles:<R_s>,<R_ct>,<C_dl>' e.g. 'randles:200,1k,100n' (C_dl suffix p, n or u), "
    "'intermittent:<load>' or 'intermittent:<load>@<mean_contact_ms>/<mean_loss_ms>'"
)


def _ohms(text: str) -> float:
    match = _RESISTANCE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a resistance")
    return float(Decimal(match[1]) * _RESISTANCE_SCALE[match[2]])


def _nanofarads(text: str) -> float:
    match = _CAPACITANCE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a capacitance with a unit (p, n or u)")
    return float(Decimal(match[1]) * _CAPACITANCE_TO_NF[match[2]])


def _parse(text: str, rng: np.random.Generator | None) -> Load:
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind in ("open", "short") and not rest:
        return OpenCircuit() if kind == "open" else ShortCircuit()
    if kind == "randles":
        parts = [part.strip() for part in rest.split(",")]
        if len(parts) != 3:
            raise ValueError("randles needs three values: R_s, R_ct, C_dl")
        return Randles(_ohms(parts[0]), _ohms(parts[1]), _nanofarads(parts[2]))
    if kind == "intermittent":
        if rng is None:
            raise ValueError("an intermittent load needs a seeded numpy Generator (rng=)")
        base_text, at, means = rest.partition("@")
        base = _parse(base_text.strip(), rng)
        if not at:
            return Intermittent(base, rng)
        contact_text, slash, loss_text = means.partition("/")
        if not slash:
            raise ValueError("intermittent means are '@<mean_contact_ms>/<mean_loss_ms>'")
        return Intermittent(base, rng, float(contact_text), float(loss_text))
    return Resistive(_ohms(text))


def parse_load(text: str, rng: np.random.Generator | None = None) -> Load:
    """Parse a load description, e.g. from a command line or a test parameter.

    Accepted forms: ``500``, ``1k``, ``2k``, ``10k`` (Ω, suffix k or M); ``open``; ``short``;
    ``randles:<R_s>,<R_ct>,<C_dl>`` such as ``randles:200,1k,100n`` (C_dl with p, n or u);
    ``intermittent:<load>`` or ``intermittent:<load>@<mean_contact_ms>/<mean_loss_ms>``.

    Args:
        text: the description (surrounding spaces ignored).
        rng: the seeded generator an intermittent load draws its schedule from.

    Raises:
        ValueError: the text is not one of the accepted forms or a value is out of range; the
            message names the text and the accepted forms.
    """
    try:
        return _parse(text.strip(), rng)
    except ValueError as err:
        raise ValueError(f"load {text!r} not understood ({err}); accepted: {_FORMS}") from err
