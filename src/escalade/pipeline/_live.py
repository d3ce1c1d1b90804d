"""What a live request of a workspace uses: the provider with the workspace's key, the shared ledger and
budget, and a cache-aware model order. ``escalade run``, ``ask``, ``testgen`` and ``escalade serve`` all
build it here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from escalade.budget import BudgetLedger, WorkspaceBudget
from escalade.providers import Provider, ProviderOptions, SecretKey, live_provider
from escalade.routing import CacheAwareRouter, CachePolicy, PrefixMemory, default_cache_policy
from escalade.store import KeyVault, SqlStore

__all__ = ["LiveResources", "workspace_resources"]


@dataclass(frozen=True, kw_only=True)
class LiveResources:
    """What a live run uses: the provider with the key, the shared ledger and budget, the cache-aware order."""

    provider: Provider
    ledger: BudgetLedger
    workspace_budget: WorkspaceBudget
    router: CacheAwareRouter


def workspace_resources(
    store: SqlStore,
    provider: str,
    *,
    workspace: str,
    options: ProviderOptions,
    expected_output_tokens: int,
    ledger: BudgetLedger | None = None,
    key: SecretKey | None = None,
) -> LiveResources:
    """The provider with ``workspace``'s key (or ``key``), the store's ledger (or ``ledger``) and the
    workspace's budget.

    Claude prompts are written to the prompt cache only when ``options.cache_prompts`` is on.
    """
    key = key or KeyVault(store).get(provider, workspace=workspace)
    live = live_provider(provider, key, options)
    writes = options.cache_prompts

    def policy(model: str) -> CachePolicy:
        found = default_cache_policy(model)
        return dataclasses.replace(found, writes=False) if "claude" in model.lower() and not writes else found

    return LiveResources(
        provider=live,
        ledger=ledger or store.ledger(),
        workspace_budget=store.workspace_budget(workspace) or WorkspaceBudget(workspace=workspace),
        router=CacheAwareRouter(PrefixMemory(policy=policy), expected_output_tokens=expected_output_tokens),
    )
