"""Providers: the one-method interface every model backend implements, and the built-ins."""

from typing import TYPE_CHECKING, Any

from escalade.providers._base import Completion, CompletionRequest, CostEstimate, CostEstimator, Provider, Usage
from escalade.providers._fake import FunctionProvider, ScriptedProvider, ScriptStep
from escalade.providers.pricing import (
    ModelPrice,
    PriceBook,
    PriceBookEstimator,
    PricedCost,
    PriceTableEstimator,
    TokenPrices,
    estimate_tokens,
    max_prompt_tokens,
    price_data_version,
)

if TYPE_CHECKING:
    from escalade.providers._anthropic import AnthropicProvider
    from escalade.providers._live import (
        DEFAULT_MODELS,
        LIVE_PROVIDERS,
        LiveProviderName,
        default_ladder,
        live_provider,
        plan_live,
    )
    from escalade.providers._openai import OpenAICompatibleProvider
    from escalade.providers._sdk_errors import STREAM_BREAKS, error_type, retry_after_seconds, typed_error

#: Names whose module imports a heavy optional dependency, loaded on first use.
_LAZY = {
    "AnthropicProvider": "escalade.providers._anthropic",
    "DEFAULT_MODELS": "escalade.providers._live",
    "LIVE_PROVIDERS": "escalade.providers._live",
    "LiveProviderName": "escalade.providers._live",
    "default_ladder": "escalade.providers._live",
    "live_provider": "escalade.providers._live",
    "plan_live": "escalade.providers._live",
    "OpenAICompatibleProvider": "escalade.providers._openai",
    "STREAM_BREAKS": "escalade.providers._sdk_errors",
    "error_type": "escalade.providers._sdk_errors",
    "retry_after_seconds": "escalade.providers._sdk_errors",
    "typed_error": "escalade.providers._sdk_errors",
}


__all__ = [
    "DEFAULT_MODELS",
    "LIVE_PROVIDERS",
    "STREAM_BREAKS",
    "AnthropicProvider",
    "Completion",
    "CompletionRequest",
    "CostEstimate",
    "CostEstimator",
    "FunctionProvider",
    "LiveProviderName",
    "ModelPrice",
    "OpenAICompatibleProvider",
    "PriceBook",
    "PriceBookEstimator",
    "PriceTableEstimator",
    "PricedCost",
    "Provider",
    "ScriptStep",
    "ScriptedProvider",
    "TokenPrices",
    "Usage",
    "default_ladder",
    "error_type",
    "estimate_tokens",
    "live_provider",
    "max_prompt_tokens",
    "plan_live",
    "price_data_version",
    "retry_after_seconds",
    "typed_error",
]


def __getattr__(name: str) -> Any:
    """Import a heavy name (an SDK adapter, the plot) only when it is used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415  (lazy by design)

    return getattr(importlib.import_module(module), name)
