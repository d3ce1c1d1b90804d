"""One work item as it climbs the ladder, and the result built from it however it ends.

An item ends *accepted* (a tier's bar was met), *unresolved* (the top tier, or a stop of this item
alone, with its best answer so far), *unanswered* (no tier could answer), *failed* (an unexpected
error) or *stopped* (the whole run stopped). Every attempt it made, and so every dollar it spent,
stays in its result whichever way it ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from escalade.cascade._calls import RequestCalls
from escalade.cascade._results import AttemptRecord, ItemResult, TierResult, error_cause
from escalade.exceptions import ConfigError, ProviderError, RequestStoppedError, UntrustedRunError
from escalade.providers import Completion, RequestOptions, Usage
from escalade.quality import AnsweredAttempt, check_task_kind

__all__ = [
    "ItemState",
    "WorkItem",
    "attempt_failure",
    "cut_short",
    "finish_item",
    "last_answered",
    "price_versions",
    "request_stopped",
    "total_cost",
    "total_usage",
]


@dataclass(frozen=True, kw_only=True)
class WorkItem:
    """One unit of work."""

    #: Unique id within the run.
    id: str
    #: The task given to the models.
    prompt: str
    #: Kind of task; scorers read answers by it.
    task_kind: str = "short-answer"
    #: Tier to start on (``None``: the executor's start tier).
    start_tier: str | None = None
    #: Free-form data for scorers and listeners.
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: Highest tier the item may climb to (``None``: the top); it still falls back between that tier's models.
    max_tier: str | None = None
    #: The conversation, tools and options sent with every call (``prompt`` is the last user turn).
    options: RequestOptions = field(default_factory=RequestOptions)

    def __post_init__(self) -> None:
        if problem := check_task_kind(self.task_kind):  # a typo would silently judge answers by format only
            raise ConfigError(f"item {self.id!r}: {problem}", field="task_kind")


@dataclass
class ItemState:
    """What the cascade knows of one item while it works on it."""

    item: WorkItem
    #: Every answer the item got so far, for scorers that compare answers.
    history: list[AnsweredAttempt] = field(default_factory=list)
    #: Tiers the item has finished with.
    tiers: list[TierResult] = field(default_factory=list)
    #: Attempts on the tier being worked, so a budget stop mid-tier keeps them.
    current: list[AttemptRecord] = field(default_factory=list)
    #: Calls sent for the item, against its ceiling.
    calls: RequestCalls = field(default_factory=lambda: RequestCalls(limit=None))
    #: Why attempts on the tier being worked have no answer: provider errors, answers that cannot be trusted.
    errors: list[ProviderError | UntrustedRunError] = field(default_factory=list)


def with_unfinished(state: ItemState, status: str) -> list[TierResult]:
    """The item's tiers, plus the attempts of the tier it was on when it ended early."""
    tiers = list(state.tiers)
    worked = {id(a) for t in tiers for a in t.attempts}
    unfinished = tuple(a for a in state.current if id(a) not in worked)
    if unfinished:
        tiers.append(
            TierResult(tier=unfinished[0].tier, attempts=unfinished, escalated=False, escalation_reason=status)
        )
    return tiers


def last_answered(state: ItemState, attempts: list[AttemptRecord]) -> AttemptRecord | None:
    """The latest answered attempt among ``attempts``, else among the item's finished tiers."""
    answered = [a for a in attempts if a.error is None]
    if answered:
        return answered[-1]
    earlier = [a for t in state.tiers for a in t.attempts if a.error is None]
    return earlier[-1] if earlier else None


def finish_item(
    state: ItemState, status: str, final: AttemptRecord | None, baseline: float, *, error: str | None = None
) -> ItemResult:
    """The result of an item whose last answer is ``final`` (``unanswered`` when there is none)."""
    if final is None:
        errors = [a.error for t in state.tiers for a in t.attempts if a.error is not None]
        last = f" (last error: {errors[-1]})" if errors else ""
        return ItemResult(
            item_id=state.item.id,
            status="unanswered",
            tiers=tuple(state.tiers),
            error=error or f"no tier could answer this item{last}",
            premium_baseline_usd=baseline,
            prompt=state.item.prompt,
        )
    return ItemResult(
        item_id=state.item.id,
        status=status,
        tiers=tuple(state.tiers),
        final_tier=final.tier,
        final_model=final.model,
        final_answer=final.text,
        final_cqs=final.cqs,
        final_tool_calls=final.tool_calls,
        final_finish_reason=final.finish_reason,
        error=error,
        premium_baseline_usd=baseline,
        prompt=state.item.prompt,
    )


def request_stopped(state: ItemState, exc: RequestStoppedError, baseline: float) -> ItemResult:
    """An item whose own budget or call ceiling ran out: unresolved, with its best answer so far."""
    state.tiers = with_unfinished(state, "request stopped")
    return finish_item(state, "unresolved", last_answered(state, []), baseline, error=str(exc))


def cut_short(state: ItemState, status: str, error: str, baseline: float) -> ItemResult:
    """An item that ended early (``failed``, ``stopped``), with every attempt and cost it made."""
    return ItemResult(
        item_id=state.item.id,
        status=status,
        tiers=tuple(with_unfinished(state, status)),
        error=error,
        premium_baseline_usd=baseline,
        prompt=state.item.prompt,
    )


def total_cost(completions: list[Completion]) -> float:
    """USD of the calls (an unknown bill was already counted at its bound by the guard)."""
    return sum(c.cost_usd or 0.0 for c in completions)


def price_versions(completions: list[Completion]) -> str | None:
    """The price data versions of the calls, joined when they differ."""
    versions = sorted({c.price_data_version for c in completions if c.price_data_version})
    return "; ".join(versions) or None


def total_usage(completions: list[Completion]) -> Usage:
    """The calls' usage added up."""
    total = Usage()
    for c in completions:
        total = total + c.usage
    return total


def attempt_failure(state: ItemState, exc: Exception) -> dict[str, Any]:
    """The record fields of an attempt whose team raised ``exc``; calls already paid for stay in the record.

    A provider error fails the attempt (the item tries the next model); a stop of this item alone
    ends the item; anything else (a budget stop, a bug) is re-raised to stop the run or the item.
    """
    failed: dict[str, Any] = {"text": None, "analysis": None, "cqs": None, "passed": False}
    cause = error_cause(exc)
    if isinstance(exc, ProviderError):
        state.errors.append(exc)
        return {**failed, "reason": f"provider error: {exc}", "error": str(exc), "error_cause": cause}
    if isinstance(exc, RequestStoppedError):  # this item goes no further; the run goes on
        return {**failed, "reason": "request stopped", "error": str(exc), "error_cause": cause, "raised": exc}
    error = f"{type(exc).__name__}: {exc}"
    return {**failed, "reason": "run stopped", "error": error, "error_cause": cause, "raised": exc}
