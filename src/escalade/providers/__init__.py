"""Providers: the one-method interface every model backend implements, the built-ins, and the registry by name."""

from typing import TYPE_CHECKING, Any

from escalade.providers._base import (
    Completion,
    CompletionRequest,
    CostEstimate,
    CostEstimator,
    Provider,
    Usage,
    unhonoured_option,
)
from escalade.providers._fake import FunctionProvider, ScriptedProvider, ScriptStep
from escalade.providers._live import default_ladder, live_provider
from escalade.providers._messages import Message, RequestOptions, Role, Tool, ToolCall
from escalade.providers._registry import (
    PROVIDERS,
    ProviderFactory,
    ProviderOptions,
    available_providers,
    provider_factory,
)
from escalade.providers._secrets import SecretKey, redact
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
    from escalade.providers._adapter import (
        ErrorSigns,
        SdkAdapter,
        SdkAnswer,
        SdkSettings,
        sdk_settings,
        upper_bound_usage,
    )
    from escalade.providers._anthropic import AnthropicProvider
    from escalade.providers._openai import OpenAICompatibleProvider
    from escalade.providers._sdk_errors import STREAM_BREAKS, error_type, retry_after_seconds, typed_error

#: Names whose module imports a heavy optional dependency, loaded on first use.
_LAZY = {
    "ErrorSigns": "escalade.providers._adapter",
    "SdkAdapter": "escalade.providers._adapter",
    "SdkAnswer": "escalade.providers._adapter",
    "SdkSettings": "escalade.providers._adapter",
    "sdk_settings": "escalade.providers._adapter",
    "upper_bound_usage": "escalade.providers._adapter",
    "AnthropicProvider": "escalade.providers._anthropic",
    "OpenAICompatibleProvider": "escalade.providers._openai",
    "STREAM_BREAKS": "escalade.providers._sdk_errors",
    "error_type": "escalade.providers._sdk_errors",
    "retry_after_seconds": "escalade.providers._sdk_errors",
    "typed_error": "escalade.providers._sdk_errors",
}


__all__ = [
    "PROVIDERS",
    "STREAM_BREAKS",
    "AnthropicProvider",
    "Completion",
    "CompletionRequest",
    "CostEstimate",
    "CostEstimator",
    "ErrorSigns",
    "FunctionProvider",
    "Message",
    "ModelPrice",
    "OpenAICompatibleProvider",
    "PriceBook",
    "PriceBookEstimator",
    "PriceTableEstimator",
    "PricedCost",
    "Provider",
    "ProviderFactory",
    "ProviderOptions",
    "RequestOptions",
    "Role",
    "ScriptStep",
    "ScriptedProvider",
    "SdkAdapter",
    "SdkAnswer",
    "SdkSettings",
    "SecretKey",
    "TokenPrices",
    "Tool",
    "ToolCall",
    "Usage",
    "available_providers",
    "default_ladder",
    "error_type",
    "estimate_tokens",
    "live_provider",
    "max_prompt_tokens",
    "price_data_version",
    "provider_factory",
    "redact",
    "retry_after_seconds",
    "sdk_settings",
    "typed_error",
    "unhonoured_option",
    "upper_bound_usage",
]


def __getattr__(name: str) -> Any:
    """Import a heavy name (an SDK adapter, the plot) only when it is used."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # noqa: PLC0415  (lazy by design)

    return getattr(importlib.import_module(module), name)
