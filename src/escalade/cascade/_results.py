"""Results of a progressive run: attempts, per-item tier results, and the run with its savings."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from statistics import fmean
from typing import TYPE_CHECKING, Any, Protocol

from escalade.cascade._report import render_report, run_summary_dict
from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetError,
    CallLimitError,
    ContentPolicyError,
    ContextWindowError,
    ListenerError,
    MissingOutcomeError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
    RequestBudgetExceededError,
    SandboxError,
    StoreError,
    TransientProviderError,
    UntrustedRunError,
)
from escalade.providers import ToolCall, Usage
from escalade.quality import FailureAnalysis

if TYPE_CHECKING:
    from escalade.ladder import EscalationConfig

__all__ = [
    "ANSWERED_STATUSES",
    "STORES",
    "AttemptRecord",
    "ItemResult",
    "ProgressiveWorkflowResult",
    "ResultStore",
    "TierResult",
    "TierSummary",
    "count_causes",
    "error_cause",
    "run_status",
    "savings_percent",
]

#: Item statuses that carry an answer; the others (unanswered, failed, stopped, not_run) have none.
ANSWERED_STATUSES = ("accepted", "unresolved")

#: Entry-point group of stores, each a factory ``(url=None) -> ResultStore``; the built-in ``sql``
#: (:class:`escalade.store.SqlStore`) is the default store :meth:`ProgressiveWorkflowResult.save_to_disk` uses.
STORES = "escalade.stores"

#: The cause an error is counted under in a run's summary, most specific class first.
_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (MissingOutcomeError, "missing outcome"),
    (ProviderAuthError, "authentication"),
    (RateLimitedError, "rate limit"),
    (ContextWindowError, "context window"),
    (ContentPolicyError, "content policy"),
    (ProviderConnectionError, "connection"),
    (ProviderTimeoutError, "timeout"),
    (ProviderServerError, "server error"),
    (TransientProviderError, "transient"),
    (ProviderError, "provider error"),
    (RequestBudgetExceededError, "request budget"),
    (CallLimitError, "call limit"),
    (ApprovalDeniedError, "approval denied"),
    (BudgetError, "budget"),
    (ListenerError, "listener"),
    (SandboxError, "sandbox"),
    (UntrustedRunError, "untrusted sandbox run"),
)


def error_cause(exc: BaseException) -> str:
    """The cause ``exc`` is counted under, from its class in the exception tree (``unexpected`` outside it).

    >>> error_cause(ProviderAuthError("401")), error_cause(KeyError("x"))
    ('authentication', 'unexpected')
    """
    return next((cause for kind, cause in _CAUSES if isinstance(exc, kind)), "unexpected")


def count_causes(causes: Iterable[str]) -> dict[str, int]:
    """Counts of ``causes``, most frequent first (ties in first-seen order)."""
    return dict(Counter(causes).most_common())


def run_status(items: Sequence[ItemResult], *, stopped: bool) -> str:
    """How a run ended: ``aborted`` (stopped), else ``completed``, ``partial`` or ``failed`` by the items answered.

    ``completed``: every item has an answer; ``partial``: some have none; ``failed``: none has one.
    """
    if stopped:
        return "aborted"
    answered = sum(1 for item in items if item.answered)
    if answered == len(items):
        return "completed"
    return "partial" if answered else "failed"


@dataclass(frozen=True, kw_only=True)
class AttemptRecord:
    """One attempt of one item on one tier (a team's work, possibly several calls)."""

    item_id: str
    tier: str
    #: 1-based attempt number on the tier.
    attempt: int
    model: str
    #: Final answer text of the attempt (kept in memory for the caller; the store keeps it too).
    text: str | None
    #: Quality analysis; ``None`` when the call failed (an untrusted answer keeps what was measured of it).
    analysis: FailureAnalysis | None
    cqs: float | None
    #: Whether the attempt met the tier's bar.
    passed: bool
    #: Why it did not (or why the call failed).
    reason: str | None
    cost_usd: float
    usage: Usage
    calls: int
    latency_s: float
    #: Why the attempt has no answer (its call failed, its answer could not be trusted); such
    #: attempts do not count as attempts of the tier.
    error: str | None = None
    #: What the error was, from its class (:func:`error_cause`: ``authentication``, ``connection``...).
    error_cause: str | None = None
    started_at: datetime | None = None
    #: Price data the attempt's costs came from (the calls' versions, joined when they differ).
    price_data_version: str | None = None
    #: The exception that ended this attempt and must propagate (a run stop, a bug); not stored.
    raised: BaseException | None = field(default=None, repr=False, compare=False)
    #: Tools the final answer asked to call.
    tool_calls: tuple[ToolCall, ...] = ()
    #: Why the final answer's model stopped, in the provider's words.
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TierResult:
    """How one item did on one tier."""

    tier: str
    attempts: tuple[AttemptRecord, ...]
    #: Whether the item climbed from this tier.
    escalated: bool
    escalation_reason: str | None

    @property
    def failure_analysis(self) -> FailureAnalysis | None:
        """Analysis of the last scored attempt."""
        scored = [a for a in self.attempts if a.analysis is not None]
        return scored[-1].analysis if scored else None

    @property
    def cqs(self) -> float | None:
        """CQS of the last scored attempt."""
        scored = [a.cqs for a in self.attempts if a.cqs is not None]
        return scored[-1] if scored else None

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd for a in self.attempts)

    @property
    def tokens(self) -> int:
        return sum(a.usage.total_tokens for a in self.attempts)

    @property
    def scored_attempts(self) -> int:
        """Attempts that produced an answer (failed calls excluded)."""
        return sum(1 for a in self.attempts if a.error is None)


@dataclass(frozen=True, kw_only=True)
class ItemResult:
    """One item's path up the ladder."""

    item_id: str
    #: ``accepted`` (met a tier's bar), ``unresolved`` (top tier reached without meeting it),
    #: ``unanswered`` (no tier could answer), ``failed`` (unexpected error), ``stopped`` (the run stopped
    #: while it was being worked) or ``not_run`` (the run stopped before it started).
    status: str
    tiers: tuple[TierResult, ...] = ()
    final_tier: str | None = None
    final_model: str | None = None
    final_answer: str | None = None
    final_cqs: float | None = None
    error: str | None = None
    #: Cost of the same item on the top tier alone (premium-only baseline).
    premium_baseline_usd: float = 0.0
    #: The item's prompt, kept with the run so that routers can learn from logged outcomes.
    prompt: str | None = None
    #: Tools the final answer asked to call.
    final_tool_calls: tuple[ToolCall, ...] = ()
    #: Why the final answer's model stopped.
    final_finish_reason: str | None = None

    @property
    def cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.tiers)

    @property
    def escalated(self) -> bool:
        """True when the item climbed at least once."""
        return any(t.escalated for t in self.tiers)

    @property
    def tier_results(self) -> tuple[TierResult, ...]:
        """Alias of :attr:`tiers` (the seed's name)."""
        return self.tiers

    @property
    def answered(self) -> bool:
        """Whether the item ended with an answer (accepted, or unresolved with its best answer)."""
        return self.status in ANSWERED_STATUSES

    @property
    def worked(self) -> bool:
        """Whether the run got to the item at all."""
        return self.status != "not_run"


@dataclass(frozen=True, kw_only=True)
class TierSummary:
    """Aggregate of one tier over a run."""

    tier: str
    #: Items that were worked on this tier.
    items: int
    #: Items whose final answer came from this tier.
    final_items: int
    #: Items that climbed from this tier.
    escalated: int
    attempts: int
    cost_usd: float
    tokens: int
    mean_cqs: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "final_items": self.final_items,
            "escalated": self.escalated,
            "attempts": self.attempts,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
            "mean_cqs": self.mean_cqs,
        }


@dataclass(frozen=True, kw_only=True)
class ProgressiveWorkflowResult:
    """A whole run: every item, totals, and savings against running the top tier for everything."""

    run_id: str
    workflow: str
    status: str
    tier_names: tuple[str, ...]
    items: tuple[ItemResult, ...]
    started_at: datetime
    finished_at: datetime | None = None
    warnings: tuple[str, ...] = ()
    #: Facts about how the run was set up (e.g. the tier mapping chosen).
    notes: tuple[str, ...] = ()
    #: Extra figures reported by the caller (e.g. replay accuracy); never used to decide.
    metrics: Mapping[str, Any] = field(default_factory=dict)
    #: The config the run ran with (``None`` for a result built by hand).
    config: EscalationConfig | None = field(default=None, repr=False, compare=False)

    @property
    def total_cost(self) -> float:
        """Everything spent, on answered items or not."""
        return sum(i.cost_usd for i in self.items)

    @property
    def items_worked(self) -> int:
        """Items the run got to (the denominator of the rates)."""
        return sum(1 for i in self.items if i.worked)

    @property
    def items_answered(self) -> int:
        """Items that ended with an answer (the items savings are counted over)."""
        return sum(1 for i in self.items if i.answered)

    @property
    def answered_cost(self) -> float:
        """What the answered items cost."""
        return sum(i.cost_usd for i in self.items if i.answered)

    @property
    def premium_baseline_cost(self) -> float:
        """What the top tier alone would have cost on the answered items (an item with no answer is no saving)."""
        return sum(i.premium_baseline_usd for i in self.items if i.answered)

    @property
    def cost_savings(self) -> float:
        """Premium-only baseline minus cost, both over the answered items."""
        return self.premium_baseline_cost - self.answered_cost

    @property
    def cost_savings_percent(self) -> float | None:
        return savings_percent(self.answered_cost, self.premium_baseline_cost)

    @property
    def escalation_rate(self) -> float:
        """Share of worked items that climbed at least once."""
        worked = [i for i in self.items if i.worked]
        return sum(i.escalated for i in worked) / len(worked) if worked else 0.0

    @property
    def success_rate(self) -> float:
        """Share of worked items accepted by a tier's quality bar."""
        worked = [i for i in self.items if i.worked]
        return sum(i.status == "accepted" for i in worked) / len(worked) if worked else 0.0

    @property
    def error_counts(self) -> dict[str, int]:
        """Failed attempts by cause (``authentication``, ``connection``, ``server error``...), most frequent first."""
        return count_causes(
            a.error_cause or "unknown" for t in self.tier_results for a in t.attempts if a.error is not None
        )

    @property
    def tier_results(self) -> list[TierResult]:
        """Every item's tier results, flattened (the seed's view)."""
        return [t for i in self.items for t in i.tiers]

    def tier_summaries(self) -> list[TierSummary]:
        """Per-tier counts, costs and mean CQS, in ladder order."""
        return [_summarise(name, self.items) for name in self.tier_names]

    def generate_report(self) -> str:
        """Human-readable report."""
        return render_report(self.to_dict(include_items=False), self.metrics, self.notes)

    def to_dict(self, *, include_items: bool = True) -> dict[str, Any]:
        """JSON-ready summary (with per-item detail under ``items`` unless ``include_items`` is off)."""
        statuses: dict[str, int] = {}
        for item in self.items:
            statuses[item.status] = statuses.get(item.status, 0) + 1
        return run_summary_dict(
            self,
            items_total=len(self.items),
            item_statuses=statuses,
            tiers={s.tier: s.to_dict() for s in self.tier_summaries()},
            **({"items": [_item_dict(i) for i in self.items]} if include_items else {}),
        )

    def to_json(self, *, indent: int | None = None, include_items: bool = True) -> str:
        return json.dumps(self.to_dict(include_items=include_items), indent=indent)

    def save_to_disk(self) -> str:
        """Store this run in the default store and return its run id (seed 000's name).

        The default store is where ``escalade list`` and ``generate_cost_analytics()`` look:
        ``ESCALADE_DATABASE_URL``, else ``escalade.db`` in the user data directory (``ESCALADE_DATA_DIR``
        overrides the directory). The same as ``SqlStore().save_result(result)``: a run a store
        recorded as it ran is left as it is.
        """
        found = entry_points(group=STORES, name="sql")
        if not found:
            raise StoreError(f"no store named 'sql' in the entry points {STORES!r}: reinstall escalade")
        store: ResultStore = next(iter(found)).load()()
        try:
            return store.save_result(self)
        finally:
            store.close()


class ResultStore(Protocol):
    """A store that keeps finished runs (what :meth:`ProgressiveWorkflowResult.save_to_disk` needs)."""

    def save_result(self, result: ProgressiveWorkflowResult) -> str:
        """Store ``result`` unless it is stored already; return its run id."""

    def close(self) -> None:
        """Release the store's connections."""


def savings_percent(cost: float, baseline: float) -> float | None:
    """Savings against ``baseline`` in percent (``None`` when there is no baseline to compare with)."""
    return 100.0 * (baseline - cost) / baseline if baseline > 0 else None


def _summarise(name: str, items: Sequence[ItemResult]) -> TierSummary:
    results = [t for i in items for t in i.tiers if t.tier == name]
    scored = [a.cqs for t in results for a in t.attempts if a.cqs is not None]
    return TierSummary(
        tier=name,
        items=len(results),
        final_items=sum(1 for i in items if i.final_tier == name),
        escalated=sum(t.escalated for t in results),
        attempts=sum(t.scored_attempts for t in results),
        cost_usd=sum(t.cost_usd for t in results),
        tokens=sum(t.tokens for t in results),
        mean_cqs=round(fmean(scored), 3) if scored else None,
    )


def _item_dict(item: ItemResult) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "status": item.status,
        "final_tier": item.final_tier,
        "final_model": item.final_model,
        "final_cqs": item.final_cqs,
        "cost_usd": item.cost_usd,
        "premium_baseline_usd": item.premium_baseline_usd,
        "error": item.error,
        "tiers": [
            {
                "tier": t.tier,
                "escalated": t.escalated,
                "reason": t.escalation_reason,
                "cost_usd": t.cost_usd,
                "tokens": t.tokens,
                "attempts": [
                    {
                        "attempt": a.attempt,
                        "model": a.model,
                        "cqs": a.cqs,
                        "passed": a.passed,
                        "reason": a.reason,
                        "cost_usd": a.cost_usd,
                        "error": a.error,
                        "error_cause": a.error_cause,
                    }
                    for a in t.attempts
                ],
            }
            for t in item.tiers
        ],
    }
