"""A provider as a third-party package would write one, registered by the tests under ``escalade.providers``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from escalade.providers import Completion, CompletionRequest, Provider, ProviderOptions, SecretKey


class EchoProvider(Provider):
    """Answers with the prompt; remembers the key and options it was built with."""

    max_call_s = 0.0
    default_models: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "cheap": ("echo-small",),
        "capable": ("echo-medium",),
        "premium": ("echo-large",),
    }

    def __init__(self, key: SecretKey, options: ProviderOptions) -> None:
        self.key = key
        self.options = options

    @classmethod
    def from_options(cls, key: SecretKey, options: ProviderOptions) -> EchoProvider:
        return cls(key, options)

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text=request.prompt, model=request.model, cost_usd=0.0)


class NoDefaults:
    """A factory that names no default models (a configuration must then name them)."""

    default_models: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @staticmethod
    def from_options(key: SecretKey, options: ProviderOptions) -> Provider:
        return EchoProvider(key, options)


class NotAFactory:
    """Registered by mistake: it has no ``from_options``."""
