"""The progressive executor: only failures climb, attempts, stagnation, errors, teams, concurrency."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

import pytest

from escalade.cascade import AttemptRecord, ItemResult, ProgressiveExecutor, RunListener, WorkItem
from escalade.exceptions import (
    ConfigError,
    ListenerError,
    ProviderAuthError,
    ProviderError,
    ProviderServerError,
    RateLimitedError,
    StoreError,
    UntrustedRunError,
)
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion, CompletionRequest, CostEstimate, FunctionProvider
from escalade.quality import FailureAnalysis, PredicateContext, ScoringContext
from tests.conftest import ladder

#: Declares the pass rate as the whole score, so an answer "0.8" scores CQS 80.
ONLY_TESTS = {"test_pass_rate": 1.0}
COSTS = {"a": 0.001, "b": 0.002, "c": 0.01, "p": 0.1}


class Estimator:
    """Exact estimates from the per-model cost table."""

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=COSTS[request.model], max_usd=COSTS[request.model])


def quality_of_text(ctx: ScoringContext) -> FailureAnalysis:
    """Scorer for tests: the answer text is the test pass rate (e.g. "0.8" → CQS 80)."""
    return FailureAnalysis(test_pass_rate=float(ctx.completion.text or 0), weights=ONLY_TESTS)


def scripted(answers: dict[tuple[str, str], str | list[str] | Exception]) -> FunctionProvider:
    """Answers by (item id, model); a list gives successive answers; missing pairs answer "0"."""
    seen: Counter[tuple[str, str]] = Counter()

    def handler(request: CompletionRequest) -> Completion:
        key = (request.item_id, request.model)
        value = answers.get(key, "0")
        seen[key] += 1
        if isinstance(value, Exception):
            raise value
        if isinstance(value, list):
            value = value[min(seen[key], len(value)) - 1]
        return Completion(text=value, model=request.model, cost_usd=COSTS[request.model])

    return FunctionProvider(handler)


def make(config: EscalationConfig, provider: FunctionProvider, **kwargs: object) -> ProgressiveExecutor:
    return ProgressiveExecutor(config, provider, scorer=quality_of_text, estimator=Estimator(), **kwargs)  # type: ignore[arg-type]


def items(*ids: str) -> list[WorkItem]:
    return [WorkItem(id=i, prompt=f"task {i}") for i in ids]


def calls(provider: FunctionProvider) -> Counter[tuple[str, str]]:
    return Counter((r.item_id, r.model) for r in provider.requests)


def test_only_failed_items_climb(three_tier_config: EscalationConfig) -> None:
    """Passing items stay on their tier; only failures move up, and only they pay for higher tiers."""
    provider = scripted({("ok", "a"): "0.9", ("mid", "c"): "0.7", ("hard", "p"): "0.95"})
    result = make(three_tier_config, provider).run_sync(items("ok", "mid", "hard"))
    by_id = {i.item_id: i for i in result.items}
    assert [by_id[i].final_tier for i in ("ok", "mid", "hard")] == ["cheap", "capable", "premium"]
    assert [t.tier for t in by_id["hard"].tiers] == ["cheap", "capable", "premium"]
    assert not by_id["ok"].escalated
    assert by_id["mid"].escalated
    assert by_id["mid"].tiers[0].escalation_reason == "low CQS (0.0 < 50)"
    assert all(status == "accepted" for status in (by_id[i].status for i in by_id))
    made = calls(provider)
    assert made[("ok", "a")] == 1
    assert made[("ok", "b")] == 0
    assert made[("ok", "p")] == 0
    assert made[("mid", "p")] == 0
    assert made[("hard", "p")] == 1
    summary = {s.tier: s for s in result.tier_summaries()}
    assert (summary["cheap"].final_items, summary["capable"].final_items, summary["premium"].final_items) == (1, 1, 1)
    assert summary["cheap"].escalated == 2
    assert summary["capable"].escalated == 1
    assert result.escalation_rate == pytest.approx(2 / 3)


def test_min_attempts_then_climb(three_tier_config: EscalationConfig) -> None:
    """A failing item gets the cheap tier's two attempts (two models in turn) before it climbs."""
    provider = scripted({("x", "p"): "0.95"})
    result = make(three_tier_config, provider).run_sync(items("x"))
    cheap = result.items[0].tiers[0]
    assert [(a.attempt, a.model) for a in cheap.attempts] == [(1, "a"), (2, "b")]
    assert len(result.items[0].tiers[1].attempts) == 1


def test_pass_on_second_attempt_stays(three_tier_config: EscalationConfig) -> None:
    """An item that passes on a retry stays on the tier."""
    provider = scripted({("x", "a"): "0.2", ("x", "b"): "0.6"})
    result = make(three_tier_config, provider).run_sync(items("x"))
    item = result.items[0]
    assert item.final_tier == "cheap"
    assert item.final_model == "b"
    assert item.final_cqs == 60.0
    assert len(item.tiers) == 1


@pytest.mark.parametrize(
    ("scores", "attempts", "stagnated"),
    [
        (["0.30", "0.32", "0.9"], 2, True),  # +2 points over the window: stop retrying
        (["0.30", "0.40", "0.50", "0.60"], 4, False),  # steady gains: all four attempts
        (["0.30", "0.40", "0.41", "0.9"], 3, True),  # stalls after the second: stop at three
    ],
)
def test_stagnation_stops_retries(scores: list[str], attempts: int, stagnated: bool) -> None:
    """Retries stop when the CQS rose less than stagnation_threshold over stagnation_window attempts."""
    cfg = EscalationConfig(
        tiers=ladder(("cheap", ("a",), 80.0, 4), ("premium", ("p",), 0.0, 1)), max_cost=None, auto_approve_under=None
    )
    provider = scripted({("x", "a"): scores, ("x", "p"): "1"})
    result = make(cfg, provider).run_sync(items("x"))
    cheap = result.items[0].tiers[0]
    assert len(cheap.attempts) == attempts
    assert ("stagnated" in (cheap.escalation_reason or "")) is stagnated
    assert result.items[0].final_tier == "premium"


def test_escalation_disabled_keeps_items_on_start_tier(three_tier_config: EscalationConfig) -> None:
    """With enabled=False nothing climbs; failures end unresolved with their best answer."""
    provider = scripted({("x", "a"): "0.1", ("x", "b"): "0.2"})
    result = make(three_tier_config.replace(enabled=False), provider).run_sync(items("x"))
    item = result.items[0]
    assert item.status == "unresolved"
    assert item.final_tier == "cheap"
    assert item.final_model == "b"
    assert calls(provider)[("x", "c")] == 0


def test_start_tier_skips_lower_tiers(three_tier_config: EscalationConfig) -> None:
    """An item (or run) may start higher up; lower tiers are never called."""
    provider = scripted({("x", "c"): "0.9", ("y", "p"): "1"})
    work = [WorkItem(id="x", prompt="p", start_tier="capable"), WorkItem(id="y", prompt="q")]
    result = make(three_tier_config, provider).run_sync(work, start_tier="premium")
    assert [i.final_tier for i in result.items] == ["capable", "premium"]
    assert not any(r.model in {"a", "b"} for r in provider.requests)
    with pytest.raises(ConfigError, match="field 'start_tier': no tier named 'gold'"):
        make(three_tier_config, provider).run_sync(items("z"), start_tier="gold")


def test_provider_errors_skip_to_next_model(three_tier_config: EscalationConfig) -> None:
    """A model that errors is skipped (not counted as an attempt); the next model is used."""
    provider = scripted({("x", "a"): ProviderError("no outcome", model="a"), ("x", "b"): "0.9"})
    result = make(three_tier_config, provider).run_sync(items("x"))
    cheap = result.items[0].tiers[0]
    assert [(a.model, a.error is not None) for a in cheap.attempts] == [("a", True), ("b", False)]
    assert result.items[0].final_model == "b"
    assert cheap.attempts[0].cost_usd == 0.0


def test_tier_with_no_answering_model_climbs(three_tier_config: EscalationConfig) -> None:
    """When every model of a tier errors, the item climbs with that reason."""
    err = ProviderError("down")
    provider = scripted({("x", "a"): err, ("x", "b"): err, ("x", "c"): "0.8"})
    result = make(three_tier_config, provider).run_sync(items("x"))
    assert result.items[0].tiers[0].escalation_reason == "no model of the tier could answer (last error: down)"
    assert result.items[0].final_tier == "capable"


def distrusting(*models: str) -> Callable[[ScoringContext], FailureAnalysis]:
    """Scorer that finds the answers of ``models`` untrusted (keeping what it measured), else reads the text."""

    def score(ctx: ScoringContext) -> FailureAnalysis:
        analysis = quality_of_text(ctx)
        if ctx.completion.model in models:
            raise UntrustedRunError(
                "the sandbox run of its tests is not trusted (refused: network access)", analysis=analysis
            )
        return analysis

    return score


def test_untrusted_answer_is_a_failed_attempt(three_tier_config: EscalationConfig) -> None:
    """An answer the scorer cannot trust is no answer, even above the bar: a failed attempt, the next model answers."""
    provider = scripted({("x", "a"): "1.0", ("x", "b"): ["0.4", "0.9"]})
    result = ProgressiveExecutor(three_tier_config, provider, scorer=distrusting("a"), estimator=Estimator()).run_sync(
        items("x")
    )
    cheap = result.items[0].tiers[0]
    first = cheap.attempts[0]
    assert (first.model, first.cqs, first.passed, first.error_cause) == ("a", None, False, "untrusted sandbox run")
    assert first.error == "the sandbox run of its tests is not trusted (refused: network access)"
    assert first.analysis is not None  # what was measured stays with the attempt
    assert first.text == "1.0"
    assert [a.model for a in cheap.attempts] == ["a", "b", "b"]  # a is not asked again on the tier
    assert (result.items[0].final_model, result.status) == ("b", "completed")
    assert result.error_counts == {"untrusted sandbox run": 1}


def test_item_whose_every_answer_is_untrusted_is_unanswered(three_tier_config: EscalationConfig) -> None:
    """Untrusted answers on every tier leave the item unanswered, saying why; the run is failed."""
    provider = scripted({("x", m): "1.0" for m in "abcp"})
    result = ProgressiveExecutor(
        three_tier_config, provider, scorer=distrusting(*"abcp"), estimator=Estimator()
    ).run_sync(items("x"))
    item = result.items[0]
    assert (item.status, item.final_answer, result.status) == ("unanswered", None, "failed")
    assert item.error is not None
    assert item.error.startswith("no tier could answer this item (last error: the sandbox run of its tests is not")
    assert result.error_counts == {"untrusted sandbox run": 4}


def test_rate_limit_beside_an_untrusted_answer_still_climbs(three_tier_config: EscalationConfig) -> None:
    """A tier where one model was rate limited and the other answered untrusted climbs: not rate limits alone."""
    provider = scripted({("x", "a"): RateLimitedError("slow down", model="a"), ("x", "b"): "1.0", ("x", "c"): "0.8"})
    config = three_tier_config.replace(escalate_on_rate_limit=False)
    result = ProgressiveExecutor(config, provider, scorer=distrusting("b"), estimator=Estimator()).run_sync(items("x"))
    assert [t.tier for t in result.items[0].tiers] == ["cheap", "capable"]
    assert result.items[0].final_model == "c"


def test_item_no_tier_can_answer(three_tier_config: EscalationConfig) -> None:
    """If no tier answers, the item is 'unanswered', not a crash."""
    err = ProviderError("down")
    provider = scripted({("x", m): err for m in "abcp"})
    result = make(three_tier_config, provider).run_sync(items("x"))
    assert result.items[0].status == "unanswered"
    assert result.items[0].final_model is None


def test_failing_item_never_stops_the_others(three_tier_config: EscalationConfig) -> None:
    """An unexpected error in one item fails that item only."""

    def scorer(ctx: ScoringContext) -> FailureAnalysis:
        if ctx.item_id == "boom":
            raise RuntimeError("scorer bug")
        return FailureAnalysis(test_pass_rate=1.0, weights=ONLY_TESTS)

    ex = ProgressiveExecutor(three_tier_config, scripted({}), scorer=scorer, estimator=Estimator())
    result = ex.run_sync(items("ok1", "boom", "ok2"))
    statuses = {i.item_id: (i.status, i.error) for i in result.items}
    assert statuses["boom"] == ("failed", "RuntimeError: scorer bug")
    boom = next(i for i in result.items if i.item_id == "boom")
    assert boom.cost_usd == COSTS["a"]
    assert statuses["ok1"][0] == statuses["ok2"][0] == "accepted"
    assert result.status == "partial"  # one item has no answer
    assert result.error_counts == {"unexpected": 1}


def test_failed_item_keeps_what_it_spent(three_tier_config: EscalationConfig) -> None:
    """A scorer that crashes after the calls were paid fails the item, but its cost and baseline stay."""

    def scorer(ctx: ScoringContext) -> FailureAnalysis:
        if ctx.tier == "capable":
            raise ValueError("bad signal")
        return FailureAnalysis(test_pass_rate=0.0)

    ex = ProgressiveExecutor(
        three_tier_config, scripted({}), scorer=scorer, estimator=Estimator(), baseline=lambda i: 1.0
    )
    result = ex.run_sync(items("x"))
    item = result.items[0]
    assert item.status == "failed"
    assert item.error == "ValueError: bad signal"
    assert item.cost_usd == pytest.approx(COSTS["a"] + COSTS["b"] + COSTS["c"])
    assert item.premium_baseline_usd == 1.0
    assert [t.tier for t in item.tiers] == ["cheap", "capable"]
    assert item.tiers[-1].attempts[-1].error == "scoring failed: ValueError: bad signal"


def test_unexpected_provider_exception_mid_team_keeps_cost() -> None:
    """A non-ProviderError from a team's second call fails the item; that call counts at its bound (fail closed)."""

    def handler(request: CompletionRequest) -> Completion:
        if request.role == "executor":
            raise RuntimeError("socket closed")
        return Completion(text="plan", model=request.model, cost_usd=COSTS[request.model])

    tiers = Ladder([Tier(name="capable", rank=0, models=("c",), threshold=0, team_size=2)])
    cfg = EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)
    result = make(cfg, FunctionProvider(handler)).run_sync(items("x"))
    item = result.items[0]
    assert item.status == "failed"
    assert item.cost_usd == pytest.approx(2 * COSTS["c"])  # the plan's bill, and the broken call's bound
    assert result.total_cost == pytest.approx(2 * COSTS["c"])


class FailingListener(RunListener):
    """A listener whose chosen event raises, like a store that lost its database."""

    def __init__(self, event: str) -> None:
        self.event = event

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        if self.event == "on_attempt":
            raise StoreError("database is locked")

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        if self.event == "on_item_finished":
            raise StoreError("disk full")


def test_listener_failure_halts_items_in_flight(three_tier_config: EscalationConfig) -> None:
    """After a listener fails, concurrent items make no further provider calls."""

    async def handler(request: CompletionRequest) -> Completion:
        await asyncio.sleep(0.01)
        return Completion(text="0", model=request.model, cost_usd=COSTS[request.model])

    class FailsOnce(RunListener):
        def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
            if record.item_id == "a1":
                raise StoreError("database is locked")

    provider = FunctionProvider(handler)
    cfg = three_tier_config.replace(max_concurrency=4)
    with pytest.raises(ListenerError):
        make(cfg, provider, listeners=[FailsOnce()]).run_sync(items("a1", "a2", "a3", "a4"))
    assert len(provider.requests) == 4  # the first call of each item in flight, nothing after


@pytest.mark.parametrize("event", ["on_attempt", "on_item_finished"])
def test_failing_listener_stops_the_run(three_tier_config: EscalationConfig, event: str) -> None:
    """When results can no longer be recorded, the run stops with ListenerError and the partial result."""
    cfg = three_tier_config.replace(max_concurrency=1)
    with pytest.raises(ListenerError, match=f"FailingListener.{event} failed") as info:
        make(cfg, scripted({}), listeners=[FailingListener(event)]).run_sync(items("a1", "a2", "a3"))
    partial = info.value.partial_result
    assert partial is not None
    assert partial.status == "aborted"
    assert [i.status for i in partial.items][1:] == ["not_run", "not_run"]


def test_custom_predicate_adds_reason_to_climb(three_tier_config: EscalationConfig) -> None:
    """A user predicate can send a high-CQS answer up, with its own reason."""

    def no_short_answers(ctx: PredicateContext) -> tuple[bool, str | None]:
        return (ctx.tier == "cheap", "cheap answers need review" if ctx.tier == "cheap" else None)

    provider = scripted({("x", "a"): "1", ("x", "b"): "1", ("x", "c"): "1"})
    result = make(three_tier_config, provider, predicates=[no_short_answers]).run_sync(items("x"))
    item = result.items[0]
    assert item.final_tier == "capable"
    assert item.tiers[0].escalation_reason == "cheap answers need review"
    assert item.tiers[0].cqs == 100.0


def test_items_run_concurrently_within_the_bound(three_tier_config: EscalationConfig) -> None:
    """Items overlap in time, never more than max_concurrency at once."""
    in_flight = 0
    peak = 0

    async def handler(request: CompletionRequest) -> Completion:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return Completion(text="1", model=request.model, cost_usd=COSTS[request.model])

    cfg = three_tier_config.replace(max_concurrency=3)
    result = make(cfg, FunctionProvider(handler)).run_sync(items(*(f"i{n}" for n in range(12))))
    assert peak == 3
    assert all(i.status == "accepted" for i in result.items)


def test_teams_compose_calls_and_costs() -> None:
    """A tier's team makes one call per role, and the attempt costs all of them."""
    tiers = Ladder(
        [
            Tier(name="capable", rank=0, models=("c",), threshold=0, team_size=2),
            Tier(name="premium", rank=1, models=("p",), threshold=0, team_size=3),
        ]
    )
    cfg = EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)
    provider = scripted({("x", "c"): "1", ("y", "p"): "1"})
    work = [WorkItem(id="x", prompt="t"), WorkItem(id="y", prompt="t", start_tier="premium")]
    result = make(cfg, provider).run_sync(work)
    roles = [(r.item_id, r.role) for r in provider.requests]
    assert [r for i, r in roles if i == "x"] == ["planner", "executor"]
    assert [r for i, r in roles if i == "y"] == ["architect", "executor", "reviewer"]
    x, y = result.items
    assert x.tiers[0].attempts[0].calls == 2
    assert x.cost_usd == pytest.approx(0.02)
    assert y.cost_usd == pytest.approx(0.3)


def test_results_totals_and_savings(three_tier_config: EscalationConfig) -> None:
    """Total cost, premium baseline and savings are consistent, in the result, report and JSON."""
    provider = scripted({("ok", "a"): "0.9", ("hard", "p"): "1"})
    result = make(three_tier_config, provider, baseline=lambda item: 0.1).run_sync(items("ok", "hard"))
    assert result.total_cost == pytest.approx(0.001 + (0.001 + 0.002 + 0.01 + 0.1))
    assert result.premium_baseline_cost == pytest.approx(0.2)
    assert result.cost_savings == pytest.approx(0.2 - result.total_cost)
    assert result.cost_savings_percent == pytest.approx(100 * result.cost_savings / 0.2)
    data = result.to_dict()
    for key in (
        "run_id",
        "total_cost",
        "premium_baseline_cost",
        "cost_savings",
        "cost_savings_percent",
        "escalation_rate",
        "tiers",
        "items",
    ):
        assert key in data
    assert data["tiers"]["premium"]["final_items"] == 1
    report = result.generate_report()
    assert "Premium-only baseline: $0.200000" in report
    assert "premium" in report
    assert "Savings:" in report


def test_run_where_every_call_fails_is_failed(three_tier_config: EscalationConfig) -> None:
    """Every call refused: the run is failed, claims no savings, and its attempts carry the error's cause."""

    def handler(request: CompletionRequest) -> Completion:
        raise ProviderAuthError("401: key refused", model=request.model)

    result = make(three_tier_config, FunctionProvider(handler), baseline=lambda item: 0.1).run_sync(items("x", "y"))
    assert result.status == "failed"
    assert [i.status for i in result.items] == ["unanswered", "unanswered"]
    assert (result.premium_baseline_cost, result.cost_savings, result.cost_savings_percent) == (0.0, 0.0, None)
    assert result.error_counts == {"authentication": 8}  # a, b, c, p for each item
    assert {a.error_cause for t in result.tier_results for a in t.attempts} == {"authentication"}


def test_run_where_some_items_get_no_answer_is_partial(three_tier_config: EscalationConfig) -> None:
    """Server errors on one item only: the run is partial, and savings cover the answered item alone."""
    down = ProviderServerError("500", model="x")
    provider = scripted({("ok", "a"): "0.9", **{("down", m): down for m in ("a", "b", "c", "p")}})
    cfg = three_tier_config.replace(max_retries=0)
    result = make(cfg, provider, baseline=lambda item: 0.1).run_sync(items("ok", "down"))
    assert result.status == "partial"
    assert result.premium_baseline_cost == pytest.approx(0.1)
    assert result.cost_savings == pytest.approx(0.1 - COSTS["a"])
    assert result.error_counts == {"server error": 4}


def test_default_baseline_uses_top_tier_estimate(three_tier_config: EscalationConfig) -> None:
    """Without an explicit baseline, the top tier's first model estimate × team size is used."""
    result = make(three_tier_config, scripted({("x", "a"): "1"})).run_sync(items("x"))
    assert result.premium_baseline_cost == pytest.approx(0.1 * three_tier_config.tiers.top.team_size)


def test_unknown_cost_is_never_free(three_tier_config: EscalationConfig) -> None:
    """A completion without a known cost is counted at its reserved bound, with a warning."""

    def handler(request: CompletionRequest) -> Completion:
        return Completion(text="1", model=request.model, cost_usd=None)

    result = make(three_tier_config, FunctionProvider(handler)).run_sync(items("x"))
    assert result.total_cost == COSTS["a"]
    assert any("unknown" in w for w in result.warnings)


def test_bad_inputs_are_rejected(three_tier_config: EscalationConfig) -> None:
    """Duplicate item ids and a provider that cannot estimate cost are configuration errors."""
    with pytest.raises(ConfigError, match="unique"):
        make(three_tier_config, scripted({})).run_sync(items("x", "x"))
    with pytest.raises(ConfigError, match="cannot estimate costs"):
        ProgressiveExecutor(three_tier_config, scripted({}))


def test_work_item_with_an_unknown_task_kind_is_refused() -> None:
    """A typo in an item's task kind is an error naming the item and the closest kind, not format-only scoring."""
    with pytest.raises(ConfigError, match=r"item 'q1'.*'multiple_choice'.*multiple-choice") as caught:
        WorkItem(id="q1", prompt="?", task_kind="multiple_choice")
    assert caught.value.field == "task_kind"
    assert WorkItem(id="q2", prompt="?", task_kind="free-text").task_kind == "free-text"
