"""Fakes: scripted answers per model and a provider wrapping a plain function."""

from __future__ import annotations

import asyncio

import pytest

from escalade.exceptions import ProviderError
from escalade.providers import Completion, CompletionRequest, FunctionProvider, ScriptedProvider, Usage
from escalade.providers.pricing import ModelPrice, PriceTableEstimator, estimate_tokens


def _req(model: str = "m", prompt: str = "hello") -> CompletionRequest:
    return CompletionRequest(item_id="1", model=model, prompt=prompt)


def test_scripted_steps_advance_and_last_repeats() -> None:
    """Scripted steps are used in order and the last one repeats; errors are raised."""
    provider = ScriptedProvider({"m": ["one", ProviderError("down"), "three"]}, cost_per_call={"m": 0.5})
    assert asyncio.run(provider.complete(_req())).text == "one"
    with pytest.raises(ProviderError, match="down"):
        asyncio.run(provider.complete(_req()))
    third = asyncio.run(provider.complete(_req()))
    again = asyncio.run(provider.complete(_req()))
    assert (third.text, again.text, third.cost_usd) == ("three", "three", 0.5)
    assert len(provider.requests) == 4


def test_scripted_unknown_model() -> None:
    """A model without a script is a provider error."""
    with pytest.raises(ProviderError, match="no script for model 'x'"):
        asyncio.run(ScriptedProvider({"m": ["a"]}).complete(_req("x")))


def test_function_provider_sync_and_async() -> None:
    """Plain and async functions both work; strings become completions."""

    async def handler(request: CompletionRequest) -> str:
        return request.prompt.upper()

    sync = FunctionProvider(lambda r: Completion(text="x", model=r.model, cost_usd=None), cost_per_call=0.1)
    assert asyncio.run(sync.complete(_req())).cost_usd is None
    completion = asyncio.run(FunctionProvider(handler, cost_per_call=0.2).complete(_req()))
    assert (completion.text, completion.cost_usd) == ("HELLO", 0.2)
    assert completion.usage.output_tokens == estimate_tokens("HELLO")


def test_usage_adds_up() -> None:
    """Usage sums field by field and keeps the estimated flag."""
    total = Usage(input_tokens=1, output_tokens=2) + Usage(cached_input_tokens=3, estimated=True)
    assert (total.input_tokens, total.cached_input_tokens, total.output_tokens, total.total_tokens) == (1, 3, 2, 6)
    assert total.estimated


def test_price_table_estimator_bounds_cost() -> None:
    """The bound assumes the whole output cap; unknown models are an error."""
    est = PriceTableEstimator({"m": ModelPrice(input_usd_per_mtok=2.0, output_usd_per_mtok=4.0)})
    e = est.estimate(CompletionRequest(item_id="1", model="m", prompt="x" * 4000, max_output_tokens=1000))
    assert e.max_usd == pytest.approx((1000 * 2 + 1000 * 4) / 1e6)
    assert e.expected_usd < e.max_usd
    with pytest.raises(Exception, match="no price known for model 'q'"):
        est.estimate(_req("q"))
