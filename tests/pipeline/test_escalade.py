"""The one-call API with a store: the workspace's stored preferences and quality policy apply, and
each request's trigger outcomes are recorded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from escalade.budget import Hold, MemoryLedger
from escalade.exceptions import ConfigError, ProviderServerError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline import Escalade
from escalade.providers import CompletionRequest, ScriptedProvider
from escalade.routing import NO_TRIGGER, QualityPolicy, WorkspacePreferences
from escalade.store import SqlStore


def _config(threshold: float) -> EscalationConfig:
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("c1",), threshold=threshold, min_attempts=1, team_size=1),
            Tier(name="capable", rank=1, models=("m1",), threshold=threshold, min_attempts=1, team_size=1),
            Tier(name="premium", rank=2, models=("p1",), threshold=0.0, min_attempts=1, team_size=1),
        ]
    )
    return EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)


def _provider() -> ScriptedProvider:
    return ScriptedProvider({"c1": ["4"] * 5, "m1": ["4"] * 5, "p1": ["4"] * 5})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore(f"sqlite:///{tmp_path / 'escalade.db'}") as opened:
        yield opened


def test_stored_preferences_of_the_workspace_apply(store: SqlStore) -> None:
    """Workspace a's stored default tier starts a's requests there; workspace b keeps the classification."""
    store.set_workspace_preferences("a", WorkspacePreferences(default_tier="capable"))
    with Escalade(store, "a", _config(0.0), provider=_provider()) as ai:
        assert ai.generate("Fix a typo in the README").tier_started == "capable"
    with Escalade(store, "b", _config(0.0), provider=_provider()) as other:
        assert other.generate("Fix a typo in the README").tier_started == "cheap"


def test_the_stored_quality_policy_sets_the_bar(store: SqlStore) -> None:
    """A lone cheap answer (consensus CQS 50) climbs past a bar of 75, and stays under the policy's bar of 40."""
    with Escalade(store, "strict", _config(75.0), provider=_provider()) as strict:
        assert strict.generate("What is 2 + 2?").tier_ended != "cheap"
    lenient_policy = QualityPolicy(scorer="consensus", threshold=40.0)
    store.set_workspace_preferences("lenient", WorkspacePreferences(quality_policy=lenient_policy))
    with Escalade(store, "lenient", _config(75.0), provider=_provider()) as lenient:
        result = lenient.generate("What is 2 + 2?")
    assert (result.tier_started, result.tier_ended) == ("cheap", "cheap")


def test_an_unknown_policy_scorer_is_a_clear_error(store: SqlStore) -> None:
    with pytest.raises(ConfigError, match="unknown scorer 'magic'"):
        Escalade(
            store,
            "w",
            _config(0.0),
            provider=_provider(),
            preferences=WorkspacePreferences(quality_policy=QualityPolicy(scorer="magic")),
        )


def test_each_request_records_its_trigger_outcomes(store: SqlStore) -> None:
    """A request no trigger raised that had to climb is a miss of the trigger set, recorded once."""
    with Escalade(store, "w", _config(75.0), provider=_provider()) as ai:
        result = ai.generate("What is 2 + 2?")
        assert result.tier_ended != "cheap"
    stats = store.trigger_stats()
    assert NO_TRIGGER in stats
    assert stats[NO_TRIGGER].false_negatives == 1


def test_climb_false_keeps_the_request_on_its_start_tier() -> None:
    """``climb=False``: a failing start tier answers nothing rather than climb; the default climbs."""
    failing = ProviderServerError("c1 is down", model="c1")
    provider = ScriptedProvider({"c1": [failing] * 4, "m1": ["4"] * 4, "p1": ["4"] * 4})
    config = _config(0.0).replace(max_retries=0, retry_backoff_s=0.0)
    ai = Escalade(config=config, provider=provider)
    pinned = ai.generate("2 + 2?", tier="cheap", climb=False)
    assert (pinned.text, pinned.models_tried) == (None, ("c1",))
    climbed = ai.generate("2 + 2?", tier="cheap")
    assert (climbed.text, climbed.tier_ended) == ("4", "capable")


class _TtlLedger(MemoryLedger):
    """A ledger in memory that keeps the lifetime each reservation asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.ttls: list[float] = []

    def reserve(self, keys: Sequence[str], amount_usd: float, *, ttl_s: float, owner: str = "") -> Hold:
        self.ttls.append(ttl_s)
        return super().reserve(keys, amount_usd, ttl_s=ttl_s, owner=owner)


@pytest.mark.parametrize("hold_ttl_s", [None, 30.0])
def test_each_call_is_reserved_for_the_hold_ttl_given(hold_ttl_s: float | None) -> None:
    """``hold_ttl_s`` is the lifetime of every call's budget hold (15 minutes unless given)."""
    ledger = _TtlLedger()
    provider = ScriptedProvider({"c1": ["4"]}, cost_per_call=0.001)
    if hold_ttl_s is None:
        ai = Escalade(config=_config(0.0), provider=provider, ledger=ledger)
    else:
        ai = Escalade(config=_config(0.0), provider=provider, ledger=ledger, hold_ttl_s=hold_ttl_s)
    assert ai.generate("2 + 2?", tier="cheap").text == "4"
    assert ledger.ttls == [hold_ttl_s or 900.0]


def test_seed_and_user_reach_the_provider_or_are_refused_by_name() -> None:
    """``seed`` and ``user`` are carried to the request; a provider that cannot honour ``seed`` refuses it first."""
    seen: list[CompletionRequest] = []

    def answer(request: CompletionRequest) -> str:
        seen.append(request)
        return "4"

    ai = Escalade(config=_config(0.0), provider=ScriptedProvider({"c1": [answer]}))
    ai.generate("2 + 2?", seed=7, user="alice")
    assert (seen[0].seed, seen[0].user) == (7, "alice")

    class NoSeed(ScriptedProvider):
        unsupported_options = frozenset({"seed"})

    with pytest.raises(ConfigError) as refused:
        Escalade(config=_config(0.0), provider=NoSeed({"c1": [answer]})).generate("2 + 2?", seed=7)
    assert refused.value.field == "seed"
    assert len(seen) == 1
