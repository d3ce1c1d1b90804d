"""Whether an item climbs from a tier, and where to: the ladder's next tier, the item's ceiling, rate limits.

An item climbs to the next tier of the ladder unless climbing is off (``enabled=False``), the item
is on its ``max_tier`` (a request that must not climb, e.g. with auto-escalation off, still falls
back between that tier's models), or every model of its tier was only rate limited while
``escalate_on_rate_limit`` is off.
"""

from __future__ import annotations

from escalade.cascade._items import ItemState, WorkItem
from escalade.exceptions import ContextWindowError, RateLimitedError
from escalade.ladder import EscalationConfig, Tier

__all__ = ["capped", "held_by_rate_limit", "next_tier"]


def next_tier(config: EscalationConfig, item: WorkItem, tier: Tier) -> Tier | None:
    """The tier to climb to: none when climbing is off, the item is on its ``max_tier`` or at the top."""
    if not config.enabled or capped(config, item, tier):
        return None
    return config.tiers.next_after(tier)


def capped(config: EscalationConfig, item: WorkItem, tier: Tier) -> bool:
    """Whether ``tier`` is the item's ceiling (or above it) while the ladder goes higher."""
    ladder = config.tiers
    if item.max_tier is None or ladder.next_after(tier) is None:
        return False
    return ladder.index_of(tier) >= ladder.index_of(item.max_tier)


def held_by_rate_limit(config: EscalationConfig, state: ItemState, tier: Tier) -> str | None:
    """Why the item stays put instead of climbing: its tier answered nothing, only for rate limits."""
    if config.escalate_on_rate_limit or any(a.error is None for a in state.current):
        return None
    errors = [e for e in state.errors if not isinstance(e, ContextWindowError)]
    if not errors or not all(isinstance(e, RateLimitedError) for e in errors):
        return None
    return (
        f"every model of tier {tier.name!r} was rate limited and escalate_on_rate_limit is off, "
        "so the item did not climb"
    )
