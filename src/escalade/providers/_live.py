"""Live providers for ``escalade run --provider openai|anthropic``: the adapter, its default ladder, its key.

The adapters import their official SDK, so they are imported here only when a live provider is
asked for; importing this module costs nothing. A workspace's key comes from the
:class:`~escalade.store._keys.KeyVault` (stored encrypted, else the provider's usual environment variable);
with neither, :class:`~escalade.exceptions.MissingKeyError` says how to set one.

When the configuration names no models, each provider has a default ladder of current models that
genai-prices knows the price of (so every bill is known). OpenAI's cheap tier has two models, so
that its two attempts are independent opinions; Anthropic has one current small model, so a lone
cheap answer can only be corroborated by a stronger tier.

>>> [t.models for t in default_ladder("openai", Ladder.default())]
[('gpt-4.1-nano', 'gpt-4o-mini'), ('gpt-4.1-mini',), ('gpt-4.1',)]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Literal

from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder
from escalade.providers._base import Provider
from escalade.replay import BenchmarkDataset, ReplayPlan, select_rows, work_items
from escalade.store import KeyVault

__all__ = ["DEFAULT_MODELS", "LIVE_PROVIDERS", "LiveProviderName", "default_ladder", "live_provider", "plan_live"]

logger = logging.getLogger(__name__)

#: Providers ``escalade run`` can call.
LiveProviderName = Literal["openai", "anthropic"]
LIVE_PROVIDERS: tuple[LiveProviderName, ...] = ("openai", "anthropic")

#: Models per tier when the configuration names none.
DEFAULT_MODELS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "openai": {
        "cheap": ("gpt-4.1-nano", "gpt-4o-mini"),
        "capable": ("gpt-4.1-mini",),
        "premium": ("gpt-4.1",),
    },
    "anthropic": {  # one current Haiku: a lone cheap answer is corroborated by the capable tier, if at all
        "cheap": ("claude-haiku-4-5",),
        "capable": ("claude-sonnet-4-6",),
        "premium": ("claude-opus-4-6",),
    },
}


def default_ladder(provider: str, base: Ladder) -> Ladder:
    """``base`` with the provider's default models on its cheap, capable and premium tiers."""
    models = DEFAULT_MODELS.get(provider)
    if models is None:
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
    """The adapter for ``name`` with the workspace's key (``base_url``: any OpenAI-compatible server)."""
    if name not in LIVE_PROVIDERS:
        raise ConfigError(f"unknown provider {name!r}; live providers: {', '.join(LIVE_PROVIDERS)}", field="provider")
    key = vault.get(name, workspace=workspace)
    logger.debug(
        "live provider %s for workspace %r: key from %s, %s endpoint, stream %s",
        name,
        workspace,
        key.source,
        "custom" if base_url else "default",
        stream,
    )
    if name == "anthropic":
        from escalade.providers._anthropic import AnthropicProvider  # noqa: PLC0415  (imports the SDK)

        return AnthropicProvider(
            key,
            base_url=base_url,
            stream=stream,
            cache_prompts=cache_prompts,
            timeout_s=timeout_s,
            unknown_costs=unknown_costs,
        )
    from escalade.providers._openai import OpenAICompatibleProvider  # noqa: PLC0415  (imports the SDK)

    return OpenAICompatibleProvider(
        key, base_url=base_url, stream=stream, timeout_s=timeout_s, unknown_costs=unknown_costs
    )


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
