"""Trigger outcomes recorded from real runs: replay datasets through the executor, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

from escalade.cascade import ItemResult, ProgressiveExecutor, ProgressiveWorkflowResult, TierResult, WorkItem
from escalade.ladder import EscalationConfig
from escalade.replay import OfflineOracleScorer, ReplayPlan, ReplayProvider, load_dataset, plan_replay
from escalade.routing import (
    NO_TRIGGER,
    InMemoryTriggerHistory,
    Router,
    Task,
    TriggerDetector,
    TriggerFiring,
    TriggerStats,
    TriggerValidator,
)
from escalade.store import SqlStore, TriggerOutcomeRecorder
from tests.conftest import MakeDataset, row

WRONG, RIGHT = 0, 1


def _row(row_id: str, prompt: str, cheap: int) -> dict[str, object]:
    """A row whose cheap models are both ``cheap`` (right or wrong) and whose stronger models are right."""
    return row(
        row_id,
        prompt,
        {
            "small-a": (cheap, 0.001, "A" if cheap else "X"),
            "small-b": (cheap, 0.002, "A" if cheap else "Y"),
            "mid": (RIGHT, 0.01, "A"),
            "big": (RIGHT, 0.1, "A"),
        },
    )


#: Two rows with triggers (authentication, cryptography), two without; cheap right on every other one.
ROWS = [
    _row("login", "Add password hashing to the login flow", WRONG),
    _row("jwt", "Fix the JWT token refresh in the session", RIGHT),
    _row("sum", "What is two plus two?", WRONG),
    _row("capital", "Name the capital of France.", RIGHT),
]


def _plan(make_dataset: MakeDataset) -> ReplayPlan:
    return plan_replay(load_dataset(make_dataset(ROWS)), "test", EscalationConfig(), offline_scorer=True)


def _run(
    plan: ReplayPlan, recorder: TriggerOutcomeRecorder, items: tuple[WorkItem, ...] | None = None
) -> ProgressiveWorkflowResult:
    executor = ProgressiveExecutor(
        plan.config, ReplayProvider(plan.rows), scorer=OfflineOracleScorer(plan.rows), listeners=[recorder]
    )
    return executor.run_sync(items or plan.items)


def _counts(stats: TriggerStats) -> tuple[int, int, int, int]:
    return stats.true_positives, stats.false_positives, stats.false_negatives, stats.true_negatives


def test_unrouted_run_records_from_the_run_verdicts(store: SqlStore, make_dataset: MakeDataset) -> None:
    """Every item started cheap: triggers detected on prompts get the cheap tier's verdict, once per task."""
    plan = _plan(make_dataset)
    validator = TriggerValidator(history=store)
    (auth,) = list(TriggerDetector().detect(Task("Fix the JWT token refresh in the session")))
    prior = validator.needed_probability(auth)
    recorder = TriggerOutcomeRecorder(store, detector=TriggerDetector())
    first = _run(plan, recorder)
    stats = store.trigger_stats()
    assert _counts(stats["authentication"]) == (0, 0, 1, 1)  # login climbed (missed), jwt passed cheap
    assert _counts(stats[NO_TRIGGER]) == (0, 0, 1, 1)  # "two plus two" climbed with no trigger: a miss
    assert "cryptography" in stats  # password hashing
    validator.refresh()
    assert validator.needed_probability(auth) != prior
    recorded = recorder.recorded
    _run(plan, recorder)  # the same rows again: the same evidence, not counted twice
    for item in first.items:  # events delivered again (a resumed or re-stored run)
        recorder.on_run_started(first.run_id, "again", plan.config, len(first.items))
        recorder.on_item_finished(first.run_id, item)
    assert store.trigger_stats() == stats
    assert recorder.recorded == recorded
    assert recorder.duplicates == 2 * recorded


def test_routed_run_records_true_and_false_positives(store: SqlStore, make_dataset: MakeDataset) -> None:
    """Items triggers sent to premium count only with a known outcome of their base tier."""
    plan = _plan(make_dataset)
    rows = {r.key: r for r in plan.rows}

    def cheap_right(item_id: str, tier: str) -> bool | None:
        """Stands for a reviewer who graded the base tier's answer afterwards."""
        grades = [rows[item_id].outputs[m].score for m in plan.config.tiers[tier].models]
        return any(g >= 0.5 for g in grades) if grades else None

    router = Router(plan.config.tiers, classifier=None)
    items = []
    recorder = TriggerOutcomeRecorder(store, known=cheap_right)
    for item in plan.items:
        task = Task(item.prompt)
        decision = router.route(task)
        recorder.track(item.id, TriggerFiring.from_decision(router, task, decision))
        items.append(dataclasses.replace(item, start_tier=decision.tier))
    result = _run(plan, recorder, tuple(items))
    assert [i.tiers[0].tier for i in result.items] == ["premium", "premium", "cheap", "cheap"]
    stats = store.trigger_stats()
    assert _counts(stats["authentication"]) == (1, 1, 0, 0)  # login needed premium; jwt did not
    assert _counts(stats[NO_TRIGGER]) == (0, 0, 1, 1)


def test_routed_item_without_known_outcome_records_nothing(make_dataset: MakeDataset) -> None:
    """A trigger that sent an item up, with no evidence about the tier it skipped, gives no outcome."""
    plan = _plan(make_dataset)
    history = InMemoryTriggerHistory()
    recorder = TriggerOutcomeRecorder(history)
    router = Router(plan.config.tiers, classifier=None)
    login = plan.items[0]
    task = Task(login.prompt)
    decision = router.route(task)
    recorder.track(login.id, TriggerFiring.from_decision(router, task, decision))
    _run(plan, recorder, (dataclasses.replace(login, start_tier=decision.tier),))
    assert history.outcomes == []


def test_recorder_without_a_run_start_uses_its_tiers() -> None:
    """Items of a run whose start the recorder did not see count with the ladder it was given, else not at all."""
    item = ItemResult(
        item_id="q",
        status="accepted",
        prompt="Fix the JWT token refresh",
        tiers=(TierResult(tier="cheap", attempts=(), escalated=True, escalation_reason="low"),),
    )
    blind = InMemoryTriggerHistory()
    TriggerOutcomeRecorder(blind, detector=TriggerDetector(), known=lambda i, t: False).on_item_finished("r", item)
    assert blind.outcomes == []
    history = InMemoryTriggerHistory()
    recorder = TriggerOutcomeRecorder(
        history, detector=TriggerDetector(), known=lambda i, t: False, tiers=("cheap", "premium")
    )
    recorder.on_item_finished("r", item)
    assert [(o.trigger, o.escalated, o.needed) for o in history.outcomes] == [("authentication", False, True)]
