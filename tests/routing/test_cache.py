"""Cache-aware model choice: prefix memory (hashes, expiry, bounds), learned hit chances, costs and ranking."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion, CompletionRequest, CostEstimate, FunctionProvider, Usage
from escalade.providers.pricing import PriceBook
from escalade.quality import FailureAnalysis
from escalade.routing import (
    CacheAwareRouter,
    CachePolicy,
    PrefixMemory,
    default_cache_policy,
)

SONNET, GPT4O = "claude-sonnet-4-0", "gpt-4o"
#: 40,000 characters: 10,000 estimated tokens, 78 whole blocks of 128 tokens (9,984 tokens).
LONG_PROMPT = "Summarise the attached ledger for the audit committee. " * 727 + "x" * 15


def small_blocks(model: str) -> CachePolicy:
    """Every whole 128-token block is cacheable, so short prompts exercise the memory."""
    return CachePolicy(min_tokens=128)


@pytest.fixture
def capable() -> Tier:
    """A tier whose cheaper list price (GPT-4o) comes first."""
    return Tier(name="capable", rank=1, models=(GPT4O, SONNET))


@pytest.fixture
def memory() -> PrefixMemory:
    """A memory on a frozen clock at t = 0 with the built-in policies."""
    return PrefixMemory(clock=lambda: 0.0)


def test_long_prompt_is_ten_thousand_tokens() -> None:
    """The fixture prompt has the size the hand computations below assume."""
    assert len(LONG_PROMPT) == 40_000


def test_memory_keeps_hashes_never_prompt_text() -> None:
    """Stored state is salted SHA-256 digests per model; no prompt text or fragment is kept anywhere."""
    secret = "ACME merger terms: do not disclose. "
    memory = PrefixMemory(policy=small_blocks, clock=lambda: 0.0)
    prompt = secret * 100
    memory.observe(GPT4O, prompt)
    entries = memory.entries()
    assert len(entries) == len(prompt) // 512
    assert all(model == GPT4O and len(digest) == 64 and int(digest, 16) >= 0 for model, digest, _ in entries)
    state = repr(vars(memory)) + repr(entries)
    assert secret.strip() not in state
    assert "ACME" not in state


def test_hashes_are_salted_per_memory() -> None:
    """Two memories hash the same prompt differently unless given the same salt."""
    prompt = "y" * 2048
    a, b = (PrefixMemory(policy=small_blocks, clock=lambda: 0.0) for _ in range(2))
    c, d = (PrefixMemory(policy=small_blocks, clock=lambda: 0.0, salt=b"fixed") for _ in range(2))
    for memory in (a, b, c, d):
        memory.observe(GPT4O, prompt)
    assert a.entries() != b.entries()
    assert c.entries() == d.entries()


@pytest.mark.parametrize("model", [GPT4O, SONNET])
def test_prefix_expires_after_ttl(model: str) -> None:
    """A prefix is fresh up to the 5-minute lifetime after it was last sent, then forgotten; resending renews it."""
    memory = PrefixMemory()
    memory.observe(model, LONG_PROMPT, now=0.0)
    assert memory.lookup(model, LONG_PROMPT, now=300.0).shared_prefix_tokens == 9984
    assert memory.lookup(model, LONG_PROMPT, now=300.5).shared_prefix_tokens == 0
    memory.observe(model, LONG_PROMPT, now=250.0)
    assert memory.lookup(model, LONG_PROMPT, now=500.0).shared_prefix_tokens == 9984


def test_injected_clock_is_used_when_no_time_is_given() -> None:
    """Without ``now`` the memory reads its clock."""
    ticks = iter([0.0, 299.0, 301.0])
    memory = PrefixMemory(clock=lambda: next(ticks))
    memory.observe(GPT4O, LONG_PROMPT)
    assert memory.lookup(GPT4O, LONG_PROMPT).hit_probability > 0
    assert memory.lookup(GPT4O, LONG_PROMPT).hit_probability == 0


def test_memory_is_per_model() -> None:
    """A prompt sent to one model warms no other model's cache."""
    memory = PrefixMemory(clock=lambda: 0.0)
    memory.observe(GPT4O, LONG_PROMPT)
    assert memory.lookup(SONNET, LONG_PROMPT).shared_prefix_tokens == 0


def test_lru_bound_evicts_oldest_prefixes() -> None:
    """At most ``max_entries`` hashes are held; the least recently sent go first."""
    memory = PrefixMemory(max_entries=4, policy=small_blocks, clock=lambda: 0.0)
    prompts = [letter * 1024 for letter in "abc"]  # two blocks each
    for prompt in prompts:
        memory.observe(GPT4O, prompt)
    assert len(memory) == 4
    assert [memory.lookup(GPT4O, p).shared_prefix_tokens for p in prompts] == [0, 256, 256]
    memory.observe(GPT4O, prompts[1])  # b is now the most recent; c goes next
    memory.observe(GPT4O, "d" * 512)
    assert [memory.lookup(GPT4O, p).shared_prefix_tokens for p in prompts] == [0, 256, 128]


def test_eviction_keeps_the_shortest_prefix_longest() -> None:
    """Within one prompt, the long tail is evicted before the shared beginning."""
    memory = PrefixMemory(max_entries=2, policy=small_blocks, clock=lambda: 0.0)
    memory.observe(GPT4O, "z" * 2048)  # four blocks
    assert memory.lookup(GPT4O, "z" * 2048).shared_prefix_tokens == 256


@pytest.mark.parametrize(
    ("model", "minimum"),
    [(GPT4O, 1024), (SONNET, 1024), ("claude-3-5-haiku-latest", 2048), ("claude-haiku-4-5", 4096)],
)
def test_prefix_below_minimum_cacheable_length_counts_for_nothing(model: str, minimum: int) -> None:
    """A shared prefix one block short of the provider's minimum predicts no hit; at the minimum it does."""
    memory = PrefixMemory(clock=lambda: 0.0)
    assert memory.policy_for(model).min_tokens == minimum
    memory.observe(model, "s" * (minimum * 4) + "tail " * 200)
    short = "s" * (minimum * 4 - 512) + "other " * 400
    exact = "s" * (minimum * 4) + "other " * 400
    assert memory.lookup(model, short).shared_prefix_tokens == 0
    assert memory.lookup(model, short).hit_probability == 0
    assert memory.lookup(model, exact).shared_prefix_tokens == minimum


def test_prompts_below_minimum_are_not_stored() -> None:
    """Nothing is remembered of a prompt too short to be cached."""
    memory = PrefixMemory(clock=lambda: 0.0)
    memory.observe(GPT4O, "q" * 4000)  # 1,000 tokens
    assert len(memory) == 0


@pytest.mark.parametrize(
    ("model", "minimum"),
    [("anthropic/claude-3-haiku-20240307", 2048), ("claude-opus-4.5", 4096), ("no-such-model-xyz", 1024)],
)
def test_default_policy_minimums(model: str, minimum: int) -> None:
    """Minimums follow the provider and model family; an unknown model gets the common 1,024 tokens."""
    policy = default_cache_policy(model)
    assert policy.min_tokens == minimum
    assert policy.ttl_s == 300.0


def test_hit_probability_is_learned_from_outcomes(memory: PrefixMemory) -> None:
    """The Beta(4, 1) prior gives 0.8; confirmed hits raise it and misses lower it, per model."""
    first = memory.observe(SONNET, LONG_PROMPT)
    assert first.hit_probability == 0  # nothing sent before
    assert memory.record_outcome(SONNET, LONG_PROMPT, 0)
    assert memory.stats(SONNET).predicted_hits == 0  # no hit was predicted: nothing learned
    assert memory.lookup(SONNET, LONG_PROMPT).hit_probability == pytest.approx(0.8)
    for _ in range(5):
        assert memory.observe(SONNET, LONG_PROMPT).hit_probability > 0
        memory.record_outcome(SONNET, LONG_PROMPT, 0)
    assert memory.lookup(SONNET, LONG_PROMPT).hit_probability == pytest.approx(4 / 10)
    for _ in range(10):
        memory.observe(SONNET, LONG_PROMPT)
        memory.record_outcome(SONNET, LONG_PROMPT, 9984)
    stats = memory.stats(SONNET)
    assert (stats.predicted_hits, stats.actual_hits) == (15, 10)
    assert memory.lookup(SONNET, LONG_PROMPT).hit_probability == pytest.approx(14 / 20)
    assert memory.stats(GPT4O).hit_probability == pytest.approx(0.8)


def test_unpredicted_hits_are_counted_apart(memory: PrefixMemory) -> None:
    """A cache read nobody predicted (another process warmed it) is counted, not mixed into the posterior."""
    memory.observe(SONNET, LONG_PROMPT)
    memory.record_outcome(SONNET, LONG_PROMPT, 5000)
    stats = memory.stats(SONNET)
    assert (stats.unexpected_hits, stats.predicted_hits, stats.hit_probability) == (1, 0, 0.8)


def test_outcome_needs_a_matching_observation(memory: PrefixMemory) -> None:
    """An outcome for a prompt never observed, or recorded twice, teaches nothing."""
    assert not memory.record_outcome(SONNET, LONG_PROMPT, 100)
    memory.observe(SONNET, LONG_PROMPT)
    assert memory.record_outcome(SONNET, LONG_PROMPT, 100)
    assert not memory.record_outcome(SONNET, LONG_PROMPT, 100)
    with pytest.raises(ConfigError, match="cached_tokens"):
        memory.record_outcome(SONNET, LONG_PROMPT, -1)


def test_sonnet_costs_by_hand(memory: PrefixMemory, capable: Tier) -> None:
    """Claude Sonnet 4, warm: $3 input, $0.30 read, $3.75 write, $15 output per MTok; p = 0.8 from the prior."""
    memory.observe(SONNET, LONG_PROMPT)
    cost = CacheAwareRouter(memory).calculate_request_cost(LONG_PROMPT, capable, SONNET)
    cached = 0.8 * 9984  # 7,987.2 expected cache reads
    writes = 10_000 - cached  # the rest of the prompt is written for next time
    assert cost.expected_cached_tokens == pytest.approx(cached)
    assert cost.expected_cache_write_tokens == pytest.approx(writes)
    assert cost.full_cost_usd == pytest.approx((10_000 * 3 + 256 * 15) / 1e6)  # 0.03384
    assert cost.cache_discount_usd == pytest.approx(cached * (3 - 0.30) / 1e6)  # 0.02156544
    assert cost.cache_write_surcharge_usd == pytest.approx(writes * (3.75 - 3) / 1e6)  # 0.0015096
    assert cost.effective_cost_usd == pytest.approx(0.01378416)
    assert (cost.provider, cost.tier) == ("anthropic", "capable")
    assert cost.cache_hit_probability == pytest.approx(0.8)
    assert cost.price_data_version.startswith("genai-prices ")


def test_effective_cost_is_the_expected_bill(memory: PrefixMemory, capable: Tier) -> None:
    """Effective cost equals p × bill on a hit + (1 − p) × bill on a miss, each priced by the price book."""
    memory.observe(SONNET, LONG_PROMPT)
    cost = CacheAwareRouter(memory).calculate_request_cost(LONG_PROMPT, capable, SONNET)
    book = PriceBook()
    hit = book.cost(Usage(cached_input_tokens=9984, cache_write_tokens=16, output_tokens=256), SONNET).usd
    miss = book.cost(Usage(cache_write_tokens=10_000, output_tokens=256), SONNET).usd
    assert hit is not None
    assert miss is not None
    assert cost.effective_cost_usd == pytest.approx(0.8 * hit + 0.2 * miss)


def test_gpt4o_costs_by_hand(memory: PrefixMemory, capable: Tier) -> None:
    """GPT-4o, warm: $2.50 input, $1.25 cached, $10 output per MTok; writes cost nothing extra."""
    memory.observe(GPT4O, LONG_PROMPT)
    cost = CacheAwareRouter(memory, expected_output_tokens=1000).calculate_request_cost(LONG_PROMPT, capable, GPT4O)
    assert cost.full_cost_usd == pytest.approx((10_000 * 2.5 + 1000 * 10) / 1e6)
    assert cost.cache_discount_usd == pytest.approx(0.8 * 9984 * 1.25 / 1e6)
    assert cost.cache_write_surcharge_usd == 0
    assert cost.expected_cache_write_tokens == 0
    assert cost.effective_cost_usd == pytest.approx(0.035 - 0.009984)


def test_cold_prompt_pays_write_surcharge_only_where_billed(memory: PrefixMemory, capable: Tier) -> None:
    """Cold, Sonnet adds the cost of writing the prompt to its cache; GPT-4o costs its list price."""
    router = CacheAwareRouter(memory)
    sonnet = router.calculate_request_cost(LONG_PROMPT, capable, SONNET)
    gpt = router.calculate_request_cost(LONG_PROMPT, capable, GPT4O)
    assert sonnet.cache_discount_usd == 0
    assert sonnet.cache_write_surcharge_usd == pytest.approx(10_000 * 0.75 / 1e6)
    assert gpt.effective_cost_usd == gpt.full_cost_usd


def test_policy_without_writes_adds_no_surcharge(capable: Tier) -> None:
    """When requests do not write the cache (no breakpoint), no write surcharge is expected."""
    memory = PrefixMemory(policy=lambda model: CachePolicy(writes=False), clock=lambda: 0.0)
    cost = CacheAwareRouter(memory).calculate_request_cost(LONG_PROMPT, capable, SONNET)
    assert cost.cache_write_surcharge_usd == 0
    assert cost.effective_cost_usd == cost.full_cost_usd


def test_warm_cache_flips_ranking_to_pricier_list_model(memory: PrefixMemory, capable: Tier) -> None:
    """Cold, GPT-4o is cheaper; with Sonnet's cache warm Sonnet wins; once it expires GPT-4o is back."""
    router = CacheAwareRouter(memory)
    assert router.rank_models(capable, LONG_PROMPT, now=0.0) == (GPT4O, SONNET)
    memory.observe(SONNET, LONG_PROMPT, now=0.0)
    ranking = router.rank(capable, LONG_PROMPT, now=60.0)
    assert ranking.models == (SONNET, GPT4O)
    assert ranking.chosen.effective_cost_usd == pytest.approx(0.01378416)
    assert ranking.costs[1].effective_cost_usd == pytest.approx(0.02756)  # GPT-4o, cold
    assert ranking.chosen.full_cost_usd == pytest.approx(0.03384)  # dearer at list price than GPT-4o's 0.02756
    assert "cached tokens at p=0.80" in ranking.chosen.reason
    assert router.rank_models(capable, LONG_PROMPT, now=301.0) == (GPT4O, SONNET)


def test_recorded_misses_undo_the_flip(memory: PrefixMemory, capable: Tier) -> None:
    """When Sonnet's predicted hits keep missing, its warm cache no longer makes it the cheaper choice."""
    router = CacheAwareRouter(memory)
    for _ in range(21):
        memory.observe(SONNET, LONG_PROMPT)
        memory.record_outcome(SONNET, LONG_PROMPT, 0)
    assert memory.stats(SONNET).hit_probability == pytest.approx(4 / 25)
    assert router.rank_models(capable, LONG_PROMPT) == (GPT4O, SONNET)


def test_ties_keep_tier_order(memory: PrefixMemory) -> None:
    """Equal effective costs keep the tier's order, whichever order that is."""
    router = CacheAwareRouter(memory)
    for models in [(GPT4O, "openai/gpt-4o"), ("openai/gpt-4o", GPT4O)]:
        assert router.rank_models(Tier(name="t", rank=0, models=models), LONG_PROMPT) == models


def test_unknown_price_ranks_last_never_free(memory: PrefixMemory) -> None:
    """A model with no known price gets no costs, says why, and ranks after every priced model."""
    tier = Tier(name="t", rank=0, models=("no-such-model-xyz", SONNET, "also-unknown-abc", GPT4O))
    ranking = CacheAwareRouter(memory).rank(tier, LONG_PROMPT)
    assert ranking.models == (GPT4O, SONNET, "no-such-model-xyz", "also-unknown-abc")
    unknown = ranking.costs[2]
    assert unknown.full_cost_usd is None
    assert unknown.effective_cost_usd is None
    assert unknown.cache_discount_usd is None
    assert unknown.provider is None
    assert unknown.unknown_reason
    assert "ranked last" in unknown.reason


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r, t: r.calculate_request_cost("hi", t, "claude-opus-4-1"), "not one of tier"),
        (lambda r, t: r.rank(Tier(name="empty", rank=0), "hi"), "has no models"),
        (lambda r, t: r.rank(t, "hi", expected_output_tokens=-1), "expected_output_tokens"),
        (lambda r, t: CacheAwareRouter(expected_output_tokens=-5), "expected_output_tokens"),
        (lambda r, t: PrefixMemory(max_entries=0), "max_entries"),
        (lambda r, t: PrefixMemory(block_tokens=0), "block_tokens"),
        (lambda r, t: PrefixMemory(prior_hits=0), "prior"),
        (lambda r, t: CachePolicy(min_tokens=0), "min_tokens"),
        (lambda r, t: CachePolicy(ttl_s=0), "ttl_s"),
    ],
)
def test_bad_input_is_a_config_error(capable: Tier, call: object, message: str) -> None:
    """Bad settings and models outside the tier are configuration errors naming the field."""
    with pytest.raises(ConfigError, match=message):
        call(CacheAwareRouter(), capable)  # type: ignore[operator]


def test_concurrent_observers_respect_the_bound() -> None:
    """Threads observing at once never push the memory past its bound."""
    memory = PrefixMemory(max_entries=50, policy=small_blocks, clock=lambda: 0.0)

    def send(worker: int) -> None:
        for i in range(20):
            memory.observe(GPT4O, f"{worker:03d}-{i:03d}" * 200)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(memory) == 50


MODELS = st.sampled_from([GPT4O, SONNET, "claude-3-5-haiku-latest", "gemini-2.5-pro", "claude-sonnet-4-5"])


@settings(deadline=None)
@given(
    model=MODELS,
    shared_chars=st.integers(0, 500_000),
    tail_chars=st.integers(0, 500_000),
    outcomes=st.lists(st.booleans(), max_size=12),
    output=st.integers(0, 4000),
)
def test_effective_cost_stays_between_bounds(
    model: str, shared_chars: int, tail_chars: int, outcomes: list[bool], output: int
) -> None:
    """Effective cost ≥ all-cached cost and ≤ full cost + writing every token; p stays in [0, 1]."""
    memory = PrefixMemory(clock=lambda: 0.0, salt=b"property")
    warm = "w" * shared_chars
    for hit in outcomes:
        memory.observe(model, warm)
        memory.record_outcome(model, warm, 1 if hit else 0)
    prompt = warm + "n" * tail_chars
    cost = CacheAwareRouter(memory, expected_output_tokens=output).calculate_request_cost(
        prompt, Tier(name="t", rank=0, models=(model,)), model
    )
    prices = PriceBook().token_prices(model, prompt_tokens=cost.prompt_tokens)
    assert prices is not None
    assert cost.effective_cost_usd is not None
    assert cost.full_cost_usd is not None
    n = cost.prompt_tokens
    assert 0.0 <= cost.cache_hit_probability <= 1.0
    assert 0.0 <= cost.expected_cached_tokens <= n
    lower = prices.cost(cached_input_tokens=n, output_tokens=output)
    upper = cost.full_cost_usd + n * (prices.cache_write_usd_per_mtok - prices.input_usd_per_mtok) / 1e6
    assert lower - 1e-12 <= cost.effective_cost_usd <= upper + 1e-12
    expected_bill = prices.cost(
        input_tokens=n - cost.expected_cached_tokens - cost.expected_cache_write_tokens,
        cached_input_tokens=cost.expected_cached_tokens,
        cache_write_tokens=cost.expected_cache_write_tokens,
        output_tokens=output,
    )
    assert cost.effective_cost_usd == pytest.approx(expected_bill, abs=1e-12)


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5000)), max_size=30))
def test_probability_is_the_beta_posterior_mean(outcomes: list[tuple[bool, int]]) -> None:
    """Any outcome sequence leaves p = (4 + hits) / (5 + predicted), within [0, 1]."""
    memory = PrefixMemory(policy=small_blocks, clock=lambda: 0.0)
    warm = "p" * 512
    predicted = hits = 0
    for was_warm, cached in outcomes:
        prompt = warm if was_warm else f"{predicted}-{hits}-cold" * 100
        look = memory.observe(GPT4O, prompt)
        memory.record_outcome(GPT4O, prompt, cached)
        if look.shared_prefix_tokens:
            predicted += 1
            hits += cached > 0
    probability = memory.stats(GPT4O).hit_probability
    assert 0.0 <= probability <= 1.0
    assert probability == pytest.approx((4 + hits) / (5 + predicted))


class _Free:
    """An estimator for calls that cost nothing."""

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        return CostEstimate(expected_usd=0.0, max_usd=0.0)


def test_cascade_orders_by_the_router_and_teaches_it_every_call() -> None:
    """As the executor's model order and call observer, the router ranks a tier and learns from each call."""
    memory = PrefixMemory(clock=lambda: 0.0)
    router = CacheAwareRouter(memory)
    tier = Tier(name="cheap", rank=0, models=("claude-sonnet-4-0", "gpt-4o"), threshold=90, min_attempts=2)
    seen: list[str] = []

    def answer(request: CompletionRequest) -> Completion:
        seen.append(request.model)
        cached = 2048 if len(seen) > 2 else 0  # the second item's calls read a warm cache
        return Completion(text="A", model=request.model, usage=Usage(input_tokens=10, cached_input_tokens=cached))

    config = EscalationConfig(tiers=Ladder([tier]), max_cost=None, auto_approve_under=None, max_concurrency=1)
    executor = ProgressiveExecutor(
        config,
        FunctionProvider(answer),
        scorer=lambda ctx: FailureAnalysis(test_pass_rate=0.0),
        estimator=_Free(),
        model_order=lambda t, item: router.rank_models(t, item.prompt),
        call_observer=router,
    )
    executor.run_sync([WorkItem(id=str(i), prompt=LONG_PROMPT) for i in range(2)])
    assert seen[0] == "gpt-4o"  # cold caches: the cheaper list price first, against the tier's own order
    for model in tier.models:
        assert memory.lookup(model, LONG_PROMPT).shared_prefix_tokens > 0
    stats = memory.stats("gpt-4o")
    assert stats.predicted_hits >= 1
    assert stats.actual_hits >= 1
