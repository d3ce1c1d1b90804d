"""Providers by name: the ``escalade.providers`` entry-point group, which holds the built-ins too.

A provider registers a factory under the group, and escalade's own adapters are registered in its
``pyproject.toml`` the same way a third party registers its own::

    [project.entry-points."escalade.providers"]
    openai = "escalade.providers._openai:OpenAICompatibleProvider"
    mistral = "my_package.mistral:MistralProvider"    # a third-party plugin

What the entry point names is a :class:`ProviderFactory`, usually the provider class itself:
``from_options(key, options)`` builds the provider from the workspace's key (a
:class:`~escalade.providers._secrets.SecretKey`) and the run's :class:`ProviderOptions`, and
``default_models`` names its models per tier for a configuration that names none.

Listing the names loads nothing; loading one imports its module (and so its SDK).

>>> {"anthropic", "openai"} <= set(available_providers())
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Literal, Protocol

from escalade.exceptions import ConfigError
from escalade.providers._base import Provider
from escalade.providers._secrets import SecretKey

__all__ = ["PROVIDERS", "ProviderFactory", "ProviderOptions", "available_providers", "provider_factory"]

#: Entry-point group of provider factories (see :class:`ProviderFactory`).
PROVIDERS = "escalade.providers"


@dataclass(frozen=True, kw_only=True)
class ProviderOptions:
    """How a run reaches a provider, beyond the key; a provider ignores what does not apply to it."""

    #: The provider's API at another address (for OpenAI: any compatible server).
    base_url: str | None = None
    #: Whether answers are streamed.
    stream: bool = False
    #: Whether prompts are marked for the provider's prompt cache (Anthropic; OpenAI caches on its own).
    cache_prompts: bool = False
    #: Longest wait for one call, in seconds.
    timeout_s: float = 60.0
    #: ``fail``: a model with no known price is not called (the budget could not bound it);
    #: ``allow``: it is, and its unknown bills count as $0.
    unknown_costs: Literal["fail", "allow"] = "fail"


class ProviderFactory(Protocol):
    """What an ``escalade.providers`` entry point names; a :class:`Provider` subclass usually is one."""

    @property
    def default_models(self) -> Mapping[str, tuple[str, ...]]:
        """Models per tier name (``cheap``, ``capable``, ``premium``) when the configuration names none."""
        ...

    def from_options(self, key: SecretKey, options: ProviderOptions) -> Provider:
        """The provider, calling with ``key``."""
        ...


def available_providers() -> list[str]:
    """Names registered in the ``escalade.providers`` group, sorted."""
    return sorted({ep.name for ep in entry_points(group=PROVIDERS)})


def provider_factory(name: str) -> ProviderFactory:
    """The factory registered as ``name``; an unknown name is a :class:`ConfigError` listing the known ones."""
    found = [ep for ep in entry_points(group=PROVIDERS) if ep.name == name]
    if not found:
        known = ", ".join(available_providers()) or "none"
        raise ConfigError(f"unknown provider {name!r}; available: {known}", field="provider")
    try:
        factory = found[0].load()
    except Exception as exc:
        raise ConfigError(
            f"provider {name!r} ({found[0].value}) failed to load: {type(exc).__name__}: {exc}", field="provider"
        ) from exc
    if not callable(getattr(factory, "from_options", None)):
        raise ConfigError(f"provider {name!r} ({found[0].value}) has no from_options(key, options)", field="provider")
    return factory  # type: ignore[no-any-return]
