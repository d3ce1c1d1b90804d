"""Providers: the one-method interface every model backend implements, and the built-ins."""

from escalade.providers.base import Completion, CompletionRequest, CostEstimate, CostEstimator, Provider, Usage
from escalade.providers.fake import FunctionProvider, ScriptedProvider
from escalade.providers.pricing import ModelPrice, PriceTableEstimator, estimate_tokens

__all__ = [
    "Completion",
    "CompletionRequest",
    "CostEstimate",
    "CostEstimator",
    "FunctionProvider",
    "ModelPrice",
    "PriceTableEstimator",
    "Provider",
    "ScriptedProvider",
    "Usage",
    "estimate_tokens",
]
