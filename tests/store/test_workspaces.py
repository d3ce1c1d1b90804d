"""Workspace preferences in the store (SQLite and PostgreSQL): defaults, upsert, list, delete, validation, isolation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from escalade.budget import WorkspaceBudget
from escalade.exceptions import BudgetExceededError, ConfigError
from escalade.ladder import Ladder, Tier
from escalade.routing import QualityPolicy, Router, Task, WorkspacePreferences
from escalade.store import SqlStore, WorkspacePreferencesRow, check_workspace_name

FULL = WorkspacePreferences(
    min_tier="cheap",
    max_tier="capable",
    default_tier="capable",
    preferred_providers=("anthropic", "openai"),
    preferred_models={"capable": ("openai/gpt-4o", "anthropic/claude-sonnet"), "cheap": ("local/llama",)},
    auto_escalation=False,
    quality_policy=QualityPolicy(scorer="consensus", threshold=82.5),
)


def test_unset_workspace_has_the_defaults(store: SqlStore) -> None:
    """A workspace with nothing stored routes with WorkspacePreferences(); nothing is listed."""
    assert store.workspace_preferences("acme") == WorkspacePreferences()
    assert store.stored_workspace_preferences("acme") is None
    assert store.workspaces() == []


def test_set_get_upsert_list_delete(store: SqlStore) -> None:
    """Every field round-trips; a second set replaces the first; list is sorted; delete restores the defaults."""
    store.set_workspace_preferences("zeta", FULL)
    assert store.workspace_preferences("zeta") == FULL
    store.set_workspace_preferences("zeta", WorkspacePreferences(min_tier="capable"))
    assert store.workspace_preferences("zeta") == WorkspacePreferences(min_tier="capable")
    store.set_workspace_preferences("alpha", WorkspacePreferences())
    store.put_workspace_budget(WorkspaceBudget(workspace="budget-only", monthly_limit_usd=5.0))
    assert store.preferences.names() == ["alpha", "zeta"]
    assert store.workspaces() == ["alpha", "budget-only", "zeta"]
    assert store.delete_workspace_preferences("zeta") is True
    assert store.delete_workspace_preferences("zeta") is False
    assert store.workspace_preferences("zeta") == WorkspacePreferences()
    assert store.workspaces() == ["alpha", "budget-only"]


def test_set_checks_against_a_ladder_and_stores_nothing_when_bad(store: SqlStore) -> None:
    """With a ladder, a tier not on it is refused (naming the field) and nothing is written."""
    with pytest.raises(ConfigError, match="no tier named 'gold'") as caught:
        store.set_workspace_preferences("acme", WorkspacePreferences(max_tier="gold"), ladder=Ladder.default())
    assert caught.value.field == "max_tier"
    assert store.stored_workspace_preferences("acme") is None
    with pytest.raises(ConfigError, match="WorkspacePreferences"):
        store.set_workspace_preferences("acme", {"min_tier": "cheap"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "non-empty"),
        ("a\x00b", "NUL"),
        ("x" * 101, "at most 100"),
        ("tab\there", "control character"),
        (" padded", "whitespace"),
        ("\udc80", "lone surrogate"),
    ],
)
def test_bad_workspace_names_are_refused(store: SqlStore, name: str, message: str) -> None:
    """A workspace name the store cannot keep is a ConfigError on field 'workspace', for every method."""
    for call in (
        lambda: store.workspace_preferences(name),
        lambda: store.set_workspace_preferences(name, WorkspacePreferences()),
        lambda: store.delete_workspace_preferences(name),
    ):
        with pytest.raises(ConfigError, match=message) as caught:
            call()
        assert caught.value.field == "workspace"
    assert store.workspaces() == []
    assert check_workspace_name("x" * 100) == "x" * 100


def test_a_row_edited_into_nonsense_is_a_clear_error(store: SqlStore) -> None:
    """Stored values are validated on the way out too: the error names the workspace and the field."""
    store.set_workspace_preferences("acme", FULL)
    with store.session() as s:
        s.execute(update(WorkspacePreferencesRow).values(quality_threshold=500.0))
    with pytest.raises(ConfigError, match="stored preferences of workspace 'acme' are invalid") as caught:
        store.workspace_preferences("acme")
    assert caught.value.field == "quality_policy"
    with store.session() as s:
        s.execute(update(WorkspacePreferencesRow).values(quality_threshold=None, preferred_models=["x"]))
    with pytest.raises(ConfigError, match="'acme'"):
        store.workspace_preferences("acme")


def test_workspaces_are_isolated(store: SqlStore) -> None:
    """A's preferences, budget, month spend and keys never show in B, and B's routing and spending ignore A's."""
    now = datetime.now(UTC)
    ladder = Ladder(
        [
            Tier(name="cheap", rank=0, models=("local/llama", "openai/gpt-4o-mini")),
            Tier(name="capable", rank=1, models=("anthropic/claude-sonnet", "openai/gpt-4o")),
            Tier(name="premium", rank=2, models=("anthropic/claude-opus",)),
        ]
    )
    a_prefs = WorkspacePreferences(
        default_tier="premium", preferred_models={"cheap": ("openai/gpt-4o-mini",)}, auto_escalation=False
    )
    store.set_workspace_preferences("A", a_prefs, ladder=ladder)
    a_budget = WorkspaceBudget(workspace="A", monthly_limit_usd=1.0, per_request_limit_usd=0.1)
    store.put_workspace_budget(a_budget)
    ledger = store.ledger()
    ledger.open(a_budget.month_line(now), a_budget.monthly_limit_usd)
    ledger.settle(ledger.reserve([a_budget.month_line(now)], 1.0, ttl_s=60), 1.0)  # A's month is spent
    store.put_provider_key("A", "openai", "ciphertext-a")

    # B sees none of it
    assert store.workspace_preferences("B") == WorkspacePreferences()
    assert store.workspace_budget("B") is None
    assert store.provider_key_names("B") == []
    b_budget = WorkspaceBudget(workspace="B", monthly_limit_usd=1.0)
    b_line = b_budget.month_line(now)
    assert ledger.lines(b_line) == []
    router = Router(ladder)
    task = Task("Fix a typo in the README")
    assert router.route(task, store.workspace_preferences("A")).tier == "premium"
    b_decision = router.route(task, store.workspace_preferences("B"))
    assert (b_decision.tier, b_decision.models) == ("cheap", ("local/llama", "openai/gpt-4o-mini"))
    assert store.workspace_preferences("A").models_for(ladder, "cheap")[0] == "openai/gpt-4o-mini"

    # A is refused, B is not; B's spend leaves A's line as it was
    with pytest.raises(BudgetExceededError):
        ledger.reserve([a_budget.month_line(now)], 0.01, ttl_s=60)
    ledger.open(b_line, b_budget.monthly_limit_usd)
    ledger.settle(ledger.reserve([b_line], 0.5, ttl_s=60), 0.5)
    assert ledger.line(b_line).spent_usd == pytest.approx(0.5)
    assert ledger.line(a_budget.month_line(now)).spent_usd == pytest.approx(1.0)

    # changing or deleting B touches nothing of A
    store.set_workspace_preferences("B", WorkspacePreferences(max_tier="cheap"))
    store.delete_workspace_preferences("B")
    assert store.workspace_preferences("A") == a_prefs
    assert store.workspace_budget("A") == a_budget
    assert store.provider_key_names("A") == ["openai"]
