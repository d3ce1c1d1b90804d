"""The router: seed scenarios, precedence of override, bounds and classification, preferences."""

from __future__ import annotations

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder, Tier
from escalade.routing import Router, Task, TriggerCategory, WorkspacePreferences


@pytest.fixture
def ladder() -> Ladder:
    return Ladder(
        [
            Tier(name="cheap", rank=0, models=("local/llama", "openai/gpt-4o-mini")),
            Tier(name="capable", rank=1, models=("anthropic/claude-sonnet", "openai/gpt-4o")),
            Tier(name="premium", rank=2, models=("anthropic/claude-opus",)),
        ]
    )


SEED_SCENARIOS = [
    (
        Task(
            "Implement JWT authentication with OAuth2 integration",
            "implementation",
            ("services/orchestrator/auth.py", "services/orchestrator/security/middleware.py"),
        ),
        "premium",
        "authentication",
    ),
    (
        Task("Migrate user database schema", "implementation", ("models.py", "migrations/001_users.py")),
        "premium",
        "schema_migration",
    ),
    (Task("Change the primary button colour to blue", "enhancement", ("frontend/Button.tsx",)), "cheap", None),
    (
        Task("Design a RESTful API for orders with error handling", "design", ("api/orders.py",)),
        "premium",
        "api_contract",
    ),
]


@pytest.mark.parametrize(("task", "tier", "trigger"), SEED_SCENARIOS)
def test_seed_scenarios(ladder: Ladder, task: Task, tier: str, trigger: str | None) -> None:
    """Seed 001's four demo tasks: security, migration and API design escalate; a colour change stays cheap."""
    decision = Router(ladder).route(task)
    assert decision.tier == tier
    assert [t.name for t in decision.triggers][:1] == ([trigger] if trigger else [])
    if trigger:
        assert any(r.startswith("Escalate:") for r in decision.reasons)


def test_override_beats_bounds_and_triggers(ladder: Ladder) -> None:
    """A per-request override names the tier even outside the workspace's bounds."""
    prefs = WorkspacePreferences(max_tier="capable")
    decision = Router(ladder, preferences=prefs).route(Task("Fix a typo"), override="premium")
    assert decision.tier == "premium"
    assert decision.overridden
    assert decision.confidence == 1.0


def test_bounds_beat_classification_and_triggers(ladder: Ladder) -> None:
    """max_tier caps a trigger's escalation; min_tier raises a cheap classification."""
    capped = Router(ladder, preferences=WorkspacePreferences(max_tier="capable")).route(Task("Add JWT login"))
    assert capped.tier == "capable"
    assert "max_tier" in capped.reasons[-1]
    raised = Router(ladder, preferences=WorkspacePreferences(min_tier="capable")).route(Task("Fix a typo"))
    assert raised.tier == "capable"
    assert "min_tier" in raised.reasons[-1]


def test_triggers_beat_classification_only_with_auto_escalation(ladder: Ladder) -> None:
    """With auto-escalation off a trigger is reported but the classification stands."""
    task = Task("Add JWT login")
    off = Router(ladder, preferences=WorkspacePreferences(auto_escalation=False)).route(task)
    assert off.tier == "cheap"
    assert off.triggers[0].name == "authentication"
    assert "auto-escalation is off" in off.reasons[-1]


def test_weak_triggers_are_reported_not_acted_on(ladder: Ladder) -> None:
    """A trigger below min_trigger_confidence leaves the tier alone and is named in the reasons."""
    decision = Router(ladder).route(Task("Tidy up", files=("billing/helpers.py",)))  # path evidence 0.68
    assert decision.tier == "cheap"
    assert "not acted on: revenue_path" in decision.reasons[-1]


def test_default_tier_without_classifier_and_category_tiers(ladder: Ladder) -> None:
    """Without a classifier the default tier stands; trigger categories can map to a lower tier."""
    router = Router(
        ladder,
        classifier=None,
        preferences=WorkspacePreferences(default_tier="capable"),
        trigger_tiers={TriggerCategory.BUSINESS_IMPACT: "capable"},
    )
    assert router.route(Task("Say hello")).tier == "capable"
    assert router.route(Task("Handle refunds in checkout")).tier == "capable"
    assert router.route(Task("Swap bcrypt for argon2")).tier == "premium"


def test_preferred_providers_order_models(ladder: Ladder) -> None:
    """Preferred providers' models come first; no model is added or dropped."""
    prefs = WorkspacePreferences(preferred_providers=("openai",))
    decision = Router(ladder).route(Task("Fix a typo"), prefs)
    assert decision.models == ("openai/gpt-4o-mini", "local/llama")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preferences": WorkspacePreferences(min_tier="gold")}, "no tier named 'gold'"),
        ({"preferences": WorkspacePreferences(min_tier="premium", max_tier="cheap")}, "above max_tier"),
        ({"trigger_tiers": {TriggerCategory.SECURITY: "gold"}}, "not on the ladder"),
        ({"min_trigger_confidence": 1.5}, "min_trigger_confidence"),
    ],
)
def test_bad_router_settings(ladder: Ladder, kwargs: dict[str, object], message: str) -> None:
    """Unknown tiers, crossed bounds and out-of-range confidences are configuration errors."""
    with pytest.raises(ConfigError, match=message):
        Router(ladder, **kwargs)  # type: ignore[arg-type]


def test_bad_override_and_workspace(ladder: Ladder) -> None:
    """An override or a per-call workspace naming an unknown tier is an error naming it."""
    router = Router(ladder)
    with pytest.raises(ConfigError, match="'gold'"):
        router.route(Task("x"), override="gold")
    with pytest.raises(ConfigError, match="'gold'"):
        router.route(Task("x"), WorkspacePreferences(max_tier="gold"))
