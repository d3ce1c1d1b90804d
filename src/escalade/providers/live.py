"""Live providers for ``escalade run --provider NAME``: the adapter found by name, its default ladder, its key.

Providers are found by name in the ``escalade.providers`` entry-point group (see
:mod:`escalade.providers._registry`), where the built-in ``openai`` and ``anthropic`` adapters are
registered the way a third-party provider is. Their modules import their official SDK, so they are
imported only when a live provider is asked for; importing this module costs nothing. A
workspace's key comes from the :class:`~escalade.keys.KeyVault` (stored encrypted, else the
provider's usual environment variable); with neither, :class:`~escalade.exceptions.MissingKeyError`
says how to set one.

When the configuration names no models, each provider's ``default_models`` make the ladder: for
the built-ins, current models that genai-prices knows the price of (so every bill is known).
OpenAI's cheap tier has two models, so that its two attempts are independent opinions; Anthropic
has one current small model, so a lone cheap answer can only be corroborated by a stronger tier.

>>> [t.models for t in default_ladder("openai", Ladder.default())]
[('gpt-4.1-nano', 'gpt-4o-mini'), ('gpt-4.1-mini',), ('gpt-4.1',)]
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from escalade.config import EscalationConfig
from escalade.datasets import BenchmarkDataset
from escalade.exceptions import ConfigError
from escalade.keys import KeyVault
from escalade.providers._registry import ProviderOptions, provider_factory
from escalade.providers.base import Provider
from escalade.replay import ReplayPlan, select_rows, work_items
from escalade.tiers import Ladder

__all__ = ["default_ladder", "live_provider", "plan_live"]


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


def live_provider(
    name: str,
    vault: KeyVault,
    *,
    workspace: str = "default",
    base_url: str | None = None,
    stream: bool = False,
    cache_prompts: bool = False,
    timeout_s: float = 60.0,
    unknown_costs: Literal["fail", "allow"] = "fail",
) -> Provider:
    """The adapter registered as ``name``, with the workspace's key (``base_url``: any OpenAI-compatible server)."""
    factory = provider_factory(name)
    options = ProviderOptions(
        base_url=base_url, stream=stream, cache_prompts=cache_prompts, timeout_s=timeout_s, unknown_costs=unknown_costs
    )
    return factory.from_options(vault.get(name, workspace=workspace), options)


def plan_live(
    dataset: BenchmarkDataset, split: str, config: EscalationConfig, provider: str, *, limit: int | None = None
) -> ReplayPlan:
    """Rows, work items and the ladder for sending ``split`` to a live provider.

    The ladder is the configuration's, or the provider's defaults when the configuration names no
    models; a configuration that names models for only some tiers is an error.
    """
    rows = select_rows(dataset, split, limit)
    ladder = config.tiers
    notes = [f"live provider {provider}: every answer is a real, billed call"]
    if not any(t.models for t in ladder):
        ladder = default_ladder(provider, ladder)
        notes.append(f"{provider} default models: " + "; ".join(f"{t.name}={', '.join(t.models)}" for t in ladder))
    elif empty := [t.name for t in ladder if not t.models]:
        raise ConfigError(
            f"tier(s) {', '.join(empty)} name no models; give every tier models, or none at all for the "
            f"{provider} defaults",
            field="tiers",
        )
    return ReplayPlan(
        config=config.replace(tiers=ladder), rows=tuple(rows), items=work_items(dataset, rows), notes=tuple(notes)
    )
