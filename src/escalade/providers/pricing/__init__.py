"""Prices: the default price tables and real prices from genai-prices."""

from escalade.providers.pricing._genai import PriceBook, PriceBookEstimator, PricedCost, TokenPrices, price_data_version
from escalade.providers.pricing._tables import ModelPrice, PriceTableEstimator, estimate_tokens, max_prompt_tokens

__all__ = [
    "ModelPrice",
    "PriceBook",
    "PriceBookEstimator",
    "PriceTableEstimator",
    "PricedCost",
    "TokenPrices",
    "estimate_tokens",
    "max_prompt_tokens",
    "price_data_version",
]
