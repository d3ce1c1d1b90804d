"""Runs written behind their answers: the same rows as when written as they happen, in batches, and a run
that cannot be stored costs no other run its record (both databases)."""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import OperationalError

from escalade.cascade import ProgressiveWorkflowResult, RunListener
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline import Escalade
from escalade.providers import ScriptedProvider
from escalade.store import SqlStore, WriteBehind


def _config() -> EscalationConfig:
    tiers = Ladder(
        [
            Tier(name="cheap", rank=0, models=("c1",), threshold=75.0, min_attempts=1, team_size=1),
            Tier(name="premium", rank=1, models=("p1",), threshold=0.0, min_attempts=1, team_size=1),
        ]
    )
    return EscalationConfig(tiers=tiers, max_cost=None, auto_approve_under=None)


def _ask(store: SqlStore, prompt: str, *, write_behind: WriteBehind | None = None, workspace: str = "w") -> str:
    provider = ScriptedProvider({"c1": ["4"], "p1": ["4"]})
    with Escalade(store, workspace, _config(), provider=provider, write_behind=write_behind) as ai:
        return ai.generate(prompt).run_id


def _stored(store: SqlStore, run_id: str) -> dict[str, Any]:
    summary = asdict(store.get_run(run_id))
    for moment in ("run_id", "started_at", "finished_at"):
        summary.pop(moment)
    return summary


class _Gate(RunListener):
    """Holds the writer on its first event until opened, so that runs queue up behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def on_run_started(self, run_id: str, workflow: str, config: Any, items: int) -> None:
        self.entered.set()
        assert self.opened.wait(10)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        pass


def test_a_run_written_behind_is_stored_as_one_written_as_it_happens(store: SqlStore) -> None:
    """The same summary, tiers, costs and trigger outcomes; visible once flushed."""
    direct = _ask(store, "What is 2 + 2?")
    behind = WriteBehind(store.db)
    try:
        deferred = _ask(store, "What is 3 + 1?", write_behind=behind)
        assert behind.flush(10)
        assert _stored(store, deferred) == _stored(store, direct)
        assert behind.written == 1
        assert behind.failed == 0
        assert sum(s.false_negatives for s in store.trigger_stats().values()) == 2  # both climbed, no trigger
    finally:
        behind.close()


def test_runs_waiting_for_the_writer_are_stored_in_one_batch(store: SqlStore) -> None:
    behind = WriteBehind(store.db)
    gate = _Gate()
    try:
        held = behind.listener([gate])
        blocker = threading.Thread(target=lambda: _drive(held, "blocker"))
        blocker.start()
        assert gate.entered.wait(10)  # the writer is busy with the gate's run
        runs = [_ask(store, f"What is {n} + 1?", write_behind=behind) for n in range(5)]
        gate.opened.set()
        blocker.join(10)
        assert behind.flush(10)
        assert behind.written == 6
        assert behind.batches == 2
        assert all(store.get_run(r).status == "completed" for r in runs)
    finally:
        gate.opened.set()
        behind.close()


def _drive(listener: RunListener, run_id: str) -> None:
    listener.on_run_started(run_id, "generate", _config(), 0)
    done = ProgressiveWorkflowResult(
        run_id=run_id, workflow="generate", status="completed", tier_names=(), items=(), started_at=datetime.now(UTC)
    )
    listener.on_run_finished(done)


class _Refusing(RunListener):
    """Refuses the start of run ``bad``, as a database that cannot take a row would."""

    def on_run_started(self, run_id: str, workflow: str, config: Any, items: int) -> None:
        if run_id == "bad":
            raise OperationalError("INSERT INTO runs", {}, Exception("disk I/O error"))


def test_a_run_that_cannot_be_stored_costs_the_rest_of_its_batch_nothing(store: SqlStore) -> None:
    """The batch is refused as a whole, retried run by run: the others are kept, the refused one is counted."""
    behind = WriteBehind(store.db)
    gate = _Gate()
    try:
        blocker = threading.Thread(target=lambda: _drive(behind.listener([gate]), "blocker"))
        blocker.start()
        assert gate.entered.wait(10)
        listener = behind.listener([store, _Refusing()])
        good = _ask(store, "What is 2 + 2?", write_behind=behind)  # real runs, with trigger outcomes
        for run_id in ("plain", "bad"):
            _drive(listener, run_id)
        after = _ask(store, "What is 3 + 1?", write_behind=behind)
        gate.opened.set()
        blocker.join(10)
        assert behind.flush(10)
        assert {store.get_run(r).status for r in (good, "plain", after)} == {"completed"}
        assert behind.failed == 1
        assert behind.written == 4
        assert sum(s.false_negatives for s in store.trigger_stats().values()) == 2  # neither good run lost its own
    finally:
        gate.opened.set()
        behind.close()


def test_a_full_queue_writes_on_the_callers_thread(store: SqlStore) -> None:
    behind = WriteBehind(store.db, max_queued=1)
    gate = _Gate()
    try:
        blocker = threading.Thread(target=lambda: _drive(behind.listener([gate]), "blocker"))
        blocker.start()
        assert gate.entered.wait(10)
        queued = _ask(store, "What is 2 + 2?", write_behind=behind)  # fills the queue
        overflow = _ask(store, "What is 3 + 3?", write_behind=behind)  # stored before the call returns
        assert store.get_run(overflow).status == "completed"
        gate.opened.set()
        blocker.join(10)
        assert behind.flush(10)
        assert store.get_run(queued).status == "completed"
    finally:
        gate.opened.set()
        behind.close()


def test_a_run_that_never_finishes_is_handed_over_as_far_as_it_went(store: SqlStore) -> None:
    behind = WriteBehind(store.db)
    try:
        listener = behind.listener([store])
        listener.on_run_started("cut", "generate", _config(), 1)
        listener.abandon("cut")
        listener.abandon("cut")  # once only
        listener.abandon("never-started")
        assert behind.flush(10)
        assert store.get_run("cut").status == "running"  # as a run stored as it happens and cut short
        assert behind.written == 1
    finally:
        behind.close()


def test_close_writes_what_waits_and_later_runs_are_written_at_once(store: SqlStore) -> None:
    behind = WriteBehind(store.db)
    waiting = [_ask(store, f"What is {n} + 2?", write_behind=behind) for n in range(3)]
    behind.close()
    assert all(store.get_run(r).status == "completed" for r in waiting)
    late = _ask(store, "What is 9 + 2?", write_behind=behind)
    assert store.get_run(late).status == "completed"
    assert behind.flush(0)
