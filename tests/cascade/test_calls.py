"""Guarded calls: retries with backoff, rate limits, context-window skips, the call ceiling, maybe-billed errors."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.budget import BudgetGuard, MemoryLedger, WorkspaceBudget, run_line
from escalade.cascade import GuardedCaller, ItemResult, ProgressiveExecutor, RequestCalls, WorkItem
from escalade.exceptions import (
    CallLimitError,
    ConfigError,
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion, CompletionRequest, CostEstimate, FunctionProvider, Provider, ScriptedProvider
from escalade.quality import FailureAnalysis, ScoringContext
from tests.conftest import ladder

COSTS = {"a": 0.001, "b": 0.002, "c": 0.01, "p": 0.1}
#: Reserved bounds, above the bills so that a call counted at its bound is told apart from a billed one.
BOUNDS = {model: 3 * cost for model, cost in COSTS.items()}
#: Most jitter tenacity-style backoff adds to a wait, in seconds.
JITTER_S = 1.0

Step = str | BaseException


class Bounds:
    """Estimator reserving :data:`BOUNDS`."""

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=COSTS[request.model], max_usd=BOUNDS[request.model])


class Sleeps:
    """Records the waits between retries instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Script:
    """A provider answering by (item id, model) from a list of steps, the last repeating; others answer "0"."""

    def __init__(self, steps: Mapping[tuple[str, str], Sequence[Step]]) -> None:
        self.steps = {key: list(value) for key, value in steps.items()}
        self.seen: Counter[tuple[str, str]] = Counter()
        self.provider = FunctionProvider(self.answer)

    def answer(self, request: CompletionRequest) -> Completion:
        key = (request.item_id, request.model)
        steps = self.steps.get(key, ["0"])
        step = steps[min(self.seen[key], len(steps) - 1)]
        self.seen[key] += 1
        if isinstance(step, BaseException):
            raise step
        return Completion(text=step, model=request.model, cost_usd=COSTS[request.model])


def pass_rate_of_text(ctx: ScoringContext) -> FailureAnalysis:
    """The answer text is the pass rate: "1" scores CQS 100, "0" scores 0."""
    return FailureAnalysis(test_pass_rate=float(ctx.completion.text or 0), weights={"test_pass_rate": 1.0})


def config(**changes: Any) -> EscalationConfig:
    """cheap (a, b; one attempt, 50) → premium (p; one attempt, 50); no budget limits."""
    base = EscalationConfig(
        tiers=ladder(("cheap", ("a", "b"), 50.0, 1), ("premium", ("p",), 50.0, 1)),
        max_cost=None,
        auto_approve_under=None,
    )
    return base.replace(**changes)


def three_tiers(**changes: Any) -> EscalationConfig:
    """cheap (a, b; single agents) → capable (c; planner and executor) → premium (p); all pass at 50."""
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("a", "b"), threshold=50.0, min_attempts=1),
            Tier(name="capable", rank=1, models=("c",), threshold=50.0, min_attempts=1, team_size=2),
            Tier(name="premium", rank=2, models=("p",), threshold=50.0, min_attempts=1),
        ]
    )
    return config(tiers=tiers, **changes)


def guarded(
    provider: Provider, cfg: EscalationConfig, sleeps: Sleeps, *, guard: BudgetGuard | None = None
) -> GuardedCaller:
    """A caller for item ``x`` on the cheap tier, with the item's ceiling from ``cfg``."""
    return GuardedCaller(
        provider=provider,
        estimator=Bounds(),
        guard=guard or BudgetGuard(cfg),
        config=cfg,
        tier="cheap",
        item_id="x",
        calls=RequestCalls(limit=cfg.max_calls_per_request),
        sleep=sleeps,
    )


def request(model: str = "a") -> CompletionRequest:
    return CompletionRequest(item_id="x", model=model, prompt="6 x 7?")


def executor(cfg: EscalationConfig, provider: Provider, sleeps: Sleeps, **kwargs: Any) -> ProgressiveExecutor:
    return ProgressiveExecutor(cfg, provider, scorer=pass_rate_of_text, estimator=Bounds(), sleep=sleeps, **kwargs)


def items(*ids: str) -> list[WorkItem]:
    return [WorkItem(id=i, prompt=f"task {i}") for i in ids]


def by_id(items_: Sequence[ItemResult]) -> dict[str, ItemResult]:
    return {i.item_id: i for i in items_}


def sent(provider: FunctionProvider | ScriptedProvider) -> Counter[tuple[str, str]]:
    return Counter((r.item_id, r.model) for r in provider.requests)


def transient(message: str = "503 from upstream") -> TransientProviderError:
    return TransientProviderError(message, model="a")


@pytest.mark.parametrize(("backoff", "max_wait"), [(0.5, 20.0), (1.0, 3.0), (0.0, 0.25)])
def test_transient_errors_are_retried_with_capped_exponential_backoff(backoff: float, max_wait: float) -> None:
    """Transient failures are retried after backoff·2^k plus jitter, capped at retry_max_wait_s; only answers cost."""
    cfg = config(max_retries=4, retry_backoff_s=backoff, retry_max_wait_s=max_wait)
    provider = ScriptedProvider({"a": [*(transient() for _ in range(4)), "ok"]}, cost_per_call=COSTS)
    ledger = MemoryLedger()
    guard = BudgetGuard(cfg, ledger=ledger)
    sleeps = Sleeps()
    call = guarded(provider, cfg, sleeps, guard=guard)
    answer = asyncio.run(call(request()))
    assert answer.text == "ok"
    assert len(provider.requests) == 5
    assert len(sleeps.waits) == 4
    for k, wait in enumerate(sleeps.waits):
        assert min(backoff * 2**k, max_wait) <= wait <= min(backoff * 2**k + JITTER_S, max_wait)
    assert (call.calls.sent, call.calls.retries) == (5, 4)
    assert all(e.startswith("TransientProviderError: 503") for e in call.calls.retried_errors)
    assert guard.reserved_usd == 0.0
    assert guard.spent_usd == pytest.approx(COSTS["a"])
    assert call.spent == [answer]
    assert (len(ledger.holds(status="released")), len(ledger.holds(status="settled"))) == (4, 1)


def test_backoff_is_jittered() -> None:
    """The wait before a retry varies from call to call (jitter), so retrying clients do not move in lockstep."""
    cfg = config(max_retries=1, retry_backoff_s=0.5)
    sleeps = Sleeps()
    for _ in range(20):
        provider = ScriptedProvider({"a": [transient(), "ok"]}, cost_per_call=COSTS)
        asyncio.run(guarded(provider, cfg, sleeps)(request()))
    assert len(sleeps.waits) == 20
    assert len(set(sleeps.waits)) > 1
    assert all(0.5 <= wait <= 0.5 + JITTER_S for wait in sleeps.waits)


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_retries_stop_after_max_retries(max_retries: int) -> None:
    """After max_retries retries the last transient error propagates, and every failed send was released."""
    cfg = config(max_retries=max_retries, retry_backoff_s=0.01)
    provider = ScriptedProvider({"a": [transient("read timeout")]}, cost_per_call=COSTS)
    guard = BudgetGuard(cfg)
    sleeps = Sleeps()
    with pytest.raises(TransientProviderError, match="read timeout"):
        asyncio.run(guarded(provider, cfg, sleeps, guard=guard)(request()))
    assert len(provider.requests) == max_retries + 1
    assert len(sleeps.waits) == max_retries
    assert (guard.spent_usd, guard.reserved_usd) == (0.0, 0.0)


def test_exhausted_retries_skip_to_the_next_model() -> None:
    """A model still failing after its retries is skipped for the tier's next model; unbilled sends cost nothing."""
    script = Script({("x", "a"): [transient()], ("x", "b"): ["1"]})
    sleeps = Sleeps()
    result = executor(config(max_retries=2, retry_backoff_s=0.01), script.provider, sleeps).run_sync(items("x"))
    item = result.items[0]
    assert (item.status, item.final_model) == ("accepted", "b")
    assert sent(script.provider) == Counter({("x", "a"): 3, ("x", "b"): 1})
    assert len(sleeps.waits) == 2
    failed, answered = item.tiers[0].attempts
    assert (failed.model, failed.cost_usd, failed.calls) == ("a", 0.0, 0)
    assert failed.error == "503 from upstream"
    assert answered.error is None
    assert result.total_cost == pytest.approx(COSTS["b"])


@pytest.mark.parametrize(
    "error",
    [
        ProviderAuthError("401: key refused", model="a"),
        ContentPolicyError("refused on content grounds", model="a"),
        ContextWindowError("prompt is too long for a", model="a"),
        ProviderError("no recorded outcome", model="a"),
        RateLimitedError("429", model="a", retry_after_s=1.0),  # escalate_on_rate_limit is on by default
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_another_model_may_avoid_are_not_retried(error: ProviderError) -> None:
    """Authentication, content-policy, context-window and other non-transient errors are sent exactly once."""
    cfg = config(max_retries=3)
    provider = ScriptedProvider({"a": [error, "ok"]}, cost_per_call=COSTS)
    guard = BudgetGuard(cfg)
    sleeps = Sleeps()
    with pytest.raises(type(error)):
        asyncio.run(guarded(provider, cfg, sleeps, guard=guard)(request()))
    assert len(provider.requests) == 1
    assert sleeps.waits == []
    assert (guard.spent_usd, guard.reserved_usd) == (0.0, 0.0)


def test_rate_limit_hands_the_item_on_when_escalating() -> None:
    """With escalate_on_rate_limit, a rate-limited model is not retried: the next model, then the next tier, goes."""
    script = Script(
        {
            ("x", "a"): [RateLimitedError("a: 429 slow down", model="a", retry_after_s=1.0)],
            ("x", "b"): [RateLimitedError("b: 429 slow down", model="b", retry_after_s=1.0)],
            ("x", "p"): ["1"],
        }
    )
    sleeps = Sleeps()
    result = executor(config(max_retries=3), script.provider, sleeps).run_sync(items("x"))
    item = result.items[0]
    assert (item.status, item.final_tier, item.escalated) == ("accepted", "premium", True)
    assert sent(script.provider) == Counter({("x", "a"): 1, ("x", "b"): 1, ("x", "p"): 1})
    assert sleeps.waits == []
    assert item.tiers[0].escalation_reason == "no model of the tier could answer (last error: b: 429 slow down)"


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        (5.0, 5.0, 5.0),  # above the backoff: wait what the provider asked
        (20.0, 20.0, 20.0),  # exactly retry_max_wait_s: still waited for
        (None, 0.01, 0.01 + JITTER_S),  # the provider did not say: the backoff
        (0.001, 0.01, 0.01 + JITTER_S),  # shorter than the backoff: the backoff
    ],
)
def test_rate_limit_waits_retry_after_when_kept_on_the_model(
    retry_after: float | None, low: float, high: float
) -> None:
    """Without escalation, a rate limit is retried after max(retry-after, backoff)."""
    cfg = config(escalate_on_rate_limit=False, retry_backoff_s=0.01, retry_max_wait_s=20.0)
    provider = ScriptedProvider(
        {"a": [RateLimitedError("429", model="a", retry_after_s=retry_after), "ok"]}, cost_per_call=COSTS
    )
    sleeps = Sleeps()
    assert asyncio.run(guarded(provider, cfg, sleeps)(request())).text == "ok"
    assert len(provider.requests) == 2
    assert len(sleeps.waits) == 1
    assert low <= sleeps.waits[0] <= high


def test_rate_limit_longer_than_max_wait_is_not_retried() -> None:
    """A retry-after beyond retry_max_wait_s is not waited for: the error propagates after one send."""
    cfg = config(escalate_on_rate_limit=False, retry_max_wait_s=20.0)
    provider = ScriptedProvider({"a": [RateLimitedError("429", model="a", retry_after_s=20.5), "ok"]})
    sleeps = Sleeps()
    with pytest.raises(RateLimitedError):
        asyncio.run(guarded(provider, cfg, sleeps)(request()))
    assert len(provider.requests) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("steps", "status", "final_model", "held_on", "waits"),
    [
        # nothing answered: the cheap tier is rate limited throughout
        ({("x", "a"): ["limited"], ("x", "b"): ["limited"]}, "unanswered", None, "cheap", [2.0, 2.0]),
        # cheap answered badly, capable is rate limited: the item keeps its cheap answer
        ({("x", "a"): ["0"], ("x", "c"): ["limited"]}, "unresolved", "a", "capable", [2.0]),
    ],
)
def test_rate_limited_tier_does_not_climb_when_waiting(
    steps: dict[tuple[str, str], list[str]], status: str, final_model: str | None, held_on: str, waits: list[float]
) -> None:
    """Without escalation, a tier that answered nothing only because of rate limits ends the item, saying why."""
    limited = RateLimitedError("429", retry_after_s=2.0)
    script = Script({key: [limited if s == "limited" else s for s in value] for key, value in steps.items()})
    sleeps = Sleeps()
    cfg = three_tiers(escalate_on_rate_limit=False, max_retries=1, retry_backoff_s=0.01)
    item = executor(cfg, script.provider, sleeps).run_sync(items("x")).items[0]
    assert (item.status, item.final_model) == (status, final_model)
    assert item.error is not None
    assert "rate limited and escalate_on_rate_limit is off, so the item did not climb" in item.error
    assert (item.tiers[-1].tier, item.tiers[-1].escalated) == (held_on, False)
    assert item.tiers[-1].escalation_reason == item.error
    assert sent(script.provider)[("x", "p")] == 0
    assert sleeps.waits == waits


def test_prompt_too_long_for_a_model_is_never_sent_to_it() -> None:
    """A prompt that does not fit a model's window skips it before sending or reserving; the next model answers."""
    script = Script({("long", "b"): ["1"], ("short", "a"): ["1"]})
    ledger = MemoryLedger()
    work = [WorkItem(id="long", prompt="x" * 300), WorkItem(id="short", prompt="x" * 30)]  # ~100 and ~10 tokens
    windows = {"a": 1100}  # fits 1024 output tokens and a short prompt only
    ex = executor(config(), script.provider, Sleeps(), ledger=ledger, context_windows=windows.get)
    result = by_id(ex.run_sync(work).items)
    assert sent(script.provider) == Counter({("long", "b"): 1, ("short", "a"): 1})
    assert len(ledger.holds()) == len(script.provider.requests)
    skipped, answered = result["long"].tiers[0].attempts
    assert (skipped.model, skipped.calls, skipped.cost_usd) == ("a", 0, 0.0)
    assert skipped.error is not None
    assert "skipped before sending" in skipped.error
    assert "context window of 1100" in skipped.error
    assert (answered.model, result["long"].final_model, result["short"].final_model) == ("b", "b", "a")


@pytest.mark.parametrize(
    ("steps", "limit", "status", "final_model", "sends", "cost"),
    [
        # a fails and is retried (2 sends), b answers badly (3), capable's planner (4): its executor is refused
        ({("hard", "a"): [transient()], ("hard", "b"): ["0"]}, 4, "unresolved", "b", 4, COSTS["b"] + COSTS["c"]),
        # a fails and is retried (2 sends): the ceiling refuses the fallback to b before any answer
        ({("hard", "a"): [transient()]}, 2, "unanswered", None, 2, 0.0),
    ],
)
def test_call_ceiling_counts_every_send_and_ends_only_that_item(
    steps: dict[tuple[str, str], list[Step]], limit: int, status: str, final_model: str | None, sends: int, cost: float
) -> None:
    """Team roles, retries and fallbacks all count toward max_calls_per_request; reaching it ends that item alone."""
    script = Script({**steps, ("easy", "a"): ["1"]})
    cfg = three_tiers(max_calls_per_request=limit, max_retries=1, retry_backoff_s=0.01)
    result = executor(cfg, script.provider, Sleeps()).run_sync(items("hard", "easy"))
    assert result.status == ("completed" if final_model else "partial")  # partial: "hard" got no answer
    hard, easy = result.items
    assert (hard.status, hard.final_model) == (status, final_model)
    assert hard.error == f"item 'hard' reached its ceiling of {limit} calls (max_calls_per_request); no further call"
    assert sum(n for (item_id, _), n in sent(script.provider).items() if item_id == "hard") == sends
    assert hard.cost_usd == pytest.approx(cost)
    assert (easy.status, easy.final_model) == ("accepted", "a")


@pytest.mark.parametrize("limit", [None, 25])
def test_call_ceiling_of_none_means_no_ceiling(limit: int | None) -> None:
    """max_calls_per_request=None never refuses a call; a number refuses, unsent, the call past it."""
    provider = ScriptedProvider({"a": ["ok"]}, cost_per_call=COSTS)
    call = guarded(provider, config(max_calls_per_request=limit), Sleeps())

    async def send_thirty() -> int:
        for n in range(30):
            try:
                await call(request())
            except CallLimitError:
                return n
        return 30

    answered = asyncio.run(send_thirty())
    assert answered == len(provider.requests) == (30 if limit is None else limit)


def test_no_wait_before_a_send_the_ceiling_refuses() -> None:
    """At the call ceiling a retry is not waited for: the refusal comes at once, not after retry-after."""
    cfg = config(escalate_on_rate_limit=False, max_retries=5, max_calls_per_request=2, retry_backoff_s=0.01)
    provider = ScriptedProvider({"a": [RateLimitedError("429", model="a", retry_after_s=10.0)]})
    sleeps = Sleeps()
    with pytest.raises(CallLimitError, match="ceiling of 2 calls"):
        asyncio.run(guarded(provider, cfg, sleeps)(request()))
    assert len(provider.requests) == 2
    assert sleeps.waits == [10.0, 0.0]


@pytest.mark.parametrize(
    ("error", "max_retries", "billed_sends"),
    [
        (ProviderError("stream broke off", model="a", maybe_billed=True), 3, 1),  # not transient: sent once
        (TransientProviderError("read timeout", model="a", maybe_billed=True), 1, 2),  # retried once
    ],
)
def test_maybe_billed_failures_count_at_their_bound(error: ProviderError, max_retries: int, billed_sends: int) -> None:
    """A failure the provider may have charged for is counted at its reserved bound, in spent and in its attempt."""
    script = Script({("x", "a"): [error], ("x", "b"): ["1"]})
    ledger = MemoryLedger()
    cfg = config(max_retries=max_retries, retry_backoff_s=0.01)
    result = executor(cfg, script.provider, Sleeps(), ledger=ledger).run_sync(items("x"), run_id="r")
    failed, answered = result.items[0].tiers[0].attempts
    assert failed.error is not None
    assert failed.cost_usd == pytest.approx(billed_sends * BOUNDS["a"])
    assert failed.calls == billed_sends
    assert answered.cost_usd == pytest.approx(COSTS["b"])
    assert result.total_cost == pytest.approx(billed_sends * BOUNDS["a"] + COSTS["b"])
    assert ledger.line(run_line("r")).spent_usd == pytest.approx(result.total_cost)
    assert any("counted at its reserved bound" in w for w in result.warnings)


def slow_then(answers: list[str | None]) -> FunctionProvider:
    """A provider whose ``None`` steps hang far longer than any test hold lasts."""
    steps = iter(answers)

    async def handler(request: CompletionRequest) -> str:
        answer = next(steps)
        if answer is None:
            await asyncio.sleep(30)
            return "too late"
        return answer

    return FunctionProvider(handler, cost_per_call=COSTS["a"])


def test_call_slower_than_its_hold_is_given_up_as_maybe_billed() -> None:
    """A call unanswered at 90% of the hold's lifetime ends as a maybe-billed transient error, counted at its bound."""
    cfg = config(max_retries=0)
    ledger = MemoryLedger()
    guard = BudgetGuard(cfg, ledger=ledger, hold_ttl_s=0.2)
    call = guarded(slow_then([None]), cfg, Sleeps(), guard=guard)
    started = time.perf_counter()
    with pytest.raises(TransientProviderError, match=r"^a: no answer within 0\.18 s \(hold lasts 0\.2 s\)$") as info:
        asyncio.run(call(request()))
    assert 0.9 * 0.2 - 0.02 <= time.perf_counter() - started < 5.0
    assert info.value.maybe_billed
    assert info.value.model == "a"
    assert [(c.text, c.cost_usd) for c in call.spent] == [(None, BOUNDS["a"])]
    assert guard.spent_usd == pytest.approx(BOUNDS["a"])
    assert guard.reserved_usd == 0.0
    assert len(ledger.holds(status="settled")) == 1  # settled before its hold could expire
    assert not any("hold expired" in w for w in guard.warnings)


def test_provider_promising_its_own_bound_gets_no_timer() -> None:
    """A provider whose max_call_s fits within the hold is trusted to end its calls: no timer is set."""

    class Quick(FunctionProvider):
        max_call_s = 0.0

    async def handler(request: CompletionRequest) -> str:
        await asyncio.sleep(0.05)  # longer than 90% of the 0.02 s hold, yet not cut
        return "done"

    cfg = config(max_retries=0)
    call = guarded(Quick(handler, cost_per_call=COSTS["a"]), cfg, Sleeps(), guard=BudgetGuard(cfg, hold_ttl_s=0.02))
    assert asyncio.run(call(request())).text == "done"


def test_call_given_up_for_time_is_retried() -> None:
    """A timed-out call is transient: it is retried, and both the abandoned and the answered call are counted."""
    cfg = config(max_retries=1, retry_backoff_s=0.01)
    guard = BudgetGuard(cfg, hold_ttl_s=0.2)
    call = guarded(slow_then([None, "ok"]), cfg, Sleeps(), guard=guard)
    assert asyncio.run(call(request())).text == "ok"
    assert call.calls.retried_errors[0].startswith("TransientProviderError: a: no answer within")
    assert [c.cost_usd for c in call.spent] == [BOUNDS["a"], COSTS["a"]]
    assert guard.spent_usd == pytest.approx(BOUNDS["a"] + COSTS["a"])


OUTCOMES = st.sampled_from(["pass", "fail", "transient", "billed"])


@settings(max_examples=40, deadline=None)
@given(
    scripts=st.dictionaries(
        st.tuples(st.sampled_from(["i1", "i2"]), st.sampled_from(["a", "b", "p"])),
        st.lists(OUTCOMES, min_size=1, max_size=4),
    ),
    max_retries=st.integers(min_value=0, max_value=3),
    limit=st.none() | st.integers(min_value=1, max_value=8),
)
def test_sends_never_pass_the_ceiling_and_spend_is_exact(
    scripts: dict[tuple[str, str], list[str]], max_retries: int, limit: int | None
) -> None:
    """For any scripted failures, retries, ceiling: sends ≤ ceiling; spent = bills + bounds of maybe-billed errors."""
    seen: Counter[tuple[str, str]] = Counter()
    sends: Counter[str] = Counter()
    owed: defaultdict[str, float] = defaultdict(float)

    def handler(req: CompletionRequest) -> Completion:
        key = (req.item_id, req.model)
        steps = scripts.get(key, ["fail"])
        step = steps[min(seen[key], len(steps) - 1)]
        seen[key] += 1
        sends[req.item_id] += 1
        if step == "transient":
            raise TransientProviderError("503", model=req.model)
        if step == "billed":
            owed[req.item_id] += BOUNDS[req.model]
            raise TransientProviderError("stream broke off", model=req.model, maybe_billed=True)
        owed[req.item_id] += COSTS[req.model]
        return Completion(text="1" if step == "pass" else "0", model=req.model, cost_usd=COSTS[req.model])

    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("a", "b"), threshold=50.0, min_attempts=2),
            Tier(name="premium", rank=1, models=("p",), threshold=50.0, min_attempts=1, team_size=2),
        ]
    )
    cfg = config(tiers=tiers, max_retries=max_retries, max_calls_per_request=limit, max_concurrency=2)
    ledger = MemoryLedger()
    ex = executor(cfg, FunctionProvider(handler), Sleeps(), ledger=ledger)
    result = ex.run_sync(items("i1", "i2"), run_id="r")
    for item in result.items:
        assert item.status in {"accepted", "unresolved", "unanswered"}
        assert limit is None or sends[item.item_id] <= limit
        assert item.cost_usd == pytest.approx(owed[item.item_id])
    assert result.total_cost == pytest.approx(sum(owed.values()))
    line = ledger.line(run_line("r"))
    assert line.spent_usd == pytest.approx(result.total_cost)
    assert line.reserved_usd == 0.0


class BrokenObserver:
    """A call observer that fails on every event."""

    def before_call(self, request: CompletionRequest) -> None:
        raise RuntimeError("cache memory full")

    def after_call(self, request: CompletionRequest, completion: Completion) -> None:
        raise RuntimeError("cache memory full")


def test_failing_observer_never_touches_the_money() -> None:
    """An observer that raises is recorded as a warning; the call is answered and settled as usual."""
    cfg = config()
    guard = BudgetGuard(cfg)
    call = guarded(ScriptedProvider({"a": ["1"]}, cost_per_call=COSTS), cfg, Sleeps(), guard=guard)
    call = dataclasses.replace(call, observer=BrokenObserver())
    assert asyncio.run(call(request())).text == "1"
    assert guard.spent_usd == pytest.approx(COSTS["a"])
    assert guard.reserved_usd == 0.0
    assert [w.split(" failed")[0] for w in guard.warnings] == [
        "call observer BrokenObserver.before_call",
        "call observer BrokenObserver.after_call",
    ]


def test_provider_billing_a_refusal_is_counted_at_its_bill() -> None:
    """A refusal that carries its bill is counted at that bill, not released and not at the bound."""
    refusal = ContentPolicyError("a refused the request", model="a", billed_usd=0.0005)
    cfg = config(max_retries=0)
    guard = BudgetGuard(cfg)
    call = guarded(ScriptedProvider({"a": [refusal]}), cfg, Sleeps(), guard=guard)
    with pytest.raises(ContentPolicyError):
        asyncio.run(call(request()))
    assert guard.spent_usd == pytest.approx(0.0005)
    assert [c.cost_usd for c in call.spent] == [pytest.approx(0.0005)]


@pytest.mark.parametrize("models", [(), ("a", "a", "b")])
def test_model_order_copes_with_empty_and_repeated_tiers(models: tuple[str, ...]) -> None:
    """A model order over a tier with no models, or with a model listed twice, neither fails nor repeats."""
    tiers = Ladder([Tier(name="cheap", rank=0, models=models, threshold=50.0), Tier(name="top", rank=1, models=("p",))])
    provider = ScriptedProvider({"a": ["0"], "b": ["0"], "p": ["1"]}, cost_per_call=COSTS)
    ex = executor(
        config(tiers=tiers), provider, Sleeps(), model_order=lambda tier, item: tuple(dict.fromkeys(tier.models))
    )
    result = ex.run_sync(items("x"))
    assert result.items[0].final_tier == "top"


def test_workspace_budget_needs_a_shared_ledger() -> None:
    """A workspace's monthly cap without a shared ledger would only cap one run: it is refused, saying why."""
    with pytest.raises(ConfigError, match="needs a ledger shared by the workspace's runs"):
        ProgressiveExecutor(config(), ScriptedProvider({}), workspace_budget=WorkspaceBudget(monthly_limit_usd=5.0))
