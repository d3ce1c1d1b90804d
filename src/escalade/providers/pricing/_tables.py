"""Price tables and the default cost estimator.

Tokens are estimated as ``ceil(chars / 4)`` when a provider's tokenizer is not at hand. A budget
needs a true upper bound instead: :func:`max_prompt_tokens` counts one token per UTF-8 byte (a
byte-level BPE or byte-fallback tokenizer never uses more) plus the chat format's tokens per
message, and the worst case assumes the request's whole ``max_output_tokens`` is generated.

>>> est = PriceTableEstimator({"m": ModelPrice(input_usd_per_mtok=1.0, output_usd_per_mtok=2.0)})
>>> from escalade.providers._base import CompletionRequest
>>> e = est.estimate(CompletionRequest(item_id="1", model="m", prompt="x" * 400, max_output_tokens=100))
>>> round(e.max_usd, 6)
0.0003
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from escalade.exceptions import ConfigError
from escalade.providers._base import CompletionRequest, CostEstimate

__all__ = ["ModelPrice", "PriceTableEstimator", "estimate_tokens", "max_prompt_tokens"]

#: Tokens a chat format adds per message (role markers, separators), counted generously.
MESSAGE_OVERHEAD_TOKENS = 16


def estimate_tokens(text: str | None) -> int:
    """Rough token count of ``text``: ``ceil(chars / 4)``."""
    return math.ceil(len(text) / 4) if text else 0


def max_prompt_tokens(request: CompletionRequest) -> int:
    """An upper bound on the prompt tokens of ``request``: its UTF-8 bytes plus the chat format's overhead.

    >>> max_prompt_tokens(CompletionRequest(item_id="1", model="m", prompt="héllo"))  # 6 bytes, 1 message + reply
    38
    """
    texts = request.texts()
    turns = max(len(request.conversation()), 1) if texts else 0
    return sum(len(text.encode("utf-8")) for text in texts) + MESSAGE_OVERHEAD_TOKENS * (turns + 1)


@dataclass(frozen=True, kw_only=True)
class ModelPrice:
    """List price of a model in USD per million tokens."""

    input_usd_per_mtok: float
    output_usd_per_mtok: float

    def __post_init__(self) -> None:
        if self.input_usd_per_mtok < 0 or self.output_usd_per_mtok < 0:
            raise ConfigError("prices must be >= 0", field="input_usd_per_mtok/output_usd_per_mtok")

    @property
    def blended_usd_per_mtok(self) -> float:
        """Mean of input and output price: one number to order models by price."""
        return (self.input_usd_per_mtok + self.output_usd_per_mtok) / 2

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """USD for the given token counts."""
        return (input_tokens * self.input_usd_per_mtok + output_tokens * self.output_usd_per_mtok) / 1e6


class PriceTableEstimator:
    """Estimates cost from a price table; expected output is a quarter of the cap."""

    def __init__(self, prices: Mapping[str, ModelPrice], *, expected_output_share: float = 0.25) -> None:
        self._prices = dict(prices)
        self._share = expected_output_share

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        price = self._prices.get(request.model)
        if price is None:
            raise ConfigError(f"no price known for model {request.model!r}", field="models")
        prompt_tokens = sum(estimate_tokens(text) for text in request.texts())
        expected_out = math.ceil(request.max_output_tokens * self._share)
        return CostEstimate(
            expected_usd=price.cost(prompt_tokens, expected_out),
            max_usd=price.cost(prompt_tokens, request.max_output_tokens),
        )
