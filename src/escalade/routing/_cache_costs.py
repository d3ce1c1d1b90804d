"""The cost arithmetic of :mod:`escalade.routing._cache`: what one prompt is expected to cost one model.

:func:`request_cost` applies that module's formulas to what :class:`~escalade.routing._cache.PrefixMemory`
expects of a prompt and the model's :class:`~escalade.providers.pricing._genai.TokenPrices`; a model with no
known price gets ``None`` costs and ranks last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from escalade.providers.pricing import TokenPrices, price_data_version

if TYPE_CHECKING:
    from escalade.routing._cache import CacheLookup


@dataclass(frozen=True, kw_only=True)
class RequestCost:
    """Expected cost of sending one prompt to one model, with and without its provider's cache."""

    #: The model as the tier names it.
    model: str
    tier: str
    #: Provider id from the price data (``None`` when the price is unknown).
    provider: str | None
    prompt_tokens: int
    expected_output_tokens: int
    #: Longest fresh prefix sent to this model before (0 when none is cacheable).
    shared_prefix_tokens: int
    cache_hit_probability: float
    expected_cached_tokens: float
    expected_cache_write_tokens: float
    #: List-price cost with no cache (``None``: unknown price).
    full_cost_usd: float | None
    #: ``full − discount + write surcharge`` (``None``: unknown price).
    effective_cost_usd: float | None
    #: Expected saving from cache reads (``None``: unknown price).
    cache_discount_usd: float | None
    #: Expected extra paid for cache writes (``None``: unknown price).
    cache_write_surcharge_usd: float | None
    price_data_version: str
    #: Why the cost is unknown (``None`` when known).
    unknown_reason: str | None = None

    @property
    def reason(self) -> str:
        """One line saying what the cost is made of.

        >>> from escalade.routing._cache import CacheAwareRouter
        >>> from escalade.ladder._tiers import Tier
        >>> CacheAwareRouter().calculate_request_cost("hi", Tier(name="t", rank=0, models=("x-1",)), "x-1").reason
        "x-1: unknown price (no price known for model 'x-1'); ranked last"
        """
        if self.effective_cost_usd is None or self.full_cost_usd is None:
            return f"{self.model}: unknown price ({self.unknown_reason}); ranked last"
        return (
            f"{self.model}: ${self.effective_cost_usd:.6f} expected (${self.full_cost_usd:.6f} at list price, "
            f"−${self.cache_discount_usd or 0.0:.6f} for {self.expected_cached_tokens:.0f} cached tokens "
            f"at p={self.cache_hit_probability:.2f}, +${self.cache_write_surcharge_usd or 0.0:.6f} cache writes)"
        )


@dataclass(frozen=True, kw_only=True)
class CacheRanking:
    """A tier's models ordered by expected effective cost, with each cost behind the order."""

    tier: str
    #: Cheapest first; ties and unknown prices keep the tier's order, unknown prices come last.
    costs: tuple[RequestCost, ...]

    @property
    def models(self) -> tuple[str, ...]:
        """Model names, cheapest first."""
        return tuple(cost.model for cost in self.costs)

    @property
    def chosen(self) -> RequestCost:
        """The cheapest model's cost."""
        return self.costs[0]


def _money(look: CacheLookup, prices: TokenPrices, output: int) -> tuple[float, float, float, float, float]:
    """Expected cache writes, then full, discount, write surcharge and effective USD (see the cache module)."""
    cached = look.expected_cached_tokens
    bills_writes = prices.cache_write_usd_per_mtok != prices.input_usd_per_mtok
    cacheable = look.policy.writes and bills_writes and look.prompt_tokens >= look.policy.min_tokens
    writes = look.prompt_tokens - cached if cacheable else 0.0
    full = prices.cost(input_tokens=look.prompt_tokens, output_tokens=output)
    discount = cached * (prices.input_usd_per_mtok - prices.cache_read_usd_per_mtok) / 1e6
    surcharge = writes * (prices.cache_write_usd_per_mtok - prices.input_usd_per_mtok) / 1e6
    return writes, full, discount, surcharge, full - discount + surcharge


def request_cost(tier: str, look: CacheLookup, prices: TokenPrices | None, output: int) -> RequestCost:
    """Expected cost of the prompt ``look`` describes, with ``output`` tokens out, at ``prices`` (``None``: unknown)."""
    unknown = (0.0, None, None, None, None)
    writes, full, discount, surcharge, effective = unknown if prices is None else _money(look, prices, output)
    return RequestCost(
        model=look.model,
        tier=tier,
        provider=None if prices is None else prices.provider,
        prompt_tokens=look.prompt_tokens,
        expected_output_tokens=output,
        shared_prefix_tokens=look.shared_prefix_tokens,
        cache_hit_probability=look.hit_probability,
        expected_cached_tokens=look.expected_cached_tokens,
        expected_cache_write_tokens=writes,
        full_cost_usd=full,
        effective_cost_usd=effective,
        cache_discount_usd=discount,
        cache_write_surcharge_usd=surcharge,
        price_data_version=price_data_version() if prices is None else prices.price_data_version,
        unknown_reason=f"no price known for model {look.model!r}" if prices is None else None,
    )
