"""The one-call API over recorded answers: a replay provider answers one dataset row, no key needed."""

from __future__ import annotations

from escalade.ladder import EscalationConfig
from escalade.pipeline import Escalade
from escalade.replay import ReplayProvider, load_dataset, plan_replay
from tests.conftest import MakeDataset


def test_one_row_through_the_pipeline(make_dataset: MakeDataset) -> None:
    """Row q2: the cheap models disagree, so the request climbs to the capable tier, at the recorded costs."""
    dataset = load_dataset(make_dataset())
    plan = plan_replay(dataset, "test", EscalationConfig(max_cost=None, auto_approve_under=None))
    row = next(r for r in plan.rows if r.key == "q2")
    ai = Escalade(config=plan.config, provider=ReplayProvider([row]), task_kind=dataset.task_kind)
    result = ai.generate(row.prompt, request_id=row.key, tier="cheap")
    assert result.tier_started == "cheap"
    assert result.tier_ended != "cheap"
    assert result.models_tried[:2] == ("small-a", "small-b")
    assert result.cost_usd == sum(row.outputs[m].cost_usd for m in result.models_tried)
    assert result.escalations[0].from_tier == "cheap"
    ai.close()
