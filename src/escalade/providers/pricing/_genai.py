"""Real prices from genai-prices: cache reads and writes, tiered prices, and the data version.

:class:`PriceBook` turns a normalised :class:`~escalade.providers._base.Usage` into dollars with the
price data bundled in the ``genai-prices`` package. No network is used: the bundled snapshot is
read, never auto-updated. Every :class:`PricedCost` names the price data it came from, so a stored
cost can be traced to its prices. An unknown model gives ``usd=None`` (unknown), never zero.

:class:`PriceBookEstimator` is the matching :class:`~escalade.providers._base.CostEstimator`. The
worst case is a true upper bound, so a budget guarded with it can never be passed: the prompt's
:func:`~escalade.providers.pricing._tables.max_prompt_tokens` (one token per UTF-8 byte plus the chat
format's overhead) billed at the dearer of the input and cache-write prices (no cache discount is
assumed), plus the request's whole ``max_output_tokens``. The expected cost uses the usual estimate
(``ceil(chars / 4)``) and a quarter of the output cap. For a model with no known price, the
estimate is infinite by default, and the budget guard stops the run rather than spend blind
(fail closed). With ``unknown_costs="allow"``, the estimate is zero instead and the spend is
counted as unknown.

:meth:`PriceBook.token_prices` is a read-only lookup of one model's per-token prices (input, cache
read, cache write, output) at a given prompt size, for callers that weigh expected token mixes, such
as the cache-aware ranking in :mod:`escalade.routing._cache`.

>>> from escalade.providers._base import Usage
>>> book = PriceBook()
>>> book.cost(Usage(input_tokens=1_000_000, output_tokens=1_000_000), "gpt-4o", provider="openai").usd
12.5
>>> book.cost(Usage(input_tokens=10), "no-such-model").usd is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Literal

import genai_prices
from genai_prices import data_snapshot
from genai_prices import types as genai_types

from escalade.exceptions import ConfigError
from escalade.providers._base import CompletionRequest, CostEstimate, Usage
from escalade.providers.pricing._tables import estimate_tokens, max_prompt_tokens

__all__ = ["PriceBook", "PriceBookEstimator", "PricedCost", "TokenPrices", "price_data_version"]


@cache
def price_data_version() -> str:
    """``genai-prices <version>, data <snapshot time>``: recorded with every cost."""
    stamp = data_snapshot.get_snapshot().timestamp
    when = stamp.isoformat(timespec="seconds") if stamp is not None else "bundled"
    return f"genai-prices {genai_prices.__version__}, data {when}"


@dataclass(frozen=True)
class PricedCost:
    """The bill of one usage, or why it is unknown."""

    #: USD, or ``None`` when no price is known for the model.
    usd: float | None
    model: str
    provider: str | None
    price_data_version: str
    #: Why the cost is unknown (``None`` when known).
    unknown_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TokenPrices:
    """One model's prices in USD per million tokens, as genai-prices bills them at one prompt size.

    A unit the price data does not price separately is billed by genai-prices as plain input, so
    a missing cache-read price is given here as the input price (no discount) and a missing
    cache-write price as the input price too (no surcharge).

    >>> p = TokenPrices(model="m", provider="p", input_usd_per_mtok=3.0, cache_read_usd_per_mtok=0.3,
    ...                 cache_write_usd_per_mtok=3.75, output_usd_per_mtok=15.0, price_data_version="test")
    >>> round(p.cost(input_tokens=1_000, cached_input_tokens=10_000, output_tokens=100), 6)
    0.0075
    """

    #: The model id the price data matched.
    model: str
    #: The provider id the price data matched.
    provider: str
    #: Plain (uncached) prompt tokens.
    input_usd_per_mtok: float
    #: Prompt tokens read from the provider's cache.
    cache_read_usd_per_mtok: float
    #: Prompt tokens written to the provider's cache.
    cache_write_usd_per_mtok: float
    #: Generated tokens.
    output_usd_per_mtok: float
    #: Which price data the prices came from.
    price_data_version: str

    def cost(
        self,
        *,
        input_tokens: float = 0,
        cached_input_tokens: float = 0,
        cache_write_tokens: float = 0,
        output_tokens: float = 0,
    ) -> float:
        """USD for the given (possibly fractional, expected) token counts at these prices."""
        return (
            input_tokens * self.input_usd_per_mtok
            + cached_input_tokens * self.cache_read_usd_per_mtok
            + cache_write_tokens * self.cache_write_usd_per_mtok
            + output_tokens * self.output_usd_per_mtok
        ) / 1e6


def _price_at(price: Decimal | genai_types.TieredPrices | None, prompt_tokens: int) -> float | None:
    """A genai-prices price (plain or tiered) as a float at ``prompt_tokens`` total prompt tokens.

    Tiers follow genai-prices: the highest tier whose start the prompt exceeds prices every token.
    """
    if price is None:
        return None
    if isinstance(price, genai_types.TieredPrices):
        applicable = price.base
        for tier in reversed(price.tiers):
            if prompt_tokens > tier.start:
                applicable = tier.price
                break
        return float(applicable)
    return float(price)


class PriceBook:
    """Prices usages with genai-prices' bundled data; see the module docstring."""

    def __init__(self, *, provider: str | None = None) -> None:
        #: Default provider id (``openai``, ``anthropic``, ``google``, ...) when a call names none.
        self.provider = provider

    def cost(self, usage: Usage, model: str, *, provider: str | None = None) -> PricedCost:
        """Dollars for ``usage`` on ``model``: plain input, cache reads and writes, output, with tiers."""
        provider_id = provider or self.provider
        total_input = usage.input_tokens + usage.cached_input_tokens + usage.cache_write_tokens
        billed = genai_prices.Usage(
            input_tokens=total_input,
            cache_read_tokens=usage.cached_input_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            output_tokens=usage.output_tokens,
        )
        try:
            result = genai_prices.calc_price(billed, model, provider_id=provider_id)
        except LookupError as exc:
            return PricedCost(None, model, provider_id, price_data_version(), unknown_reason=str(exc))
        return PricedCost(
            usd=float(Decimal(result.total_price)),
            model=result.model.id,
            provider=result.provider.id,
            price_data_version=price_data_version(),
        )

    def context_window(self, model: str, *, provider: str | None = None) -> int | None:
        """The model's context window in tokens, per the price data, or ``None`` when it does not say.

        >>> PriceBook().context_window("gpt-4o", provider="openai"), PriceBook().context_window("no-such-model")
        (128000, None)
        """
        try:
            _, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider or self.provider, None)
        except LookupError:
            return None
        return info.context_window

    def token_prices(self, model: str, *, provider: str | None = None, prompt_tokens: int = 0) -> TokenPrices | None:
        """Per-token prices of ``model`` for a prompt of ``prompt_tokens`` tokens, or ``None`` when unknown.

        ``prompt_tokens`` counts every prompt token (plain, cache reads and writes) and selects the
        price tier as :meth:`cost` does. A model the data has no input price for is unknown (``None``);
        a missing output price is zero, as genai-prices bills it.

        >>> prices = PriceBook().token_prices("gpt-4o", provider="openai")
        >>> (prices.input_usd_per_mtok, prices.cache_read_usd_per_mtok, prices.cache_write_usd_per_mtok)
        (2.5, 1.25, 2.5)
        >>> PriceBook().token_prices("no-such-model") is None
        True
        """
        try:
            found, info = data_snapshot.get_snapshot().find_provider_model(model, None, provider or self.provider, None)
        except LookupError:
            return None
        listed = info.get_prices(datetime.now(tz=UTC))
        plain = _price_at(listed.input_mtok, prompt_tokens)
        if plain is None:
            return None
        read = _price_at(listed.cache_read_mtok, prompt_tokens)
        write = _price_at(listed.cache_write_mtok, prompt_tokens)
        return TokenPrices(
            model=info.id,
            provider=found.id,
            input_usd_per_mtok=plain,
            cache_read_usd_per_mtok=plain if read is None else read,
            cache_write_usd_per_mtok=plain if write is None else write,
            output_usd_per_mtok=_price_at(listed.output_mtok, prompt_tokens) or 0.0,
            price_data_version=price_data_version(),
        )


class PriceBookEstimator:
    """Worst-case and expected cost of a request before it is sent, from a :class:`PriceBook`."""

    def __init__(
        self,
        book: PriceBook | None = None,
        *,
        expected_output_share: float = 0.25,
        unknown_costs: Literal["fail", "allow"] = "fail",
    ) -> None:
        if unknown_costs not in ("fail", "allow"):
            raise ConfigError(f"unknown_costs must be 'fail' or 'allow', got {unknown_costs!r}", field="unknown_costs")
        if not 0 <= expected_output_share <= 1:
            raise ConfigError("expected_output_share must be in [0, 1]", field="expected_output_share")
        self.book = book or PriceBook()
        self.expected_output_share = expected_output_share
        self.unknown_costs = unknown_costs

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        most, out = max_prompt_tokens(request), request.max_output_tokens
        # The prompt may be billed as plain input or, if the provider writes it to its cache, as cache
        # writes (dearer at Anthropic): the bound takes the dearer of the two.
        bills = [
            self.book.cost(Usage(input_tokens=most, output_tokens=out), request.model),
            self.book.cost(Usage(cache_write_tokens=most, output_tokens=out), request.model),
        ]
        if any(bill.usd is None for bill in bills):
            bound = math.inf if self.unknown_costs == "fail" else 0.0
            return CostEstimate(expected_usd=bound, max_usd=bound)
        worst = max(bill.usd or 0.0 for bill in bills)
        prompt = sum(estimate_tokens(text) for text in request.texts())
        expected_output = math.ceil(request.max_output_tokens * self.expected_output_share)
        expected = self.book.cost(Usage(input_tokens=prompt, output_tokens=expected_output), request.model)
        return CostEstimate(expected_usd=min(expected.usd or 0.0, worst), max_usd=worst)
