"""Run results: savings over answered items only, the run's status, rates with their denominators, errors by cause."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalade.cascade import AttemptRecord, ItemResult, ProgressiveWorkflowResult, TierResult, error_cause, run_status
from escalade.exceptions import (
    ApprovalDeniedError,
    BudgetExceededError,
    CallLimitError,
    ContentPolicyError,
    ContextWindowError,
    MissingOutcomeError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    ProviderTimeoutError,
    RateLimitedError,
    RequestBudgetExceededError,
    TransientProviderError,
)
from escalade.providers import Usage


def _attempt(item_id: str, *, cost: float, cause: str | None = None) -> AttemptRecord:
    """One attempt on the cheap tier: answered, or failed with ``cause``."""
    return AttemptRecord(
        item_id=item_id,
        tier="cheap",
        attempt=1,
        model="m",
        text=None if cause else "A",
        analysis=None,
        cqs=None if cause else 100.0,
        passed=cause is None,
        reason=None,
        cost_usd=cost,
        usage=Usage(),
        calls=1,
        latency_s=0.0,
        error=f"{cause} happened" if cause else None,
        error_cause=cause,
    )


def _item(
    item_id: str, status: str, *, cost: float = 0.0, baseline: float = 0.0, causes: tuple[str, ...] = ()
) -> ItemResult:
    """An item whose attempts failed for ``causes``, then answered when ``status`` carries an answer."""
    attempts = [_attempt(item_id, cost=0.0, cause=c) for c in causes]
    answered = status in ("accepted", "unresolved")
    if answered or cost:
        attempts.append(_attempt(item_id, cost=cost, cause=None if answered else "connection"))
    tiers = (TierResult(tier="cheap", attempts=tuple(attempts), escalated=False, escalation_reason=None),)
    return ItemResult(
        item_id=item_id,
        status=status,
        tiers=tiers if status != "not_run" else (),
        final_tier="cheap" if answered else None,
        final_answer="A" if answered else None,
        premium_baseline_usd=baseline,
    )


def _result(*items: ItemResult, status: str = "completed") -> ProgressiveWorkflowResult:
    return ProgressiveWorkflowResult(
        run_id="r",
        workflow="test",
        status=status,
        tier_names=("cheap",),
        items=items,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_savings_count_only_answered_items() -> None:
    """An item with no answer is no saving: cost and premium baseline are compared over answered items only."""
    result = _result(
        _item("ok", "accepted", cost=0.01, baseline=0.1),
        _item("meh", "unresolved", cost=0.03, baseline=0.1),
        _item("lost", "unanswered", cost=0.02, baseline=0.1),
    )
    assert result.total_cost == pytest.approx(0.06)
    assert result.answered_cost == pytest.approx(0.04)
    assert result.premium_baseline_cost == pytest.approx(0.2)
    assert result.cost_savings == pytest.approx(0.16)
    assert result.cost_savings_percent == pytest.approx(80.0)
    data = result.to_dict()
    assert (data["items_total"], data["items_worked"], data["items_answered"]) == (3, 3, 2)
    assert data["answered_cost"] == pytest.approx(0.04)


def test_run_with_no_answer_claims_no_savings() -> None:
    """When no item was answered there is nothing to compare: no baseline, no savings, n/a in the report."""
    result = _result(
        _item("a", "unanswered", baseline=0.1, causes=("authentication",)),
        _item("b", "unanswered", baseline=0.1, causes=("authentication",)),
    )
    assert result.premium_baseline_cost == 0.0
    assert result.cost_savings == 0.0
    assert result.cost_savings_percent is None
    report = result.generate_report()
    assert "Savings:               n/a (no item was answered)" in report
    assert "100.0%" not in report


@pytest.mark.parametrize(
    ("statuses", "stopped", "expected"),
    [
        (["accepted", "unresolved"], False, "completed"),
        (["accepted", "unanswered"], False, "partial"),
        (["accepted", "failed"], False, "partial"),
        (["unanswered", "unanswered"], False, "failed"),
        (["failed"], False, "failed"),
        (["accepted", "not_run"], True, "aborted"),
        (["unanswered", "stopped"], True, "aborted"),
        ([], False, "completed"),
    ],
)
def test_run_status_says_whether_items_were_answered(statuses: list[str], stopped: bool, expected: str) -> None:
    """completed: every item answered; partial: some not; failed: none; aborted: the run was stopped."""
    items = [_item(f"i{n}", s) for n, s in enumerate(statuses)]
    assert run_status(items, stopped=stopped) == expected


def test_errors_are_counted_by_cause() -> None:
    """Failed attempts are counted by cause, most frequent first, in the result, its JSON and its report."""
    result = _result(
        _item("a", "unanswered", causes=("server error", "connection", "server error")),
        _item("b", "accepted", causes=("rate limit",)),
    )
    assert result.error_counts == {"server error": 2, "connection": 1, "rate limit": 1}
    assert list(result.to_dict()["errors"]) == ["server error", "connection", "rate limit"]
    assert "Errors: 4 failed attempts: server error 2, connection 1, rate limit 1" in result.generate_report()


def test_rates_and_header_name_their_denominators() -> None:
    """A stopped run's header says how many items were worked of how many, and its rates cover the worked ones."""
    items = [_item("a", "accepted"), _item("b", "unanswered"), *(_item(f"n{k}", "not_run") for k in range(8))]
    result = _result(*items, status="aborted")
    assert result.success_rate == pytest.approx(0.5)  # of the 2 worked items, not of all 10
    report = result.generate_report()
    assert "Items: 2 of 10 worked (8 not run), 1 answered" in report
    assert "accepted by a quality bar: 50.0% of 2 worked" in report


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (MissingOutcomeError(item_id="q", model="m"), "missing outcome"),
        (ProviderAuthError("401"), "authentication"),
        (RateLimitedError("429"), "rate limit"),
        (ContextWindowError("too long"), "context window"),
        (ContentPolicyError("refused"), "content policy"),
        (ProviderConnectionError("refused"), "connection"),
        (ProviderTimeoutError("slow"), "timeout"),
        (ProviderServerError("500"), "server error"),
        (TransientProviderError("broke off"), "transient"),
        (ProviderError("400"), "provider error"),
        (RequestBudgetExceededError("cap"), "request budget"),
        (CallLimitError("ceiling"), "call limit"),
        (BudgetExceededError("max_cost"), "budget"),
        (ApprovalDeniedError("no"), "approval denied"),
        (RuntimeError("bug"), "unexpected"),
    ],
)
def test_error_cause_follows_the_exception_tree(error: BaseException, cause: str) -> None:
    """Each error's cause comes from its class in the exception tree, never from its message."""
    assert error_cause(error) == cause
