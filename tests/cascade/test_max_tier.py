"""A work item's ceiling: the executor never climbs past ``WorkItem.max_tier``, but falls back within it."""

from __future__ import annotations

import pytest

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import ConfigError, RateLimitedError
from escalade.ladder import EscalationConfig
from escalade.providers import ScriptedProvider
from escalade.quality import FailureAnalysis


def test_an_item_never_climbs_past_its_max_tier(three_tier_config: EscalationConfig) -> None:
    """Capped at capable, an item no answer satisfies stops there; uncapped, it reaches premium."""
    provider = ScriptedProvider({"a": ["x"] * 4, "b": ["y"] * 4, "c": ["z"] * 4, "p": ["w"] * 4})
    never = FailureAnalysis(signals={"ok": 0.0}, weights={"ok": 1.0})
    run = ProgressiveExecutor(three_tier_config, provider, scorer=lambda ctx: never).run_sync(
        [WorkItem(id="capped", prompt="q", max_tier="capable"), WorkItem(id="free", prompt="q")]
    )
    capped, free = run.items
    assert [t.tier for t in capped.tiers] == ["cheap", "capable"]
    assert "may not climb above tier 'capable'" in (capped.tiers[-1].escalation_reason or "")
    assert [t.tier for t in free.tiers] == ["cheap", "capable", "premium"]


def test_a_capped_item_still_falls_back_within_its_tier(three_tier_config: EscalationConfig) -> None:
    """Capped on cheap, a rate-limited model hands over to the tier's other model."""
    provider = ScriptedProvider({"a": [RateLimitedError("429", model="a")], "b": ["B", "B"]})
    run = ProgressiveExecutor(three_tier_config, provider).run_sync([WorkItem(id="1", prompt="q", max_tier="cheap")])
    item = run.items[0]
    assert [a.model for t in item.tiers for a in t.attempts][:2] == ["a", "b"]
    assert {t.tier for t in item.tiers} == {"cheap"}


def test_an_unknown_max_tier_is_a_clear_error(three_tier_config: EscalationConfig) -> None:
    """A max_tier naming no tier says which tiers exist."""
    executor = ProgressiveExecutor(three_tier_config, ScriptedProvider({}))
    with pytest.raises(ConfigError, match="no tier named 'gold'"):
        executor.run_sync([WorkItem(id="1", prompt="q", max_tier="gold")])
