"""Trigger outcomes from finished items: which results are evidence, and what they count as.

A trigger's outcome is a pair (*escalated*, *needed*): did the trigger send the task up, and did the
task need a tier above the one it would otherwise have started on? The item's **base tier** is that
other start: the tier routing gives with no trigger detected (classification, risk analysis and
the workspace bounds still apply). A task needed the strong tier when its base tier's answer
failed. Whether a tier's answer failed is read, in this order, from

1. a **known outcome** the caller supplies (a reviewer's verdict, a recorded grade of that tier's
   answer, a sampled attempt on that tier judged afterwards), else
2. the **run's own verdict** on that tier, when the item worked there: *passed* when one of its
   attempts met the tier's bar; *failed* when it answered (at least one scored attempt), none met
   the bar and the item climbed from it (or ended there unresolved with nothing else wrong). A tier
   that only errored, or that the item left because the run or its own budget stopped, says nothing.

The rule, for one finished item and each trigger that reached the router's confidence bar on it:

- **The base tier is the top tier**: nothing. No cheaper start existed, so no trigger could have
  changed anything.
- **The item started on its base tier** (no trigger acted: none fired, all were vetoed, auto-
  escalation was off, or the bounds held the start) and the base tier's verdict is known: each
  fired trigger gets ``escalated=False`` and ``needed`` = the base tier failed, a *false negative*
  when it failed (the trigger was right and nobody listened) and a *true negative* when it passed.
- **No trigger fired** on such an item: the outcome goes to the trigger set itself, under the name
  :data:`NO_TRIGGER`: a *miss* (false negative) when the base tier failed and the item had to climb,
  a *true negative* when it passed. This is how the set's miss rate is measured.
- **A trigger sent the item up** (its start is above its base tier): the run never tried the base
  tier, so only a known outcome of the base tier is evidence. Known to fail: *true positive* for each
  trigger that acted (``escalated=True, needed=True``); known to pass: *false positive*
  (``escalated=True, needed=False``). Triggers that fired but were vetoed get ``escalated=False``
  with the same ``needed``. With no known outcome: **nothing**. Passing at the first attempt on the
  strong tier, or failing there, says nothing about a tier that was not tried; labels are never
  guessed, and no ordering of the ladder is assumed (a failure on a middle tier is not taken as a
  failure of the cheap one).
- An item the run never got to (``not_run``), or without a base-tier verdict, gives nothing.

One observation per trigger and task (the task as a SHA-256 hash of its description): the first
outcome recorded stands, so a run stored again, resumed or repeated on the same rows never counts
the same evidence twice (:meth:`KeyedTriggerHistory.record_trigger_outcome_once`).

The run's verdict is only as good as its quality bar: a scorer that rejects every lone cheap
answer makes every firing look needed. A known outcome (a grade, a reviewer) overrides it.

>>> from escalade.cascade import ItemResult, TierResult
>>> firing = TriggerFiring(task_hash="h", base_tier="cheap", start_tier="cheap", triggers=(), acted=frozenset())
>>> item = ItemResult(item_id="q", status="accepted", tiers=(TierResult(tier="cheap", attempts=(), escalated=True,
...     escalation_reason="low"), TierResult(tier="premium", attempts=(), escalated=False, escalation_reason=None)))
>>> trigger_outcomes(item, firing, tiers=("cheap", "premium"), known=lambda item_id, tier: False)[0].needed
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypeAlias

from escalade.routing._triggers import Task, Trigger, TriggerCategory, TriggerDetector
from escalade.routing._validation import TriggerOutcome, task_hash

if TYPE_CHECKING:
    from escalade.cascade import ItemResult
    from escalade.routing._preferences import WorkspacePreferences
    from escalade.routing._router import Router, RoutingDecision

__all__ = [
    "NO_TRIGGER",
    "KeyedTriggerHistory",
    "KnownOutcome",
    "TriggerFiring",
    "tier_verdict",
    "trigger_outcomes",
]

#: The name the trigger set's own outcomes are kept under (items no trigger fired on). Its category
#: is recorded as complexity (a task no trigger recognised) and its confidence as 0.
NO_TRIGGER = "(no trigger)"

#: Whether ``tier``'s answer to item ``item_id`` is good (``True``), bad (``False``) or unknown
#: (``None``): a reviewer's verdict, a recorded grade, a sampled attempt judged afterwards.
KnownOutcome: TypeAlias = Callable[[str, str], "bool | None"]


class KeyedTriggerHistory(Protocol):
    """A trigger history that keeps one outcome per trigger and task (``SqlStore``, ``InMemoryTriggerHistory``)."""

    def record_trigger_outcome_once(self, outcome: TriggerOutcome) -> bool:
        """Keep ``outcome`` unless this trigger already has one for the same task; whether it was kept."""
        ...


class _NoTriggers(TriggerDetector):
    """A detector that finds nothing: routing with it gives a task's base tier."""

    def __init__(self) -> None:
        super().__init__(())

    def detect(self, task: Task) -> tuple[Trigger, ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class TriggerFiring:
    """What routing did with triggers for one item: the evidence's other half (see the module docstring)."""

    #: SHA-256 of the task's description (:func:`~escalade.routing.task_hash`).
    task_hash: str
    #: Where the item would have started with no trigger detected.
    base_tier: str
    #: Where it was sent to start.
    start_tier: str
    #: The triggers that reached the router's confidence bar, acted on or not.
    triggers: tuple[Trigger, ...]
    #: Names of the triggers that acted (validated, with auto-escalation on).
    acted: frozenset[str]

    @classmethod
    def from_decision(
        cls, router: Router, task: Task, decision: RoutingDecision, workspace: WorkspacePreferences | None = None
    ) -> TriggerFiring:
        """The firing behind ``decision`` (``router.route(task, workspace)``); routes again without triggers.

        An overridden decision has no trigger that acted and its base tier is the override.
        """
        fired = tuple(v.trigger for v in decision.validations)
        prefs = workspace or router.preferences
        if decision.overridden:
            return cls(
                task_hash=task_hash(task),
                base_tier=decision.tier,
                start_tier=decision.tier,
                triggers=fired,
                acted=frozenset(),
            )
        if fired:
            base = replace(router, detector=_NoTriggers(), validator=None).route(task, workspace).tier
        else:  # nothing fired: routing again without triggers would give the same tier
            base = decision.tier
        acted = {v.trigger.name for v in decision.validations if v.escalate} if prefs.auto_escalation else set()
        return cls(
            task_hash=task_hash(task), base_tier=base, start_tier=decision.tier, triggers=fired, acted=frozenset(acted)
        )

    @classmethod
    def unrouted(cls, task: Task, start_tier: str, triggers: Sequence[Trigger]) -> TriggerFiring:
        """An item that started on ``start_tier`` whatever its triggers said (``triggers`` detected afterwards)."""
        return cls(
            task_hash=task_hash(task),
            base_tier=start_tier,
            start_tier=start_tier,
            triggers=tuple(triggers),
            acted=frozenset(),
        )


def tier_verdict(item: ItemResult, tier: str) -> bool | None:
    """The run's verdict on ``tier`` for ``item``: passed, failed, or ``None`` when the run says nothing."""
    results = [t for t in item.tiers if t.tier == tier]
    if not results:
        return None
    result = results[-1]
    if any(a.passed and a.error is None for a in result.attempts):
        return True
    if result.scored_attempts == 0:
        return None
    ended_here = item.status == "unresolved" and item.error is None and item.tiers[-1] is result
    return False if result.escalated or ended_here else None


def trigger_outcomes(
    item: ItemResult, firing: TriggerFiring, *, tiers: Sequence[str], known: KnownOutcome | None = None
) -> tuple[TriggerOutcome, ...]:
    """The trigger outcomes ``item`` is evidence for, by the rule of the module docstring.

    ``tiers`` is the ladder's tier names, cheapest first.
    """
    if not item.worked or firing.base_tier not in tiers or firing.start_tier not in tiers:
        return ()
    base, start = tiers.index(firing.base_tier), tiers.index(firing.start_tier)
    if base == len(tiers) - 1:
        return ()
    verdict = known(item.item_id, firing.base_tier) if known is not None else None
    if verdict is None and start == base:
        verdict = tier_verdict(item, firing.base_tier)
    if verdict is None:
        return ()
    needed, raised = not verdict, start > base
    if not firing.triggers:
        if raised:  # raised by something else than a trigger (a firing built by hand): no trigger to blame
            return ()
        return (TriggerOutcome(NO_TRIGGER, TriggerCategory.COMPLEXITY, 0.0, False, needed, firing.task_hash),)
    return tuple(
        TriggerOutcome(t.name, t.category, t.confidence, raised and t.name in firing.acted, needed, firing.task_hash)
        for t in firing.triggers
    )
