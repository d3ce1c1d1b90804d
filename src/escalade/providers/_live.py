"""Live providers for ``escalade run --provider NAME``: the adapter found by name, and its default ladder.

Providers are found by name in the ``escalade.providers`` entry-point group (see
:mod:`escalade.providers._registry`), where the built-in ``openai`` and ``anthropic`` adapters are
registered the way a third-party provider is. Their modules import their official SDK, so they are
imported only when a live provider is asked for; importing this module costs nothing. The caller
hands over the key as a :class:`~escalade.providers._secrets.SecretKey` (the CLI reads the
workspace's from the :class:`~escalade.store._keys.KeyVault`, a layer above), so providers depend on no
key store, configuration or dataset. Planning a dataset's rows for a live run is
:func:`escalade.replay.plan_live`.

When the configuration names no models, each provider's ``default_models`` make the ladder: for
the built-ins, current models that genai-prices knows the price of (so every bill is known).
OpenAI's cheap tier has two models, so that its two attempts are independent opinions; Anthropic
has one current small model, so a lone cheap answer can only be corroborated by a stronger tier.

>>> [t.models for t in default_ladder("openai", Ladder.default())]
[('gpt-4.1-nano', 'gpt-4o-mini'), ('gpt-4.1-mini',), ('gpt-4.1',)]
"""

from __future__ import annotations

import logging
from dataclasses import replace

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.providers._base import Provider
from escalade.providers._registry import ProviderOptions, provider_factory
from escalade.providers._secrets import SecretKey

__all__ = ["default_ladder", "live_provider"]

logger = logging.getLogger(__name__)


def default_ladder(provider: str, base: Ladder) -> Ladder:
    """``base`` with the provider's default models on its cheap, capable and premium tiers."""
    models = provider_factory(provider).default_models
    if not models:
        raise ConfigError(f"no default models for provider {provider!r}; name the models in the config", field="tiers")
    unknown = [t.name for t in base if t.name not in models]
    if unknown:
        raise ConfigError(
            f"tier(s) {', '.join(unknown)} have no default {provider} models; name the models in the config",
            field="tiers",
        )
    return Ladder(replace(t, models=models[t.name]) for t in base)


def live_provider(name: str, key: SecretKey, options: ProviderOptions | None = None) -> Provider:
    """The adapter registered as ``name``, calling with ``key`` (the caller reads it from its key store)."""
    options = options or ProviderOptions()
    endpoint = "custom" if options.base_url else "default"
    logger.debug("live provider %s: key from %s, %s endpoint, stream %s", name, key.source, endpoint, options.stream)
    return provider_factory(name).from_options(key, options)
