"""The one-call API end to end against local servers speaking both adapters' wire formats."""

from __future__ import annotations

import asyncio

import pytest

from escalade.budget import MemoryLedger, WorkspaceBudget
from escalade.exceptions import BudgetExceededError
from escalade.pipeline import Escalade
from escalade.providers import Message, Tool
from escalade.routing import WorkspacePreferences
from tests.pipeline.wire_script import MODELS, Wire, config, good_or_bad, scripted

WIRES: list[Wire] = ["openai", "anthropic"]
PROMPT = "Say hello to the team"


async def _no_wait(seconds: float) -> None:
    return None


def _escalade(server_provider: object, wire: Wire, **options: object) -> Escalade:
    return Escalade(
        config=config(wire),
        provider=server_provider,  # type: ignore[arg-type]
        scorer=good_or_bad,
        sleep=_no_wait,
        **options,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("wire", WIRES)
def test_success_on_the_start_tier(wire: Wire) -> None:
    """A good cheap answer is accepted where it started, billed, and charged to the run and the month lines."""
    cheap = MODELS[wire]["cheap"][0]
    with scripted(wire, {}) as server:
        result = _escalade(server.provider, wire).generate(PROMPT)
    assert (result.text, result.status, result.tier_started, result.tier_ended) == (
        "good answer",
        "accepted",
        "cheap",
        "cheap",
    )
    assert result.models_tried == (cheap,)
    assert result.finish_reason in {"stop", "end_turn"}
    assert result.cost_usd > 0
    assert result.attempts[0].signals == {"good": 1.0}
    assert result.budget_lines[0].startswith("run:")
    assert "month" in result.budget_lines[-1]
    assert result.escalations == ()
    assert server.asked == [cheap]


@pytest.mark.parametrize("wire", WIRES)
def test_low_quality_climbs(wire: Wire) -> None:
    """A cheap answer below the bar climbs to the capable tier, with the reason."""
    cheap, capable = MODELS[wire]["cheap"][0], MODELS[wire]["capable"][0]
    with scripted(wire, {cheap: ["bad"]}) as server:
        result = _escalade(server.provider, wire).generate(PROMPT)
    assert (result.tier_started, result.tier_ended, result.model) == ("cheap", "capable", capable)
    assert [(e.from_tier, e.to_tier) for e in result.escalations] == [("cheap", "capable")]
    assert "CQS" in result.escalations[0].reason
    assert [a.passed for a in result.attempts] == [False, True]


@pytest.mark.parametrize("wire", WIRES)
def test_rate_limit_goes_to_the_next_model_then_tier(wire: Wire) -> None:
    """429 on the first cheap model hands over to the second; 429 there too climbs to the capable tier."""
    first, second = MODELS[wire]["cheap"]
    capable = MODELS[wire]["capable"][0]
    with scripted(wire, {first: [429], second: [429]}) as server:
        result = _escalade(server.provider, wire).generate(PROMPT)
    assert result.models_tried == (first, second, capable)
    assert result.tier_ended == "capable"
    assert [a.error_cause for a in result.attempts[:2]] == ["rate limit", "rate limit"]
    assert result.escalations[0].from_tier == "cheap"


@pytest.mark.parametrize("wire", WIRES)
def test_server_error_is_retried(wire: Wire) -> None:
    """A 5xx is retried on the same model, which then answers: one attempt, two calls."""
    cheap = MODELS[wire]["cheap"][0]
    with scripted(wire, {cheap: [500, "good again"]}) as server:
        result = _escalade(server.provider, wire).generate(PROMPT)
    assert (result.text, result.models_tried) == ("good again", (cheap,))
    assert server.asked == [cheap, cheap]
    assert result.item.tiers[0].attempts[0].calls == 1  # the failed call billed nothing


@pytest.mark.parametrize("wire", WIRES)
def test_context_window_is_skipped(wire: Wire) -> None:
    """Models whose context window the prompt does not fit are skipped, and the request climbs."""
    first, second = MODELS[wire]["cheap"]
    with scripted(wire, {first: ["context"], second: ["context"]}) as server:
        result = _escalade(server.provider, wire).generate(PROMPT)
    assert result.tier_ended == "capable"
    assert [a.error_cause for a in result.attempts[:2]] == ["context window", "context window"]


@pytest.mark.parametrize("wire", WIRES)
def test_per_request_budget_refusal_is_a_clear_error(wire: Wire) -> None:
    """A per-request cap below the first call's worst case raises BudgetExceededError naming the workspace; no call."""
    budget = WorkspaceBudget(workspace="acme", per_request_limit_usd=1e-9)
    with scripted(wire, {}) as server:
        ai = _escalade(server.provider, wire, workspace="acme", workspace_budget=budget)
        with pytest.raises(BudgetExceededError, match=r"workspace 'acme'.*per-request limit"):
            ai.generate(PROMPT)
    assert server.asked == []


@pytest.mark.parametrize("wire", WIRES)
def test_monthly_budget_refusal_is_a_clear_error(wire: Wire) -> None:
    """A spent month refuses the next request with BudgetExceededError; the first request was charged to it."""
    ledger = MemoryLedger()
    budget = WorkspaceBudget(workspace="acme", monthly_limit_usd=0.01)
    with scripted(wire, {}) as server:
        ai = _escalade(server.provider, wire, workspace="acme", workspace_budget=budget, ledger=ledger)
        first = ai.generate(PROMPT, max_tokens=10)
        assert ledger.line(first.budget_lines[-1]).spent_usd == pytest.approx(first.cost_usd)
        with pytest.raises(BudgetExceededError, match="workspace 'acme': the budget refused"):
            ai.generate("x" * 200_000)  # its worst case is above what is left of the month


@pytest.mark.parametrize("wire", WIRES)
def test_auto_escalation_off_never_climbs(wire: Wire) -> None:
    """With auto-escalation off, a bad answer stays on its tier, but a rate limit still falls back within it."""
    first, second = MODELS[wire]["cheap"]
    prefs = WorkspacePreferences(auto_escalation=False)
    with scripted(wire, {first: [429], second: ["bad"]}) as server:
        result = _escalade(server.provider, wire, preferences=prefs).generate(PROMPT)
    assert result.models_tried == (first, second)
    assert (result.tier_ended, result.status, result.escalations) == ("cheap", "unresolved", ())
    assert server.asked == [first, second]
    assert "may not climb above tier 'cheap'" in (result.item.tiers[-1].escalation_reason or "")


@pytest.mark.parametrize("wire", WIRES)
def test_workspace_max_tier_caps_climbing(wire: Wire) -> None:
    """The workspace's max_tier caps climbing: a bad capable answer does not go to premium."""
    cheap, capable = MODELS[wire]["cheap"][0], MODELS[wire]["capable"][0]
    prefs = WorkspacePreferences(max_tier="capable")
    with scripted(wire, {cheap: ["bad"], capable: ["bad"]}) as server:
        result = _escalade(server.provider, wire, preferences=prefs).generate(PROMPT)
    assert result.tier_ended == "capable"
    assert MODELS[wire]["premium"][0] not in server.asked


@pytest.mark.parametrize("wire", WIRES)
def test_override_and_conversation_reach_the_wire(wire: Wire) -> None:
    """tier= starts on premium; the conversation, tools and options are sent as given, async too."""
    premium = MODELS[wire]["premium"][0]
    conversation: list[Message | dict[str, str]] = [
        Message(role="system", content="Be kind."),
        {"role": "user", "content": "Say hello"},
    ]
    tool = Tool(name="wave", description="Wave at someone.")
    with scripted(wire, {}) as server:
        ai = _escalade(server.provider, wire)
        result = asyncio.run(ai.agenerate(conversation, tier="premium", tools=[tool], temperature=0.1, stop=["END"]))
    assert (result.tier_started, result.model, result.routing.overridden) == ("premium", premium, True)
    body = server.seen[0]["body"]
    assert body["temperature"] == 0.1
    assert "Be kind." in str(body)
    assert "wave" in str(body["tools"])
