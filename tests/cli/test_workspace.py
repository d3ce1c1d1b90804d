"""``escalade workspace set|show|list``: partial updates, caps through the ledger, --clear, --config, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from escalade.budget import WorkspaceBudget
from escalade.routing import QualityPolicy, WorkspacePreferences
from escalade.store import SqlStore
from tests.cli.helpers import invoke

CONFIG = """
[[tiers]]
name = "small"
models = ["openai/gpt-4o-mini", "local/llama"]
threshold = 70
min_attempts = 1

[[tiers]]
name = "large"
models = ["openai/gpt-4o", "anthropic/claude-opus"]
threshold = 85
min_attempts = 1
"""


def _show(db_url: str, name: str = "acme") -> dict[str, Any]:
    code, out, err = invoke("workspace", "show", name, "--json", "--db", db_url)
    assert code == 0, err
    shown: dict[str, Any] = json.loads(out)
    return shown


def test_set_show_list_and_partial_updates(db_url: str) -> None:
    """Every option is stored; a later set keeps what it does not name; show and list print text and JSON."""
    code, out, err = invoke(
        "workspace", "set", "acme", "--min-tier", "cheap", "--max-tier", "capable", "--default-tier", "capable",
        "--prefer-provider", "anthropic", "--prefer-provider", "openai", "--model", "capable=openai/gpt-4o",
        "--model", "capable=anthropic/claude-sonnet", "--model", "cheap=local/llama", "--no-auto-escalation",
        "--quality-policy", "consensus:85", "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    assert "default tier: capable" in out
    assert "preferred models: capable: openai/gpt-4o, anthropic/claude-sonnet; cheap: local/llama" in out
    assert "quality policy: consensus:85" in out
    assert invoke("workspace", "set", "acme", "--model", "cheap=openai/gpt-4o-mini", "--db", db_url)[0] == 0
    with SqlStore(db_url) as store:
        assert store.workspace_preferences("acme") == WorkspacePreferences(
            min_tier="cheap",
            max_tier="capable",
            default_tier="capable",
            preferred_providers=("anthropic", "openai"),
            preferred_models={
                "capable": ("openai/gpt-4o", "anthropic/claude-sonnet"),
                "cheap": ("openai/gpt-4o-mini",),
            },
            auto_escalation=False,
            quality_policy=QualityPolicy(scorer="consensus", threshold=85),
        )
    shown = _show(db_url)
    assert (shown["preferences_set"], shown["budget_set"]) == (True, False)
    assert shown["preferences"]["preferred_providers"] == ["anthropic", "openai"]
    code, out, _ = invoke("workspace", "show", "acme", "--db", db_url)
    assert code == 0
    assert "auto-escalation: off" in out
    assert "budget: none set" in out
    assert invoke("workspace", "set", "beta", "--monthly-usd", "3", "--db", db_url)[0] == 0
    listed = json.loads(invoke("workspace", "list", "--json", "--db", db_url)[1])
    assert listed == {
        "workspaces": [
            {"workspace": "acme", "preferences_set": True, "budget_set": False},
            {"workspace": "beta", "preferences_set": False, "budget_set": True},
        ]
    }
    assert invoke("workspace", "list", "--db", db_url)[1].splitlines() == ["acme  preferences", "beta  budget"]
    assert invoke("workspace", "set", "gamma", "--db", db_url)[0] == 0  # no option: the defaults, stored
    assert _show(db_url, "gamma")["preferences_set"] is True


def test_unknown_workspace_shows_the_defaults_and_list_starts_empty(db_url: str) -> None:
    """A workspace with nothing stored shows the defaults and no cap; nothing is created by looking."""
    shown = _show(db_url, "nobody")
    assert shown["preferences"] == WorkspacePreferences().to_dict()
    assert (shown["preferences_set"], shown["budget_set"], shown["budget"]["left_usd"]) == (False, False, None)
    _, out, _ = invoke("workspace", "show", "nobody", "--db", db_url)
    assert "no preferences stored: the defaults" in out
    assert "no workspace stored" in invoke("workspace", "list", "--db", db_url)[1]
    assert json.loads(invoke("workspace", "list", "--json", "--db", db_url)[1]) == {"workspaces": []}


def test_caps_go_through_the_ledger(db_url: str) -> None:
    """--monthly-usd and --per-request-usd set the ledger's workspace budget (what `budget show` reads), and the
    month line's cap follows at once; timezone and spend are kept."""
    budget = WorkspaceBudget(workspace="acme", monthly_limit_usd=50.0, timezone="Asia/Tokyo")
    with SqlStore(db_url) as store:
        store.put_workspace_budget(budget)
        ledger = store.ledger()
        line = budget.month_line(datetime.now(UTC))
        ledger.open(line, 50.0)
        ledger.settle(ledger.reserve([line], 2.0, ttl_s=60), 2.0)
    code, _, err = invoke(
        "workspace", "set", "acme", "--monthly-usd", "10", "--per-request-usd", "0.25", "--storage-path", db_url
    )
    assert code == 0, err
    from_budget = json.loads(invoke("budget", "show", "--workspace", "acme", "--json", "--db", db_url)[1])
    assert (from_budget["monthly_limit_usd"], from_budget["per_request_limit_usd"]) == (10.0, 0.25)
    assert (from_budget["timezone"], from_budget["left_usd"]) == ("Asia/Tokyo", pytest.approx(8.0))
    shown = _show(db_url)["budget"]
    assert (shown["spent_usd"], shown["left_usd"], shown["per_request_limit_usd"]) == (2.0, pytest.approx(8.0), 0.25)
    assert invoke("workspace", "set", "acme", "--clear", "monthly-usd", "--db", db_url)[0] == 0
    assert _show(db_url)["budget"]["monthly_limit_usd"] is None
    assert _show(db_url)["budget"]["per_request_limit_usd"] == 0.25
    assert invoke("workspace", "set", "acme", "--per-request-usd", "none", "--db", db_url)[0] == 0
    assert _show(db_url)["budget"]["per_request_limit_usd"] is None


def test_clear_resets_fields(db_url: str) -> None:
    """--clear FIELD (option or field name, - or _) puts a field back to its default and keeps the others."""
    args = [
        "--min-tier",
        "capable",
        "--prefer-provider",
        "openai",
        "--model",
        "cheap=a/b",
        "--quality-policy",
        "consensus",
    ]
    assert invoke("workspace", "set", "acme", *args, "--no-auto-escalation", "--db", db_url)[0] == 0
    clears = ["--clear", "min-tier", "--clear", "prefer_provider", "--clear", "model", "--clear", "auto-escalation"]
    assert invoke("workspace", "set", "acme", *clears, "--db", db_url)[0] == 0
    prefs = _show(db_url)["preferences"]
    assert prefs == WorkspacePreferences(quality_policy=QualityPolicy(scorer="consensus")).to_dict()
    assert invoke("workspace", "set", "acme", "--clear", "quality-policy", "--db", db_url)[0] == 0
    assert _show(db_url)["preferences"]["quality_policy"] is None


def test_config_ladder_checks_tiers_and_models(db_url: str, tmp_path: Path) -> None:
    """With --config, tier names come from its ladder, and a preferred model must be one of its tier's models."""
    config = tmp_path / "escalade.toml"
    config.write_text(CONFIG, encoding="utf-8")
    ok = ["--min-tier", "small", "--model", "large=anthropic/claude-opus", "--config", str(config)]
    assert invoke("workspace", "set", "acme", *ok, "--db", db_url)[0] == 0
    code, _, err = invoke(
        "workspace", "set", "acme", "--model", "large=openai/gpt-5", "--config", str(config), "--db", db_url
    )
    assert code == 2
    assert f"--model large=openai/gpt-5: not one of tier 'large''s models in {config}" in err
    code, _, err = invoke("workspace", "set", "acme", "--auto-escalation", "--db", db_url)  # default ladder: no 'small'
    assert code == 2
    assert "the stored min_tier 'small' does not fit the default ladder" in err
    assert "--clear min-tier" in err
    assert _show(db_url)["preferences"]["min_tier"] == "small"
    assert invoke("workspace", "set", "acme", "--monthly-usd", "4", "--db", db_url)[0] == 0  # caps alone: unchecked
    assert _show(db_url)["budget"]["monthly_limit_usd"] == 4.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-tier", "gold"], "--min-tier 'gold': no tier named 'gold'; tiers: cheap, capable, premium"),
        (
            ["--max-tier", "cheap", "--min-tier", "premium"],
            "--min-tier 'premium': min_tier 'premium' is above max_tier",
        ),
        (["--default-tier", "cheap", "--min-tier", "capable"], "--default-tier 'cheap': default_tier 'cheap' is below"),
        (["--prefer-provider", "openai/gpt-4o"], "--prefer-provider 'openai/gpt-4o': a provider name has no '/'"),
        (["--prefer-provider", "a", "--prefer-provider", "a"], "--prefer-provider 'a a': repeats 'a'"),
        (["--model", "cheap"], "--model 'cheap': write TIER=MODEL"),
        (["--model", "=x"], "--model '=x': write TIER=MODEL"),
        (["--model", "gold=x"], "--model 'gold=x': no tier named 'gold'"),
        (["--model", "cheap=a\x00b"], "--model 'cheap=a\\x00b': model name 'a\\x00b' contains a NUL"),
        (["--quality-policy", "nope"], "--quality-policy 'nope': unknown scorer 'nope'; available: consensus"),
        (["--quality-policy", "consensus:200"], "--quality-policy 'consensus:200': threshold must be from 0 to 100"),
        (["--quality-policy", "consensus:hi"], "--quality-policy 'consensus:hi': write NAME or NAME:THRESHOLD"),
        (["--monthly-usd", "-3"], "--monthly-usd must be a finite number of USD > 0, or none; got '-3'"),
        (["--per-request-usd", "lots"], "--per-request-usd must be a number of USD or none, got 'lots'"),
        (["--monthly-usd", "1e12"], "--monthly-usd '1e12': must be a finite number of USD > 0 and at most"),
        (["--clear", "colour"], "--clear 'colour': no such field; fields: min-tier"),
        (["--min-tier", "cheap", "--clear", "min_tier"], "--min-tier and --clear min-tier both given"),
        (["--monthly-usd", "3", "--clear", "monthly-usd"], "--monthly-usd and --clear monthly-usd both given"),
        (["--config", "missing.toml"], "missing.toml"),
    ],
)
def test_bad_input_names_option_and_value_and_stores_nothing(db_url: str, args: list[str], message: str) -> None:
    """Each bad value is one error line naming the option and value, exit 2, and neither preferences nor caps change."""
    assert invoke("workspace", "set", "acme", "--default-tier", "capable", "--db", db_url)[0] == 0
    before = _show(db_url)
    code, out, err = invoke("workspace", "set", "acme", *args, "--db", db_url)
    assert code == 2, out
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err
    assert _show(db_url) == before


@pytest.mark.parametrize("name", ["", "x" * 101, "tab\there", " padded"])
def test_bad_workspace_names(db_url: str, name: str) -> None:
    """A workspace name the store cannot keep is refused by set and show, naming the workspace field."""
    for command in (["set", name, "--min-tier", "cheap"], ["show", name]):
        code, _, err = invoke("workspace", *command, "--db", db_url)
        assert code == 2
        assert "field 'workspace'" in err
    assert json.loads(invoke("workspace", "list", "--json", "--db", db_url)[1]) == {"workspaces": []}
