"""Seed 002's behaviours through its names (CognitiveTierService, generate_with_cognitive_tier) and the one-call API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from escalade.budget import MemoryLedger, WorkspaceBudget
from escalade.cascade import ProgressiveExecutor
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline import CognitiveTierService, Escalade, generate_with_cognitive_tier, stored_preferences
from escalade.providers import ScriptedProvider
from escalade.quality import FailureAnalysis
from escalade.routing import WorkspacePreferences
from escalade.store import SqlStore

JWT = "Implement JWT authentication with OAuth2"
TYPO = "Fix a typo in the README"
LONG = "Review this contract clause by clause. " * 1500


def _config() -> EscalationConfig:
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("c1", "c2"), threshold=0.0, min_attempts=1, team_size=1),
            Tier(name="capable", rank=1, models=("m1",), threshold=0.0, min_attempts=1, team_size=1),
            Tier(name="premium", rank=2, models=("p1",), threshold=0.0, min_attempts=1, team_size=1),
        ]
    )
    return EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)


def _service(prefs: WorkspacePreferences | None = None, **options: Any) -> CognitiveTierService:
    return CognitiveTierService("default", preferences=prefs, **options)


# -- tier selection ----------------------------------------------------------------------------------
def test_select_tier_uses_classifier() -> None:
    """With no preference, the classifier and triggers decide: auth work is premium, a typo cheap."""
    service = _service()
    assert service.select_tier(JWT, "implementation") == "premium"
    assert service.select_tier(TYPO, "docs") == "cheap"


def test_select_tier_applies_min_constraint() -> None:
    """The workspace's min_tier raises a cheap task."""
    assert _service(WorkspacePreferences(min_tier="capable")).select_tier(TYPO) == "capable"


def test_select_tier_applies_max_constraint() -> None:
    """The workspace's max_tier caps a premium task."""
    assert _service(WorkspacePreferences(max_tier="capable")).select_tier(JWT) == "capable"


def test_select_tier_user_override() -> None:
    """An override names the tier outright, even above the workspace's max_tier."""
    service = _service(WorkspacePreferences(max_tier="capable"))
    assert service.select_tier(TYPO, None, user_tier_override="premium") == "premium"


def test_select_tier_default_preference() -> None:
    """A workspace default tier wins over classification (seed 002's order); one outside the bounds is refused."""
    assert _service(WorkspacePreferences(default_tier="capable")).select_tier(TYPO) == "capable"
    with pytest.raises(ConfigError, match="default_tier 'capable' is below min_tier 'premium'"):
        _service(WorkspacePreferences(default_tier="capable", min_tier="premium"))


def test_select_tier_unknown_override_is_a_clear_error() -> None:
    """An override naming no tier says which tiers exist."""
    with pytest.raises(ConfigError, match="no tier named 'gold'"):
        _service().select_tier(TYPO, None, "gold")


# -- model choice ------------------------------------------------------------------------------------
def _two_model_service(prefs: WorkspacePreferences | None = None) -> CognitiveTierService:
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("gpt-4o-mini",)),
            Tier(name="capable", rank=1, models=("gpt-4o", "claude-sonnet-4-5")),
            Tier(name="premium", rank=2, models=()),
        ]
    )
    return _service(prefs, config=EscalationConfig(tiers=tiers))


def test_get_optimal_model_uses_cache_routing() -> None:
    """A warm prompt cache makes the dearer model at list price the cheaper choice."""
    service = _two_model_service()
    cold = service.get_optimal_model("capable", 15_000, prompt=LONG)
    service.cache_router.memory.observe("claude-sonnet-4-5", LONG)
    warm = service.get_optimal_model("capable", 15_000, prompt=LONG)
    assert cold is not None
    assert warm is not None
    assert (cold[1], warm[1]) == ("gpt-4o", "claude-sonnet-4-5")


def test_get_optimal_model_filters_by_preferred_providers() -> None:
    """Preferred providers' models come first whatever their price."""
    tiers = Ladder([Tier(name="cheap", rank=0, models=("openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"))])
    service = _service(WorkspacePreferences(preferred_providers=("anthropic",)), config=EscalationConfig(tiers=tiers))
    assert service.get_optimal_model("cheap", 100) == ("anthropic", "anthropic/claude-sonnet-4-5")


def test_get_optimal_model_fallback_on_no_match() -> None:
    """A tier with no models gives None."""
    assert _two_model_service().get_optimal_model("premium", 100) is None


# -- cost --------------------------------------------------------------------------------------------
def test_calculate_request_cost_includes_cache_discount() -> None:
    """Tokens are estimated from the prompt; a warm cache gives a discount; cents are the effective cost."""
    service = _two_model_service()
    cold = service.calculate_request_cost(LONG, "capable", "claude-sonnet-4-5")
    assert cold["cache_discount"] == 0
    assert cold["estimated_tokens"] == pytest.approx(len(LONG) / 4, rel=0.01)
    service.cache_router.memory.observe("claude-sonnet-4-5", LONG)
    warm = service.calculate_request_cost(LONG, "capable", "claude-sonnet-4-5")
    assert warm["cache_discount"] > 0
    assert warm["effective_cost"] < warm["full_cost"] == cold["full_cost"]
    assert warm["cost_cents"] == pytest.approx(warm["effective_cost"] * 100)
    assert set(warm) >= {"cost_cents", "effective_cost", "full_cost", "cache_discount"}


def test_calculate_request_cost_picks_the_model() -> None:
    """Without a model, the cost is the optimal model's."""
    assert _two_model_service().calculate_request_cost("hello", "capable")["model"] == "gpt-4o"


# -- budget ------------------------------------------------------------------------------------------
def _budget_service(budget: WorkspaceBudget, ledger: MemoryLedger) -> CognitiveTierService:
    provider = ScriptedProvider({"c1": ["4"]}, cost_per_call=0.004)
    ai = Escalade(
        workspace=budget.workspace,
        config=_config(),
        provider=provider,
        ledger=ledger,
        workspace_budget=budget,
        scorer=lambda ctx: _passing(),
    )
    return CognitiveTierService(budget.workspace, escalade=ai)


def _passing() -> FailureAnalysis:
    return FailureAnalysis(signals={"ok": 1.0}, weights={"ok": 1.0})


def test_check_budget_within_limits() -> None:
    """Under both caps is allowed."""
    budget = WorkspaceBudget(workspace="a", monthly_limit_usd=1.0, per_request_limit_usd=0.1)
    assert _budget_service(budget, MemoryLedger()).check_budget_constraint(5.0)


def test_check_budget_per_request_exceeded() -> None:
    """A request above the per-request cap is refused."""
    budget = WorkspaceBudget(workspace="a", per_request_limit_usd=0.01)
    assert not _budget_service(budget, MemoryLedger()).check_budget_constraint(2.0)


def test_check_budget_monthly_exceeded() -> None:
    """Once the month is spent, the next request is refused; the spend came from a real request."""
    budget = WorkspaceBudget(workspace="a", monthly_limit_usd=0.005)
    service = _budget_service(budget, MemoryLedger())
    assert service.check_budget_constraint(0.4)
    service.escalade.generate("2 + 2?")  # spends $0.004 of the $0.005
    assert not service.check_budget_constraint(0.2)
    assert service.check_budget_constraint(0.05)


def test_workspace_isolation() -> None:
    """A's spend, preferences and budget never affect B, even on one ledger."""
    ledger = MemoryLedger()
    a = _budget_service(WorkspaceBudget(workspace="a", monthly_limit_usd=0.005), ledger)
    b = _budget_service(WorkspaceBudget(workspace="b", monthly_limit_usd=0.005), ledger)
    a.escalade.generate("2 + 2?")
    assert not a.check_budget_constraint(0.2)
    assert b.check_budget_constraint(0.2)
    strict = _service(WorkspacePreferences(min_tier="premium"))
    assert strict.select_tier(TYPO) == "premium"
    assert _service().select_tier(TYPO) == "cheap"


# -- escalation --------------------------------------------------------------------------------------
def test_handle_escalation_on_quality_error_and_rate_limit() -> None:
    """Low quality, an error or a rate limit climb one tier; a good answer or the top tier does not."""
    service = _service()
    assert service.handle_escalation("cheap", 40.0, None, False, "r") == "capable"
    assert service.handle_escalation("cheap", None, "timeout", False, "r") == "capable"
    assert service.handle_escalation("capable", None, None, True, "r") == "premium"
    assert service.handle_escalation("cheap", 99.0, None, False, "r") is None
    assert service.handle_escalation("premium", 0.0, "boom", True, "r") is None


def test_handle_escalation_checks_preference_enabled() -> None:
    """With auto-escalation off, nothing climbs; the workspace's max_tier caps climbing."""
    assert _service(WorkspacePreferences(auto_escalation=False)).handle_escalation("cheap", 0.0, "x", True) is None
    assert _service(WorkspacePreferences(max_tier="capable")).handle_escalation("capable", 0.0) is None


def test_handle_escalation_delegates_to_the_cascade() -> None:
    """The escalation manager is the cascade's executor: one loop for batch runs and single requests."""
    assert isinstance(_service().escalation_manager, ProgressiveExecutor)


def test_rate_limit_escalation_honours_the_config() -> None:
    """With escalate_on_rate_limit off, a rate limit does not climb."""
    config = EscalationConfig(escalate_on_rate_limit=False).replace(tiers=_config().tiers)
    assert _service(config=config).handle_escalation("cheap", None, None, True) is None


# -- the full pipeline -------------------------------------------------------------------------------
def test_generate_with_cognitive_tier_full_pipeline() -> None:
    """The seed's dict: response, tier, provider and model, from the one-call API."""
    provider = ScriptedProvider({"c1": ["4"]})
    service = CognitiveTierService(provider=provider, config=_config())
    answer = asyncio.run(service.generate_with_cognitive_tier("2 + 2?", task_type="math"))
    assert (answer["response"], answer["tier"], answer["model"]) == ("4", "cheap", "c1")
    assert answer["result"].models_tried == ("c1",)


def test_generate_with_cognitive_tier_user_override() -> None:
    """The override picks the start tier."""
    provider = ScriptedProvider({"p1": ["4"]})
    service = CognitiveTierService(provider=provider, config=_config())
    answer = asyncio.run(service.generate_with_cognitive_tier("2 + 2?", user_tier_override="premium"))
    assert (answer["tier"], answer["model"]) == ("premium", "p1")


def test_generate_with_cognitive_tier_budget_check() -> None:
    """A refused budget answers the seed's error dict instead of calling."""
    budget = WorkspaceBudget(workspace="a", per_request_limit_usd=0.001)
    answer = asyncio.run(_budget_service(budget, MemoryLedger()).generate_with_cognitive_tier("2 + 2?"))
    assert (answer["error"], answer["tier"]) == ("Budget exceeded", "cheap")


def test_module_function_takes_an_escalade() -> None:
    """generate_with_cognitive_tier(escalade, prompt) is the same pipeline."""
    ai = Escalade(config=_config(), provider=ScriptedProvider({"c1": ["4"]}))
    assert asyncio.run(generate_with_cognitive_tier(ai, "2 + 2?"))["response"] == "4"


def test_a_service_without_a_provider_routes_but_does_not_call() -> None:
    """Built as the seed builds it (no provider), it routes and prices; generating says what is missing."""
    service = CognitiveTierService()
    answer = asyncio.run(service.generate_with_cognitive_tier("2 + 2?"))
    assert answer["response"] is None
    assert "has no provider" in (answer["result"].attempts[0].error or "")


def test_the_seed_verification_snippet(db_url: str) -> None:
    """Seed 002's verification, as written: the service has a classifier, a cache router, an escalation manager."""
    db = SqlStore(db_url)
    s = CognitiveTierService("default", db)
    assert hasattr(s, "classifier")
    assert hasattr(s, "cache_router")
    assert hasattr(s, "escalation_manager")
    assert s.get_workspace_preference() is None
    db.close()


def test_a_request_is_stored(db_url: str) -> None:
    """With a store, the request's run is saved like any other run."""
    store = SqlStore(db_url)
    ai = Escalade(store, "default", _config(), provider=ScriptedProvider({"c1": ["4"]}))
    result = ai.generate("2 + 2?")
    assert store.get_run(result.run_id).run_id == result.run_id
    ai.close()
    store.close()


def test_stored_preferences_are_read_when_the_store_keeps_them() -> None:
    """A store with workspace_preferences(name) gives the workspace's preferences; one without gives None."""

    class Keeps:
        def workspace_preferences(self, name: str) -> WorkspacePreferences:
            return WorkspacePreferences(min_tier="capable") if name == "a" else WorkspacePreferences()

    assert stored_preferences(Keeps(), "a") == WorkspacePreferences(min_tier="capable")
    assert stored_preferences(object(), "a") is None
