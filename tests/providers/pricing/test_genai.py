"""Real prices: hand-computed bills (cache reads, writes, tiers), matching per-token prices; unknowns fail closed."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import BudgetExceededError, ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import Completion, CompletionRequest, FunctionProvider, ScriptedProvider, Usage
from escalade.providers.pricing import PriceBook, PriceBookEstimator, price_data_version
from escalade.store import AttemptRow, SqlStore


@pytest.fixture
def book() -> PriceBook:
    return PriceBook()


def test_cache_read_and_write_bill(book: PriceBook) -> None:
    """Claude Sonnet 4 list prices: $3 input, $0.30 cache read, $3.75 cache write, $15 output per MTok."""
    usage = Usage(input_tokens=400_000, cached_input_tokens=500_000, cache_write_tokens=100_000, output_tokens=10_000)
    bill = book.cost(usage, "claude-sonnet-4-20250514", provider="anthropic")
    by_hand = 0.4 * 3 + 0.5 * 0.30 + 0.1 * 3.75 + 0.01 * 15
    assert bill.usd == pytest.approx(by_hand)  # 1.875
    assert bill.provider == "anthropic"


def test_openai_cached_input_bill(book: PriceBook) -> None:
    """GPT-4o: $2.50 input, $1.25 cached input, $10 output per MTok."""
    usage = Usage(input_tokens=1_000_000, cached_input_tokens=1_000_000, output_tokens=500_000)
    assert book.cost(usage, "gpt-4o", provider="openai").usd == pytest.approx(2.5 + 1.25 + 5.0)


def test_tier_crossing_bill(book: PriceBook) -> None:
    """Gemini 2.5 Pro: $1.25 / $10 per MTok up to 200k prompt tokens, $2.50 / $15 above (the whole prompt)."""
    below = book.cost(Usage(input_tokens=100_000, output_tokens=1_000), "gemini-2.5-pro", provider="google")
    above = book.cost(Usage(input_tokens=300_000, output_tokens=1_000), "gemini-2.5-pro", provider="google")
    assert below.usd == pytest.approx(0.1 * 1.25 + 0.001 * 10)
    assert above.usd == pytest.approx(0.3 * 2.50 + 0.001 * 15)


def test_unknown_model_is_unknown_not_free(book: PriceBook) -> None:
    """No price: the cost is None with the reason, and the price data version is still named."""
    bill = book.cost(Usage(input_tokens=10, output_tokens=10), "no-such-model-xyz")
    assert bill.usd is None
    assert bill.unknown_reason
    assert bill.price_data_version == price_data_version()
    assert price_data_version().startswith("genai-prices ")


def test_estimator_bounds() -> None:
    """The worst case bills a byte per token (plus chat overhead) at full input price and every output token."""
    estimator = PriceBookEstimator(PriceBook(provider="openai"))
    request = CompletionRequest(item_id="1", model="gpt-4o", prompt="x" * 4000, max_output_tokens=1000)
    estimate = estimator.estimate(request)
    assert estimate.max_usd == pytest.approx(((4000 + 2 * 16) * 2.5 + 1000 * 10) / 1e6)
    assert estimate.expected_usd == pytest.approx((1000 * 2.5 + 250 * 10) / 1e6)


def test_estimator_bound_covers_cache_writes() -> None:
    """Where writing the prompt to the cache costs more than plain input (Anthropic), the bound pays for it."""
    estimator = PriceBookEstimator(PriceBook(provider="anthropic"))
    request = CompletionRequest(item_id="1", model="claude-sonnet-4-0", prompt="é" * 1000, max_output_tokens=100)
    # 2,000 UTF-8 bytes + 32 tokens of overhead, as cache writes at $3.75/MTok; 100 output at $15/MTok
    assert estimator.estimate(request).max_usd == pytest.approx((2032 * 3.75 + 100 * 15) / 1e6)


def test_unknown_model_fails_closed_unless_allowed() -> None:
    """An unknown price makes the estimate infinite (the guard stops), or zero when allowed."""
    request = CompletionRequest(item_id="1", model="no-such-model-xyz", prompt="hi")
    assert math.isinf(PriceBookEstimator().estimate(request).max_usd)
    assert PriceBookEstimator(unknown_costs="allow").estimate(request).max_usd == 0.0
    ladder = Ladder([Tier(name="cheap", rank=0, models=("no-such-model-xyz",))])
    config = EscalationConfig(tiers=ladder, max_cost=1.0, auto_approve_under=None)
    provider = ScriptedProvider({"no-such-model-xyz": ["answer"]})
    executor = ProgressiveExecutor(config, provider, estimator=PriceBookEstimator())
    with pytest.raises(BudgetExceededError, match="cannot be guarded"):
        executor.run_sync([WorkItem(id="q", prompt="hi")])
    assert provider.requests == []  # nothing was sent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"unknown_costs": "maybe"}, "unknown_costs must be"), ({"expected_output_share": 2.0}, "expected_output_share")],
)
def test_bad_estimator_settings(kwargs: dict[str, object], message: str) -> None:
    """Bad settings are configuration errors naming the field."""
    with pytest.raises(ConfigError, match=message):
        PriceBookEstimator(**kwargs)  # type: ignore[arg-type]


def test_price_data_version_is_stored_with_each_attempt(db_url: str) -> None:
    """A provider that prices its calls with the price book leaves the data version on the stored attempt."""
    book = PriceBook(provider="openai")

    def priced(request: CompletionRequest) -> Completion:
        usage = Usage(input_tokens=1000, cached_input_tokens=500, output_tokens=200)
        bill = book.cost(usage, request.model)
        return Completion(
            text="ok", model=request.model, usage=usage, cost_usd=bill.usd, price_data_version=bill.price_data_version
        )

    ladder = Ladder([Tier(name="cheap", rank=0, models=("gpt-4o-mini",), threshold=0)])
    store = SqlStore(db_url)
    config = EscalationConfig(tiers=ladder, max_cost=1.0, auto_approve_under=None)
    executor = ProgressiveExecutor(
        config, FunctionProvider(priced), estimator=PriceBookEstimator(book), listeners=[store]
    )
    result = executor.run_sync([WorkItem(id="q", prompt="hi")])
    attempt = result.items[0].tiers[0].attempts[0]
    assert attempt.price_data_version == price_data_version()
    with store.session() as s:
        row = s.scalars(select(AttemptRow)).one()
        assert row.price_data_version == price_data_version()
        assert row.cached_input_tokens == 500
        assert row.cost_usd == pytest.approx((1000 * 0.15 + 500 * 0.075 + 200 * 0.6) / 1e6)
    store.close()


@pytest.mark.parametrize(
    ("model", "provider", "prices"),
    [
        ("claude-sonnet-4-20250514", "anthropic", (3.0, 0.30, 3.75, 15.0)),
        ("gpt-4o", "openai", (2.5, 1.25, 2.5, 10.0)),
    ],
)
def test_token_prices_by_model(book: PriceBook, model: str, provider: str, prices: tuple[float, ...]) -> None:
    """Per-MTok input, cache read, cache write and output prices; OpenAI bills cache writes as input."""
    found = book.token_prices(model)
    assert found is not None
    assert found.provider == provider
    listed = (found.input_usd_per_mtok, found.cache_read_usd_per_mtok)
    assert (*listed, found.cache_write_usd_per_mtok, found.output_usd_per_mtok) == pytest.approx(prices)
    assert found.price_data_version == price_data_version()


def test_token_prices_follow_the_price_tier(book: PriceBook) -> None:
    """Gemini 2.5 Pro above 200k prompt tokens: every price moves to the upper tier."""
    below = book.token_prices("gemini-2.5-pro", provider="google", prompt_tokens=200_000)
    above = book.token_prices("gemini-2.5-pro", provider="google", prompt_tokens=200_001)
    assert below is not None
    assert above is not None
    assert (below.input_usd_per_mtok, below.cache_read_usd_per_mtok, below.output_usd_per_mtok) == (1.25, 0.125, 10)
    assert (above.input_usd_per_mtok, above.cache_read_usd_per_mtok, above.output_usd_per_mtok) == (2.5, 0.25, 15)


def test_token_prices_without_cache_prices_bill_cache_as_input(book: PriceBook) -> None:
    """Claude 2 has no cache prices: reads and writes cost the input price, as genai-prices bills them."""
    found = book.token_prices("claude-2", provider="anthropic")
    assert found is not None
    assert found.cache_read_usd_per_mtok == found.cache_write_usd_per_mtok == found.input_usd_per_mtok == 8.0
    usage = Usage(input_tokens=1000, cached_input_tokens=1000, cache_write_tokens=1000)
    assert book.cost(usage, "claude-2", provider="anthropic").usd == pytest.approx(3000 * 8.0 / 1e6)


@pytest.mark.parametrize(("model", "provider"), [("no-such-model-xyz", None), ("gpt-4o", "no-such-provider")])
def test_token_prices_unknown(book: PriceBook, model: str, provider: str | None) -> None:
    """An unknown model or provider has no prices (None), never zero."""
    assert book.token_prices(model, provider=provider) is None


@settings(deadline=None)
@given(
    model=st.sampled_from(["gpt-4o", "claude-sonnet-4-0", "claude-sonnet-4-5", "gemini-2.5-pro", "claude-2"]),
    counts=st.tuples(*[st.integers(0, 300_000)] * 4),
)
def test_token_prices_agree_with_the_bill(model: str, counts: tuple[int, int, int, int]) -> None:
    """For any usage, pricing its tokens by hand at the prompt's tier gives the price book's bill."""
    plain, read, write, output = counts
    book = PriceBook()
    usage = Usage(input_tokens=plain, cached_input_tokens=read, cache_write_tokens=write, output_tokens=output)
    prices = book.token_prices(model, prompt_tokens=plain + read + write)
    bill = book.cost(usage, model).usd
    assert prices is not None
    assert bill is not None
    by_hand = prices.cost(input_tokens=plain, cached_input_tokens=read, cache_write_tokens=write, output_tokens=output)
    assert by_hand == pytest.approx(bill, rel=1e-9, abs=1e-12)
