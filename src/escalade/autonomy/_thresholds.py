"""Thresholds: a certified floor per type, a target escalation rate, and learning from outcomes.

The confidence a decision needs to proceed is::

    needed = max(floor[type], profile.threshold(type) + learned[type] + rate_offset)      (at most 1)

- **floor** (:func:`certify_floors`): from labelled decisions, the lowest confidence threshold such
  that, with probability at least ``1 − δ``, the share of errors among the decisions it lets
  proceed is at most ``α`` (Clopper–Pearson fixed-sequence test, the same procedure as the routing
  calibration in :mod:`escalade.calibration._thresholds`). ``δ`` is split evenly over the types calibrated
  (Bonferroni), so all the floors hold together. A type no threshold certifies escalates every
  decision: the guarantee wins over the rate target. A type with fewer labels than the test needs to
  certify anything is not tested (it escalates too); with no such type at all, calibration refuses.
- **rate offset** (:class:`RateControl`): after each decision the threshold decides, ``offset ←
  offset − η·(escalated − target)``, the quantile-tracking update. Summed over ``T`` such decisions the
  updates telescope, so as long as the offset stays inside its clamp their escalation rate is within
  ``2·max_shift / (η·T)`` of the target. Escalations forced by a rule, criticality, the profile or
  the calibration are left out: no threshold can move them, and counting them would wind the offset
  down to its clamp and loosen the threshold for everything else. When a floor or the clamp binds,
  the guarantee wins and the achieved rate is reported.
- **learned** (:class:`Learning`): an escalation the person approved as recommended within
  ``quick_response_s`` was unnecessary, so the type needs less confidence (``−step_down``); an action
  that proceeded and went wrong was a miss, so it needs more (``+step_up``). Seed 004 phrases this as
  raising or lowering the *escalation* threshold; here the threshold is the confidence needed to
  proceed, so it moves the other way with the same effect.

>>> from escalade.autonomy._history import DecisionRecord
>>> RateControl(target=0.05, step=0.01).bound(10_000)
0.003
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from escalade.autonomy._decisions import DecisionType
from escalade.autonomy._history import QUICK_RESPONSE_S, AutonomyStore, CalibrationRecord, DecisionRecord, Verdict
from escalade.calibration import certify_selective_error, min_certifiable_items
from escalade.exceptions import ConfigError, NotEnoughLabelsError

__all__ = ["POOLED", "Labelled", "Learning", "RateControl", "Threshold", "certify_floors", "labelled_from"]


@dataclass(frozen=True)
class Labelled:
    """One labelled decision for calibration: its type, its confidence, and whether proceeding was an error."""

    type: str
    confidence: float
    error: bool


def labelled_from(records: Iterable[DecisionRecord], *, sampled_only: bool = True) -> list[Labelled]:
    """The labelled decisions a threshold governs, by default only the uniformly sampled ones (unbiased).

    Decisions escalated whatever their confidence (``forced``: a rule, criticality, the profile) are
    left out: no threshold lets them proceed, so they say nothing about the error behind one.
    """
    found = []
    for r in records:
        label = r.label()
        if label is not None and not r.forced and (r.sampled or not sampled_only):
            found.append(Labelled(r.type, r.confidence, label))
    return found


#: The one "type" of a pooled calibration.
POOLED = "*"


def certify_floors(
    labelled: Iterable[Labelled],
    *,
    alpha: float,
    delta: float,
    types: Iterable[str] | None = None,
    pooled: bool = False,
    grid: float | None = 0.1,
) -> CalibrationRecord:
    """Certified floors per type (see the module docstring).

    A type is tested only when it has as many labels as the test needs to certify anything at its
    share of ``delta`` (:func:`~escalade.calibration._thresholds.min_certifiable_items`); the others get ``None``
    (every decision of the type escalates) and a message saying how many labels they need. Which
    types are tested depends on the label counts alone, never on the labels, so ``delta`` is split
    over the tested types only. When no type can be tested, :class:`NotEnoughLabelsError` says how
    many labels are needed and nothing is certified.

    ``pooled``: one floor for every type together (key ``"*"``), certified on all labels at ``delta``.
    The guarantee is then on all auto-approved decisions together rather than type by type, and it
    needs far fewer labels. ``grid``: thresholds are tested once per 10 % of the labels (see
    :func:`escalade.calibration._thresholds.certify_selective_error`), so one early error does not end the walk.
    """
    if not 0 < alpha < 1 or not 0 < delta < 1:
        raise ConfigError("alpha and delta must be in (0, 1)", field="alpha" if not 0 < alpha < 1 else "delta")
    by_type: dict[str, list[Labelled]] = {}
    for item in labelled:
        by_type.setdefault(POOLED if pooled else item.type, []).append(item)
    if pooled:
        names = [POOLED]
    else:
        names = sorted(set(types) if types is not None else {t.value for t in DecisionType} | set(by_type))
    counts = {t: len(by_type.get(t, [])) for t in names}
    tested = _tested_types(counts, alpha=alpha, delta=delta, grid=grid)
    if not tested:
        raise _not_enough(counts, alpha=alpha, delta=delta, grid=grid)
    share = delta / len(tested)
    untested_need = min_certifiable_items(alpha, delta / (len(tested) + 1), grid=grid)
    floors: dict[str, float | None] = {}
    messages: dict[str, str] = {}
    for name in names:
        items = by_type.get(name, [])
        if name not in tested:
            floors[name] = None
            messages[name] = (
                f"{len(items)} labelled decisions, fewer than the {untested_need} a floor needs here: "
                "every decision of this type escalates"
            )
            continue
        result = certify_selective_error(
            [i.confidence for i in items], [not i.error for i in items], alpha=alpha, delta=share, grid=grid
        )
        floors[name] = result.threshold
        messages[name] = result.message
    return CalibrationRecord(
        id=uuid.uuid4().hex[:12],
        created_at=datetime.now(UTC),
        alpha=alpha,
        delta=delta,
        floors=floors,
        labelled=counts,
        messages=messages,
    )


def _tested_types(counts: Mapping[str, int], *, alpha: float, delta: float, grid: float | None) -> list[str]:
    """The most types that can each certify a floor at ``delta`` split between them (most labelled first)."""
    ranked = sorted(counts, key=lambda t: (-counts[t], t))
    for k in range(len(ranked), 0, -1):
        if counts[ranked[k - 1]] >= min_certifiable_items(alpha, delta / k, grid=grid):
            return ranked[:k]
    return []


def _not_enough(counts: Mapping[str, int], *, alpha: float, delta: float, grid: float | None) -> NotEnoughLabelsError:
    needed = min_certifiable_items(alpha, delta, grid=grid)
    most = max(counts, key=lambda t: (counts[t], t)) if counts else None
    if most == POOLED:
        what, have = f"calibration needs at least {needed} labelled decisions", f"there are {counts[most]}"
    else:
        what = f"calibration needs at least {needed} labelled decisions of one type"
        have = f"the most labelled type, {most}, has {counts[most]}" if most and counts[most] else "there are none"
    return NotEnoughLabelsError(
        f"too few labelled decisions to certify any confidence floor: at alpha {alpha:g} and delta {delta:g} {what}"
        f" ({have}; {sum(counts.values())} in all); nothing was stored. Label more decisions (the audited sample,"
        " or --labels), raise alpha or delta, or calibrate pooled (one floor for every type)",
        needed=needed,
        labelled=max(counts.values(), default=0),
    )


@dataclass(frozen=True, kw_only=True)
class RateControl:
    """Tracks a target escalation rate by shifting thresholds (see the module docstring)."""

    target: float = 0.05
    #: η, the step of the quantile-tracking update.
    step: float = 0.01
    #: The offset stays within ``[-max_shift, max_shift]``.
    max_shift: float = 0.15
    #: ``False``: thresholds do not track the rate (the offset is neither updated nor applied).
    enabled: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.target <= 1:
            raise ConfigError(f"target rate must be in [0, 1], got {self.target}", field="target_rate")
        if not self.step > 0 or not 0 <= self.max_shift <= 1:
            raise ConfigError("rate step must be > 0 and max_shift in [0, 1]", field="rate_step")

    def key(self, profile: str) -> str:
        return f"rate:{profile}"

    def update(self, store: AutonomyStore, workspace: str, profile: str, escalated: bool) -> float:
        """Apply one decision's update; returns the new offset."""
        change = -self.step * ((1.0 if escalated else 0.0) - self.target)
        return store.shift_offset(workspace, self.key(profile), change, low=-self.max_shift, high=self.max_shift)

    def bound(self, decisions: int) -> float:
        """Largest gap between achieved and target rate after ``decisions`` updates, while the clamp never binds."""
        return round(2 * self.max_shift / (self.step * decisions), 6) if decisions else math.inf


@dataclass(frozen=True, kw_only=True)
class Learning:
    """How outcomes move a type's threshold (see the module docstring)."""

    #: Confidence needed less after an unnecessary escalation.
    step_down: float = 0.02
    #: Confidence needed more after a miss.
    step_up: float = 0.05
    low: float = -0.2
    high: float = 0.3
    quick_response_s: float = QUICK_RESPONSE_S

    def __post_init__(self) -> None:
        if self.step_down < 0 or self.step_up < 0 or not self.low <= 0 <= self.high or self.quick_response_s < 0:
            raise ConfigError("learning steps must be >= 0, low <= 0 <= high, quick_response_s >= 0", field="learning")

    def learn(self, store: AutonomyStore, record: DecisionRecord) -> tuple[Verdict | None, float | None]:
        """The record's verdict and, if it moved one, the type's new offset."""
        verdict = record.verdict(self.quick_response_s)
        if verdict == "unnecessary" and record.forced:
            return verdict, None  # a rule or the profile asked, not low confidence: the threshold was not at fault
        change = {"unnecessary": -self.step_down, "missed": self.step_up}.get(verdict or "")
        if change is None:
            return verdict, None
        key = f"type:{record.type}"
        return verdict, store.shift_offset(record.workspace, key, change, low=self.low, high=self.high)


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """The confidence a decision needed, and what it was made of."""

    value: float
    profile: float
    learned: float
    rate: float
    #: The certified floor (``None``: no calibration, or the type is not certified, see ``escalate_all``).
    floor: float | None
    #: The calibration escalates every decision of this type (no threshold certified).
    escalate_all: bool
    calibration_id: str | None

    @classmethod
    def combine(
        cls,
        *,
        profile: float,
        offsets: Mapping[str, float],
        decision_type: str,
        rate_key: str | None,
        calibration: CalibrationRecord | None,
    ) -> Threshold:
        learned = offsets.get(f"type:{decision_type}", 0.0)
        rate = offsets.get(rate_key, 0.0) if rate_key else 0.0
        floors = calibration.floors if calibration else {}
        floor = floors.get(POOLED) if POOLED in floors else floors.get(decision_type)
        escalate_all = calibration is not None and floor is None
        value = min(max(profile + learned + rate, floor if floor is not None else 0.0, 0.0), 1.0)
        return cls(
            value=round(value, 4),
            profile=profile,
            learned=round(learned, 4),
            rate=round(rate, 4),
            floor=floor,
            escalate_all=escalate_all,
            calibration_id=calibration.id if calibration else None,
        )

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)

    def describe(self) -> str:
        parts = [f"profile {self.profile:.2f}"]
        if abs(self.learned) >= 0.005:
            parts.append(f"learned {self.learned:+.2f}")
        if abs(self.rate) >= 0.005:
            parts.append(f"rate control {self.rate:+.2f}")
        if self.floor is not None:
            parts.append(f"certified floor {self.floor:.3f} (calibration {self.calibration_id})")
        return f"{self.value:.2f} = " + ", ".join(parts)
