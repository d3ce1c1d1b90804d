"""The live-provider options shared by ``escalade run`` and ``escalade testgen``, and what they build."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from escalade.cli.common import fail
from escalade.providers import ProviderOptions, available_providers

if TYPE_CHECKING:
    from escalade.pipeline import LiveResources
    from escalade.store import SqlStore

__all__ = ["LiveOptions", "check_live_options", "live_provider_names", "live_resources"]

#: How messages list the built-in providers; providers from plugins follow, by name.
_LISTED_FIRST = ("openai", "anthropic")


@dataclass(frozen=True, kw_only=True)
class LiveOptions:
    """How to reach a live provider, from the command line."""

    provider: str
    workspace: str
    base_url: str | None
    stream: bool
    cache_prompts: bool
    timeout_s: float
    unknown_prices: Literal["fail", "allow"]


def check_live_options(
    provider: str,
    *,
    offline: str,
    workspace: str | None,
    base_url: str | None,
    stream: bool,
    cache_prompts: bool,
    timeout: float | None,
    unknown_prices: str | None,
) -> LiveOptions | None:
    """The options of a live run (``None`` when ``provider`` is the offline one), checked: each error is one line."""
    names = live_provider_names()
    if provider not in (offline, *names):
        raise fail(f"--provider must be {offline}, {' or '.join(names)}; got {provider!r}")
    live_only = {
        "--base-url": base_url is not None,
        "--stream": stream,
        "--workspace": workspace is not None,
        "--timeout": timeout is not None,
        "--unknown-prices": unknown_prices is not None,
    }
    if provider == offline and (given := [name for name, used in live_only.items() if used]):
        raise fail(f"{', '.join(given)} go(es) with a live --provider (openai or anthropic), not with {offline}")
    if provider != "anthropic" and cache_prompts:
        raise fail("--cache-prompts goes with --provider anthropic (OpenAI caches long prompts on its own)")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise fail(f"--timeout must be a number of seconds > 0, got {timeout}")
    if unknown_prices not in (None, "fail", "allow"):
        raise fail(f"--unknown-prices must be fail or allow, got {unknown_prices!r}")
    if provider == offline:
        return None
    return LiveOptions(
        provider=provider,
        workspace=workspace or "default",
        base_url=base_url,
        stream=stream,
        cache_prompts=cache_prompts,
        timeout_s=timeout or 60.0,
        unknown_prices="allow" if unknown_prices == "allow" else "fail",
    )


def live_provider_names() -> list[str]:
    """The providers registered under ``escalade.providers``: the built-ins first, then plugins by name."""
    names = available_providers()
    return [name for name in _LISTED_FIRST if name in names] + [name for name in names if name not in _LISTED_FIRST]


def live_resources(store: SqlStore, live: LiveOptions, *, expected_output_tokens: int) -> LiveResources:
    """The provider with the workspace's key, the store's ledger and the workspace's budget, a cache-aware router."""
    from escalade.pipeline import workspace_resources

    options = ProviderOptions(
        base_url=live.base_url,
        stream=live.stream,
        cache_prompts=live.cache_prompts,
        timeout_s=live.timeout_s,
        unknown_costs=live.unknown_prices,
    )
    return workspace_resources(
        store,
        live.provider,
        workspace=live.workspace,
        options=options,
        expected_output_tokens=expected_output_tokens,
    )
