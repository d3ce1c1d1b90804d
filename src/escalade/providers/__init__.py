"""Providers: the one-method interface every model backend implements, the built-ins, and the registry by name."""

from escalade.providers._registry import (
    PROVIDERS,
    ProviderFactory,
    ProviderOptions,
    available_providers,
    provider_factory,
)
from escalade.providers._secrets import SecretKey, redact
from escalade.providers.base import Completion, CompletionRequest, CostEstimate, CostEstimator, Provider, Usage
from escalade.providers.fake import FunctionProvider, ScriptedProvider
from escalade.providers.pricing import ModelPrice, PriceTableEstimator, estimate_tokens

__all__ = [
    "PROVIDERS",
    "Completion",
    "CompletionRequest",
    "CostEstimate",
    "CostEstimator",
    "FunctionProvider",
    "ModelPrice",
    "PriceTableEstimator",
    "Provider",
    "ProviderFactory",
    "ProviderOptions",
    "ScriptedProvider",
    "SecretKey",
    "Usage",
    "available_providers",
    "estimate_tokens",
    "provider_factory",
    "redact",
]
