"""What one request returns: the answer and its whole trace (tiers, models, costs, signals, escalations)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from escalade.cascade import AttemptRecord, ItemResult
from escalade.providers import ToolCall
from escalade.routing import RoutingDecision

__all__ = ["Attempt", "Escalation", "GenerateResult", "result_of"]


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One attempt of the request: which model of which tier, what it cost, how it was judged."""

    tier: str
    model: str
    #: USD the attempt spent (its failed calls included).
    cost_usd: float
    #: The composite quality score (0–100; ``None`` when the call failed).
    cqs: float | None
    #: The quality signals the scorer measured, by name (0–1).
    signals: dict[str, float]
    #: Whether the answer met the tier's bar.
    passed: bool
    #: Why it did not, or why the call failed.
    reason: str | None
    #: The error that failed the call (``None``: the model answered).
    error: str | None
    #: What the error was (``rate limit``, ``context window``, ``server error``...).
    error_cause: str | None
    latency_s: float


@dataclass(frozen=True, kw_only=True)
class Escalation:
    """One climb from a tier to the next, and why."""

    from_tier: str
    to_tier: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class GenerateResult:
    """The answer to one request with its trace.

    ``status`` is the cascade's: ``accepted`` (a tier's bar was met), ``unresolved`` (the best answer,
    no tier's bar met), ``unanswered`` (no model could answer).
    """

    #: The answer text (``None`` when the model only called tools, or nothing answered).
    text: str | None
    #: Tools the answer asks to call.
    tool_calls: tuple[ToolCall, ...]
    #: Why the answering model stopped, in the provider's words.
    finish_reason: str | None
    status: str
    #: The tier the request started on, and the tier of the final answer.
    tier_started: str
    tier_ended: str | None
    #: The model of the final answer.
    model: str | None
    #: Every model asked, in order (a model tried twice appears twice).
    models_tried: tuple[str, ...]
    attempts: tuple[Attempt, ...]
    escalations: tuple[Escalation, ...]
    #: Total USD spent.
    cost_usd: float
    #: The budget lines the spend was charged to (run, request when capped, the workspace's month).
    budget_lines: tuple[str, ...]
    #: Wall time of the whole request, routing and judging included.
    latency_s: float
    #: Where the request started, and why.
    routing: RoutingDecision
    #: The cascade's run id (the store keeps the request under it).
    run_id: str
    #: The cascade's result for the request, for everything else.
    item: ItemResult

    @property
    def answer(self) -> str | None:
        """Alias of :attr:`text`."""
        return self.text

    @property
    def reasons(self) -> tuple[str, ...]:
        """The routing reasons, then each escalation's."""
        return self.routing.reasons + tuple(f"{e.from_tier} → {e.to_tier}: {e.reason}" for e in self.escalations)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (``escalade ask --json``)."""
        return {
            "text": self.text,
            "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.tool_calls],
            "finish_reason": self.finish_reason,
            "status": self.status,
            "tier_started": self.tier_started,
            "tier_ended": self.tier_ended,
            "model": self.model,
            "models_tried": list(self.models_tried),
            "cost_usd": self.cost_usd,
            "latency_s": self.latency_s,
            "budget_lines": list(self.budget_lines),
            "routing": {
                "tier": self.routing.tier,
                "confidence": self.routing.confidence,
                "reasons": list(self.routing.reasons),
                "overridden": self.routing.overridden,
            },
            "attempts": [vars(a) for a in self.attempts],
            "escalations": [vars(e) for e in self.escalations],
            "run_id": self.run_id,
        }


def _attempt(record: AttemptRecord) -> Attempt:
    analysis = record.analysis
    return Attempt(
        tier=record.tier,
        model=record.model,
        cost_usd=record.cost_usd,
        cqs=record.cqs,
        signals=dict(analysis.measured()) if analysis is not None else {},
        passed=record.passed,
        reason=record.reason,
        error=record.error,
        error_cause=record.error_cause,
        latency_s=record.latency_s,
    )


def result_of(
    item: ItemResult, decision: RoutingDecision, *, run_id: str, lines: tuple[str, ...], latency_s: float
) -> GenerateResult:
    """The request's result from the cascade's result for its one item."""
    records = [a for t in item.tiers for a in t.attempts]
    escalations = tuple(
        Escalation(from_tier=t.tier, to_tier=nxt.tier, reason=t.escalation_reason or "quality below threshold")
        for t, nxt in zip(item.tiers, item.tiers[1:], strict=False)
        if t.escalated
    )
    return GenerateResult(
        text=item.final_answer,
        tool_calls=item.final_tool_calls,
        finish_reason=item.final_finish_reason,
        status=item.status,
        tier_started=decision.tier,
        tier_ended=item.final_tier,
        model=item.final_model,
        models_tried=tuple(a.model for a in records),
        attempts=tuple(_attempt(a) for a in records),
        escalations=escalations,
        cost_usd=item.cost_usd,
        budget_lines=lines,
        latency_s=latency_s,
        routing=decision,
        run_id=run_id,
        item=item,
    )
