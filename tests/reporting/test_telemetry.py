"""Telemetry: user ids hashed, events carry numbers and names only, never prompt or response text."""

from __future__ import annotations

import hashlib

from sqlalchemy import text

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.ladder import EscalationConfig
from escalade.providers import ScriptedProvider
from escalade.quality import FailureAnalysis
from escalade.reporting import ProgressiveTelemetry, hash_user_id
from escalade.store import SqlStore
from tests.conftest import ladder

PROMPT = "TOP-SECRET-PROMPT-7731"
ANSWER = "CONFIDENTIAL-ANSWER-4410"


def test_user_id_is_sha256() -> None:
    """User ids are stored as their SHA-256 hex digest."""
    assert hash_user_id("user@example.com") == hashlib.sha256(b"user@example.com").hexdigest()


def test_events_have_no_text_and_hashed_user(db_url: str) -> None:
    """After a run, telemetry holds attempts, escalations and completion, with no prompt/answer text or raw id."""
    store = SqlStore(db_url)
    telemetry = ProgressiveTelemetry(store, workflow_name="t", user_id="alice@example.com")
    cfg = EscalationConfig(
        tiers=ladder(("cheap", ("a",), 90.0, 1), ("premium", ("p",), 0.0, 1)), max_cost=None, auto_approve_under=None
    )
    provider = ScriptedProvider({"a": [ANSWER], "p": [ANSWER]}, cost_per_call=0.01)
    ex = ProgressiveExecutor(
        cfg,
        provider,
        scorer=lambda c: FailureAnalysis(test_pass_rate=0.5, weights={"test_pass_rate": 1.0}),
        listeners=[telemetry],
        workflow="t",
    )
    ex.run_sync([WorkItem(id="x", prompt=PROMPT)])
    events = store.events()
    kinds = [e.event for e in events]
    assert kinds.count("tier_attempt") == 2
    assert "escalation" in kinds
    assert kinds[-1] == "workflow_completed"
    escalation = next(e for e in events if e.event == "escalation")
    assert (escalation.tier, escalation.data) == ("cheap", {"to_tier": "premium"})
    attempt = next(e for e in events if e.event == "tier_attempt")
    assert (attempt.model, attempt.cost_usd, attempt.cqs) == ("a", 0.01, 50.0)
    assert {e.user_hash for e in events} == {hash_user_id("alice@example.com")}
    with store.engine.connect() as conn:
        dump = "\n".join(str(r) for r in conn.execute(text("SELECT * FROM telemetry_events")))
    for secret in (PROMPT, ANSWER, "alice"):
        assert secret not in dump
