"""The router: seed scenarios, seed 002's precedence (override > default > classification, then bounds)."""

from __future__ import annotations

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder, Tier
from escalade.routing import Classification, Router, Task, TriggerCategory, WorkspacePreferences


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
    """A per-request override names the tier even outside the workspace's bounds (seed 002)."""
    prefs = WorkspacePreferences(max_tier="capable")
    decision = Router(ladder, preferences=prefs).route(Task("Fix a typo"), override="premium")
    assert decision.tier == "premium"
    assert decision.overridden
    assert decision.confidence == 1.0


class _Fixed:
    """A classifier that always proposes ``rank``."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.calls = 0

    def classify(self, description: str, *, tiers: int) -> Classification:
        self.calls += 1
        return Classification(rank=self.rank, confidence=0.9, reasons=(f"fixed {self.rank}",))


# (classified rank, default tier, override, min, max) -> start tier. Seed 002: override > default > classification,
# the bounds clamping the default or the classification but never the override.
PRECEDENCE = [
    # classification alone, within, under and over the bounds
    (0, None, None, None, None, "cheap"),
    (2, None, None, None, None, "premium"),
    (0, None, None, "capable", None, "capable"),
    (2, None, None, None, "capable", "capable"),
    (1, None, None, "cheap", "premium", "capable"),
    # the default tier wins over the classification, both ways, and stays within its bounds
    (2, "cheap", None, None, None, "cheap"),
    (0, "premium", None, None, None, "premium"),
    (0, "capable", None, "capable", None, "capable"),
    (2, "capable", None, None, "capable", "capable"),
    (2, "capable", None, "cheap", "premium", "capable"),
    # the override wins over both, and the bounds do not apply to it
    (0, "capable", "premium", None, None, "premium"),
    (2, "capable", "cheap", None, None, "cheap"),
    (0, None, "premium", None, "capable", "premium"),
    (2, None, "cheap", "capable", None, "cheap"),
    (1, "capable", "premium", "capable", "capable", "premium"),
    (1, "capable", "cheap", "capable", "capable", "cheap"),
]


@pytest.mark.parametrize(("rank", "default", "override", "low", "high", "tier"), PRECEDENCE)
def test_precedence_override_default_classification_then_bounds(
    ladder: Ladder, rank: int, default: str | None, override: str | None, low: str | None, high: str | None, tier: str
) -> None:
    """Every combination of override, default tier and classification with min/max bounds starts as seed 002 says."""
    classifier = _Fixed(rank)
    prefs = WorkspacePreferences(min_tier=low, max_tier=high, default_tier=default)
    router = Router(ladder, classifier=classifier, preferences=prefs, analyzer=None)
    decision = router.route(Task("Say hello"), override=override)
    assert decision.tier == tier
    assert decision.overridden is (override is not None)
    assert classifier.calls == (1 if default is None and override is None else 0)
    if default is not None and override is None:
        assert decision.classification is None
        assert decision.reasons[0] == f"workspace default tier {default!r} (ahead of classification)"


def test_default_tier_beats_the_classifier(ladder: Ladder) -> None:
    """With the stock classifier present, a workspace default tier is still the start (it used to be ignored)."""
    decision = Router(ladder).route(Task("Fix a typo in the README"), WorkspacePreferences(default_tier="capable"))
    assert decision.tier == "capable"
    assert decision.classification is None


def test_triggers_raise_a_default_tier_only_with_auto_escalation(ladder: Ladder) -> None:
    """A confident trigger raises a default tier when auto-escalation is on; with it off the default holds."""
    task = Task("Add JWT login")
    raised = Router(ladder).route(task, WorkspacePreferences(default_tier="cheap"))
    assert raised.tier == "premium"
    held = Router(ladder).route(task, WorkspacePreferences(default_tier="cheap", auto_escalation=False))
    assert held.tier == "cheap"
    assert "auto-escalation is off" in held.reasons[-1]
    capped = Router(ladder).route(task, WorkspacePreferences(default_tier="cheap", max_tier="capable"))
    assert capped.tier == "capable"


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
    assert Router(ladder, classifier=None).route(Task("Say hello")).tier == "cheap"


def test_preferred_providers_order_models(ladder: Ladder) -> None:
    """Preferred providers' models come first; no model is added or dropped."""
    prefs = WorkspacePreferences(preferred_providers=("openai",))
    decision = Router(ladder).route(Task("Fix a typo"), prefs)
    assert decision.models == ("openai/gpt-4o-mini", "local/llama")


def test_preferred_models_come_first_on_their_tier(ladder: Ladder) -> None:
    """A tier's preferred models lead, then preferred providers'; a model not on the tier is never added."""
    prefs = WorkspacePreferences(
        preferred_models={"capable": ("openai/gpt-4o", "other/not-on-tier")}, preferred_providers=("anthropic",)
    )
    decision = Router(ladder).route(Task("Fix a typo"), prefs, override="capable")
    assert decision.models == ("openai/gpt-4o", "anthropic/claude-sonnet")
    assert prefs.models_for(ladder, "cheap") == ("local/llama", "openai/gpt-4o-mini")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"preferences": WorkspacePreferences(min_tier="gold")}, "no tier named 'gold'"),
        ({"preferences": WorkspacePreferences(min_tier="premium", max_tier="cheap")}, "above max_tier"),
        ({"preferences": WorkspacePreferences(default_tier="cheap", min_tier="capable")}, "below min_tier"),
        ({"preferences": WorkspacePreferences(default_tier="premium", max_tier="capable")}, "above max_tier"),
        ({"preferences": WorkspacePreferences(preferred_models={"gold": ("a/b",)})}, "'preferred_models'.*'gold'"),
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
