"""Workspace preferences and quality policies: validation naming the field, ordering of models, round trips."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalade.exceptions import ConfigError
from escalade.ladder import Ladder
from escalade.routing import QualityPolicy, WorkspacePreferences
from escalade.routing._preferences import MAX_PREFERRED


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"min_tier": ""}, "min_tier", "non-empty"),
        ({"max_tier": "a\x00b"}, "max_tier", "NUL"),
        ({"default_tier": "x" * 101}, "default_tier", "at most 100"),
        ({"default_tier": " cheap"}, "default_tier", "whitespace"),
        ({"min_tier": "ch\neap"}, "min_tier", "control character"),
        ({"preferred_providers": "openai"}, "preferred_providers", "list of provider names"),
        ({"preferred_providers": ("openai", "openai")}, "preferred_providers", "repeats 'openai'"),
        ({"preferred_providers": ("openai/gpt",)}, "preferred_providers", "no '/'"),
        ({"preferred_providers": tuple(f"p{i}" for i in range(MAX_PREFERRED + 1))}, "preferred_providers", "at most"),
        ({"preferred_models": ["cheap"]}, "preferred_models", "map tier names"),
        ({"preferred_models": {"cheap": ()}}, "preferred_models.cheap", "names no model"),
        ({"preferred_models": {"cheap": ("a", "a")}}, "preferred_models.cheap", "repeats"),
        ({"preferred_models": {"cheap": ("\ud800",)}}, "preferred_models.cheap", "lone surrogate"),
        ({"preferred_models": {"": ("a",)}}, "preferred_models", "non-empty"),
        ({"auto_escalation": "yes"}, "auto_escalation", "true or false"),
        ({"quality_policy": "consensus"}, "quality_policy", "QualityPolicy"),
    ],
)
def test_bad_preferences_name_the_field(kwargs: dict[str, Any], field: str, message: str) -> None:
    """Every malformed field is a ConfigError naming it, raised on construction."""
    with pytest.raises(ConfigError, match=message) as caught:
        WorkspacePreferences(**kwargs)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("consensus", QualityPolicy(scorer="consensus")),
        ("verifier:0.5", QualityPolicy(scorer="verifier", threshold=0.5)),
        (" self-consistency:80 ", QualityPolicy(scorer="self-consistency", threshold=80)),
    ],
)
def test_quality_policy_parses_and_prints(text: str, policy: QualityPolicy) -> None:
    """NAME or NAME:THRESHOLD reads back to the same policy, and prints in that form."""
    assert QualityPolicy.parse(text) == policy
    assert QualityPolicy.parse(str(policy)) == policy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "plugin name"),
        ("a b", "plugin name"),
        ("x" * 101, "plugin name"),
        ("consensus:high", "NAME:THRESHOLD"),
        ("consensus:101", "from 0 to 100"),
        ("consensus:-1", "from 0 to 100"),
        ("consensus:nan", "number from 0 to 100"),
    ],
)
def test_bad_quality_policies(text: str, message: str) -> None:
    """A malformed policy is a ConfigError on field quality_policy."""
    with pytest.raises(ConfigError, match=message) as caught:
        QualityPolicy.parse(text)
    assert caught.value.field == "quality_policy"


def test_quality_policy_scorer_checked_against_the_registry() -> None:
    """check_scorer accepts a registered name and names the available ones otherwise."""
    QualityPolicy(scorer="consensus").check_scorer({"consensus"})
    with pytest.raises(ConfigError, match="unknown scorer 'nope'; available: consensus"):
        QualityPolicy(scorer="nope").check_scorer({"consensus"})


def test_order_models_never_invents_and_keeps_preference_order() -> None:
    """Preferred models lead in their order (only those offered), preferred providers next, the rest stable."""
    prefs = WorkspacePreferences(preferred_models={"cheap": ("z/3", "missing/0", "x/1")}, preferred_providers=("y",))
    offered = ("x/1", "w/9", "y/2", "z/3")
    assert prefs.order_models(offered, tier="cheap") == ("z/3", "x/1", "y/2", "w/9")
    assert prefs.order_models(offered, tier="premium") == ("y/2", "x/1", "w/9", "z/3")
    assert prefs.order_models(offered) == ("y/2", "x/1", "w/9", "z/3")
    assert WorkspacePreferences().order_models(offered, tier="cheap") == offered


def test_round_trip_equality_hash_and_repr() -> None:
    """to_dict/from_dict round-trip; equal preferences hash alike; the repr shows what differs from the defaults."""
    prefs = WorkspacePreferences(
        min_tier="cheap",
        default_tier="capable",
        preferred_providers=["openai"],  # type: ignore[arg-type]  # lists are accepted and frozen to tuples
        preferred_models={"capable": ["openai/gpt-4o"]},  # type: ignore[dict-item]
        auto_escalation=False,
        quality_policy=QualityPolicy(scorer="consensus", threshold=80),
    )
    again = WorkspacePreferences.from_dict(prefs.to_dict())
    assert again == prefs
    assert hash(again) == hash(prefs)
    assert prefs.preferred_providers == ("openai",)
    assert "quality_policy=QualityPolicy(scorer='consensus', threshold=80.0)" in repr(prefs)
    assert repr(WorkspacePreferences()) == "WorkspacePreferences()"
    with pytest.raises(TypeError):
        prefs.preferred_models["cheap"] = ("a",)  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        prefs.min_tier = "premium"  # type: ignore[misc]
    with pytest.raises(ConfigError, match="unknown field"):
        WorkspacePreferences.from_dict({"min_teir": "cheap"})


def test_check_against_the_ladder() -> None:
    """check names an unknown tier in any field, crossed bounds and a default outside them."""
    ladder = Ladder.default()
    WorkspacePreferences(min_tier="cheap", max_tier="premium", default_tier="capable").check(ladder)
    for prefs, field in [
        (WorkspacePreferences(default_tier="gold"), "default_tier"),
        (WorkspacePreferences(preferred_models={"gold": ("a",)}), "preferred_models"),
        (WorkspacePreferences(min_tier="premium", max_tier="cheap"), "min_tier"),
        (WorkspacePreferences(min_tier="capable", default_tier="cheap"), "default_tier"),
    ]:
        with pytest.raises(ConfigError) as caught:
            prefs.check(ladder)
        assert caught.value.field == field


_MODEL = st.sampled_from(["a/1", "a/2", "b/1", "b/2", "c/1", "d/9"])


@settings(max_examples=200, deadline=None)
@given(
    offered=st.lists(_MODEL, unique=True),
    preferred=st.lists(_MODEL, unique=True, min_size=1, max_size=4),
    providers=st.lists(st.sampled_from(["a", "b", "c", "x"]), unique=True, max_size=3),
)
def test_order_models_is_a_permutation_led_by_the_preferred(
    offered: list[str], preferred: list[str], providers: list[str]
) -> None:
    """Whatever the preferences, the result is the offered models reordered, the offered preferred ones first."""
    prefs = WorkspacePreferences(preferred_models={"t": tuple(preferred)}, preferred_providers=tuple(providers))
    ordered = prefs.order_models(offered, tier="t")
    assert sorted(ordered) == sorted(offered)
    lead = [m for m in preferred if m in offered]
    assert list(ordered[: len(lead)]) == lead
