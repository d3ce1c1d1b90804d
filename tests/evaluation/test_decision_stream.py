"""The synthetic decision stream: valid decisions, reproducible, with the documented mixes."""

from __future__ import annotations

import re
import string

import pytest

from escalade.autonomy import parse_decision
from escalade.evaluation import decision_stream, templates


def test_templates_use_only_known_slots() -> None:
    """Every scenario's slots exist and its flags are booleans; risks lie in [0, 1]."""
    data = templates()
    known = set(data["slots"]) | {"env", "count"}
    for scenario in data["scenarios"]:
        slots = {name for _, name, _, _ in string.Formatter().parse(scenario["template"]) if name}
        assert slots <= known, scenario["template"]
        assert scenario["env_in_text"] == ("env" in slots)
        assert 0 <= scenario["base_risk"] <= 1
    assert len({s["type"] for s in data["scenarios"]}) == 10


def test_every_decision_is_valid_and_filled() -> None:
    """Each generated decision parses, with no slot left unfilled."""
    for item in decision_stream(300, seed=2):
        decision = parse_decision(item.fields)
        assert not re.search(r"\{\w+\}", decision.description)
        assert item.needs_person == (item.high_stakes or item.fails)


def test_same_seed_same_stream() -> None:
    """A seed reproduces the stream exactly; another seed does not."""
    first = [d.fields for d in decision_stream(50, seed=5)]
    assert first == [d.fields for d in decision_stream(50, seed=5)]
    assert first != [d.fields for d in decision_stream(50, seed=6)]


@pytest.mark.parametrize(("mix", "low", "high"), [("stress", 0.45, 0.65), ("routine", 0.07, 0.2)])
def test_mixes_have_their_share_of_risky_work(mix: str, low: float, high: float) -> None:
    """About half the stress stream and about one in eight of the routine stream need a person."""
    items = list(decision_stream(2000, seed=1, mix=mix))  # type: ignore[arg-type]
    share = sum(d.needs_person for d in items) / len(items)
    assert low < share < high
